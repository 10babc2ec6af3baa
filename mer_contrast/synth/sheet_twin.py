"""A twin of a real database rendered from its own coding sheet: one synthetic clip per sheet row.

``render_from_sheet("casme2", sheet, out)`` reads the user's sheet with the package's reader and
renders, for every row, a clip with the row's subject, file name, onset/apex/offset frame numbers and
AU code, in CASME II's on-disk layout (``CASME2_RAW_selected/`` and ``Cropped/``). What makes it a
useful stand-in for the licence-gated frames:

* **Micro-motion at the real scale**: face crops of ``crop_sizes`` px (CASME II: about 150-210) and a
  peak skin displacement of a render-level median (1.0-1.8 px) times a per-subject scale and a
  per-clip gain (both log-normal), clipped to ``amplitudes`` (0.3-3 px), rising from the onset to the
  apex frame and decaying to the offset (raised cosine).
* **The row's AU code drives the motion**: several AUs sum, ``L``/``R`` move one side only, AUs with
  no visible motion in :data:`~mer_contrast.synth.motion.AU_MOTIONS` move nothing (as a coder's AU
  the camera cannot see), and an unknown code (``?``) gets a pattern typical of the row's emotion.
  The label is therefore exactly as (un)recoverable from the motion as the real sheet makes it:
  many AU codes are shared between classes.
* **No single renderer** (:mod:`~mer_contrast.synth.variation`): each seed draws its own global
  statistics, then each subject and clip its own values within them: feature placement and face
  shape, the direction (up to +-30 deg) and extent of every AU's landmark motion, skin texture,
  lighting gradient, gamma, contrast and colour cast, sensor noise (1-4 grey levels) and JPEG quality
  (70-95).
* **Nuisances**: head drift (a smooth translation of up to 0.5-2.5 x ``drift_px`` over the clip,
  plus jitter) and roll (up to +-1 deg about the face centre) in the same warp, a slow global
  illumination drift (up to +-2 %), and blinks in ``blink_prob`` of the clips: both upper lids close
  and reopen over 100-400 ms (frames = duration x fps) while each eye region darkens by 20-50 %.
* **The rows that disagree with the folders**: the six clips whose ``Cropped/`` folder holds other
  frames than the sheet says (dataset notes §1.6) get the folder's frames, as on the real disk.

The sheet itself is the user's and is copied, unchanged, into ``out`` (never into a repository).
Same seed, same bytes, whatever ``workers``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mer_contrast.datasets.records import SampleRecord
from mer_contrast.synth.manifest import SynthClip, SynthManifest
from mer_contrast.synth.motion import JITTER_PX, AUToken, au_field, envelope, jitter
from mer_contrast.synth.patterns import CASME2_CLASSES, CASME2_RARE, parse_pattern
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
SUPPORTED = ("casme2", "samm", "mmew", "casme3", "smic", "megc2019")  # see twin_layouts.PROFILES
# Every CASME II Filename starts with the elicitation task ("EP02_01f", "EP09f"); MMEW's ("S01-01-001")
# and SAMM's ("006_1_2") do not, and their sheets otherwise read as CASME II ones.
_CASME2_CLIP = re.compile(r"EP\d")
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


def _tokens(record: SampleRecord, rng: np.random.Generator) -> tuple[AUToken, ...]:
    """The row's AUs, or a pattern of its emotion when the code is unknown (``?``) or empty."""
    tokens = tuple(AUToken(au.number, au.side) for au in record.aus)
    if tokens:
        return tokens
    table = {**CASME2_CLASSES, **CASME2_RARE}
    options = table.get(record.emotion, CASME2_CLASSES["others"])[1]
    weights = np.array([w for _, w in options], float)
    return parse_pattern(options[int(rng.choice(len(options), p=weights / weights.sum()))][0])


def plan_rows(records: list[SampleRecord], seed: int) -> list[ClipPlan]:
    """Frame ranges, motion AUs and apex positions of every row (sheet order)."""
    plans = []
    for index, record in enumerate(records):
        rng = stream(seed, "casme2", TWIN, 0, index)
        first, last = FOLDER_RANGES.get((record.subject, record.clip_id), (record.onset, record.offset))
        quirk = "folder_range" if (first, last) != (record.onset, record.offset) else ""
        apex = record.apex if record.apex is not None and first <= record.apex <= last else None
        apex_index = apex - first if apex is not None else (last - first) // 2
        plans.append(ClipPlan(record, (first, last), _tokens(record, rng), apex_index, quirk))
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


