"""One sheet row as a rendered clip: the twin's options, its plan of a row, and the clip renderer.

The core of every sheet-driven twin (``synth --from-sheet``; entry point :mod:`.sheet_twin`, layouts in
:mod:`.twin_layouts`): :class:`TwinOptions` (sizes, amplitudes, nuisances, seed), :class:`ClipPlan`
(a row's frame range, motion AUs and apex), :func:`plan_rows` for CASME II (with the six clips whose
``Cropped/`` folder holds other frames than the sheet says), and :func:`render_clip`, which warps a
subject's face (:func:`.variation.twin_face`) by the row's AU field with the render's, subject's and
clip's variation (:mod:`.variation`). See :mod:`.sheet_twin` for what makes a twin a useful stand-in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from mer_contrast.datasets.records import SampleRecord
from mer_contrast.synth.motion import JITTER_PX, AUToken, au_field, envelope, jitter
from mer_contrast.synth.patterns import (
    CASME2_CLASSES,
    CASME2_RARE,
    MMEW_CLASSES,
    SAMM_CLASSES,
    SAMM_RARE,
    Classes,
    parse_pattern,
)
from mer_contrast.synth.render import SubjectFace, stream
from mer_contrast.synth.variation import (
    BLINK_MS,
    blink_frames,
    clip_draws,
    eye_ellipses,
    eye_shading,
    render_style,
)

CASME2_RAW = "CASME2_RAW_selected"
CASME2_CROPPED = "Cropped"
# Clips of the real CASME II whose Cropped/ folder holds other frames than the 20140508 sheet says
# (bob.db.casme2's scan of the real folders, dataset notes §1.6): (subject, clip) -> (first, last).
FOLDER_RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("sub20", "EP16_01"): (71, 106),
    ("sub12", "EP09_02"): (161, 206),
    ("sub12", "EP09_06"): (66, 106),
    ("sub16", "EP01_08"): (73, 96),
    ("sub24", "EP02_07"): (61, 106),
    ("sub07", "EP06_01"): (56, 91),
}
BLINK_DEPTH = 0.025  # lid travel as a fraction of the crop side (~4.5 px at 180 px)
TWIN = 7  # random-stream purpose of this module (render.py uses 0..3)
_SUBJECT_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class TwinOptions:
    """How a sheet is rendered (see :func:`render_from_sheet`)."""

    seed: int = 0
    crop_sizes: tuple[int, int] = (150, 210)
    amplitudes: tuple[float, float] = (0.3, 3.0)  # bounds of the apex displacement, px
    drift_px: float = 1.0  # scale of the head drift: a render's largest drift is 0.5-2.5 x this
    blink_prob: float = 0.3
    raw: bool = True

    def __post_init__(self) -> None:
        low, high = self.crop_sizes
        if not 32 <= low <= high <= 1024:
            raise ValueError(
                f"synth: crop sizes must satisfy 32 <= min <= max <= 1024, got {self.crop_sizes}"
            )
        if not 0 < self.amplitudes[0] <= self.amplitudes[1]:
            raise ValueError(f"synth: amplitudes must satisfy 0 < min <= max, got {self.amplitudes}")
        if self.drift_px < 0 or not 0 <= self.blink_prob <= 1:
            raise ValueError("synth: drift_px must be >= 0 and blink_prob in [0, 1]")


@dataclass(frozen=True)
class ClipPlan:
    """One sheet row as it will be rendered."""

    record: SampleRecord
    frames: tuple[int, int]  # first and last frame number written
    motion_aus: tuple[AUToken, ...]
    apex_index: int  # position of the motion peak among the written frames
    quirk: str = ""


def draw_pattern(
    options: list[tuple[tuple[AUToken, ...], float]], rng: np.random.Generator
) -> tuple[AUToken, ...]:
    """One of weighted AU patterns."""
    weights = np.array([w for _, w in options], float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def fallback_table(layout: str) -> Classes:
    """AU pattern table of ``layout``'s emotions, keyed lower-case (for ``?`` and empty codes)."""
    tables: dict[str, Classes] = {
        "casme2": {**CASME2_CLASSES, **CASME2_RARE},
        "mmew": MMEW_CLASSES,
        "samm": {**SAMM_CLASSES, **SAMM_RARE},
        "casme3": {**MMEW_CLASSES, "sad": MMEW_CLASSES["sadness"], "happy": MMEW_CLASSES["happiness"]},
    }
    return {name.lower(): value for name, value in tables.get(layout, CASME2_CLASSES).items()}


