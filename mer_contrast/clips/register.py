"""Registration of a clip's frames to its onset, so head drift does not swamp skin motion.

A head that drifts 1 px over a clip moves every pixel of the face as much as a micro-expression moves
a brow. Flow from the onset would carry that drift everywhere; registering each frame to the onset
first removes the global part and leaves the local skin motion.

Modes (``register``):
* ``none``: frames as cropped (databases whose crops are already aligned: CASME II ``Cropped/``).
* ``translation``: a shift found by phase correlation (``cv2.phaseCorrelate``, Hanning window: robust
  to large shifts, but its sub-pixel peak is biased on smooth faces) and refined by ECC
  (``cv2.findTransformECC``, ``MOTION_TRANSLATION``: accurate to a few hundredths of a pixel).
* ``euclidean``: rotation + translation by ECC (``MOTION_EUCLIDEAN``), from the same start.
Where ECC does not converge, the phase-correlation shift is kept.

Warps use ``cv2.BORDER_REPLICATE``; the estimate ignores a border of ``BORDER_FRACTION`` of the side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

RegisterMode = Literal["none", "translation", "euclidean"]
REGISTER_MODES: tuple[str, ...] = ("none", "translation", "euclidean")
BORDER_FRACTION = 0.08  # the crop's edges hold background and hair that the face moves against
_ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)


def _gray32(frame: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    return gray.astype(np.float32)


def _inner(gray: np.ndarray) -> np.ndarray:
    h, w = gray.shape
    dy, dx = round(h * BORDER_FRACTION), round(w * BORDER_FRACTION)
    return gray[dy : h - dy, dx : w - dx]


def coarse_shift(reference: np.ndarray, frame: np.ndarray) -> tuple[float, float]:
    """Phase-correlation ``(dx, dy)`` of ``frame``'s content relative to ``reference`` (pixels)."""
    ref, cur = _inner(_gray32(reference)), _inner(_gray32(frame))
    window = cv2.createHanningWindow((ref.shape[1], ref.shape[0]), cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(ref, cur, window)
    return float(dx), float(dy)


def estimate_warp(reference: np.ndarray, frame: np.ndarray, mode: RegisterMode) -> np.ndarray:
    """2x3 affine matrix mapping ``reference`` coordinates to ``frame`` coordinates."""
    dx, dy = coarse_shift(reference, frame)
    warp = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], np.float32)
    ref, cur = _gray32(reference), _gray32(frame)
    mask = np.zeros(ref.shape, np.uint8)
    _inner(mask)[:] = 1  # the same inner region the phase correlation used
    motion = cv2.MOTION_TRANSLATION if mode == "translation" else cv2.MOTION_EUCLIDEAN
    try:
        _, found = cv2.findTransformECC(ref, cur, warp.copy(), motion, _ECC_CRITERIA, mask, 5)
        warp = np.asarray(found, np.float32)
    except cv2.error:  # no convergence (e.g. a featureless frame): keep the phase-correlation shift
        pass
    return warp


def estimate_shift(reference: np.ndarray, frame: np.ndarray) -> tuple[float, float]:
    """``(dx, dy)``: how far the content of ``frame`` is moved relative to ``reference`` (pixels)."""
    warp = estimate_warp(reference, frame, "translation")
    return float(warp[0, 2]), float(warp[1, 2])


def register_to_onset(frames: Sequence[np.ndarray], mode: RegisterMode) -> list[np.ndarray]:
    """Every frame aligned to ``frames[0]`` (returned as is); same shapes and dtypes."""
    if mode not in REGISTER_MODES:
        raise ValueError(f"unknown register mode {mode!r}; expected one of {', '.join(REGISTER_MODES)}")
    if mode == "none":
        return list(frames)
    reference = frames[0]
    out = [reference]
    h, w = reference.shape[:2]
    for frame in frames[1:]:
        warp = estimate_warp(reference, frame, mode)
        out.append(
            cv2.warpAffine(
                frame,
                warp,
                (w, h),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REPLICATE,
            )
        )
    return out
