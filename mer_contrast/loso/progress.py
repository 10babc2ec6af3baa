"""Progress across LOSO folds, printed between folds.

Lightning's RichProgressBar is a live display inside each fold, and rich allows one live display at a
time, so the across-folds bar is printed as a static line when a fold starts (on a terminal) and when it
ends: a SLURM log file gets one line per fold.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from rich.console import Console
from rich.text import Text

__all__ = ["FoldProgress"]


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class FoldProgress:
    """A bar over the folds of a LOSO run.

    Args:
        total: folds in the run.
        skipped: folds already finished by an earlier run (counted as done, excluded from the ETA).
        console: where to print; a new stderr console by default.
    """

    def __init__(self, total: int, skipped: int = 0, console: Console | None = None) -> None:
        self.total = total
        self.done = skipped
        self.ran = 0
        self.started = time.time()
        self.console = console or Console(stderr=True)
        self.width = 20

    def _line(self, text: str, style: str = "") -> None:
        elapsed = time.time() - self.started
        eta = ""
        if self.ran:
            eta = f" eta {_clock(elapsed / self.ran * (self.total - self.done))}"
        filled = round(self.width * self.done / max(self.total, 1))
        line = Text("LOSO ", style="bold")
        line.append("━" * filled, style="green")
        line.append("━" * (self.width - filled), style="grey37")
        line.append(f" {self.done}/{self.total} folds {_clock(elapsed)}{eta}  ")
        line.append(text, style=style)
        self.console.print(line, soft_wrap=True)  # long lines wrap in the terminal, not mid-bar

    def start(self, name: str) -> None:
        """A fold begins: said on a terminal only (a log file gets one line per fold, when it ends)."""
        if self.console.is_terminal:
            self._line(f"{name} training", "cyan")

    def finish(
        self, name: str, metrics: Mapping[str, Mapping[str, float]] | None = None, ok: bool = True
    ) -> None:
        """A fold ended; ``metrics`` are its per-selection scores, shown briefly."""
        self.done += 1
        self.ran += 1
        if not ok:
            self._line(f"{name} failed", "red")
            return
        parts = [
            f"{key} acc {100 * m['accuracy']:.0f} uf1 {100 * m['uf1']:.0f}"
            for key, m in (metrics or {}).items()
            if m.get("accuracy") == m.get("accuracy")  # skip NaN
        ]
        self._line(f"{name} done " + "; ".join(parts), "green")
