"""Dense optical flow of a clip: TV-L1, Farneback or DIS at a resolution of its own, then resized.

A micro-expression moves skin by 1-2.5 px on a 150-210 px face. Shrinking the frames to the model's
``image_size`` first (e.g. 64 px) would cut that to a fraction of a pixel, below the solvers' noise
floor, so flow is computed on the face crop at ``FlowConfig.size`` (``None``: the crop's native
resolution, as the field does) and only the *flow field* is then resized to the model's input size,
its vectors scaled by the same factor (u by ``S / width``, v by ``S / height``).

Pairs (``pairs``):
* ``onset`` (default): onset -> every later sampled frame; the last is onset -> apex, and motion
  grows instead of being split into sub-pixel steps.
* ``onset_apex``: one pair, onset -> apex (STSTNet, Off-ApexNet, HTNet): flow has one step.
* ``consecutive``: sampled frame t -> t+1.

Positive u points right, positive v down (OpenCV: ``next(y + v, x + u) ~ prev(y, x)``).

Channels, in this order: u, v, then magnitude ``sqrt(u^2 + v^2)`` (of the resized, scaled field)
and/or optical strain ``sqrt(exx^2 + eyy^2 + 2 exy^2)`` with ``exx = du/dx``, ``eyy = dv/dy``,
``exy = (du/dy + dv/dx) / 2``, computed at flow resolution (central differences) before resizing.
Strain is dimensionless, 0 for a rigid translation: it marks local skin deformation.

What :func:`compute_flow` returns is *raw*: pixels of the model image (u, v, magnitude) and strain
values. Normalisation is a cheap step at load time (:func:`normalise_flow`, bounds chosen from the
data by the DataModule), so changing a bound never recomputes flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar

import cv2
import numpy as np

from mer_contrast.clips.face import resize_square

FlowMethod = Literal["tvl1", "farneback", "dis"]
FlowPairs = Literal["onset", "onset_apex", "consecutive"]
FlowChannels = Literal["uv", "uv_magnitude", "uv_strain", "uv_magnitude_strain"]
DisPreset = Literal["ultrafast", "fast", "medium"]

PAIRS: tuple[str, ...] = ("onset", "onset_apex", "consecutive")
CHANNELS: dict[str, tuple[str, ...]] = {
    "uv": ("u", "v"),
    "uv_magnitude": ("u", "v", "magnitude"),
    "uv_strain": ("u", "v", "strain"),
    "uv_magnitude_strain": ("u", "v", "magnitude", "strain"),
}
_COMMON_FIELDS = ("method", "pairs", "channels", "size")
METHOD_FIELDS: dict[str, tuple[str, ...]] = {
    "tvl1": (
        "tau",
        "lambda_",
        "theta",
        "nscales",
        "warps",
        "epsilon",
        "inner_iterations",
        "outer_iterations",
        "scale_step",
        "median_filtering",
    ),
    "farneback": ("pyr_scale", "levels", "winsize", "iterations", "poly_n", "poly_sigma"),
    "dis": ("preset",),
}
_DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


@dataclass(frozen=True)
class FlowConfig:
    """How flow is computed. Method parameters default to OpenCV's usual values.

    Args:
        method: solver: ``tvl1`` (accurate, slow), ``farneback`` or ``dis`` (fast).
        pairs: ``onset``, ``onset_apex`` or ``consecutive`` (see the module docstring).
        channels: ``uv``, ``uv_magnitude``, ``uv_strain`` or ``uv_magnitude_strain``.
        size: side in pixels of the square the face crop is resized to for flow; None = the crop's
            native resolution (as cut from the frames, square or not).
        tau, lambda_, theta, nscales, warps, epsilon, inner_iterations, outer_iterations,
            scale_step, median_filtering: TV-L1 (``cv2.optflow.DualTVL1OpticalFlow``).
        pyr_scale, levels, winsize, iterations, poly_n, poly_sigma: Farneback.
        preset: DIS preset.
    """

    method: FlowMethod = "tvl1"
    pairs: FlowPairs = "onset"
    channels: FlowChannels = "uv"
    size: int | None = None
    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    nscales: int = 5
    warps: int = 5
    epsilon: float = 0.01
    inner_iterations: int = 30
    outer_iterations: int = 10
    scale_step: float = 0.8
    median_filtering: int = 5
    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2
    preset: DisPreset = "medium"

    def __post_init__(self) -> None:
        if self.method not in METHOD_FIELDS:
            raise ValueError(f"unknown flow method {self.method!r}; expected tvl1, farneback or dis")
        if self.pairs not in PAIRS:
            raise ValueError(f"unknown flow pairs {self.pairs!r}; expected one of {', '.join(PAIRS)}")
        if self.channels not in CHANNELS:
            raise ValueError(
                f"unknown flow channels {self.channels!r}; expected one of {', '.join(CHANNELS)}"
            )
        if self.size is not None and self.size < 16:
            raise ValueError(f"flow size must be None (native) or at least 16 pixels, got {self.size}")
        if self.preset not in _DIS_PRESETS:
            raise ValueError(f"unknown DIS preset {self.preset!r}; expected ultrafast, fast or medium")

    @property
    def num_channels(self) -> int:
        """C of the flow tensor."""
        return len(CHANNELS[self.channels])

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Names of the flow channels in order (``u``, ``v``, ``magnitude``, ``strain``)."""
        return CHANNELS[self.channels]

    def steps(self, num_frames: int) -> int:
        """T' of the flow tensor for ``num_frames`` sampled frames."""
        return 1 if self.pairs == "onset_apex" else num_frames - 1

    def key_params(self) -> dict[str, Any]:
        """The fields that change the result: the common ones and the chosen method's parameters."""
        values = asdict(self)
        return {name: values[name] for name in (*_COMMON_FIELDS, *METHOD_FIELDS[self.method])}


