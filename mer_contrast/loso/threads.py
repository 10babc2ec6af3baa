"""The thread policy of CPU folds: one torch thread per fold process, as many processes as free cores.

The small 3D CNNs of the CPU configs gain little from a second thread, and torch's spinning OpenMP
threads stall when another process holds a core, so a CPU fold runs with one thread
(:data:`THREAD_POLICY`) and the cores are used by running folds side by side
(:mod:`mer_contrast.loso.schedule`). :func:`cpu_processes` says how many, :func:`worth_children` whether
the process starts pay for themselves. README (the paragraph on CPU folds after the SLURM example)
has the measured figures.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator

__all__ = [
    "THREAD_POLICY",
    "cpu_processes",
    "free_cores",
    "on_cpu",
    "policy_env",
    "thread_policy",
    "usable_cores",
    "why_here",
    "worth_children",
]

#: The thread policy of a CPU fold's process: one torch (OpenMP, MKL) thread. The small 3D CNNs of
#: the CPU configs gain little from more threads, and spinning OpenMP threads stall when another
#: process holds a core (on a shared machine a fold's training took 146-470 s with torch's default
#: threads, 20-25 s with one); the cores are used by running folds side by side instead.
#: An ``OMP_NUM_THREADS`` of the user's own wins (the children inherit it, this process keeps it).
THREAD_POLICY = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def on_cpu(accelerator: str) -> bool:
    """Whether folds with this ``trainer.accelerator`` run on the CPU (``auto``: where torch sees no GPU)."""
    if accelerator == "cpu":
        return True
    if accelerator not in ("auto", "None"):
        return False
    from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator

    return not (CUDAAccelerator.is_available() or MPSAccelerator.is_available())


@contextlib.contextmanager
def thread_policy(accelerator: str) -> Iterator[None]:
    """:data:`THREAD_POLICY` in this process while its CPU folds run; torch's count is restored after."""
    if "OMP_NUM_THREADS" in os.environ or not on_cpu(accelerator):
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def policy_env() -> dict[str, str]:
    """The environment of a CPU fold's child process: no GPU, one thread unless the user said more."""
    return {"CUDA_VISIBLE_DEVICES": "", **{k: os.environ.get(k, v) for k, v in THREAD_POLICY.items()}}


def worth_children(startup_s: float, fold_s: float, remaining: int, children: int) -> bool:
    """Whether ``children`` processes end ``remaining`` folds sooner than this process alone: each pays
    ``startup_s`` (this process's CPU time before its first fold: imports, config, data plan), then runs
    its share of folds of ``fold_s`` (the first fold's CPU time). Short folds stay here."""
    return startup_s + math.ceil(remaining / children) * fold_s < remaining * fold_s


def why_here(children: int, fold_s: float, startup_s: float) -> str:
    """Why the other folds stay in this process (a log line's end)."""
    if children == 1:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        cores = usable_cores()
        return f"other work holds the cores (load average {load:.1f} on {cores}; --procs N spreads them)"
    return (
        f"a fold took {fold_s:.1f} s of CPU and a process starts in {startup_s:.1f} s "
        f"(--procs {children} spreads them anyway)"
    )


def usable_cores() -> int:
    """The cores this process may run on (a SLURM task's ``--cpus-per-task``, a container's quota)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def free_cores() -> int:
    """Usable cores that other processes leave free: the cores less the 1-minute load average (less
    this process's own share of it), at least 1. On a shared server two one-thread folds do not run
    twice as fast when other work already holds the cores."""
    cores = usable_cores()
    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average (Windows)
        return cores
    return max(1, min(cores, round(cores - max(0.0, load - 1.0))))


def cpu_processes(requested: int | None, pending: int) -> int:
    """CPU fold processes at once: ``requested`` (``--procs``), else one per free core
    (:func:`free_cores`) up to the ``pending`` folds."""
    if requested is not None:
        return requested
    return max(1, min(free_cores(), pending))
