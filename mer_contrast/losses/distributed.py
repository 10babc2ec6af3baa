"""Collectives for the contrastive loss under data parallelism.

``gather_with_grad`` is autograd-aware: the backward of an all-gather sum-reduces the incoming
gradients and returns each rank the slice it produced (``torch.distributed.nn.functional.all_gather``;
on gloo it is emulated with all-to-all + sum, so the same code runs in CPU tests). A gather without
gradients would leave remote features and this rank's contribution to other ranks' losses out of the
backward pass (open_clip's "local_loss without gather_with_grad" mode, which is incomplete).

``gather_rows`` collects per-clip prediction rows (test time) from every rank. It lives here, with the
other collectives, so it imports no Lightning.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def rank_and_world_size() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` when not initialised.

    Read at call time (never cached): the group exists only once the trainer has launched.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_with_grad(tensor: Tensor) -> Tensor:
    """All-gather ``tensor`` from every rank along dim 0, keeping gradients.

    Every rank must pass the same shape (use ``drop_last=True`` on the training loader).

    Returns:
        ``(world_size * B, ...)`` concatenation in rank order; ``tensor`` itself when not distributed.
    """
    _, world_size = rank_and_world_size()
    if world_size == 1:
        return tensor
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(tensor.contiguous()), dim=0)


def gather_no_grad(tensor: Tensor) -> Tensor:
    """All-gather ``tensor`` along dim 0 without gradients (ids, labels); identity when not distributed."""
    _, world_size = rank_and_world_size()
    if world_size == 1:
        return tensor
    buffers = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(buffers, tensor.contiguous())
    return torch.cat(buffers, dim=0)


def gather_rows(rows: list[dict[str, Any]], key: str = "clip_id") -> list[dict[str, Any]]:
    """Per-clip prediction rows from every rank, in dataset order, without sampler padding.

    Pickled object gathering copes with uneven shards (a tensor all-gather needs equal sizes and
    would hang). ``DistributedSampler`` deals indices round-robin (rank ``r`` gets ``r, r+W, ...``)
    and pads the last round with repeats, so interleaving the ranks' lists restores the order and
    keeping the first row per ``key`` drops the padding.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(rows)
    per_rank: list[list[dict[str, Any]] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(per_rank, rows)
    lists = [r or [] for r in per_rank]
    interleaved = [lst[i] for i in range(max(map(len, lists))) for lst in lists if i < len(lst)]
    seen: set[Any] = set()
    unique = []
    for row in interleaved:
        if row[key] not in seen:
            seen.add(row[key])
            unique.append(row)
    return unique
