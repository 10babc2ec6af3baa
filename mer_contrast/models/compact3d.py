"""A small 3D CNN for micro-expression clips, trainable from scratch on a few hundred samples.

Layout (default widths, input ``(B, C, 8, 112, 112)``)::

    norm -> stem  conv 3x3x3 /(1,2,2) ->  16 x 8 x 56 x 56
         -> stage conv 3x3x3 /(1,2,2) ->  32 x 8 x 28 x 28
         -> stage conv 3x3x3 /(2,2,2) ->  64 x 4 x 14 x 14
         -> stage conv 3x3x3 /(1,2,2) -> 128 x 4 x  7 x  7 -> global average -> dropout -> (B, 128)

Every conv is Conv3d + BatchNorm3d + ReLU. Space is downsampled early (faces are smooth at 112²)
but time only once, because a clip holds ~8 frames and the motion between them is the signal.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from mer_contrast.models.input_norm import InputNorm, InputNormName


def _conv_bn_relu(in_channels: int, out_channels: int, stride: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm3d(out_channels),
        nn.ReLU(inplace=True),
    )


class Compact3DCNN(nn.Module):
    """Plain Conv3d/BN/ReLU stack with global average pooling; ``forward(x) -> (B, widths[-1])``.

    Args:
        in_channels: 3 for RGB, 2 or 3 for optical flow.
        widths: output channels of each conv stage; the first is the stem.
        dropout: dropout on the pooled feature.
        input_norm: ``"half"`` standardises [0, 1] RGB with mean 0.5 / std 0.25; use ``"none"``
            for (already normalised) optical flow.
    """

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64, 128),
        dropout: float = 0.0,
        input_norm: InputNormName = "half",
    ) -> None:
        super().__init__()
        widths = list(widths)
        if not widths or any(w <= 0 for w in widths):
            raise ValueError(f"Compact3DCNN widths must be a non-empty list of positive ints, got {widths}")
        self.in_channels = in_channels
        self.out_dim: int = widths[-1]
        self.norm = InputNorm(input_norm, in_channels)
        # Halve time once, at the third conv (or the last one in shorter stacks).
        time_stride_at = min(2, len(widths) - 1)
        layers = []
        previous = in_channels
        for index, width in enumerate(widths):
            stride = (2 if index == time_stride_at and index > 0 else 1, 2, 2)
            layers.append(_conv_bn_relu(previous, width, stride))
            previous = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(self.norm(x))
        return self.dropout(self.pool(x).flatten(1))
