"""Per-channel input normalisation shared by the 3D-CNN backbones.

RGB clips arrive as floats in [0, 1] and are standardised inside the backbone, so the same data
feeds a Kinetics-pretrained ResNet and a from-scratch net. Optical flow arrives already normalised
(see ``clips/flow.py``), so a flow stream uses ``"none"``. The statistics are non-persistent
buffers: they follow ``.to(device)`` but stay out of ``state_dict`` (checkpoint keys stay those of
the pretrained model).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

InputNormName = Literal["kinetics", "half", "none"]

# torchvision's video-classification preset for the Kinetics-400 models (r3d_18 and friends).
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


class InputNorm(nn.Module):
    """``(x - mean) / std`` over the channel axis of a ``(B, C, T, H, W)`` clip.

    ``"kinetics"``: Kinetics RGB statistics (needs 3 channels); ``"half"``: mean 0.5, std 0.25 on
    every channel, a neutral choice for nets trained from scratch on [0, 1] input; ``"none"``:
    identity.
    """

    def __init__(self, mode: InputNormName, channels: int) -> None:
        super().__init__()
        if mode not in ("kinetics", "half", "none"):
            raise ValueError(f"input_norm must be 'kinetics', 'half' or 'none', got {mode!r}")
        if mode == "kinetics" and channels != 3:
            raise ValueError(
                f"input_norm='kinetics' needs 3 RGB channels, got in_channels={channels}; "
                "use input_norm='none' for an optical-flow stream"
            )
        self.mode = mode
        self.channels = channels
        if mode == "kinetics":
            mean, std = torch.tensor(KINETICS_MEAN), torch.tensor(KINETICS_STD)
        else:
            mean, std = torch.full((channels,), 0.5), torch.full((channels,), 0.25)
        self.register_buffer("mean", mean.view(1, channels, 1, 1, 1), persistent=False)
        self.register_buffer("std", std.view(1, channels, 1, 1, 1), persistent=False)

    mean: Tensor
    std: Tensor

    def forward(self, x: Tensor) -> Tensor:
        # Checked here because every backbone starts with this module.
        if x.ndim != 5 or x.shape[1] != self.channels:
            raise ValueError(
                f"expected a (B, C={self.channels}, T, H, W) clip, got shape {tuple(x.shape)}; "
                "check the backbone's in_channels against the data"
            )
        if self.mode == "none":
            return x
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
