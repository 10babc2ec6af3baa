"""Less noise in the package's own runs: each log line once per run, and none of the third-party chatter
that says nothing about the run (Lightning's product tips, a torch deprecation inside Lightning, the
transformers weight-loading bar, "GPU available: False, used: False" and its TPU/HPU lines when no
such device exists; with one, the lines stay).

In ``validate``/``test``/``predict`` (``quiet_run(evaluating=True)``) Lightning's checkpoint-folder
warnings are dropped too: "The dirpath has changed from ..." (restoring a ModelCheckpoint's
best-score bookkeeping, which no evaluation uses) and "Checkpoint directory ... exists and is not
empty" (an evaluation writes no checkpoint). In ``fit`` both stay: there they warn of a resumed run
losing its best score, or of checkpoints mixing with an earlier run's.

Only the entry points (``mer-contrast fit|validate|test|predict|loso|demo``) turn this on, for the
length of :func:`quiet_run`; a library user's logging and warnings are left as they are. A LOSO run also
silences W&B's own banners (:func:`quiet_wandb`: about 35 lines per fold's run) and says once where its
runs are instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator

__all__ = ["attach", "quiet_run", "quiet_wandb"]

# Lightning's advertisements for its cloud products (rank_zero_info, once per Trainer).
TIP_PREFIX = "💡 Tip:"
# Lightning's word that fit ran its whole epoch budget: the normal end, said once per Trainer.
BUDGET_PREFIX = "`Trainer.fit` stopped: `max_epochs="
# torch >= 2.10 deprecates LeafSpec, which Lightning 2.6's _tree_flatten still builds (not ours to fix).
LEAFSPEC_MESSAGE = r"`isinstance\(treespec, LeafSpec\)` is deprecated"
# Lightning's device lines when no such device exists (setup.py's rank_zero_info, once per Trainer).
NO_DEVICE = re.compile(r"^(GPU|TPU|HPU) available: False, us(ed|ing): (False|0 \w+)( cores)?$")
# ModelCheckpoint's warnings about its folder, which an evaluation does not write to.
CHECKPOINT_FOLDER_MESSAGES = (
    r"The dirpath has changed from ",
    r"Checkpoint directory .* exists and is not empty",
)
# Loggers whose handlers print: Lightning adds its own two when root has none; ours; root.
HANDLER_OWNERS = ("lightning.pytorch", "lightning.fabric", "mer_contrast", "")


class RunFilter(logging.Filter):
    """Drops Lightning's tips and its "stopped: max_epochs reached" (the normal end), and any record
    already shown in this run (folds repeat them verbatim)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        # One record meets this filter on every handler it reaches (ours, then root's): judge it once.
        verdict = record.__dict__.get("_mer_contrast_shown")
        if verdict is None:
            message = record.getMessage()
            key = (record.name, record.levelno, message)
            chatter = message.startswith((TIP_PREFIX, BUDGET_PREFIX)) or NO_DEVICE.match(message) is not None
            verdict = not chatter and key not in self.seen
            self.seen.add(key)
            record.__dict__["_mer_contrast_shown"] = verdict
        return bool(verdict)


_active: RunFilter | None = None
_filtered: list[logging.Handler] = []
_bar_was_on: bool | None = None


def attach() -> None:
    """Filter the log handlers that exist now; call again after importing Lightning (it adds its own)."""
    global _bar_was_on
    if _active is None:
        return
    # lastResort prints mer_contrast's warnings when nothing configured logging (fit, demo).
    last_resort = [logging.lastResort] if logging.lastResort is not None else []
    _reopen_closed_streams()
    for handler in [h for name in HANDLER_OWNERS for h in logging.getLogger(name).handlers] + last_resort:
        if _active not in handler.filters:
            handler.addFilter(_active)
            _filtered.append(handler)
    # Before Lightning is imported, importing transformers here would only slow an early error down.
    if _bar_was_on is None and ("lightning" in sys.modules or "transformers" in sys.modules):
        try:  # "Loading weights" per text tower; hub downloads keep their own bar
            from transformers.utils import logging as hf_logging
        except ImportError:
            return
        _bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()


def _reopen_closed_streams() -> None:
    """Point the libraries' stream handlers whose stream was closed at today's ``sys.stderr``.

    Lightning and torch make their handlers when they are imported, on the ``sys.stderr`` of that
    moment; when that was a caller's temporary stream (a test's capture), every later record would be
    a "--- Logging error ---" traceback instead of the message.
    """
    libraries = [
        name for name in logging.Logger.manager.loggerDict if name.startswith(("lightning", "torch"))
    ]
    for name in dict.fromkeys([*HANDLER_OWNERS, *libraries]):  # each logger once
        for handler in logging.getLogger(name).handlers:
            stream = getattr(handler, "stream", None)
            if type(handler) is logging.StreamHandler and getattr(stream, "closed", False):
                handler.stream = sys.stderr  # not setStream(): it flushes the closed stream first


@contextlib.contextmanager
def quiet_run(evaluating: bool = False) -> Iterator[None]:
    """The span of one run (``demo`` wraps ``loso``: the outer span holds); ``evaluating``: a
    ``validate``/``test``/``predict`` run, without the checkpoint-folder warnings (module docstring)."""
    global _active, _bar_was_on
    if _active is not None:
        yield
        return
    _active = RunFilter()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=LEAFSPEC_MESSAGE, category=FutureWarning, module=r"lightning\."
            )
            for message in CHECKPOINT_FOLDER_MESSAGES if evaluating else ():
                warnings.filterwarnings("ignore", message=message)
            attach()
            yield
    finally:
        for handler in _filtered:
            handler.removeFilter(_active)
        _filtered.clear()
        _active = None
        if _bar_was_on:
            from transformers.utils import logging as hf_logging

            hf_logging.enable_progress_bar()
        _bar_was_on = None


@contextlib.contextmanager
def quiet_wandb() -> Iterator[None]:
    """No W&B banners (version, sync hints, run history and summary) while it lasts: ``WANDB_SILENT``.

    A user's own ``WANDB_SILENT`` (``false`` to see them) wins; child processes (parallel folds)
    inherit the setting.
    """
    if "WANDB_SILENT" in os.environ:
        yield
        return
    os.environ["WANDB_SILENT"] = "true"
    try:
        yield
    finally:
        os.environ.pop("WANDB_SILENT", None)
