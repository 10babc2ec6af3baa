"""Collectives for the contrastive loss under data parallelism.

``gather_with_grad`` is autograd-aware: the backward of an all-gather sum-reduces the incoming
gradients and returns each rank the slice it produced (``torch.distributed.nn.functional.all_gather``;
on gloo it is emulated with all-to-all + sum, so the same code runs in CPU tests). A gather without
gradients would leave remote features and this rank's contribution to other ranks' losses out of the
backward pass (open_clip's "local_loss without gather_with_grad" mode, which is incomplete).

The test-time gather of per-clip prediction rows is :func:`mer_contrast.trainers.predictions.gather_rows`.
"""

from __future__ import annotations

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