def row_tokens(layout: str, record: SampleRecord, rng: np.random.Generator) -> tuple[AUToken, ...]:
    """The row's AUs, or a pattern of its emotion when the code is unknown (``?``) or empty."""
    tokens = tuple(AUToken(au.number, au.side) for au in record.aus)
    if tokens:
        return tokens
    table = fallback_table(layout)
    entry = table.get(record.emotion.lower(), table.get("others", next(iter(table.values()))))
    return draw_pattern([(parse_pattern(p), w) for p, w in entry[1]], rng)


def plan_rows(records: list[SampleRecord], seed: int) -> list[ClipPlan]:
    """Frame ranges, motion AUs and apex positions of every row (sheet order)."""
    plans = []
    for index, record in enumerate(records):
        rng = stream(seed, "casme2", TWIN, 0, index)
        first, last = FOLDER_RANGES.get((record.subject, record.clip_id), (record.onset, record.offset))
        quirk = "folder_range" if (first, last) != (record.onset, record.offset) else ""
        apex = record.apex if record.apex is not None and first <= record.apex <= last else None
        apex_index = apex - first if apex is not None else (last - first) // 2
        plans.append(ClipPlan(record, (first, last), row_tokens("casme2", record, rng), apex_index, quirk))
    return plans


def _apex_field(face: SubjectFace, tokens: tuple[AUToken, ...], amplitude: float) -> np.ndarray:
    """The clip's apex displacement field, scaled so its largest displacement is ``amplitude`` px.

    AUs move as the subject's own motion table says (``face.motions``; ``AU_MOTIONS`` without one).
    """
    if face.motions is None:
        field = au_field(tokens, face.geometry, face.neutral.shape[:2], 1.0)
    else:
        field = au_field(tokens, face.geometry, face.neutral.shape[:2], 1.0, face.motions)
    peak = float(np.hypot(field[..., 0], field[..., 1]).max())
    return field * (amplitude / peak) if peak > 0 else field


def _blink_field(face: SubjectFace, depth: float) -> np.ndarray:
    if face.motions is None:
        return au_field((AUToken(43),), face.geometry, face.neutral.shape[:2], depth)
    return au_field((AUToken(43),), face.geometry, face.neutral.shape[:2], depth, face.motions)


