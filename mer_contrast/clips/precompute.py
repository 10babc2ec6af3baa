"""Fill the flow cache for many records in parallel worker processes.

``precompute(records, cfg, cache, workers=2)`` keys every record, keeps the entries already in the
cache (loaded and validated, so a damaged one is recomputed), and prepares the rest in a
``ProcessPoolExecutor``. Workers start from a ``forkserver`` (``spawn`` where it does not exist), never
by forking the caller, whose OpenCV/torch thread pools do not survive ``fork``. As with any
multiprocessing code, a *script* that calls this must guard its entry point with
``if __name__ == "__main__":`` (notebooks and the ``mer-contrast`` CLI need nothing). Each worker
sets ``cv2.setNumThreads(1)`` so the processes, not OpenCV threads, share the cores, and writes its
entry to the cache itself (no arrays travel back through pipes). Failures are collected with a
one-line reason per clip; ``strict=True`` raises :class:`PrecomputeError` listing them at the end.
DDP: call this on one rank only (the DataModule does it in ``prepare_data``).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
import warnings
from collections.abc import Iterable, Sequence
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

from mer_contrast.clips.cache import FlowCache, cache_key
from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.face import NoFaceFoundWarning
from mer_contrast.clips.prepare import ClipConfig, prepare_clip
from mer_contrast.datasets.records import SampleRecord

StartMethod = Literal["forkserver", "spawn", "fork"]
_log = logging.getLogger(__name__)


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


def _init_worker() -> None:
    cv2.setNumThreads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the parent, which cancels


def _compute_entry(
    record: SampleRecord, cfg: ClipConfig, key: str, root: str, validate: bool
) -> tuple[str, str, list[str]]:
    """Prepare one clip and store it; returns ``(key, error or "", warnings)`` (never raises)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NoFaceFoundWarning)
        try:
            arrays = prepare_clip(record, cfg)
            FlowCache(root, validate=validate).put(key, arrays)
            error = ""
        except ClipError as err:
            error = str(err)
        except Exception as err:  # any other failure is reported, not raised, like a ClipError
            error = str(ClipError(record.key, f"{type(err).__name__}: {err}"))
    notes = [str(w.message) for w in caught if issubclass(w.category, NoFaceFoundWarning)]
    return key, error, notes


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


def precompute(
    records: Iterable[SampleRecord],
    cfg: ClipConfig,
    cache: FlowCache,
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

    def finish(key: str, error: str, found: list[str]) -> None:
        notes.extend(found)
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
        if workers <= 0:
            for key, record in todo.items():
                finish(*_compute_entry(record, cfg, key, str(cache.root), cache.validate))
                bar.advance(task)
        elif todo:
            with ProcessPoolExecutor(
                max_workers=min(workers, len(todo)),
                mp_context=worker_context(start_method, ["mer_contrast.clips.precompute"]),
                initializer=_init_worker,
            ) as pool:
                futures: dict[Future[tuple[str, str, list[str]]], str] = {
                    pool.submit(_compute_entry, record, cfg, key, str(cache.root), cache.validate): key
                    for key, record in todo.items()
                }
                try:
                    for future in as_completed(futures):
                        key = futures[future]
                        try:
                            finish(*future.result())
                        except Exception as err:  # a worker died (BrokenProcessPool) or could not unpickle
                            hint = (
                                ' (a script calling this needs an `if __name__ == "__main__":` guard)'
                                if isinstance(err, BrokenProcessPool)
                                else ""
                            )
                            reason = ClipError(
                                todo[key].key, f"worker failed: {type(err).__name__}: {err}{hint}"
                            )
                            finish(key, str(reason), [])
                        bar.advance(task)
                except KeyboardInterrupt:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    # Records sharing a successful entry with another record count as served by the cache.
    cached += sum(len(clips) - 1 for key, clips in sharing.items() if key not in todo or key in done)
    for note in notes:
        _log.warning(note)
    report = PrecomputeReport(len(done), cached, failed, time.perf_counter() - start, notes)
    if strict and failed:
        raise PrecomputeError(report)
    return report
