"""Folds as subprocesses on GPUs: ``CUDA_VISIBLE_DEVICES=i mer-contrast loso ... --fold-index K``.

``procs_per_gpu`` folds share each GPU at once: one compact fold cannot fill an H100-class device.

Each child is an ordinary single-fold run (the same code path as a SLURM array task), so a crash in
one fold leaves the others and the resumable state intact. A child's output goes to
``DIR/seed{S}/{subject}.log`` (next to the fold folder, which the child recreates).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from mer_contrast.loso.progress import FoldProgress
from mer_contrast.loso.runner import FoldSpec, RunPlan
from mer_contrast.loso.store import fold_dir

__all__ = ["fold_log", "run_parallel"]


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
