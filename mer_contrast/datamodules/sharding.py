"""Exact distributed evaluation: every validation and test clip is seen once over the ranks.

For evaluation Lightning shards a loader with torch's ``DistributedSampler``, which pads the last
round with repeated clips so that every rank gets as many: with 7 test clips on 2 processes, one clip
is counted twice and the logged accuracy, UF1, UAR and loss differ from the 1-process figures on the
same checkpoint. :func:`eval_sampler` gives the evaluation loaders Lightning's own unpadded sampler
(:class:`~lightning.pytorch.overrides.distributed.UnrepeatedDistributedSampler`, the one it uses for
``predict``): rank ``r`` gets clips ``r, r+W, r+2W, ...``, the ranks' shares differ by at most one,
and the synced metric states (torchmetrics' confusion matrices, the loss's weighted mean) then count
each clip exactly once. Lightning leaves a loader that already has a ``DistributedSampler`` alone.

Uneven shares are safe in evaluation: DDP syncs buffers on a rank's first evaluation batch only, so
every rank needs at least one clip. A split with fewer clips than processes is refused in one line.
A rank that evaluates a split alone (the LOSO oracle's per-epoch test pass, on rank zero) reads it
through :func:`unsharded`.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader, DistributedSampler

from mer_contrast.datasets.errors import DataSettingError


def eval_sampler(dataset: Sized, trainer: Any, split: str) -> UnrepeatedDistributedSampler | None:
    """The unpadded sampler of ``dataset`` for this rank, or None outside a multi-process run.

    ``trainer``: the datamodule's trainer (None when the datamodule is used on its own); ``split``
    names the split in the error (``test``, ``validation``).
    """
    processes = process_count(trainer)
    if processes <= 1:
        return None
    if len(dataset) < processes:
        raise DataSettingError(
            f"the {split} split has {len(dataset)} clip(s), fewer than the {processes} processes: every "
            f"process needs one to evaluate each clip exactly once; run it on at most {len(dataset)} "
            "device(s) (--trainer.devices) or evaluate it in one process"
        )
    rank = trainer.distributed_sampler_kwargs["rank"]
    return UnrepeatedDistributedSampler(dataset, num_replicas=processes, rank=rank, shuffle=False)


def process_count(trainer: Any) -> int:
    """How many processes share the data (Lightning's DDP sampler arguments); 1 without a trainer."""
    kwargs = getattr(trainer, "distributed_sampler_kwargs", None) if trainer is not None else None
    return max(int((kwargs or {}).get("num_replicas", 1)), 1)


def unsharded(loader: DataLoader) -> DataLoader:
    """``loader`` over every clip of its dataset, in order: itself unless it has a distributed sampler."""
    if not isinstance(loader.sampler, DistributedSampler):
        return loader
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        persistent_workers=loader.persistent_workers,
    )
