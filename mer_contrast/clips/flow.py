"""Dense optical flow between sampled frames: TV-L1, Farneback or DIS, one interface.

``compute_flow(frames_rgb (T, H, W, 3) uint8, cfg) -> (T-1, C, H, W) float32``. Flow is computed on
the grey, face-cropped, resized frames (``image_size``), so its unit is pixels of that image.
``pairs="consecutive"`` takes frame t -> t+1; ``pairs="onset"`` takes frame 0 -> t+1 (motion
relative to the neutral onset, growing towards the apex). Positive u points right, positive v down
(OpenCV: ``next(y + v, x + u) ~ prev(y, x)``).

Normalisation (micro-expression motion is sub-pixel to a few pixels at 112 px):
* ``u, v``: divided by ``bound`` pixels and clipped to [-1, 1]. The default 2 px keeps the
  resolution of sub-pixel motion while clipping only large head movements.
* magnitude: ``sqrt(u^2 + v^2) / bound`` clipped to [0, 1].
* optical strain: ``sqrt(exx^2 + eyy^2 + 2 exy^2)`` of the raw flow with ``exx = du/dx``,
  ``eyy = dv/dy``, ``exy = (du/dy + dv/dx) / 2`` (``np.gradient``, central differences). It is 0
  for a rigid translation, so it highlights the local skin deformation of an expression. Divided by
  ``strain_bound`` and clipped to [0, 1].

Channels: ``uv`` -> (u, v); ``uv_magnitude`` -> (u, v, magnitude); ``uv_strain`` -> (u, v, strain).
Solver objects are created once per process and reused; worker processes call
``cv2.setNumThreads(1)`` (see ``cache.precompute``) so parallelism comes from processes only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal

import cv2
import numpy as np

FlowMethod = Literal["tvl1", "farneback", "dis"]
FlowPairs = Literal["consecutive", "onset"]
FlowChannels = Literal["uv", "uv_magnitude", "uv_strain"]
DisPreset = Literal["ultrafast", "fast", "medium"]

_COMMON_FIELDS = ("method", "pairs", "channels", "bound", "strain_bound")
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
    """How flow is computed and normalised. Method parameters default to OpenCV's usual values.

    Args:
        method: solver: ``tvl1`` (accurate, slow), ``farneback`` or ``dis`` (fast).
        pairs: ``consecutive`` sampled frames, or ``onset`` to every later sampled frame.
        channels: ``uv``, ``uv_magnitude`` or ``uv_strain`` (see the module docstring).
        bound: pixels mapped to 1.0 for u, v and magnitude (then clipped).
        strain_bound: strain value mapped to 1.0 (then clipped).
        tau, lambda_, theta, nscales, warps, epsilon, inner_iterations, outer_iterations,
            scale_step, median_filtering: TV-L1 (``cv2.optflow.DualTVL1OpticalFlow``).
        pyr_scale, levels, winsize, iterations, poly_n, poly_sigma: Farneback.
        preset: DIS preset.
    """

    method: FlowMethod = "tvl1"
    pairs: FlowPairs = "consecutive"
    channels: FlowChannels = "uv"
    bound: float = 2.0
    strain_bound: float = 0.2
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
        if self.pairs not in ("consecutive", "onset"):
            raise ValueError(f"unknown flow pairs {self.pairs!r}; expected consecutive or onset")
        if self.channels not in ("uv", "uv_magnitude", "uv_strain"):
            raise ValueError(
                f"unknown flow channels {self.channels!r}; expected uv, uv_magnitude or uv_strain"
            )
        if self.bound <= 0 or self.strain_bound <= 0:
            raise ValueError("flow bound and strain_bound must be > 0")
        if self.preset not in _DIS_PRESETS:
            raise ValueError(f"unknown DIS preset {self.preset!r}; expected ultrafast, fast or medium")

    @property
    def num_channels(self) -> int:
        """C of the flow tensor."""
        return 2 if self.channels == "uv" else 3

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


def flow_channels(flow: np.ndarray, cfg: FlowConfig) -> np.ndarray:
    """Normalised channels ``(C, H, W)`` float32 of one raw flow ``(H, W, 2)``."""
    uv = np.clip(flow / cfg.bound, -1.0, 1.0).transpose(2, 0, 1)
    if cfg.channels == "uv":
        return np.ascontiguousarray(uv, dtype=np.float32)
    if cfg.channels == "uv_magnitude":
        extra = np.clip(np.hypot(flow[..., 0], flow[..., 1]) / cfg.bound, 0.0, 1.0)
    else:
        extra = np.clip(optical_strain(flow) / cfg.strain_bound, 0.0, 1.0)
    return np.concatenate([uv, extra[None]], axis=0).astype(np.float32)


def compute_flow(frames_rgb: np.ndarray, cfg: FlowConfig) -> np.ndarray:
    """Normalised flow ``(T-1, C, H, W)`` float32 of RGB uint8 frames ``(T, H, W, 3)``."""
    if frames_rgb.ndim != 4 or frames_rgb.shape[-1] != 3 or frames_rgb.shape[0] < 2:
        raise ValueError(f"compute_flow expects RGB frames (T>=2, H, W, 3), got shape {frames_rgb.shape}")
    grays = [cv2.cvtColor(np.ascontiguousarray(f, dtype=np.uint8), cv2.COLOR_RGB2GRAY) for f in frames_rgb]
    out = np.empty((len(grays) - 1, cfg.num_channels, *grays[0].shape), dtype=np.float32)
    for t in range(1, len(grays)):
        prev = grays[0] if cfg.pairs == "onset" else grays[t - 1]
        out[t - 1] = flow_channels(flow_pair(prev, grays[t], cfg), cfg)
    return out
