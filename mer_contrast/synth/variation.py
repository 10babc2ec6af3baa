"""Randomised appearance and nuisances of the sheet-driven twin, at three levels.

A model fitted to one narrow renderer learns that renderer. The twin therefore draws its look at three
levels, each from its own random stream (:func:`~mer_contrast.synth.render.stream`):

* **render** (:func:`render_style`, from the seed and layout alone): the global statistics of one
  render -- median apex displacement and its spreads, how far faces and AU motions stray from the
  defaults, lighting strength, flicker, head drift and roll, blink darkening, noise and JPEG ranges.
  Two seeds give two renders whose statistics differ, not just two samples of the same ones.
* **subject** (:func:`twin_face`): a perturbed :class:`~mer_contrast.synth.faces.FaceIdentity` (eye
  spacing, brows, mouth, face shape and centre), its own copy of the AU motion table (each landmark
  vector rotated, scaled, widened), extra skin texture, a lighting gradient, gamma, contrast and
  colour cast, its noise level, blink lid depth and amplitude scale.
* **clip** (:func:`clip_draws`): apex gain, JPEG quality, blink depth of the eye darkening, flicker
  and the head's drift and roll.

``FaceIdentity.sample`` and ``render.subject_face`` are not touched: the planned generator
(``generator.py``, ``long_video.py``) renders exactly as before.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import cv2
import numpy as np

from mer_contrast.synth.faces import FaceGeometry, FaceIdentity, render_neutral
from mer_contrast.synth.motion import AU_MOTIONS
from mer_contrast.synth.render import SubjectFace, face_placement, stream

if TYPE_CHECKING:
    from mer_contrast.synth.twin_clip import TwinOptions

# random-stream purposes (render.py uses 0..3, sheet_twin 7, long_video 11)
RENDER, SUBJECT, CLIP_VARIATION = 8, 9, 10

AMPLITUDE_MEDIAN = (1.0, 1.8)  # px: render-level median of the apex displacement
SUBJECT_SIGMA = (0.2, 0.45)  # log-normal sigma of the per-subject amplitude scale
CLIP_SIGMA = (0.15, 0.35)  # log-normal sigma of the per-clip amplitude gain
GEOMETRY_SPREAD = (0.5, 1.5)  # multiplier of the face-geometry perturbations
AU_ROTATION_DEG = (10.0, 30.0)  # render-level bound of the per-landmark rotation of AU vectors
AU_SCALE = (0.6, 1.5)  # bounds of the per-landmark scale of AU vectors
AU_SIGMA_SCALE = (0.75, 1.3)  # bounds of the per-landmark scale of the Gaussian windows
LIGHT_GRADIENT = (0.03, 0.2)  # render-level bound of the subject's lighting gradient (gain per face unit)
FLICKER = (0.005, 0.02)  # render-level bound of the slow global gain change over a clip
DRIFT_FACTOR = (0.5, 2.5)  # render-level max drift = factor x TwinOptions.drift_px (1 px: 0.5-2.5 px)
ROLL_DEG = (0.3, 1.0)  # render-level bound of the in-plane head rotation over a clip
BLINK_MS = (100.0, 400.0)  # blink duration
BLINK_DARKEN = (0.2, 0.5)  # darkening of the eye region at the blink peak
NOISE_STD = (1.0, 4.0)  # sensor noise, grey levels
JPEG = (70, 95)  # JPEG quality


@dataclass(frozen=True)
class RenderStyle:
    """Render-level draws: the global statistics of one render (see :func:`render_style`)."""

    amplitude_median: float
    subject_sigma: float
    clip_sigma: float
    geometry_spread: float
    au_rotation_deg: float
    au_spread: float  # 0..1: share of the AU_SCALE / AU_SIGMA_SCALE log-ranges used
    light_gradient: float
    texture: tuple[float, float]  # extra skin texture std range, grey levels
    flicker: float
    drift_factor: float
    roll_deg: float
    blink_darken: tuple[float, float]
    noise_std: tuple[float, float]
    jpeg: tuple[int, int]

    def as_dict(self) -> dict[str, float]:
        """Flat draws for the record (ranges as ``name_low`` / ``name_high``)."""
        flat: dict[str, float] = {}
        for key, value in dataclasses.asdict(self).items():
            if isinstance(value, tuple):
                flat[f"{key}_low"], flat[f"{key}_high"] = value
            else:
                flat[key] = value
        return flat


def _range(rng: np.random.Generator, bounds: tuple[float, float], min_width: float) -> tuple[float, float]:
    """A random sub-range of ``bounds`` at least ``min_width`` wide."""
    low = float(rng.uniform(bounds[0], bounds[1] - min_width))
    high = float(rng.uniform(low + min_width, bounds[1]))
    return round(low, 3), round(high, 3)


@lru_cache(maxsize=32)
def render_style(seed: int, layout: str = "casme2") -> RenderStyle:
    """The render-level draws of ``seed`` (same seed, same style; cached per process)."""
    rng = stream(seed, layout, RENDER)  # type: ignore[arg-type]
    jpeg_low = int(rng.integers(JPEG[0], JPEG[1] - 5 + 1))
    jpeg_high = int(rng.integers(jpeg_low + 5, JPEG[1] + 1))
    texture_low = float(rng.uniform(0.0, 2.0))
    return RenderStyle(
        amplitude_median=float(rng.uniform(*AMPLITUDE_MEDIAN)),
        subject_sigma=float(rng.uniform(*SUBJECT_SIGMA)),
        clip_sigma=float(rng.uniform(*CLIP_SIGMA)),
        geometry_spread=float(rng.uniform(*GEOMETRY_SPREAD)),
        au_rotation_deg=float(rng.uniform(*AU_ROTATION_DEG)),
        au_spread=float(rng.uniform(0.5, 1.0)),
        light_gradient=float(rng.uniform(*LIGHT_GRADIENT)),
        texture=(round(texture_low, 3), round(texture_low + float(rng.uniform(0.5, 2.5)), 3)),
        flicker=float(rng.uniform(*FLICKER)),
        drift_factor=float(rng.uniform(*DRIFT_FACTOR)),
        roll_deg=float(rng.uniform(*ROLL_DEG)),
        blink_darken=_range(rng, BLINK_DARKEN, 0.05),
        noise_std=_range(rng, NOISE_STD, 0.3),
        jpeg=(jpeg_low, jpeg_high),
    )


# ---------------------------------------------------------------------------------------------- subject


def vary_identity(identity: FaceIdentity, spread: float, rng: np.random.Generator) -> FaceIdentity:
    """``identity`` with its features moved beyond ``FaceIdentity.sample``'s ranges (``spread`` ~ 1)."""

    def shift(value: float, std: float, low: float, high: float) -> float:
        return float(np.clip(value + rng.normal(0, std * spread), low, high))

    def scale(value: float, std: float, low: float, high: float) -> float:
        return float(np.clip(value * math.exp(rng.normal(0, std * spread)), low, high))

    return dataclasses.replace(
        identity,
        half_width=scale(identity.half_width, 0.04, 0.26, 0.36),
        aspect=shift(identity.aspect, 0.06, 1.12, 1.45),
        jaw=shift(identity.jaw, 0.06, 0.0, 0.4),
        centre_shift=(
            shift(identity.centre_shift[0], 0.02, -0.06, 0.06),
            shift(identity.centre_shift[1], 0.015, -0.04, 0.04),
        ),
        eye_spacing=shift(identity.eye_spacing, 0.03, 0.28, 0.48),
        eye_size=scale(identity.eye_size, 0.08, 0.8, 1.3),
        brow_height=shift(identity.brow_height, 0.025, -0.52, -0.32),
        brow_arch=shift(identity.brow_arch, 0.015, 0.0, 0.1),
        mouth_width=scale(identity.mouth_width, 0.09, 0.22, 0.42),
        mouth_height=shift(identity.mouth_height, 0.03, 0.36, 0.56),
        lip_thickness=scale(identity.lip_thickness, 0.1, 0.65, 1.4),
    )


