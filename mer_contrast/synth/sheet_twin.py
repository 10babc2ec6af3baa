"""A twin of a real database rendered from its own coding sheet: one synthetic clip per sheet row.

``render_from_sheet("casme2", sheet, out)`` reads the user's sheet with the package's reader and
renders, for every row, a clip with the row's subject, file name, onset/apex/offset frame numbers and
AU code, in CASME II's on-disk layout (``CASME2_RAW_selected/`` and ``Cropped/``). What makes it a
useful stand-in for the licence-gated frames:

* **Micro-motion at the real scale**: face crops of ``crop_sizes`` px (CASME II: about 150-210) and a
  peak skin displacement drawn per clip from ``amplitudes`` px (1-2.5 px), rising from the onset
  to the apex frame and decaying to the offset (raised cosine).
* **The row's AU code drives the motion**: several AUs sum, ``L``/``R`` move one side only, AUs with
  no visible motion in :data:`~mer_contrast.synth.motion.AU_MOTIONS` move nothing (as a coder's AU
  the camera cannot see), and an unknown code (``?``) gets a pattern typical of the row's emotion.
  The label is therefore exactly as (un)recoverable from the motion as the real sheet makes it:
  many AU codes are shared between classes.
* **Nuisances**: slight head drift (a smooth translation of up to ``drift_px`` over the clip, plus
  jitter), blinks (both upper lids close and reopen over 20-40 frames, 100-200 ms at 200 fps, in
  ``blink_prob`` of the clips) and sensor noise.
* **The rows that disagree with the folders**: the six clips whose ``Cropped/`` folder holds other
  frames than the sheet says (dataset notes §1.6) get the folder's frames, as on the real disk.

The sheet itself is the user's and is copied, unchanged, into ``out`` (never into a repository).
Same seed, same bytes, whatever ``workers``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mer_contrast.datasets import read_dataset
from mer_contrast.datasets.casme2 import SHEETS as CASME2_SHEETS
from mer_contrast.datasets.records import SampleRecord
from mer_contrast.synth.manifest import MANIFEST_NAME, SynthClip, SynthManifest
from mer_contrast.synth.motion import JITTER_PX, NOISE_STD, AUToken, au_field, envelope, jitter
from mer_contrast.synth.patterns import CASME2_CLASSES, CASME2_RARE, format_aus, parse_pattern
from mer_contrast.synth.render import SubjectFace, stream, subject_face, write_jpeg

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
BLINK_FRAMES = (20, 40)  # 100-200 ms at CASME II's 200 fps
BLINK_DEPTH = 0.025  # lid travel as a fraction of the crop side (~4.5 px at 180 px)
TWIN = 7  # random-stream purpose of this module (render.py uses 0..3)
SUPPORTED = ("casme2",)
# Every CASME II Filename starts with the elicitation task ("EP02_01f", "EP09f"); MMEW's ("S01-01-001")
# and SAMM's ("006_1_2") do not, and their sheets otherwise read as CASME II ones.
_CASME2_CLIP = re.compile(r"EP\d")
_SUBJECT_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class TwinOptions:
    """How a sheet is rendered (see :func:`render_from_sheet`)."""

    seed: int = 0
    crop_sizes: tuple[int, int] = (150, 210)
    amplitudes: tuple[float, float] = (1.0, 2.5)
    drift_px: float = 1.0
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
    """The clip's apex displacement field, scaled so its largest displacement is ``amplitude`` px."""
    field = au_field(tokens, face.geometry, face.neutral.shape[:2], 1.0)
    peak = float(np.hypot(field[..., 0], field[..., 1]).max())
    return field * (amplitude / peak) if peak > 0 else field


def _blink_field(face: SubjectFace, depth: float) -> np.ndarray:
    return au_field((AUToken(43),), face.geometry, face.neutral.shape[:2], depth)


