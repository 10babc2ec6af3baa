"""A shallow 3D CNN that keeps *where* the motion is: the flow (or RGB) stream of the CPU recipe.

A micro-expression is told apart mostly by which facial region moves (brows for surprise, lip
corners for happiness, brows and nose for disgust). Global average pooling, the usual last step of
a video CNN, throws that location away, and with ~250 training clips a deep net cannot learn it
back. This backbone averages its output onto a ``grid x grid`` lattice of the face instead, so the
classifier sees a small feature vector per face region (as the classical flow baselines pool their
flow on a grid, but with learned local features)::

    (B, C, T, H, W) -> norm -> average-pool to pre_pool x pre_pool (denoises sub-pixel flow, cheap)
      -> conv 3x3x3 (stride 1)  -> BN -> ReLU      first stage at full (pre-pooled) resolution
      -> conv 3x3x3 (stride 1,2,2) -> BN -> ReLU   each further stage halves space, never time
      -> average over time, average onto grid x grid -> flatten -> dropout -> (B, widths[-1] * grid^2)

Measured on the CASME II twin in ``docs/recipe.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from mer_contrast.models.input_norm import InputNorm, InputNormName


class GridCNN3D(nn.Module):
    """Shallow Conv3d/BN/ReLU stack pooled onto a spatial grid; ``forward(x) -> (B, out_dim)``.

    Args:
        in_channels: 3 for RGB (or RGB differences), 2-4 for optical flow.
        widths: output channels of each conv stage (the first keeps the resolution).
        pre_pool: side the input is average-pooled to first; None keeps the input size.
        grid: side of the output grid (1 = global average pooling).
        temporal_kernel: time extent of the kernels (1 treats steps independently).
        dropout: dropout on the flattened feature.
        input_norm: ``"half"`` for [0, 1] RGB, ``"none"`` for normalised flow or differences.
    """

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32),
        pre_pool: int | None = 16,
        grid: int = 8,
        temporal_kernel: int = 3,
        dropout: float = 0.1,
        input_norm: InputNormName = "none",
    ) -> None:
        super().__init__()
        widths = list(widths)
        if not widths or any(w <= 0 for w in widths):
            raise ValueError(f"GridCNN3D widths must be a non-empty list of positive ints, got {widths}")
        if grid < 1 or (pre_pool is not None and pre_pool < grid):
            raise ValueError(f"GridCNN3D needs grid >= 1 and pre_pool >= grid, got {grid}, {pre_pool}")
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ValueError(f"GridCNN3D temporal_kernel must be odd, got {temporal_kernel}")
        self.in_channels = in_channels
        self.pre_pool = pre_pool
        self.grid = grid
        self.out_dim: int = widths[-1] * grid * grid
        self.norm = InputNorm(input_norm, in_channels)
        layers: list[nn.Module] = []
        previous = in_channels
        for index, width in enumerate(widths):
            layers += [
                nn.Conv3d(
                    previous,
                    width,
                    kernel_size=(temporal_kernel, 3, 3),
                    stride=(1, 1 if index == 0 else 2, 1 if index == 0 else 2),
                    padding=(temporal_kernel // 2, 1, 1),
                    bias=False,
                ),
                nn.BatchNorm3d(width),
                nn.ReLU(inplace=True),
            ]
            previous = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool3d((1, grid, grid))
        self.dropout = nn.Dropout(dropout)
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(x)
        if self.pre_pool is not None and x.shape[-1] != self.pre_pool:
            x = F.adaptive_avg_pool3d(x, (x.shape[2], self.pre_pool, self.pre_pool))
        x = self.features(x)
        if x.shape[2:] != (1, self.grid, self.grid):  # already the grid: pooling would copy it
            x = self.pool(x)
        return self.dropout(x.flatten(1))
