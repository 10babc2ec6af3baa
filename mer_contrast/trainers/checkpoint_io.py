"""Checkpoint files that are whole or absent, and a full disk said in one line.

Lightning's :class:`~lightning.fabric.plugins.io.torch_io.TorchCheckpointIO` serialises a checkpoint
into memory and writes it through an ``fsspec`` transaction, which for a local path first writes a
temporary file in ``$TMPDIR`` and then moves it over the target: a small ``$TMPDIR`` ends the run, and a
move across file systems is a copy that a full disk cuts short under the checkpoint's own name.

:class:`AtomicCheckpointIO` writes the checkpoint under a temporary name in the target's own folder
(:func:`mer_contrast.files.atomic_write`: ``os.replace`` when it is whole, deleted when it is not), so
``last.ckpt``/``best.ckpt`` are the previous file or the whole new one, never a truncated one. A write
that fails (no space left, a read-only folder) is an
:class:`~mer_contrast.clips.errors.EnvironmentFault` naming the folder, which every command prints as
one line (exit 1). Remote paths (``s3://`` ...) are left to Lightning's own IO.
:func:`use_atomic_checkpoints` installs it on a trainer that uses Lightning's default IO (the
LightningCLI's ``fit`` before it starts, the LOSO runner on every fold's trainer).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch import Trainer

from mer_contrast.clips.errors import EnvironmentFault
from mer_contrast.files import atomic_write

__all__ = ["AtomicCheckpointIO", "checkpoint_fault", "use_atomic_checkpoints"]

#: ``errno`` values that mean the disk (or the user's quota) is full.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def checkpoint_fault(path: Path, error: OSError) -> EnvironmentFault:
    """The one-line fault of a checkpoint ``path`` that ``error`` kept from being written."""
    if error.errno in NO_SPACE:
        return EnvironmentFault(
            f"{path.parent}: no space left to write the checkpoint {path.name}; free space there or "
            "write the run elsewhere (--out, --trainer.default_root_dir); nothing was left under its name"
        )
    return EnvironmentFault(
        f"{path.parent}: cannot write the checkpoint {path.name} ({error.strerror or error}); "
        "write the run to a folder you can write to (--out, --trainer.default_root_dir)"
    )


class AtomicCheckpointIO(TorchCheckpointIO):
    """:class:`TorchCheckpointIO` whose local writes go through a temporary file beside the target."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)  # its own errors and remote writes
            return
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path, "wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())  # on disk before it takes the name
        except OSError as err:
            raise checkpoint_fault(path, err) from err


def use_atomic_checkpoints(trainer: Trainer) -> Trainer:
    """Give ``trainer`` :class:`AtomicCheckpointIO` when it would use Lightning's default IO (a plugin
    the config names, an async or a sharded IO, is kept). Returns the trainer."""
    if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
        trainer.strategy.checkpoint_io = AtomicCheckpointIO()
    return trainer