def _blink_weights(length: int, rng: np.random.Generator) -> np.ndarray:
    """0 everywhere but one blink: lids close (weight 1) and reopen over 20-40 frames."""
    weights = np.zeros(length, np.float32)
    duration = int(rng.integers(BLINK_FRAMES[0], BLINK_FRAMES[1] + 1))
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
    face: SubjectFace, plan: ClipPlan, options: TwinOptions, index: int
) -> tuple[Iterator[np.ndarray], dict[str, float]]:
    """The clip's frames (uint8 raw canvas, or the face box alone without ``raw``) and its draws."""
    rng = stream(options.seed, "casme2", TWIN, 1, index)
    length = plan.frames[1] - plan.frames[0] + 1
    side = face.box[2]
    amplitude = float(rng.uniform(*options.amplitudes))
    field = _apex_field(face, plan.motion_aus, amplitude)
    weights = envelope(length, plan.apex_index)
    blinking = bool(rng.random() < options.blink_prob)
    blink = _blink_weights(length, rng) if blinking else np.zeros(length, np.float32)
    lids = _blink_field(face, BLINK_DEPTH * side) if blinking else None
    shifts = _drift(length, options.drift_px, JITTER_PX * side / 128, rng)
    x, y, w, h = face.box if not options.raw else (0, 0, *face.frame_size)
    window = (slice(y, y + h), slice(x, x + w))
    grid_y, grid_x = np.mgrid[y : y + h, x : x + w].astype(np.float32)
    field_w = field[window]
    lids_w = lids[window] if lids is not None else None

    def frames() -> Iterator[np.ndarray]:
        for t in range(length):
            dx = weights[t] * field_w[..., 0] + shifts[t, 0]
            dy = weights[t] * field_w[..., 1] + shifts[t, 1]
            if lids_w is not None and blink[t] > 0:
                dx = dx + blink[t] * lids_w[..., 0]
                dy = dy + blink[t] * lids_w[..., 1]
            frame = cv2.remap(
                face.neutral, grid_x - dx, grid_y - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            frame = frame + NOISE_STD * rng.standard_normal(frame.shape, dtype=np.float32)
            yield np.clip(frame + 0.5, 0, 255).astype(np.uint8)

    draws = {
        "amplitude": round(amplitude, 3),
        "blink": float(blinking),
        "drift": round(float(np.abs(shifts).max()), 3),
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


def _check_is_casme2(sheet: Path, records: list[SampleRecord]) -> None:
    """Refuse another database's sheet (MMEW/SAMM sheets read as CASME II ones but name clips otherwise)."""
    matching = sum(bool(_CASME2_CLIP.match(r.clip_id)) for r in records)
    if records and 2 * matching < len(records):
        example = next(r.clip_id for r in records if not _CASME2_CLIP.match(r.clip_id))
        raise ValueError(
            f"synth --from-sheet: {sheet} does not look like a CASME II coding sheet (Filename "
            f"{example!r}; CASME II names clips EP02_01f, ...): pass CASME2-coding-20140508.xlsx"
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
    """Render every clip of one subject (one worker's unit of work); returns its face and clips."""
    face = subject_face(options.seed, "casme2", subject_index, size, raw=True)
    x, y, w, h = face.box
    results = []
    for index, plan in jobs:
        record = plan.record
        first, last = plan.frames
        cropped_dir = f"{CASME2_CROPPED}/{subject}/{record.clip_id}"
        raw_dir = f"{CASME2_RAW}/{subject}/{record.clip_id}"
        (out / cropped_dir).mkdir(parents=True, exist_ok=True)
        if options.raw:
            (out / raw_dir).mkdir(parents=True, exist_ok=True)
        frames, draws = render_clip(face, plan, options, index)
        for number, frame in zip(range(first, last + 1), frames, strict=True):
            crop = frame[y : y + h, x : x + w] if options.raw else frame
            write_jpeg(out / cropped_dir / f"reg_img{number}.jpg", crop)
            if options.raw:
                write_jpeg(out / raw_dir / f"img{number}.jpg", frame)
        clip = SynthClip(
            subject=record.subject[3:] if record.subject.startswith("sub") else record.subject,
            clip_id=record.clip_id,
            onset=record.onset,
            apex=record.apex,
            offset=record.offset,
            aus=record.au_raw,
            emotion=record.emotion,
            frame_folder=raw_dir if options.raw else cropped_dir,
            frame_range=(first, last),
            motion_aus=format_aus(plan.motion_aus, "casme2"),
            motion_apex=first + plan.apex_index,
            row=record.row,
            cropped_folder=cropped_dir,
            cropped_range=(first, last),
        )
        results.append((index, clip, draws))
    return face, results


def render_from_sheet(
    layout: str,
    sheet: Path,
    out: Path,
    *,
    options: TwinOptions | None = None,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
) -> SynthManifest:
    """Render one clip per row of ``sheet`` into ``out`` (see the module docstring).

    Args:
        layout: ``casme2`` (the only layout with a sheet-driven twin so far).
        sheet: the user's coding sheet (e.g. ``CASME2-coding-20140508.xlsx``).
        out: new or empty folder (or, with ``overwrite``, an earlier synth output).
        options: sizes, amplitudes, nuisances, seed, raw frames on/off.
        limit: render only the first N rows.
        workers: processes, one subject at a time each; output does not depend on it.

    Raises:
        ValueError: unsupported layout, or a sheet the reader rejects (with its one-line reason).
        FileExistsError: ``out`` holds other files.
    """
    from mer_contrast.synth.generator import _prepare_folder

    if layout not in SUPPORTED:
        raise ValueError(f"synth --from-sheet: layout {layout!r} is not supported yet; use --layout casme2")
    options = options or TwinOptions()
    if limit is not None and limit < 1:
        raise ValueError(f"synth --from-sheet: limit must be at least 1 row, got {limit}")
    if workers < 1:
        raise ValueError(f"synth --from-sheet: workers must be at least 1, got {workers}")
    sheet = Path(sheet)
    result = read_dataset(layout, sheet=sheet, quiet=True)  # type: ignore[arg-type]
    _check_is_casme2(sheet, list(result.records))
    records = list(result.records)[:limit] if limit is not None else list(result.records)
    if not records:
        raise ValueError(
            f"synth --from-sheet: {sheet} has no usable row; check it with `mer-contrast inspect`"
        )
    _prepare_folder(Path(out), overwrite)
    out = Path(out)
    shutil.copyfile(sheet, out / sheet.name)
    plans = plan_rows(records, options.seed)
    subjects = sorted({p.record.subject for p in plans})
    indices = subject_indices(subjects)
    sizes = _subject_sizes(indices, options)
    jobs: dict[str, list[tuple[int, ClipPlan]]] = {s: [] for s in subjects}
    for index, plan in enumerate(plans):
        jobs[plan.record.subject].append((index, plan))
    args = [(out, s, indices[s], sizes[s], jobs[s], options) for s in subjects]
    if workers > 1:
        from mer_contrast.clips.precompute import worker_context  # not fork: see there

        with ProcessPoolExecutor(max_workers=workers, mp_context=worker_context()) as pool:
            parts = list(pool.map(_render_subject, *zip(*args, strict=True)))
    else:
        parts = [_render_subject(*a) for a in args]
    rendered = sorted((item for _, part in parts for item in part), key=lambda item: item[0])
    quirks = {f"{p.quirk}:{p.record.key}": f"{p.frames[0]}-{p.frames[1]}" for p in plans if p.quirk}
    quirks.update({f"skipped_row:{s.row}": s.reason for s in result.skipped})
    if sheet.name not in CASME2_SHEETS.values():
        # read_dataset(root=out) looks for the official names only
        quirks["sheet_name"] = f"{sheet.name} is not an official name: give read_dataset sheet= too"
    faces = {subject: face for subject, (face, _) in zip(subjects, parts, strict=True)}
    first = faces[subjects[0]]
    manifest = SynthManifest(
        layout=layout,
        root=str(out),
        sheet=sheet.name,
        seed=options.seed,
        size=max(sizes.values()),
        frame_size=first.frame_size if options.raw else (first.box[2], first.box[3]),
        grayscale=False,
        face_boxes={s[3:]: f.box for s, f in faces.items()},
        face_ellipses={s[3:]: f.ellipse for s, f in faces.items()},
        clips=[clip for _, clip, _ in rendered],
        quirks=quirks,
        draws={f"{c.subject}/{c.clip_id}": d for _, c, d in rendered},
    )
    manifest.save(out / MANIFEST_NAME)
    return manifest