def _blink_weights(
    length: int, rng: np.random.Generator, fps: float = 200.0, duration_ms: float | None = None
) -> np.ndarray:
    """0 everywhere but one blink: lids close (weight 1) and reopen over ``duration_ms`` (100-400 ms)."""
    weights = np.zeros(length, np.float32)
    if duration_ms is None:
        duration_ms = float(rng.uniform(*BLINK_MS))
    duration = blink_frames(duration_ms, fps)
    start = int(rng.integers(-duration // 2, max(1, length - duration // 2)))
    t = np.arange(duration)
    profile = np.sin(np.pi * (t + 0.5) / duration) ** 2
    for k, value in zip(range(start, start + duration), profile, strict=True):
        if 0 <= k < length:
            weights[k] = value
    return weights


def _drift(length: int, max_px: float, jitter_px: float, rng: np.random.Generator) -> np.ndarray:
    """Per-frame head translation (length, 2): a smooth drift of up to ``max_px`` plus jitter."""
    angle = rng.uniform(0, 2 * np.pi)
    total = rng.uniform(0, max_px)
    progress = 0.5 - 0.5 * np.cos(np.pi * np.linspace(0, 1, length))  # eases in and out
    path = np.outer(progress * total, [np.cos(angle), np.sin(angle)])
    return (path + jitter(length, jitter_px, rng)).astype(np.float32)


def render_clip(
    face: SubjectFace,
    plan: ClipPlan,
    options: TwinOptions,
    index: int,
    *,
    layout: str = "casme2",
    fps: float = 200.0,
    raw: bool | None = None,
) -> tuple[Iterator[np.ndarray], dict[str, float]]:
    """The clip's frames (uint8, the whole canvas with ``raw``, else the face box) and its draws.

    ``raw=None`` takes ``options.raw``; ``layout`` keys the random streams; ``fps`` sets the blink's
    length in frames. Per frame, one remap applies the AU motion, the blink's lids, the head's drift
    and its roll about the face centre; then the eye darkening of a blink (on the source, so it moves
    with the head), the illumination drift and the sensor noise.
    """
    raw = options.raw if raw is None else raw
    rng = stream(options.seed, layout, TWIN, 1, index)  # type: ignore[arg-type]
    length = plan.frames[1] - plan.frames[0] + 1
    side = face.box[2]
    clip = clip_draws(options.seed, layout, index, length, options.drift_px)
    subject_scale = float(face.draws.get("subject_scale", 1.0))
    noise_std = float(face.draws.get("noise_std", 2.0))
    median = render_style(options.seed, layout).amplitude_median
    amplitude = float(np.clip(median * subject_scale * clip.clip_gain, *options.amplitudes))
    field = _apex_field(face, plan.motion_aus, amplitude)
    weights = envelope(length, plan.apex_index)
    blinking = bool(rng.random() < options.blink_prob)
    blink = _blink_weights(length, rng, fps, clip.blink_ms) if blinking else np.zeros(length, np.float32)
    lid_depth = BLINK_DEPTH * side * float(face.draws.get("lid_depth", 1.0))
    lids = _blink_field(face, lid_depth) if blinking else None
    shifts = _drift(length, clip.max_drift_px, JITTER_PX * side / 128, rng)
    x, y, w, h = face.box if not raw else (0, 0, *face.frame_size)
    window = (slice(y, y + h), slice(x, x + w))
    grid_y, grid_x = np.mgrid[y : y + h, x : x + w].astype(np.float32)
    cx, cy = face.geometry.cx, face.geometry.cy
    rel_x, rel_y = grid_x - cx, grid_y - cy
    field_w = field[window]
    lids_w = lids[window] if lids is not None else None
    eyes = face.eyes or eye_ellipses(face.geometry)
    eye_window, eye_mask = eye_shading(eyes, face.neutral.shape[:2])
    if face.neutral.ndim == 3:
        eye_mask = eye_mask[..., None]

    def frames() -> Iterator[np.ndarray]:
        for t in range(length):
            # backward map of: AU motion, then the head's roll about (cx, cy) and its translation
            cos, sin = float(np.cos(clip.roll[t])), float(np.sin(clip.roll[t]))
            sx, sy = float(shifts[t, 0]), float(shifts[t, 1])
            map_x = cos * rel_x + sin * rel_y + (cx - cos * sx - sin * sy) - weights[t] * field_w[..., 0]
            map_y = cos * rel_y - sin * rel_x + (cy - cos * sy + sin * sx) - weights[t] * field_w[..., 1]
            source = face.neutral
            if blink[t] > 0:
                if lids_w is not None:
                    map_x -= blink[t] * lids_w[..., 0]
                    map_y -= blink[t] * lids_w[..., 1]
                source = face.neutral.copy()
                source[eye_window] *= 1.0 - (clip.blink_darken * blink[t]) * eye_mask
            frame = np.asarray(
                cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT), np.float32
            )
            frame *= clip.flicker[t]
            frame += np.float32(noise_std) * rng.standard_normal(frame.shape, dtype=np.float32)
            yield np.clip(frame + 0.5, 0, 255).astype(np.uint8)

    draws: dict[str, float] = {
        "amplitude": round(amplitude, 3),
        "subject_scale": round(subject_scale, 4),
        "clip_gain": round(clip.clip_gain, 4),
        "jpeg_quality": clip.jpeg_quality,
        "noise_std": round(noise_std, 3),
        "blink": float(blinking),
        "blink_ms": round(clip.blink_ms, 1) if blinking else 0.0,
        "blink_frames": blink_frames(clip.blink_ms, fps) if blinking else 0,
        "blink_darken": round(clip.blink_darken, 3) if blinking else 0.0,
        "drift": round(float(np.abs(shifts).max()), 3),
        "roll_deg": round(float(np.degrees(np.abs(clip.roll).max())), 3),
        "flicker": round(float(np.abs(clip.flicker - 1).max()), 4),
    }
    return frames(), draws


def subject_indices(subjects: list[str]) -> dict[str, int]:
    """Identity index of each subject: its number minus one (``sub05`` -> 4), whatever else the sheet holds.

    Keyed by the number, not the position among the subjects present, so that ``limit`` or a skipped
    row does not give another subject's face to the ones after it. Ids without a number follow the
    numbered ones.
    """
    numbers = {s: int(m.group(1)) for s in subjects if (m := _SUBJECT_NUMBER.search(s))}
    after = max(numbers.values(), default=0)
    others = sorted(s for s in subjects if s not in numbers)
    return {**{s: n - 1 for s, n in numbers.items()}, **{s: after + i for i, s in enumerate(others)}}


def _subject_sizes(indices: dict[str, int], options: TwinOptions, layout: str = "casme2") -> dict[str, int]:
    """Crop side per subject: the ``index``-th draw of one stream (stable under subsets of the sheet)."""
    rng = stream(options.seed, layout, TWIN, 2)  # type: ignore[arg-type]
    low, high = options.crop_sizes
    draws = [int(rng.integers(low, high + 1)) for _ in range(max(indices.values(), default=-1) + 1)]
    return {s: draws[i] for s, i in indices.items()}