@lru_cache(maxsize=4)
def _tvl1_solver(params: tuple[Any, ...]) -> Any:
    tau, lambda_, theta, nscales, warps, epsilon, inner, outer, scale_step, median = params
    return cv2.optflow.DualTVL1OpticalFlow_create(  # type: ignore[attr-defined]
        tau=tau,
        lambda_=lambda_,
        theta=theta,
        nscales=nscales,
        warps=warps,
        epsilon=epsilon,
        innnerIterations=inner,  # sic: OpenCV's keyword has three n's
        outerIterations=outer,
        scaleStep=scale_step,
        medianFiltering=median,
    )


@lru_cache(maxsize=4)
def _dis_solver(preset: str) -> Any:
    return cv2.DISOpticalFlow_create(_DIS_PRESETS[preset])  # type: ignore[attr-defined]


def flow_pair(prev_gray: np.ndarray, next_gray: np.ndarray, cfg: FlowConfig) -> np.ndarray:
    """Raw flow ``(H, W, 2)`` float32 in pixels from one grey uint8 image to the next."""
    if cfg.method == "tvl1":
        params = tuple(getattr(cfg, name) for name in METHOD_FIELDS["tvl1"])
        flow = _tvl1_solver(params).calc(prev_gray, next_gray, None)
    elif cfg.method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(  # type: ignore[call-overload]
            prev_gray,
            next_gray,
            None,
            cfg.pyr_scale,
            cfg.levels,
            cfg.winsize,
            cfg.iterations,
            cfg.poly_n,
            cfg.poly_sigma,
            0,
        )
    else:
        flow = _dis_solver(cfg.preset).calc(prev_gray, next_gray, None)
    return np.asarray(flow, dtype=np.float32)


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Strain magnitude ``(H, W)`` of a raw flow ``(H, W, 2)``; 0 for a pure translation."""
    u, v = flow[..., 0], flow[..., 1]
    du_dy, du_dx = np.gradient(u)
    dv_dy, dv_dx = np.gradient(v)
    exy = 0.5 * (du_dy + dv_dx)
    return np.sqrt(du_dx**2 + dv_dy**2 + 2.0 * exy**2).astype(np.float32)


def resize_flow(flow: np.ndarray, size: int) -> np.ndarray:
    """Resize a raw flow ``(H, W, 2)`` to ``(size, size, 2)`` with u, v in pixels of the new size."""
    height, width = flow.shape[:2]
    resized = resize_square(flow, size).astype(np.float32, copy=True)
    resized[..., 0] *= size / width
    resized[..., 1] *= size / height
    return resized


def model_channels(flow: np.ndarray, cfg: FlowConfig, size: int) -> np.ndarray:
    """Raw channels ``(C, size, size)`` float32 of one raw flow ``(H, W, 2)`` at flow resolution."""
    resized = resize_flow(flow, size)
    planes = [resized[..., 0], resized[..., 1]]
    names = cfg.channel_names
    if "magnitude" in names:
        planes.append(np.hypot(resized[..., 0], resized[..., 1]))
    if "strain" in names:
        planes.append(resize_square(optical_strain(flow), size))
    return np.stack(planes).astype(np.float32)


def flow_targets(num: int, pairs: str, apex: int) -> list[tuple[int, int]]:
    """``(from, to)`` frame positions of every flow step of ``num`` frames (``apex``: for onset_apex)."""
    if pairs == "onset_apex":
        return [(0, apex)]
    if pairs == "onset":
        return [(0, t) for t in range(1, num)]
    return [(t - 1, t) for t in range(1, num)]


def compute_flow(
    frames_rgb: np.ndarray | Sequence[np.ndarray],
    cfg: FlowConfig,
    out_size: int | None = None,
    apex: int | None = None,
) -> np.ndarray:
    """Raw flow ``(T', C, S, S)`` float32 of RGB uint8 frames ``(T, H, W, 3)`` at flow resolution.

    Args:
        frames_rgb: the clip's frames, already at the resolution flow is computed at.
        cfg: method, pairs and channels.
        out_size: side S of the returned field (the model's input size); None keeps ``H`` (square
            frames) so vectors stay in pixels of the input.
        apex: position of the apex among the frames for ``pairs="onset_apex"`` (default: the last).
    """
    frames = list(frames_rgb)
    if len(frames) < 2 or any(f.ndim != 3 or f.shape[-1] != 3 for f in frames):
        shape = np.shape(frames_rgb) if not frames else (len(frames), *frames[0].shape)
        raise ValueError(f"compute_flow expects RGB frames (T>=2, H, W, 3), got shape {shape}")
    size = out_size or frames[0].shape[0]
    grays = [cv2.cvtColor(np.ascontiguousarray(f, dtype=np.uint8), cv2.COLOR_RGB2GRAY) for f in frames]
    apex_at = len(grays) - 1 if apex is None else int(apex)
    if not 0 < apex_at < len(grays):
        raise ValueError(f"compute_flow: apex position {apex_at} is not in 1..{len(grays) - 1}")
    steps = flow_targets(len(grays), cfg.pairs, apex_at)
    out = np.empty((len(steps), cfg.num_channels, size, size), dtype=np.float32)
    for k, (source, target) in enumerate(steps):
        out[k] = model_channels(flow_pair(grays[source], grays[target], cfg), cfg, size)
    return out


ArrayT = TypeVar("ArrayT")


def _check_bounds(bound: float, strain_bound: float) -> None:
    if bound <= 0 or strain_bound <= 0:
        raise ValueError(f"flow bounds must be > 0, got bound={bound}, strain_bound={strain_bound}")


def normalise_flow(flow: ArrayT, channels: str, bound: float, strain_bound: float) -> ArrayT:
    """Scale raw flow ``(..., C, H, W)`` (numpy or torch) to about [-1, 1] for the network.

    u, v are divided by ``bound`` pixels and clipped to [-1, 1]; magnitude by ``bound``, clipped to
    [0, 1]; strain by ``strain_bound``, clipped to [0, 1]. Returns a new array.
    """
    _check_bounds(bound, strain_bound)
    source: Any = flow
    out: Any = source / 1.0  # a copy of the same type (numpy or torch)
    for index, name in enumerate(CHANNELS[channels]):
        plane = out[..., index, :, :]
        if name in ("u", "v"):
            out[..., index, :, :] = (plane / bound).clip(-1.0, 1.0)
        elif name == "magnitude":
            out[..., index, :, :] = (plane / bound).clip(0.0, 1.0)
        else:
            out[..., index, :, :] = (plane / strain_bound).clip(0.0, 1.0)
    return out  # type: ignore[no-any-return]


BOUND_PERCENTILE = 99.0  # of |u|, |v| over the training clips' flow (see choose_bounds)
MIN_BOUND = 0.05  # pixels: a still dataset must not blow its noise up to +-1


@dataclass(frozen=True)
class FlowNorm:
    """The normalisation the network sees: ``FlowNorm(channels, bound, strain_bound)(raw_flow)``."""

    channels: FlowChannels
    bound: float
    strain_bound: float

    def __post_init__(self) -> None:
        _check_bounds(self.bound, self.strain_bound)  # the tensor path below does not call normalise_flow

    def __call__(self, flow: ArrayT) -> ArrayT:
        import torch

        if not isinstance(flow, torch.Tensor) or flow.dtype != torch.float32 or flow.dim() < 3:
            return normalise_flow(flow, self.channels, self.bound, self.strain_bound)
        # A training item's flow: normalise_flow's numbers in two operations instead of two a channel.
        divisor, low, high = self._planes()
        if flow.shape[-3] != divisor.shape[0]:
            raise ValueError(f"flow has {flow.shape[-3]} channels, {self.channels!r} has {divisor.shape[0]}")
        return (flow / divisor).clamp_(low, high)  # type: ignore[return-value]

    def _planes(self) -> tuple[Any, Any, Any]:
        """Per-channel ``(divisor, low, high)``, ``(C, 1, 1)`` float32 tensors, computed once."""
        planes = self.__dict__.get("_planes_memo")
        if planes is None:
            import torch

            names = CHANNELS[self.channels]
            divisor = [self.strain_bound if name == "strain" else self.bound for name in names]
            low = [-1.0 if name in ("u", "v") else 0.0 for name in names]
            planes = tuple(
                torch.tensor(values, dtype=torch.float32).view(-1, 1, 1)
                for values in (divisor, low, [1.0] * len(names))
            )
            object.__setattr__(self, "_planes_memo", planes)  # frozen: a memo, not a field
        return planes


def choose_bounds(flows: Sequence[np.ndarray], channels: str) -> tuple[float, float]:
    """``(bound, strain_bound)`` from raw flows ``(T', C, H, W)``: the :data:`BOUND_PERCENTILE`-th
    percentile of |u|, |v| and of strain over every pixel of every step, so the clips' motion fills
    the [-1, 1] range and only the rarest (head movements, blinks) is clipped."""
    if not flows:
        raise ValueError("choose_bounds needs at least one flow array")
    names = CHANNELS[channels]
    uv = np.concatenate([np.abs(np.asarray(f[:, :2], np.float32)).ravel() for f in flows])
    bound = max(float(np.percentile(uv, BOUND_PERCENTILE)), MIN_BOUND)
    strain_bound = 1.0
    if "strain" in names:
        index = names.index("strain")
        strain = np.concatenate([np.asarray(f[:, index], np.float32).ravel() for f in flows])
        strain_bound = max(float(np.percentile(strain, BOUND_PERCENTILE)), 1e-3)
    return bound, strain_bound