Motions = dict[int, tuple[tuple[str, float, float, float], ...]]


def vary_motions(style: RenderStyle, rng: np.random.Generator) -> Motions:
    """A subject's copy of ``AU_MOTIONS``: every landmark vector rotated, scaled and its window widened.

    AU43 (the lids closing in a blink) keeps its direction: only its extent varies.
    """
    max_angle = math.radians(style.au_rotation_deg)
    log_scale = (style.au_spread * math.log(AU_SCALE[0]), style.au_spread * math.log(AU_SCALE[1]))
    log_sigma = (style.au_spread * math.log(AU_SIGMA_SCALE[0]), style.au_spread * math.log(AU_SIGMA_SCALE[1]))
    table: Motions = {}
    for au, entries in AU_MOTIONS.items():
        varied = []
        for landmark, dx, dy, sigma in entries:
            angle = 0.0 if au == 43 else float(rng.uniform(-max_angle, max_angle))
            gain = math.exp(rng.uniform(*log_scale))
            widen = math.exp(rng.uniform(*log_sigma))
            cos, sin = math.cos(angle), math.sin(angle)
            varied.append(
                (landmark, gain * (cos * dx - sin * dy), gain * (sin * dx + cos * dy), sigma * widen)
            )
        table[au] = tuple(varied)
    return table


