"""3D ResNet-18 (R3D-18) laid out exactly like torchvision's ``r3d_18``, without torchvision.

Module names and parameter shapes match ``torchvision.models.video.r3d_18`` one to one
(``stem.0``/``stem.1``, ``layer1``..``layer4`` of BasicBlocks with ``conv1.0``/``conv1.1``/
``conv2.0``/``conv2.1`` and ``downsample.0``/``.1``), so a Kinetics-400 checkpoint saved from
torchvision loads with ``weights_path``. The classifier ``fc`` is not part of this backbone and is
dropped from such checkpoints::

    norm -> stem conv (3,7,7)/(1,2,2) -> layer1 (64) -> layer2 (128, /2) -> layer3 (256, /2)
         -> layer4 (512, /2) -> global average -> (B, 512)
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from mer_contrast.models.input_norm import InputNorm, InputNormName

STEM_KEY = "stem.0.weight"


def _conv3x3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv3d:
    # torchvision's Conv3DSimple is exactly this Conv3d (it subclasses nn.Conv3d).
    return nn.Conv3d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock3D(nn.Module):
    """torchvision's video ``BasicBlock`` with ``Conv3DSimple`` convolutions."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            _conv3x3x3(in_planes, planes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv2 = nn.Sequential(_conv3x3x3(planes, planes), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv3d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm3d(planes),
            )

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + residual)


def _layer(in_planes: int, planes: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock3D(in_planes, planes, stride), BasicBlock3D(planes, planes))


def adapt_stem(weight: Tensor, in_channels: int) -> Tensor:
    """Fit a pretrained RGB stem kernel ``(64, 3, t, h, w)`` to ``in_channels`` input channels.

    Cross-modality initialisation as in TSN: average the kernel over the RGB channels and repeat
    the mean for every new channel (e.g. the two optical-flow components).
    """
    if weight.shape[1] == in_channels:
        return weight
    return weight.mean(dim=1, keepdim=True).repeat(1, in_channels, 1, 1, 1).contiguous()


def load_checkpoint(path: str | Path) -> dict[str, Tensor]:
    """Read a state dict saved by torch (raw, or under a ``state_dict``/``model`` key)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: weights file not found; pass an existing .pth/.pt file as weights_path"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or non-tensor pickles
        raise ValueError(
            f"{path}: not a readable torch state dict ({error}); save it with torch.save"
        ) from error
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict (name -> tensor), got {type(state).__name__}")
    # DataParallel/DDP checkpoints prefix every key with "module.".
    return {key.removeprefix("module."): value for key, value in state.items()}


class ResNet3D18(nn.Module):
    """R3D-18 feature extractor, ``forward(x: (B, C, T, H, W)) -> (B, 512)``.

    Args:
        in_channels: 3 for RGB; other counts (optical flow) get a fresh stem, or an adapted one
            when loading RGB weights (see :func:`adapt_stem`).
        weights_path: optional local torchvision ``r3d_18`` state dict (e.g. Kinetics-400).
            ``fc.*`` entries are dropped; everything else must match exactly.
        input_norm: ``"kinetics"`` (torchvision preset) for RGB, ``"none"`` for flow.
    """

    def __init__(
        self,
        in_channels: int = 3,
        weights_path: str | None = None,
        input_norm: InputNormName = "kinetics",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_dim: int = 512
        self.norm = InputNorm(input_norm, in_channels)
        self.stem = nn.Sequential(
            nn.Conv3d(
                in_channels, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False
            ),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )
        self.layer1 = _layer(64, 64, stride=1)
        self.layer2 = _layer(64, 128, stride=2)
        self.layer3 = _layer(128, 256, stride=2)
        self.layer4 = _layer(256, 512, stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        if weights_path is None:
            self._init_weights()
        else:  # every tensor is overwritten, so skip the (slow) random init
            self.load_torchvision_weights(weights_path)

    def _init_weights(self) -> None:
        # Same initialisation as torchvision's VideoResNet.
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm3d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def load_torchvision_weights(self, path: str | Path) -> None:
        """Load a torchvision ``r3d_18`` state dict from ``path``: drop ``fc``, adapt the stem."""
        state = {k: v for k, v in load_checkpoint(path).items() if not k.startswith("fc.")}
        if STEM_KEY in state:
            state[STEM_KEY] = adapt_stem(state[STEM_KEY], self.in_channels)
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
        if missing or unexpected or wrong:
            details = "; ".join(
                f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
                for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
                if keys
            )
            raise ValueError(f"{path}: not a torchvision r3d_18 state dict ({details})")
        self.load_state_dict(state, strict=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(self.norm(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)
