"""Which folds run where: all in this process, one (``--fold-index``), or as subprocesses on GPUs.

Parallel folds are ``CUDA_VISIBLE_DEVICES=i mer-contrast loso ... --fold-index K`` children,
``procs_per_gpu`` of them sharing each GPU at once (one compact fold cannot fill an H100-class
device). Each child is an ordinary single-fold run (the same code path as a SLURM array task), so a
crash in one fold leaves the others and the resumable state intact; its output goes to
``DIR/seed{S}/{subject}.log`` (next to the fold folder, which the child recreates).

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
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from mer_contrast.clips.errors import find_fault
from mer_contrast.files import FolderBusy, folder_lock
from mer_contrast.loso.options import FIELDS
from mer_contrast.loso.progress import FoldProgress
from mer_contrast.loso.runner import FoldSpec, LosoOptions, RunPlan, is_done, is_rank_zero, run_fold
from mer_contrast.loso.store import fold_dir, read_predictions

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
SCHEDULING = ("parallel_gpus", "procs_per_gpu")


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
    fold_index: int | None = None,
    gpus: int = 0,
    procs_per_gpu: int = 1,
    child_argv: Sequence[str] = (),
    report: bool = True,
) -> int:
    """Run the plan's unfinished folds, then write (and print) the report; returns the exit code."""
    if fold_index is not None:
        if not 0 <= fold_index < len(plan.folds):
            log.error(
                "--fold-index %d: this run has folds 0..%d (seeds x subjects)",
                fold_index,
                len(plan.folds) - 1,
            )
            return 2
        spec = plan.folds[fold_index]
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

    pending = [spec for spec in plan.folds if not is_done(plan, options, spec)]
    skipped = len(plan.folds) - len(pending)
    if skipped:
        log.info("%d of %d folds already done (same config and data): skipped", skipped, len(plan.folds))
    progress = FoldProgress(len(plan.folds), skipped=skipped)
    failed: list[FoldSpec] = []
    busy: list[FoldSpec] = []  # run by another process (a SLURM task): left to it
    if gpus > 0 and pending:
        failed = run_parallel(plan, pending, child_argv, gpus, progress, procs_per_gpu)
    else:
        for spec in pending:
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
                continue
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
                if len(failed) == progress.ran:  # nothing has worked yet: likely the config, stop early
                    log.error(
                        "the first fold failed; fix the error above and rerun (finished folds are kept)"
                    )
                    return 1
                continue
            finally:
                _free_accelerator_memory()
            progress.finish(name, fold_metrics(plan, spec, done) if done else None)
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


def run_parallel(
    plan: RunPlan,
    pending: Sequence[FoldSpec],
    base_argv: Sequence[str],
    gpus: int,
    progress: FoldProgress,
    procs_per_gpu: int = 1,
) -> list[FoldSpec]:
    """Run ``pending`` folds, ``gpus x procs_per_gpu`` at a time, each pinned to one GPU; return the
    failed ones.

    ``base_argv`` is the ``loso`` command line without ``--parallel-gpus`` / ``--fold-index``.
    """
    queue = list(pending)
    free = [gpu for _ in range(max(1, procs_per_gpu)) for gpu in range(gpus)]  # one slot per process
    running: dict[subprocess.Popen[bytes], tuple[FoldSpec, int, IO[bytes]]] = {}
    failed: list[FoldSpec] = []
    while queue or running:
        while queue and free:
            spec, gpu = queue.pop(0), free.pop(0)
            log_path = fold_log(plan, spec)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(log_path, "wb")
            # --fold-index first: base_argv may end with `-- <LightningCLI overrides>`.
            command = [
                sys.executable,
                "-m",
                "mer_contrast",
                "loso",
                "--fold-index",
                str(spec.index),
                *base_argv,
            ]
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": str(gpu)}
            child = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
            running[child] = (spec, gpu, handle)
            progress.start(f"seed{spec.seed}/{spec.subject} on GPU {gpu} (log: {log_path})")
        time.sleep(1.0)
        for child in [c for c in running if c.poll() is not None]:
            spec, gpu, log_file = running.pop(child)
            log_file.close()
            free.append(gpu)
            ok = child.returncode == 0
            if not ok:
                failed.append(spec)
            progress.finish(f"seed{spec.seed}/{spec.subject}", ok=ok)
    return failed