def eye_ellipses(
    geometry: FaceGeometry, eye_size: float = 1.0
) -> tuple[tuple[float, float, float, float], ...]:
    """(centre x, centre y, half width, half height) of the region around each eye (both lids, socket)."""
    eu, ev = geometry.landmarks["eye"]
    half_w = 0.15 * eye_size * geometry.a * 1.5
    half_h = 0.055 * eye_size * geometry.a * 2.6  # faces._draw_eye: socket 1.35 x 2.2 of the eye axes
    return tuple(
        (geometry.cx + sign * eu * geometry.a, geometry.cy + ev * geometry.b, half_w, half_h)
        for sign in (1, -1)
    )


def _face_oval(geometry: FaceGeometry, shape: tuple[int, int]) -> np.ndarray:
    """Soft mask of the face oval (1 inside, 0 outside, ramp over the rim)."""
    ys, xs = np.ogrid[0 : shape[0], 0 : shape[1]]
    r2 = ((xs - geometry.cx) / geometry.a) ** 2 + ((ys - geometry.cy) / geometry.b) ** 2
    return np.clip((1.0 - r2) / 0.15, 0.0, 1.0).astype(np.float32)


def _relight(
    neutral: np.ndarray, geometry: FaceGeometry, style: RenderStyle, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, float]]:
    """Extra skin texture, then lighting gradient, gamma, contrast and colour cast (BGR float32)."""
    height, width = neutral.shape[:2]
    oval = _face_oval(geometry, (height, width))
    texture_std = float(rng.uniform(*style.texture))
    grain = float(rng.uniform(0.4, 1.2))
    pores = np.asarray(
        cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), grain), np.float32
    )
    pores *= np.float32(texture_std / (float(pores.std()) + 1e-6))
    image = neutral + (pores * oval)[..., None]
    gamma = math.exp(rng.normal(0, 0.12 * style.geometry_spread))
    contrast = float(rng.uniform(0.8, 1.2))
    angle = float(rng.uniform(0, 2 * math.pi))
    gradient = float(rng.uniform(0, style.light_gradient))
    cast = np.exp(rng.normal(0, 0.04, 3)).astype(np.float32)
    image = 255.0 * (np.clip(image, 0, 255) / 255.0) ** gamma
    mean = float(image[oval > 0.5].mean()) if (oval > 0.5).any() else float(image.mean())
    image = mean + contrast * (image - mean)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = (xs - geometry.cx) / geometry.a, (ys - geometry.cy) / geometry.b
    light = np.clip(1.0 + gradient * (math.cos(angle) * u + math.sin(angle) * v), 0.6, 1.4)
    image = image * light[..., None] * cast
    draws = {
        "texture_std": round(texture_std, 3),
        "gamma": round(gamma, 3),
        "contrast": round(contrast, 3),
        "light_gradient": round(gradient, 3),
    }
    return np.clip(image, 0, 255).astype(np.float32), draws


def twin_face(
    options: TwinOptions,
    layout: str,
    subject_index: int,
    size: int,
    *,
    raw: bool = True,
    grayscale: bool = False,
) -> SubjectFace:
    """Subject ``subject_index``'s varied face: a ``size`` crop, or a larger raw canvas with it inside.

    Only ``options.seed`` is used. The identity and the face box are those of
    :func:`~mer_contrast.synth.render.subject_face` for the same seed, layout and subject; the
    variation comes on top, from the subject's own stream.
    """
    seed = int(options.seed)
    style = render_style(seed, layout)
    identity, box, (height, width) = face_placement(seed, layout, subject_index, size, raw=raw)
    vary = stream(seed, layout, SUBJECT, subject_index)  # type: ignore[arg-type]
    identity = vary_identity(identity, style.geometry_spread, vary)
    motions = vary_motions(style, vary)
    neutral, geometry = render_neutral(identity, (height, width), box)
    neutral, draws = _relight(neutral, geometry, style, vary)
    if grayscale:
        neutral = cv2.cvtColor(neutral, cv2.COLOR_BGR2GRAY)
    draws.update(
        subject_scale=round(math.exp(vary.normal(0, style.subject_sigma)), 4),
        noise_std=round(float(vary.uniform(*style.noise_std)), 3),
        lid_depth=round(float(vary.uniform(0.8, 1.25)), 3),
    )
    return SubjectFace(
        neutral=neutral,
        box=box,
        geometry=geometry,
        motions=motions,
        eyes=eye_ellipses(geometry, identity.eye_size),
        draws=draws,
    )


