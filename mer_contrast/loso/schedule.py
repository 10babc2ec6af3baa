"""Which folds run where: all in this process, one (``--fold-index``), or as subprocesses.

Parallel folds are ``mer-contrast loso ... --fold-index K`` children. On GPUs
(``--parallel-gpus``) each child sees one (``CUDA_VISIBLE_DEVICES=i``), ``procs_per_gpu`` of them
sharing each GPU at once (one compact fold cannot fill an H100-class device). On the CPU the thread
policy of :mod:`mer_contrast.loso.threads` holds (one torch thread per fold process, as many processes
as cores): the first fold runs in this process (it fills the flow cache every fold reads), then the
others in ``--procs N`` children (``--fold-index K,L,...``: a share each, one process start per
share; the folds that do not deal evenly run here while the children start, so every share is as
long); by default N is one per free core up to the folds (the cores less the load average), and
the children start only when the first fold says they pay (a process start against the folds it
saves). Each child is an ordinary ``--fold-index`` run (the same code
path as a SLURM array task), so a crash in one fold leaves the others and the resumable state
intact; its output goes to ``DIR/seed{S}/{subject}.log`` (``{subject}+N.log`` for a share of N
more; next to the fold folder, which the child recreates).

A fold is run under its own lock, ``DIR/seed{S}/.{subject}.lock`` (beside the folder it recreates):
two processes never write one fold, whether two tasks of a SLURM array were given one index or a
whole run meets a task; the second says who holds it and leaves the fold to it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal

from mer_contrast.clips.errors import find_fault
from mer_contrast.files import FolderBusy, folder_lock
from mer_contrast.loso import threads
from mer_contrast.loso.options import FIELDS
from mer_contrast.loso.plan import FoldSpec, LosoOptions, RunPlan
from mer_contrast.loso.progress import FoldProgress
from mer_contrast.loso.runner import is_done, is_rank_zero, run_fold
from mer_contrast.loso.store import fold_dir, read_done, read_predictions

__all__ = [
    "SCHEDULING",
    "fold_command",
    "fold_lock",
    "fold_log",
    "fold_metrics",
    "run_folds",
    "run_parallel",
]

log = logging.getLogger(__name__)


# How the parent runs its folds, not what a fold computes: a fold's child process is not told.
SCHEDULING = ("parallel_gpus", "procs_per_gpu", "procs")


def fold_command(options: LosoOptions, force: bool = False) -> list[str]:
    """The ``loso`` arguments of one fold's child process (``--fold-index K`` is put in front).

    Built from the options rather than from the parent's argv, so a child is told exactly what the
    parent decided (its configs' ``loso:`` sections give the same values again) and nothing about
    scheduling; LightningCLI overrides follow ``--``.
    """
    argv = [arg for config in options.configs for arg in ("--config", str(config))]
    argv += ["--out", str(options.output_dir())]
    for setting in FIELDS.values():
        value = getattr(options, setting.name)
        if setting.name in ("out", *SCHEDULING) or value is None or value is False:
            continue
        flag = f"--{setting.name.replace('_', '-')}"
        if value is True:
            argv.append(flag)
        else:
            argv += [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    if force:
        argv.append("--force")
    return [*argv, "--", *options.overrides]


def fold_metrics(plan: RunPlan, spec: FoldSpec, done: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per-selection scores of a finished fold (for the progress line)."""
    from mer_contrast.loso.metrics import metrics_of_rows

    folder = fold_dir(plan.out, spec.seed, spec.subject)
    scores = {}
    for key, info in done.get("selections", {}).items():
        rows = read_predictions(folder / info["file"])
        scores[key] = metrics_of_rows(rows, len(plan.classes))
    return scores


def fold_lock(plan: RunPlan, spec: FoldSpec) -> contextlib.AbstractContextManager[Any]:
    """The lock of one fold (:class:`~mer_contrast.files.FolderBusy` when another process runs it);
    none in a DDP fold's other ranks, which run under rank 0's."""
    if not is_rank_zero():
        return contextlib.nullcontext()
    folder = fold_dir(plan.out, spec.seed, spec.subject)
    return folder_lock(
        folder.parent,
        lock_name=f".{folder.name}.lock",
        busy_fix="that process is running this fold; let it finish, then rerun to pool it",
    )


def _free_accelerator_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_folds(
    options: LosoOptions,
    plan: RunPlan,
    *,
    fold_index: int | Sequence[int] | None = None,
    gpus: int = 0,
    procs_per_gpu: int = 1,
    procs: int | None = None,
    child_argv: Sequence[str] = (),
    report: bool = True,
) -> int:
    """Run the plan's unfinished folds, then write (and print) the report; returns the exit code.

    ``fold_index``: only that fold, or those folds one after another (a CPU child's share), and no
    report. ``gpus``: child processes on that many GPUs, ``procs_per_gpu`` on each; else ``procs``
    CPU child processes (None: :func:`~mer_contrast.loso.threads.cpu_processes`' default), or the
    folds in this process for 1.
    """
    indices = None if fold_index is None else [fold_index] if isinstance(fold_index, int) else fold_index
    if indices is not None:
        wrong = [index for index in indices if not 0 <= index < len(plan.folds)]
        if wrong:
            log.error(
                "--fold-index %d: this run has folds 0..%d (seeds x subjects)", wrong[0], len(plan.folds) - 1
            )
            return 2
    if indices is not None and len(indices) == 1:
        spec = plan.folds[indices[0]]
        try:
            with fold_lock(plan, spec):
                if is_done(plan, options, spec):
                    log.info("seed%d/%s is already done; nothing to do", spec.seed, spec.subject)
                    return 0
                run_fold(options, plan, spec)
        except FolderBusy as err:
            log.error("seed%d/%s: %s", spec.seed, spec.subject, err)
            return 1
        return 0

    asked = plan.folds if indices is None else [plan.folds[index] for index in indices]
    report = report and indices is None
    pending = [spec for spec in asked if not is_done(plan, options, spec)]
    skipped = len(asked) - len(pending)
    if skipped:
        log.info("%d of %d folds already done (same config and data): skipped", skipped, len(plan.folds))
    progress = FoldProgress(len(asked), skipped=skipped)
    failed: list[FoldSpec] = []
    busy: list[FoldSpec] = []  # run by another process (a SLURM task): left to it
    # CPU folds side by side are weighed after the first fold, which runs here (and fills the cache).
    spread = bool(pending) and gpus == 0 and not indices and procs != 1 and threads.on_cpu(plan.accelerator)
    if gpus > 0 and pending:
        failed = run_parallel(plan, pending, child_argv, gpus, progress, procs_per_gpu)
    else:
        startup = time.process_time()  # this process's start (imports, config, plan): a child's again

        def run_here(spec: FoldSpec) -> Literal["ok", "busy", "failed"]:
            name = f"seed{spec.seed}/{spec.subject}"
            progress.start(name)
            try:
                with fold_lock(plan, spec):
                    # finished meanwhile by another process (it held the lock): nothing to redo
                    done = (
                        run_fold(options, plan, spec) if not is_done(plan, options, spec, warn=False) else {}
                    )
            except KeyboardInterrupt:
                raise
            except FolderBusy as err:
                log.error("%s: %s", name, err)
                busy.append(spec)
                progress.finish(name, ok=False)
                return "busy"
            except Exception as err:
                # The machine, not this fold (also when jsonargparse wrapped it): every later fold
                # would fail the same way.
                fault = find_fault(err)
                if fault is not None:
                    raise fault from None
                # One broken fold must not lose the others; the report lists it as missing.
                traceback.print_exc()
                failed.append(spec)
                progress.finish(name, ok=False)
                return "failed"
            finally:
                _free_accelerator_memory()
            progress.finish(name, fold_metrics(plan, spec, done) if done else None)
            return "ok"

        def run_each(specs: Sequence[FoldSpec]) -> None:
            for spec in specs:
                run_here(spec)

        for position, spec in enumerate(pending):
            before = time.process_time()
            outcome = run_here(spec)
            if outcome == "failed" and len(failed) == progress.ran:  # nothing has worked yet: the config
                log.error("the first fold failed; fix the error above and rerun (finished folds are kept)")
                return 1
            if outcome != "ok":
                continue
            rest = pending[position + 1 :]
            if spread and rest:
                spread = False
                children = min(threads.cpu_processes(procs, len(rest)), len(rest))
                fold = time.process_time() - before
                if children > 1 and (
                    procs is not None or threads.worth_children(startup, fold, len(rest), children)
                ):
                    # The folds that do not deal evenly run here while the children start: every
                    # child then has as many, and this process does not wait idle for the longest.
                    here, spread_out = rest[: len(rest) % children], rest[len(rest) % children :]
                    log.info(
                        "the other %d folds: %d processes side by side, one thread each%s",
                        len(spread_out),
                        children,
                        f"; {len(here)} more here meanwhile" if here else "",
                    )
                    failed.extend(
                        run_parallel(
                            plan,
                            spread_out,
                            child_argv,
                            0,
                            progress,
                            cpu_procs=children,
                            meanwhile=partial(run_each, here),
                        )
                    )
                    break
                if len(rest) > 1:
                    log.info(
                        "the other %d folds here, one after another: %s",
                        len(rest),
                        threads.why_here(children, fold, startup),
                    )
    if busy:
        log.error(
            "%d fold(s) left to the process running them: %s; rerun when it ends to pool them",
            len(busy),
            ", ".join(f"seed{s.seed}/{s.subject}" for s in busy),
        )
    if failed:
        names = ", ".join(f"seed{s.seed}/{s.subject} (--fold-index {s.index})" for s in failed)
        log.error("%d fold(s) failed: %s; rerun the same command to retry them", len(failed), names)
    if report and is_rank_zero():
        from mer_contrast.loso.report import print_report, write_report

        try:
            summary = write_report(plan.out)
        except FileNotFoundError as err:
            log.error("%s", err)
            return 1
        print_report(summary)
        print(f"report: {plan.out / 'summary.md'} (json, confusion_*.png alongside)")
    return 1 if failed or busy else 0


def fold_log(plan: RunPlan, spec: FoldSpec) -> Path:
    """Where a child's stdout and stderr go."""
    folder = fold_dir(plan.out, spec.seed, spec.subject)
    return folder.parent / f"{folder.name}.log"


def cpu_shares(pending: Sequence[FoldSpec], procs: int) -> list[list[FoldSpec]]:
    """The folds of each CPU process, dealt round robin: the folds of a LOSO run take about as long
    each (each trains on all subjects but one), and a process that runs several pays its start once."""
    return [list(pending[k::procs]) for k in range(min(procs, len(pending)))]


def _finished(plan: RunPlan, spec: FoldSpec, since: float) -> dict[str, Any] | None:
    """The ``done.json`` a child wrote for ``spec`` after ``since``; None before."""
    try:
        done = read_done(fold_dir(plan.out, spec.seed, spec.subject))
    except ValueError:
        return None
    return done if done is not None and done.get("finished", 0) >= since else None


def run_parallel(
    plan: RunPlan,
    pending: Sequence[FoldSpec],
    base_argv: Sequence[str],
    gpus: int,
    progress: FoldProgress,
    procs_per_gpu: int = 1,
    *,
    cpu_procs: int = 0,
    meanwhile: Callable[[], object] | None = None,
) -> list[FoldSpec]:
    """Run ``pending`` folds as child processes; return the failed ones.

    With ``gpus``: one fold a child, ``gpus x procs_per_gpu`` at a time, each pinned to one GPU.
    Else ``cpu_procs`` children on the CPU under :data:`THREAD_POLICY`, each running its share
    (:func:`cpu_shares`) one fold after another; a fold is reported done when its ``done.json``
    appears. ``base_argv`` is the ``loso`` command line without the scheduling flags and
    ``--fold-index``. ``meanwhile`` runs in this process once the first children have started (folds
    of its own); if it raises, the children are stopped (their unfinished folds rerun next time).
    """
    queue = [[spec] for spec in pending] if gpus else cpu_shares(pending, cpu_procs)
    # One slot per process at once: where it runs (for the progress line) and its environment.
    free: list[tuple[str, dict[str, str]]] = [
        (f"GPU {gpu}", {"CUDA_VISIBLE_DEVICES": str(gpu)})
        for _ in range(max(1, procs_per_gpu))
        for gpu in range(gpus)
    ] or [(f"CPU process {k + 1}", threads.policy_env()) for k in range(cpu_procs)]
    running: dict[subprocess.Popen[bytes], tuple[list[FoldSpec], tuple[str, dict[str, str]], IO[bytes]]] = {}
    started: dict[subprocess.Popen[bytes], float] = {}
    failed: list[FoldSpec] = []
    while queue or running:
        while queue and free:
            job, slot = queue.pop(0), free.pop(0)
            # A share of several folds logs beside the fold folders: DIR/seed{S}/{first subject}+N.log
            log_path = fold_log(plan, job[0])
            if len(job) > 1:
                log_path = log_path.with_name(f"{log_path.stem}+{len(job) - 1}.log")
            log_path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(log_path, "wb")
            # --fold-index first: base_argv may end with `-- <LightningCLI overrides>`.
            indices = ",".join(str(spec.index) for spec in job)
            command = [sys.executable, "-m", "mer_contrast", "loso", "--fold-index", indices, *base_argv]
            child = subprocess.Popen(
                command, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **slot[1]}
            )
            running[child], started[child] = (job, slot, handle), time.time()
            names = ", ".join(f"seed{spec.seed}/{spec.subject}" for spec in job)
            progress.start(f"{names} on {slot[0]} (log: {log_path})")
        if meanwhile is not None:
            work, meanwhile = meanwhile, None
            try:
                work()
            except BaseException:
                for child in running:
                    child.terminate()
                raise
        time.sleep(1.0)
        for child, (job, slot, log_file) in list(running.items()):
            exited = child.poll() is not None
            while not gpus and job and (done := _finished(plan, job[0], started[child])) is not None:
                spec = job.pop(0)
                progress.finish(f"seed{spec.seed}/{spec.subject}", fold_metrics(plan, spec, done))
            if not exited:
                continue
            running.pop(child)
            log_file.close()
            free.append(slot)
            for spec in job:  # a GPU child's fold by its exit status; what a CPU child left undone
                ok = child.returncode == 0 if gpus else _finished(plan, spec, started[child]) is not None
                if not ok:
                    failed.append(spec)
                progress.finish(f"seed{spec.seed}/{spec.subject}", ok=ok)
    return failed
