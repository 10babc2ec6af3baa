"""Action-unit motion: smooth local displacement fields, a temporal envelope, jitter and sensor noise.

Each AU moves skin near a few landmarks (``faces.FaceGeometry``): a Gaussian-windowed displacement per
landmark, mirrored across the midline for bilateral AUs and applied on one side only for ``L``/``R``
AUs. The sum over the clip's AUs is the apex field; frame ``n`` warps the neutral face by
``envelope(n) * field`` (0 at onset, 1 at apex, 0 at offset), shifted by a small smooth head jitter,
then gets independent sensor noise. Amplitudes are a few pixels for a 128-pixel face box, like the
subtle, brief motions of real micro-expressions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from mer_contrast.synth.faces import FaceGeometry


@dataclass(frozen=True)
class AUToken:
    """One AU of a clip as the generator plans it (formatting into sheet text is per layout)."""

    number: int
    side: str | None = None  # "L"/"R": subject's left/right only
    intensity: str | None = None  # FACS letter A..E (SAMM style)
    asymmetric: bool = False  # SAMM "A" prefix: both sides, one stronger


# AU -> [(landmark, outward dx, dy, sigma)]: displacement in units of the clip amplitude (dx > 0 moves
# away from the midline, dy > 0 moves down), sigma of the Gaussian window in units of the face half
# width. AUs missing here (e.g. 31 jaw clencher) produce no visible motion.
AU_MOTIONS: dict[int, tuple[tuple[str, float, float, float], ...]] = {
    1: (("brow_inner", 0.0, -1.0, 0.13),),
    2: (("brow_outer", 0.1, -1.0, 0.13), ("brow_mid", 0.0, -0.5, 0.12)),
    4: (("brow_inner", -0.7, 0.8, 0.13), ("brow_mid", -0.3, 0.6, 0.12)),
    5: (("upper_lid", 0.0, -0.7, 0.07),),
    6: (("cheek", 0.0, -0.8, 0.16), ("lower_lid", 0.0, -0.5, 0.07)),
    7: (("lower_lid", 0.0, -0.6, 0.06), ("upper_lid", 0.0, 0.35, 0.06)),
    9: (("nose_side", -0.3, -0.8, 0.1), ("brow_inner", 0.0, 0.3, 0.1)),
    10: (("upper_lip", 0.0, -0.9, 0.1), ("nasolabial", 0.0, -0.4, 0.1)),
    12: (("corner", 0.6, -0.9, 0.11), ("cheek", 0.0, -0.3, 0.14)),
    14: (("corner", -0.9, 0.0, 0.09),),
    15: (("corner", 0.0, 0.9, 0.1),),
    16: (("lower_lip", 0.0, 0.8, 0.1),),
    17: (("chin", 0.0, -0.9, 0.14), ("lower_lip", 0.0, -0.5, 0.09)),
    18: (("corner", -1.0, 0.0, 0.1),),
    20: (("corner", 1.0, 0.2, 0.1),),
    23: (("corner", -0.4, 0.0, 0.08), ("upper_lip", 0.0, 0.3, 0.07), ("lower_lip", 0.0, -0.3, 0.07)),
    24: (("upper_lip", 0.0, 0.5, 0.08), ("lower_lip", 0.0, -0.6, 0.08)),
    25: (("upper_lip", 0.0, -0.35, 0.08), ("lower_lip", 0.0, 0.55, 0.09)),
    26: (("lower_lip", 0.0, 0.7, 0.12), ("chin", 0.0, 0.8, 0.18)),
    38: (("nostril", 0.5, 0.0, 0.06),),
    43: (("upper_lid", 0.0, 1.0, 0.07),),
}
INTENSITY_GAIN = {"A": 0.55, "B": 0.75, "C": 0.95, "D": 1.1, "E": 1.25}
BASE_AMPLITUDE = 2.6  # pixels of displacement at intensity 1 for a 128-pixel face box
JITTER_PX = 0.08  # std of the head jitter for a 128-pixel face box
NOISE_STD = 1.8  # sensor noise, grey levels


def au_field(
    tokens: tuple[AUToken, ...],
    geometry: FaceGeometry,
    canvas_hw: tuple[int, int],
    amplitude: float,
    motions: Mapping[int, tuple[tuple[str, float, float, float], ...]] = AU_MOTIONS,
) -> np.ndarray:
    """Apex displacement field (H, W, 2) float32: where each pixel's content moves, in pixels.

    ``motions`` replaces :data:`AU_MOTIONS` (e.g. a subject's own copy of the table).
    """
    height, width = canvas_hw
    field = np.zeros((height, width, 2), np.float32)
    for token in tokens:
        gain = amplitude * INTENSITY_GAIN.get(token.intensity or "", 1.0)
        sides = (token.side,) if token.side else ("L", "R")
        for side in sides:
            # SAMM "A": both sides, the one drawn second weaker (which one is stronger is arbitrary)
            side_gain = 0.5 if token.asymmetric and side == "R" else 1.0
            for landmark, dx_out, dy, sigma in motions.get(token.number, ()):
                x, y = geometry.point(landmark, side)
                sign = 1.0 if x >= geometry.cx else -1.0
                vector = (sign * dx_out * gain * side_gain, dy * gain * side_gain)
                _add_blob(field, x, y, sigma * geometry.a, vector)
    return field


def _add_blob(field: np.ndarray, x: float, y: float, sigma: float, vector: tuple[float, float]) -> None:
    """Add a Gaussian-windowed constant displacement, computed only inside its 3-sigma box."""
    height, width = field.shape[:2]
    r = 3 * sigma
    x0, x1 = max(0, int(x - r)), min(width, int(x + r) + 2)
    y0, y1 = max(0, int(y - r)), min(height, int(y + r) + 2)
    if x0 >= x1 or y0 >= y1:
        return
    xs = np.arange(x0, x1, dtype=np.float32) - x
    ys = np.arange(y0, y1, dtype=np.float32) - y
    window = np.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * sigma * sigma))
    field[y0:y1, x0:x1, 0] += window * vector[0]
    field[y0:y1, x0:x1, 1] += window * vector[1]


def envelope(length: int, apex_index: int) -> np.ndarray:
    """Motion weight per frame: raised-cosine rise from 0 (onset) to 1 (apex) and decay to 0 (offset)."""
    t = np.arange(length, dtype=np.float64)
    weights = np.zeros(length)
    rise = max(apex_index, 1)
    fall = max(length - 1 - apex_index, 1)
    before = t <= apex_index
    weights[before] = np.sin(0.5 * np.pi * t[before] / rise) ** 2
    weights[~before] = np.sin(0.5 * np.pi * (length - 1 - t[~before]) / fall) ** 2
    if apex_index == 0:
        weights[0] = 1.0
    return weights.astype(np.float32)


def jitter(length: int, std: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random head translation per frame (length, 2), about ``std`` pixels, zero mean."""
    steps = rng.normal(0, 1, (length + 4, 2))
    kernel = np.array([1, 4, 6, 4, 1], float) / 16
    smooth = np.stack([np.convolve(steps[:, i], kernel, mode="valid") for i in range(2)], axis=1)
    smooth -= smooth.mean(axis=0)
    scale = smooth.std() + 1e-9
    return (smooth * (std / scale)).astype(np.float32)[:length]


def render_frames(
    neutral: np.ndarray,
    field: np.ndarray,
    weights: np.ndarray,
    shifts: np.ndarray,
    rng: np.random.Generator,
    noise_std: float = NOISE_STD,
) -> Iterator[np.ndarray]:
    """uint8 frames: the neutral image warped by ``weights[i] * field`` and shifted by ``shifts[i]``."""
    height, width = neutral.shape[:2]
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    for weight, (shift_x, shift_y) in zip(weights, shifts, strict=True):
        # backward map of a small smooth forward displacement: sample where the content came from
        map_x = grid_x - weight * field[..., 0] - shift_x
        map_y = grid_y - weight * field[..., 1] - shift_y
        frame = cv2.remap(neutral, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frame = frame + noise_std * rng.standard_normal(frame.shape, dtype=np.float32)
        yield np.clip(frame + 0.5, 0, 255).astype(np.uint8)
