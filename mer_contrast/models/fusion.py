"""Fusion of the RGB-stream and flow-stream feature vectors.

A fusion is built in two steps so a YAML config names only its own hyperparameters: the
constructor takes those (``dim`` ...), then :class:`~mer_contrast.models.visual.TwoStreamVisual`
calls ``build(rgb_dim, flow_dim)``, which creates the layers and returns ``out_dim``.
``forward(rgb_feat (B, Dr), flow_feat (B, Df)) -> (B, out_dim)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _projection(in_dim: int, out_dim: int, always: bool) -> nn.Module:
    return nn.Linear(in_dim, out_dim) if always or in_dim != out_dim else nn.Identity()


class Fusion(nn.Module):
    """Base class: ``build`` once with the stream widths, then ``forward(rgb_feat, flow_feat)``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is not None and dim <= 0:
            raise ValueError(f"{type(self).__name__}: dim must be positive or None, got {dim}")
        self.dim = dim
        self.out_dim = 0
        self._built = False

    def build(self, rgb_dim: int, flow_dim: int) -> int:
        """Create the layers for streams of width ``rgb_dim`` and ``flow_dim``; return ``out_dim``."""
        if self._built:
            raise RuntimeError(f"{type(self).__name__} was already built; use one fusion instance per tower")
        self.out_dim = self._build(rgb_dim, flow_dim)
        self._built = True
        return self.out_dim

    def _build(self, rgb_dim: int, flow_dim: int) -> int:
        raise NotImplementedError

    def forward(self, rgb_feat: Tensor, flow_feat: Tensor) -> Tensor:
        if not self._built:
            raise RuntimeError(
                f"{type(self).__name__}.build(rgb_dim, flow_dim) must be called before forward"
            )
        return self._fuse(rgb_feat, flow_feat)

    def _fuse(self, rgb_feat: Tensor, flow_feat: Tensor) -> Tensor:
        raise NotImplementedError


class ConcatFusion(Fusion):
    """``[rgb; flow]``, optionally followed by a linear map to ``dim``."""

    def _build(self, rgb_dim: int, flow_dim: int) -> int:
        joint = rgb_dim + flow_dim
        self.proj = nn.Identity() if self.dim is None else nn.Linear(joint, self.dim)
        return joint if self.dim is None else self.dim

    def _fuse(self, rgb_feat: Tensor, flow_feat: Tensor) -> Tensor:
        return self.proj(torch.cat([rgb_feat, flow_feat], dim=-1))


class SumFusion(Fusion):
    """``rgb + flow``; a stream is linearly projected only when its width differs from ``dim``.

    ``dim`` defaults to the RGB width, so two equal-width streams are summed as they are.
    """

    def _build(self, rgb_dim: int, flow_dim: int) -> int:
        dim = self.dim or rgb_dim
        self.rgb_proj = _projection(rgb_dim, dim, always=False)
        self.flow_proj = _projection(flow_dim, dim, always=False)
        return dim

    def _fuse(self, rgb_feat: Tensor, flow_feat: Tensor) -> Tensor:
        return self.rgb_proj(rgb_feat) + self.flow_proj(flow_feat)


class GatedFusion(Fusion):
    """Learned per-feature sigmoid gate between the projected streams.

    ``g = sigmoid(W [r; f] + b)``, output ``g * r + (1 - g) * f`` with ``r``, ``f`` the streams
    linearly projected to ``dim`` (default: the RGB width).
    """

    def _build(self, rgb_dim: int, flow_dim: int) -> int:
        dim = self.dim or rgb_dim
        self.rgb_proj = _projection(rgb_dim, dim, always=True)
        self.flow_proj = _projection(flow_dim, dim, always=True)
        self.gate = nn.Linear(2 * dim, dim)
        return dim

    def _fuse(self, rgb_feat: Tensor, flow_feat: Tensor) -> Tensor:
        rgb, flow = self.rgb_proj(rgb_feat), self.flow_proj(flow_feat)
        gate = torch.sigmoid(self.gate(torch.cat([rgb, flow], dim=-1)))
        return gate * rgb + (1 - gate) * flow


class AttentionFusion(Fusion):
    """Softmax attention over the two projected stream vectors (per sample).

    Each stream vector ``v`` gets a score ``w^T tanh(W v + b)``; the output is the softmax-weighted
    sum. (A bias after ``w`` would shift both scores equally and never learn.)
    The last weights are kept in ``last_weights`` ``(B, 2)`` (RGB, flow) for inspection.
    """

    def __init__(self, dim: int | None = None, hidden: int = 64) -> None:
        super().__init__(dim)
        if hidden <= 0:
            raise ValueError(f"AttentionFusion: hidden must be positive, got {hidden}")
        self.hidden = hidden
        self.last_weights: Tensor | None = None

    def _build(self, rgb_dim: int, flow_dim: int) -> int:
        dim = self.dim or rgb_dim
        self.rgb_proj = _projection(rgb_dim, dim, always=True)
        self.flow_proj = _projection(flow_dim, dim, always=True)
        self.score = nn.Sequential(
            nn.Linear(dim, self.hidden), nn.Tanh(), nn.Linear(self.hidden, 1, bias=False)
        )
        return dim

    def _fuse(self, rgb_feat: Tensor, flow_feat: Tensor) -> Tensor:
        streams = torch.stack([self.rgb_proj(rgb_feat), self.flow_proj(flow_feat)], dim=1)  # (B, 2, D)
        weights = torch.softmax(self.score(streams).squeeze(-1), dim=1)  # (B, 2)
        self.last_weights = weights.detach()
        return (weights.unsqueeze(-1) * streams).sum(dim=1)