# ------------------------------------------------------------------------------------------------- clip


@dataclass(frozen=True)
class ClipDraws:
    """Clip-level draws of :func:`clip_draws`."""

    clip_gain: float
    jpeg_quality: int
    blink_ms: float
    blink_darken: float
    flicker: np.ndarray  # (length,) global gain per frame, about 1
    roll: np.ndarray  # (length,) in-plane rotation per frame, radians
    max_drift_px: float


def blink_frames(duration_ms: float, fps: float) -> int:
    """Frames of a blink lasting ``duration_ms`` at ``fps`` (at least 2)."""
    return max(2, round(duration_ms / 1000.0 * fps))


def smooth_curve(length: int, rng: np.random.Generator, knots: int = 4) -> np.ndarray:
    """A smooth random curve over ``length`` frames with max |value| = 1 (0 for a single frame)."""
    values = rng.uniform(-1, 1, knots)
    if length < 2:
        return np.zeros(length, np.float64)
    positions = np.linspace(0, length - 1, knots)
    t = np.arange(length, dtype=np.float64)
    index = np.clip(np.searchsorted(positions, t, side="right") - 1, 0, knots - 2)
    frac = (t - positions[index]) / (positions[index + 1] - positions[index])
    ease = 0.5 - 0.5 * np.cos(np.pi * frac)  # cosine between knots: smooth, no overshoot
    curve = values[index] * (1 - ease) + values[index + 1] * ease
    return curve / (float(np.abs(curve).max()) + 1e-12)


def clip_draws(seed: int, layout: str, index: int, length: int, drift_px: float) -> ClipDraws:
    """The clip's own draws (clip ``index`` of the render), from its own stream."""
    style = render_style(seed, layout)
    rng = stream(seed, layout, CLIP_VARIATION, index)  # type: ignore[arg-type]
    clip_gain = math.exp(rng.normal(0, style.clip_sigma))
    jpeg_quality = int(rng.integers(style.jpeg[0], style.jpeg[1] + 1))
    blink_ms = float(rng.uniform(*BLINK_MS))
    darken = float(rng.uniform(*style.blink_darken))
    flicker = 1.0 + float(rng.uniform(0, style.flicker)) * smooth_curve(length, rng)
    roll_total = math.radians(float(rng.uniform(-style.roll_deg, style.roll_deg)))
    ease = 0.5 - 0.5 * np.cos(np.pi * np.linspace(0, 1, length))
    wobble = 0.3 * smooth_curve(length, rng)
    roll = roll_total * np.clip(ease + wobble, -1, 1)
    return ClipDraws(
        clip_gain=clip_gain,
        jpeg_quality=jpeg_quality,
        blink_ms=blink_ms,
        blink_darken=darken,
        flicker=flicker.astype(np.float32),
        roll=roll.astype(np.float64),
        max_drift_px=drift_px * style.drift_factor,
    )


def eye_shading(
    eyes: tuple[tuple[float, float, float, float], ...], shape: tuple[int, int]
) -> tuple[tuple[slice, slice], np.ndarray]:
    """Bounding window of both eye regions and a soft elliptical mask (0..1) inside it."""
    height, width = shape
    x0 = max(0, int(min(cx - ax for cx, _, ax, _ in eyes)) - 1)
    x1 = min(width, int(max(cx + ax for cx, _, ax, _ in eyes)) + 2)
    y0 = max(0, int(min(cy - ay for _, cy, _, ay in eyes)) - 1)
    y1 = min(height, int(max(cy + ay for _, cy, _, ay in eyes)) + 2)
    ys, xs = np.ogrid[y0:y1, x0:x1]
    mask = np.zeros((max(0, y1 - y0), max(0, x1 - x0)), np.float32)
    for cx, cy, ax, ay in eyes:
        r2 = ((xs - cx) / ax) ** 2 + ((ys - cy) / ay) ** 2
        mask = np.maximum(mask, np.clip((1.0 - r2) / 0.4, 0.0, 1.0))  # flat core, soft rim
    return (slice(y0, y1), slice(x0, x1)), mask
