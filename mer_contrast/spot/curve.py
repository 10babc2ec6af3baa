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
    shortest = cfg.frames(cfg.min_run_s, fps)  # runs shorter than min_run_s give no apex
    runs = [(a, b) for a, b in active_spans(curve, threshold, bridge=0) if b - a + 1 >= shortest]
    peaks = [first + int(np.nanargmax(curve[first : last + 1])) for first, last in runs]
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


def active_spans(curve: np.ndarray, threshold: float, bridge: int) -> list[tuple[int, int]]:
    """``(first, last)`` frames of the runs where ``curve`` exceeds ``threshold``, dips of at most
    ``bridge`` frames bridged (NaN counts as below)."""
    spans: list[list[int]] = []
    for index in np.flatnonzero(np.nan_to_num(curve, nan=0.0) > threshold).tolist():
        if spans and index - spans[-1][1] <= bridge + 1:
            spans[-1][1] = index
        else:
            spans.append([index, index])
    return [(first, last) for first, last in spans]


def sustained(
    apexes: list[int], curve: np.ndarray, threshold: float, bridge: int, longest: int
) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Apexes split into those of short activity and the ``(first, apex, last)`` of sustained activity.

    A micro-expression lifts the curve above its threshold for less than its own duration plus the
    window; talking, chewing or a macro-expression keep it there, with short dips, for longer than
    ``longest`` frames. Such a span is one activity: its apexes are dropped and the span is returned
    once, with its strongest frame as the apex.
    """
    short: list[int] = []
    held: list[tuple[int, int, int]] = []
    spans = [span for span in active_spans(curve, threshold, bridge) if span[1] - span[0] + 1 > longest]
    for apex in apexes:
        if not any(first <= apex <= last for first, last in spans):
            short.append(apex)
    for first, last in spans:
        if any(first <= apex <= last for apex in apexes):
            held.append((first, first + int(np.nanargmax(curve[first : last + 1])), last))
    return short, held
