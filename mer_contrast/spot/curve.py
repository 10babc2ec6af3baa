"""The spotter's curve arithmetic: frame averaging, the regions' strongest mean, smoothing, apexes.

Steps 2 and 3 of :mod:`mer_contrast.spot.spotting` (whose module docstring documents them), apart
from the pass over the frames.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mer_contrast.spot.spotting import SpotConfig


def delayed(values: np.ndarray, k: int) -> np.ndarray:
    """``values`` shifted ``k`` frames later (the first ``k`` frames NaN, or False)."""
    out = np.zeros_like(values) if values.dtype == bool else np.full_like(values, np.nan)
    out[k:] = values[: len(values) - k]
    return out


def mean_frame(recent: deque[np.ndarray]) -> np.ndarray:
    """The mean of the last few crops as uint8: sensor noise is independent from frame to frame,
    a micro-expression is not, so averaging ``average_s`` of frames lowers the flow's noise floor."""
    return np.clip(np.mean(recent, axis=0) + 0.5, 0, 255).astype(np.uint8)


def smooth(curve: np.ndarray, width: int) -> np.ndarray:
    """Moving mean over ``width`` frames that ignores NaN (undefined ends stay NaN)."""
    width = min(width, len(curve))  # np.convolve's "same" would return the kernel's length
    if width <= 1:
        return curve
    kernel = np.ones(width) / width
    valid = ~np.isnan(curve)
    filled = np.where(valid, curve, 0.0)
    norm = np.convolve(valid.astype(float), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.convolve(filled, kernel, mode="same") / norm
    return np.where(valid, out, np.nan).astype(np.float32)


def find_apexes(curve: np.ndarray, cfg: SpotConfig, fps: float) -> tuple[list[int], float, float]:
    """Apex frames, the threshold and the baseline (median) of a curve."""
    values = curve[~np.isnan(curve)]
    if values.size == 0:
        return [], float("nan"), float("nan")
    baseline = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - baseline)))
    threshold = max(baseline + cfg.z * spread, cfg.min_motion)
    above = np.nan_to_num(curve, nan=0.0) > threshold
    peaks: list[int] = []
    t = 0
    while t < len(curve):
        if above[t]:
            end = t
            while end + 1 < len(curve) and above[end + 1]:
                end += 1
            peaks.append(t + int(np.nanargmax(curve[t : end + 1])))
            t = end + 1
        else:
            t += 1
    gap = cfg.frames(cfg.min_gap_s, fps)
    merged: list[int] = []
    for peak in peaks:
        if merged and peak - merged[-1] < gap:
            if curve[peak] > curve[merged[-1]]:
                merged[-1] = peak
        else:
            merged.append(peak)
    return merged, threshold, baseline


def strongest_mean(contrasts: np.ndarray, top: int) -> np.ndarray:
    """Per frame, the mean of the ``top`` strongest regions left (NaN where the frame has none)."""
    filled = np.where(np.isnan(contrasts), -np.inf, contrasts)
    strongest = -np.sort(-filled, axis=1)[:, :top]
    defined = np.isfinite(strongest).all(axis=1)
    return np.where(defined, np.where(defined[:, None], strongest, 0).mean(axis=1), np.nan).astype(np.float32)