def _subject_sizes(indices: dict[str, int], options: TwinOptions) -> dict[str, int]:
    """Crop side per subject: the ``index``-th draw of one stream (stable under subsets of the sheet)."""
    rng = stream(options.seed, "casme2", TWIN, 2)
    low, high = options.crop_sizes
    draws = [int(rng.integers(low, high + 1)) for _ in range(max(indices.values(), default=-1) + 1)]
    return {s: draws[i] for s, i in indices.items()}


def _right_layout(records: list[SampleRecord]) -> str:
    """``use --layout mmew`` when the clip names are another database's, else the CASME II sheet name."""
    from mer_contrast.synth.twin_layouts import _guess_layout

    guess = _guess_layout(records)
    return f"use --layout {guess}" if guess and guess != "casme2" else "pass CASME2-coding-20140508.xlsx"


def _check_is_casme2(sheet: Path, records: list[SampleRecord]) -> None:
    """Refuse another database's sheet (MMEW/SAMM sheets read as CASME II ones but name clips otherwise)."""
    matching = sum(bool(_CASME2_CLIP.match(r.clip_id)) for r in records)
    if records and 2 * matching < len(records):
        example = next(r.clip_id for r in records if not _CASME2_CLIP.match(r.clip_id))
        raise ValueError(
            f"synth --from-sheet: {sheet} does not look like a CASME II coding sheet (Filename "
            f"{example!r}; CASME II names clips EP02_01f, ...): {_right_layout(records)}"
        )


Rendered = list[tuple[int, SynthClip, dict[str, float]]]


def _render_subject(
    out: Path,
    subject: str,
    subject_index: int,
    size: int,
    jobs: list[tuple[int, ClipPlan]],
    options: TwinOptions,
) -> tuple[SubjectFace, Rendered]:
    """Render every CASME II clip of one subject (see :func:`.twin_render.render_subject`)."""
    from mer_contrast.synth.twin_render import render_subject

    return render_subject(out, "casme2", subject, subject_index, size, jobs, options)


def render_from_sheet(
    layout: str,
    sheet: Path,
    out: Path,
    *,
    options: TwinOptions | None = None,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    database_sizes: bool | None = None,
) -> SynthManifest:
    """Render one clip per row of ``sheet`` into ``out``, in ``layout``'s released on-disk layout.

    Each database's profile (frame rate, face sizes, grayscale, raw canvas or crops, file pattern) is
    in :data:`mer_contrast.synth.twin_layouts.PROFILES`; see that module and ``docs/twins.md``.

    Args:
        layout: ``casme2``, ``samm``, ``mmew``, ``casme3`` (part A), ``smic`` (the smic rows of
            ``combined_3class_gt.csv``) or ``megc2019`` (the composite: csv, ``CASME2/``, ``SAMM/``,
            ``SMIC/``; the CASME II and SAMM sheets must lie beside the csv).
        sheet: the user's coding sheet (e.g. ``CASME2-coding-20140508.xlsx``), copied unchanged.
        out: new or empty folder (or, with ``overwrite``, an earlier synth output).
        options: amplitudes, nuisances, seed, raw frames on/off, face sizes.
        limit: render only the first N rows.
        workers: processes, one subject at a time each; output does not depend on it.
        database_sizes: use the database's own face-size range instead of ``options.crop_sizes``
            (default: only when ``options`` is None).

    Raises:
        ValueError: unsupported layout, another database's sheet, or a sheet the reader rejects (with
            its one-line reason).
        FileExistsError: ``out`` holds other files.
    """
    from mer_contrast.synth import twin_composite, twin_layouts

    if layout not in SUPPORTED:
        raise ValueError(
            f"synth --from-sheet: layout {layout!r} has no sheet-driven twin; "
            f"use one of {', '.join(SUPPORTED)}"
        )
    own_sizes = options is None if database_sizes is None else database_sizes
    options = options or TwinOptions()
    if layout == "megc2019":
        return twin_composite.render_composite(
            Path(sheet), Path(out), options, limit=limit, workers=workers, overwrite=overwrite,
            database_sizes=own_sizes,
        )  # fmt: skip
    if own_sizes:
        options = twin_layouts.database_options(layout, options)
    return twin_layouts.render_twin(
        layout, Path(sheet), Path(out), options, limit=limit, workers=workers, overwrite=overwrite
    )
