"""Fill the flow cache for many records in parallel worker processes.

``precompute(records, cfg, cache, workers=2)`` keys every record, keeps the entries already in the
cache (loaded and validated, so a damaged one is recomputed), and prepares the rest in a
``ProcessPoolExecutor``. Workers start from a ``forkserver`` (``spawn`` where it does not exist), never
by forking the caller, whose OpenCV/torch thread pools do not survive ``fork``; they do not import the
caller's ``__main__``, so precompute works from a script without an ``if __name__ == "__main__":``
guard, from ``python -`` or ``-c`` and from a notebook. Each worker sets ``cv2.setNumThreads(1)`` so
the processes, not OpenCV threads, share the cores, and writes its entry to the cache itself (no arrays
travel back through pipes).

Two kinds of failure: a clip that cannot be prepared is collected with a one-line reason
(``strict=True`` raises :class:`PrecomputeError` listing them at the end); a fault of the machine (the
cache folder read-only or full, a worker killed) raises :class:`EnvironmentFault` at once, since every
later clip would fail the same way. Ctrl-C ends the workers at once; the entries already written stay
valid (each is moved into place whole), and workers end by themselves when the caller is killed.
DDP: call this on one rank only (the DataModule does it in ``prepare_data``).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Literal

import cv2
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mer_contrast.clips.cache import ClipCache, cache_key
from mer_contrast.clips.errors import ClipError, EnvironmentFault
from mer_contrast.clips.face import NoFaceFoundWarning
from mer_contrast.clips.prepare import ClipConfig, prepare_clip
from mer_contrast.datasets.records import SampleRecord

StartMethod = Literal["forkserver", "spawn", "fork"]
_log = logging.getLogger(__name__)
_PARENT_POLL_S = 0.5  # how often a worker checks that the pool's owner is alive


@dataclass
class PrecomputeReport:
    """What :func:`precompute` did.

    Attributes:
        computed: entries prepared and written in this run.
        cached: records whose entry was already in the cache (or shared with another record).
        failed: ``(clip key, one-line reason)`` per record that could not be prepared.
        seconds: wall time of the run.
        warnings: one-line notes, e.g. clips where no face was found.
    """

    computed: int
    cached: int
    failed: list[tuple[str, str]]
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"flow cache: {self.computed} computed, {self.cached} cached, {len(self.failed)} failed "
            f"in {self.seconds:.1f} s"
        )


class PrecomputeError(RuntimeError):
    """Raised by ``precompute(strict=True)`` when clips failed; ``.report`` has the details."""

    def __init__(self, report: PrecomputeReport) -> None:
        self.report = report
        lines = [f"{len(report.failed)} clip(s) could not be prepared:"]
        lines += [f"  {clip}: {reason}" for clip, reason in report.failed[:50]]
        if len(report.failed) > 50:
            lines.append(f"  ... and {len(report.failed) - 50} more")
        super().__init__("\n".join(lines))


def _init_worker(parent_pid: int) -> None:
    cv2.setNumThreads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the parent, which stops us
    threading.Thread(target=_exit_with_parent, args=(parent_pid, os.getppid()), daemon=True).start()


def _exit_with_parent(parent_pid: int, first_ppid: int) -> None:
    """End this worker soon after the process that started the pool is gone (kill -9 leaves no cleanup).

    A forkserver worker's parent is the fork server, which exits when the pool's owner dies; a spawn
    worker's parent is the owner itself. Either way the worker is re-parented, so ``getppid`` changes.
    """
    while True:
        time.sleep(_PARENT_POLL_S)
        try:
            os.kill(parent_pid, 0)  # PermissionError: another user's process has the pid now
        except OSError:
            os._exit(1)
        if os.getppid() != first_ppid:
            os._exit(1)


def _compute_entry(
    record: SampleRecord, cfg: ClipConfig, key: str, root: str, validate: bool
) -> tuple[str, str, list[str], str]:
    """Prepare one clip and store it; returns ``(key, clip error, warnings, environment fault)``.

    Never raises: a failure of the clip is its error; a failure to store the entry (disk full, read-only
    folder) is a fault of the machine, returned apart so the caller stops instead of skipping clips.
    """
    error = fault = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NoFaceFoundWarning)
        try:
            arrays = prepare_clip(record, cfg)
        except ClipError as err:
            error = str(err)
        except Exception as err:  # any other failure is reported, not raised, like a ClipError
            error = str(ClipError(record.key, f"{type(err).__name__}: {err}"))
        else:
            try:
                ClipCache(root, validate=validate).put(key, arrays)
            except EnvironmentFault as err:
                fault = str(err)
    notes = [str(w.message) for w in caught if issubclass(w.category, NoFaceFoundWarning)]
    return key, error, notes, fault


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start worker processes that do not run the caller's ``__main__`` again.

    spawn and forkserver children import the parent's main module (as ``__mp_main__``) so that objects
    defined there can be unpickled. That reruns a script without an ``if __name__ == "__main__":``
    guard (writing data, training, starting a nested pool that dies) and fails outright for
    ``python -`` (``<stdin>`` is not a file). The workers here run package functions only, so the
    main module is hidden while they start: they work from stdin, ``-c``, a REPL or any script.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the workers now (they would otherwise finish their clips)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API before 3.14
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)  # shutdown drops the process table: read it first
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=2.0)


def worker_context(
    start_method: StartMethod | None = None, preload: Sequence[str] = ()
) -> multiprocessing.context.BaseContext:
    """The start method of the package's process pools: forkserver (spawn where it does not exist).

    Not fork: a parent that already ran OpenCV or torch holds thread pools whose locks a forked child
    inherits in a locked state (seen here as a hung pool). forkserver children start from a clean
    server that has imported only the ``preload`` modules.
    """
    available = multiprocessing.get_all_start_methods()
    method = start_method or ("forkserver" if "forkserver" in available else "spawn")
    ctx = multiprocessing.get_context(method)
    if method == "forkserver" and preload:
        ctx.set_forkserver_preload(list(preload))  # type: ignore[attr-defined]
    return ctx


def _start_pool(workers: int, start_method: StartMethod | None) -> ProcessPoolExecutor | None:
    """The worker pool, or None (with one warning) where processes cannot be made here."""
    try:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=worker_context(start_method, ["mer_contrast.clips.precompute"]),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )
    except (OSError, NotImplementedError, ValueError) as err:  # e.g. no /dev/shm for the pool's locks
        _log.warning(
            "flow precompute: worker processes cannot start here (%s: %s); preparing in this process",
            type(err).__name__,
            err,
        )
        return None


def precompute(
    records: Iterable[SampleRecord],
    cfg: ClipConfig,
    cache: ClipCache,
    workers: int = 2,
    progress: bool = True,
    strict: bool = False,
    start_method: StartMethod | None = None,
) -> PrecomputeReport:
    """Make sure every record has a valid cache entry.

    Args:
        records: clips to prepare.
        cfg: the clip configuration (part of every key).
        cache: where entries go.
        workers: worker processes; 0 prepares in this process (debugging).
        progress: show a rich progress bar with ETA.
        strict: raise :class:`PrecomputeError` at the end when any clip failed.
        start_method: multiprocessing start method; default forkserver (spawn where unavailable).
    """
    start = time.perf_counter()
    cache.remove_stale_temp()
    failed: list[tuple[str, str]] = []
    notes: list[str] = []
    todo: dict[str, SampleRecord] = {}
    sharing: dict[str, list[str]] = {}  # entry key -> clip keys that use it
    cached = 0
    shapes = cfg.shapes()
    for record in records:
        try:
            key = cache_key(record, cfg)
        except ClipError as err:
            failed.append((record.key, str(err)))
            continue
        except Exception as err:  # e.g. a malformed record: report it like any other failure
            failed.append((record.key, str(ClipError(record.key, f"{type(err).__name__}: {err}"))))
            continue
        if key in sharing:
            sharing[key].append(record.key)
            continue
        sharing[key] = [record.key]
        if cache.get(key, shapes) is not None:
            cached += 1
        else:
            todo[key] = record

    done: set[str] = set()
    if todo:
        cache.check_writable()  # a read-only or full folder stops here, before any clip is prepared

    def finish(key: str, error: str, found: list[str], fault: str) -> None:
        notes.extend(found)
        if fault:
            raise EnvironmentFault(fault)
        if error:
            failed.extend((clip, error) for clip in sharing[key])
        else:
            done.add(key)

    console = Console(stderr=True)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not progress or not todo,
        transient=False,
    ) as bar:
        task = bar.add_task(f"optical flow ({cfg.flow.method})", total=len(todo))
        pool = _start_pool(min(workers, len(todo)), start_method) if workers > 0 and todo else None
        if pool is None:
            for key, record in todo.items():
                finish(*_compute_entry(record, cfg, key, str(cache.root), cache.validate))
                bar.advance(task)
        else:
            try:
                with _main_module_hidden():  # the workers start during the first submits
                    futures: dict[Future[tuple[str, str, list[str], str]], str] = {
                        pool.submit(_compute_entry, record, cfg, key, str(cache.root), cache.validate): key
                        for key, record in todo.items()
                    }
                for future in as_completed(futures):
                    try:
                        result = future.result()
                    except BrokenProcessPool as err:  # a worker died: out of memory, a crash, a kill
                        raise EnvironmentFault(
                            f"flow precompute into {cache.root}: a worker process died ({len(done)} of "
                            f"{len(todo)} entries written and kept; rerun to resume); if memory ran out, "
                            "use fewer workers (data.init_args.precompute_workers), or 0 to prepare "
                            "in this process and see the error"
                        ) from err
                    except Exception as err:  # e.g. a record that could not be pickled to a worker
                        key = futures[future]
                        result = (key, str(ClipError(todo[key].key, f"{type(err).__name__}: {err}")), [], "")
                    finish(*result)
                    bar.advance(task)
            except BaseException:  # Ctrl-C, a fault: stop now, not after every queued clip
                _stop_workers(pool)
                raise
            pool.shutdown(wait=True)
    # Records sharing a successful entry with another record count as served by the cache.
    cached += sum(len(clips) - 1 for key, clips in sharing.items() if key not in todo or key in done)
    for note in notes:
        _log.warning(note)
    report = PrecomputeReport(len(done), cached, failed, time.perf_counter() - start, notes)
    if strict and failed:
        raise PrecomputeError(report)
    return report
