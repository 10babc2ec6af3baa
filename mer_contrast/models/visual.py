"""The two-stream visual tower: an RGB 3D-CNN and an optical-flow 3D-CNN, fused into one vector.

::

    rgb  (B, T, 3, H, W)  -> permute -> rgb_stream  -> (B, Dr) --\\
                                                                  fusion -> dropout -> (B, out_dim)
    flow (B, T', C, H, W) -> permute -> flow_stream -> (B, Df) --/

Either stream may be left out for the single-stream ablations: ``flow_stream=None`` is RGB-only
(flow is ignored) and ``rgb_stream=None`` is flow-only; the fusion is then unused.

``rgb_input="onset_difference"`` feeds the RGB stream ``DIFFERENCE_GAIN * (frame_t - onset)``
instead of the frames: appearance (identity, lighting) cancels and what is left is the change the
expression made, a few grey levels that the gain brings to the flow's range.
Every part is a plain constructor argument, so YAML selects each by ``class_path``.
"""

from __future__ import annotations

import warnings
from typing import Literal

from torch import Tensor, nn

from mer_contrast.models.fusion import ConcatFusion, Fusion

RGBInput = Literal["frames", "onset_difference"]
DIFFERENCE_GAIN = 8.0  # [0, 1] frames differ by a few hundredths where the face moves


OWNER = "TwoStreamVisual"


def out_dim_of(module: nn.Module, owner: str, role: str) -> int:
    """``module.out_dim``, or a TypeError saying which part of ``owner`` lacks it."""
    out_dim = getattr(module, "out_dim", None)
    if not isinstance(out_dim, int):
        raise TypeError(f"{owner}: {role} ({type(module).__name__}) needs an integer `out_dim` attribute")
    return out_dim


def _to_channels_first(x: Tensor, name: str) -> Tensor:
    if x.ndim != 5:
        raise ValueError(f"TwoStreamVisual: {name} must be (B, T, C, H, W), got shape {tuple(x.shape)}")
    return x.permute(0, 2, 1, 3, 4).contiguous()


class TwoStreamVisual(nn.Module):
    """RGB stream + flow stream + fusion; ``forward(rgb, flow) -> (B, out_dim)``.

    Args:
        rgb_stream: backbone for the RGB clip (``forward((B, 3, T, H, W)) -> (B, out_dim)``),
            or None for a flow-only tower.
        flow_stream: backbone for the flow clip, or None for an RGB-only tower.
        fusion: a :class:`~mer_contrast.models.fusion.Fusion` (built here with the stream widths);
            None means :class:`~mer_contrast.models.fusion.ConcatFusion`.
        dropout: dropout on the fused vector.
        rgb_input: ``frames`` or ``onset_difference`` (see the module docstring).
    """

    def __init__(
        self,
        rgb_stream: nn.Module | None,
        flow_stream: nn.Module | None = None,
        fusion: Fusion | None = None,
        dropout: float = 0.0,
        rgb_input: RGBInput = "frames",
    ) -> None:
        super().__init__()
        if rgb_input not in ("frames", "onset_difference"):
            raise ValueError(
                f"TwoStreamVisual: rgb_input must be frames or onset_difference, not {rgb_input!r}"
            )
        self.rgb_input = rgb_input
        if rgb_stream is None and flow_stream is None:
            raise ValueError("TwoStreamVisual needs at least one of rgb_stream and flow_stream")
        self.rgb_stream = rgb_stream
        self.flow_stream = flow_stream
        self.fusion: Fusion | None = None
        if rgb_stream is not None and flow_stream is not None:
            self.fusion = fusion if fusion is not None else ConcatFusion()
            self.out_dim: int = self.fusion.build(
                out_dim_of(rgb_stream, OWNER, "rgb_stream"), out_dim_of(flow_stream, OWNER, "flow_stream")
            )
        else:
            if fusion is not None:
                warnings.warn(
                    "TwoStreamVisual: only one stream is configured, so the fusion "
                    f"{type(fusion).__name__} is ignored",
                    stacklevel=2,
                )
            single = rgb_stream if rgb_stream is not None else flow_stream
            assert single is not None
            role = "rgb_stream" if rgb_stream is not None else "flow_stream"
            self.out_dim = out_dim_of(single, OWNER, role)
        self.dropout = nn.Dropout(dropout)

    @property
    def uses_rgb(self) -> bool:
        return self.rgb_stream is not None

    @property
    def uses_flow(self) -> bool:
        return self.flow_stream is not None

    def forward(self, rgb: Tensor | None, flow: Tensor | None = None) -> Tensor:
        """Encode a batch of clips; inputs unused by the configured streams may be None."""
        rgb_feat = flow_feat = None
        if self.rgb_stream is not None:
            if rgb is None:
                raise ValueError("TwoStreamVisual: this tower has an rgb_stream, so rgb must be given")
            if self.rgb_input == "onset_difference":
                rgb = (rgb - rgb[:, :1]) * DIFFERENCE_GAIN
            rgb_feat = self.rgb_stream(_to_channels_first(rgb, "rgb"))
        if self.flow_stream is not None:
            if flow is None:
                raise ValueError(
                    "TwoStreamVisual: this tower has a flow_stream, so flow must be given "
                    "(enable flow in the data config, or set flow_stream: null for RGB only)"
                )
            flow_feat = self.flow_stream(_to_channels_first(flow, "flow"))
        if rgb_feat is not None and flow_feat is not None:
            assert self.fusion is not None
            fused = self.fusion(rgb_feat, flow_feat)
        else:
            fused = rgb_feat if rgb_feat is not None else flow_feat
        assert fused is not None
        return self.dropout(fused)
