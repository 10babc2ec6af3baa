"""Checkpoints are whole or absent: written beside their target (not in $TMPDIR), a full disk in one line."""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch import Trainer

from mer_contrast.clips.errors import EnvironmentFault
from mer_contrast.trainers.checkpoint_io import AtomicCheckpointIO, use_atomic_checkpoints

CHECKPOINT = {"epoch": 3, "state_dict": {"w": torch.arange(1000.0)}}


def _full_disk_after_a_few_bytes(obj: Any, handle: Any, *args: Any, **kwargs: Any) -> None:
    handle.write(b"PK\x03\x04" * 64)  # the start of a checkpoint, then the disk is full
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_leaves_the_previous_checkpoint_and_says_where_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    io = AtomicCheckpointIO()
    target = tmp_path / "fold" / "last.ckpt"
    io.save_checkpoint({"epoch": 1}, target)
    previous = target.read_bytes()
    monkeypatch.setattr(torch, "save", _full_disk_after_a_few_bytes)
    with pytest.raises(EnvironmentFault) as fault:  # Lightning's own IO: a bare OSError naming no path
        io.save_checkpoint(CHECKPOINT, target)
    assert str(fault.value).startswith(
        f"{target.parent}: no space left to write the checkpoint last.ckpt; free space there"
    )
    assert target.read_bytes() == previous and sorted(p.name for p in target.parent.iterdir()) == [
        "last.ckpt"
    ]


def test_a_read_only_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(obj: Any, handle: Any, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(torch, "save", read_only)
    with pytest.raises(
        EnvironmentFault, match=r"cannot write the checkpoint best.ckpt \(Read-only file system\)"
    ):
        AtomicCheckpointIO().save_checkpoint(CHECKPOINT, tmp_path / "best.ckpt")
    assert not list(tmp_path.iterdir())


def test_the_trainer_writes_beside_the_target_not_in_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no_such_tmpdir"))  # a $TMPDIR that fails
    trainer = use_atomic_checkpoints(Trainer(logger=False, enable_checkpointing=False, accelerator="cpu"))
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    trainer.strategy.checkpoint_io.save_checkpoint(CHECKPOINT, tmp_path / "run" / "last.ckpt")
    loaded = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)
    assert loaded["epoch"] == 3 and torch.equal(loaded["state_dict"]["w"], CHECKPOINT["state_dict"]["w"])
    with pytest.raises(OSError):  # what Lightning's own IO does with that $TMPDIR
        TorchCheckpointIO().save_checkpoint(CHECKPOINT, tmp_path / "run" / "other.ckpt")


def test_a_plugin_the_config_names_is_kept() -> None:
    class Mine(TorchCheckpointIO):
        pass

    trainer = use_atomic_checkpoints(Trainer(logger=False, accelerator="cpu", plugins=[Mine()]))
    assert type(trainer.strategy.checkpoint_io) is Mine
