"""The training benchmark's instruments: peak memory, per-step clock, text-tower timer.

Used by :mod:`mer_contrast.bench.train` (see its docstring for how the figures are measured).
"""

from __future__ import annotations

import itertools
import resource
import threading
import time
from typing import Any

import torch
from lightning.pytorch import Callback, Trainer
from torch import nn

__all__ = ["PeakMemory", "StepClock", "TextTimer"]


class PeakMemory:
    """Peak memory growth (MiB) inside a ``with`` block; ``method`` says how it was measured."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.peak_mib = 0.0
        self.method = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
            self.method = "cuda max_memory_allocated"
            return self
        try:
            import psutil
        except ImportError:
            self._base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            self.method = "ru_maxrss growth (lifetime peak: a lower bound)"
            return self
        process = psutil.Process()
        self._base = self._peak = process.memory_info().rss
        self.method = "psutil RSS sampled every 5 ms"

        def sample() -> None:
            while not self._stop.wait(0.005):
                self._peak = max(self._peak, process.memory_info().rss)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device == "cuda":
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            peak = self._peak
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.peak_mib = (peak - self._base) / 2**20


class StepClock(Callback):
    """Timestamps every step end; stops after ``warmup`` + ``steps`` steps or ``min_seconds`` of timing."""

    def __init__(self, device: str, warmup: int, steps: int, min_seconds: float) -> None:
        self.device, self.warmup, self.steps, self.min_seconds = device, warmup, steps, min_seconds
        self.ends: list[float] = []
        self.cpu_ends: list[float] = []

    def tick(self) -> bool:
        """Record a step end; True when enough steps are timed."""
        if self.device == "cuda":
            torch.cuda.synchronize()
        self.ends.append(time.perf_counter())
        self.cpu_ends.append(time.process_time())
        timed = len(self.ends) - 1 - self.warmup
        return timed >= self.steps or (
            timed >= 1 and self.ends[-1] - self.ends[self.warmup] >= self.min_seconds
        )

    @property
    def timing(self) -> bool:
        return len(self.ends) > self.warmup

    def step_times(self, cpu: bool = False) -> list[float]:
        """Wall seconds per timed step, or process CPU seconds (robust to other processes' load)."""
        timed = (self.cpu_ends if cpu else self.ends)[self.warmup :]
        return [b - a for a, b in itertools.pairwise(timed)]

    def on_train_batch_end(self, trainer: Trainer, *args: Any) -> None:
        if self.tick():
            trainer.should_stop = True


class TextTimer:
    """Accumulates the text tower's forward time while ``clock.timing`` (forward hooks)."""

    def __init__(self, text: nn.Module, clock: StepClock, device: str) -> None:
        self.total = 0.0
        self._start = 0.0

        def sync() -> None:
            if device == "cuda":
                torch.cuda.synchronize()

        def before(*_: Any) -> None:
            sync()
            self._start = time.perf_counter()

        def after(*_: Any) -> None:
            sync()
            if clock.timing:
                self.total += time.perf_counter() - self._start

        text.register_forward_pre_hook(before)
        text.register_forward_hook(after)
