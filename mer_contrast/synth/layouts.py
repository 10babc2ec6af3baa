"""Per-database writers: names, frame numbers, quirks, frame folders and the sheet of one layout.

* CASME II (notes §1.2–1.3, §1.6): ``CASME2_RAW_selected/subNN/<Filename>/img<N>.jpg`` (raw frames,
  face inside a larger canvas) and ``Cropped/subNN/<Filename>/reg_img<N>.jpg`` (face crops), original
  frame numbers. Planted: one ApexFrame ``"/"``, one AU ``"?"``, one clip whose ``Cropped/`` folder
  ends a few frames before the sheet's offset, a stray ``Desktop - Shortcut.lnk`` in ``Cropped/sub01``.
* MMEW (§2.2–2.3): ``Micro_Expression/<emotion>/<Filename>/<N>.jpg``, N = 1..OffsetFrame, face crops,
  ``others`` stored in a folder named ``repression``; some AU sides written after the number.
* SAMM (§3.1–3.2): ``<Subject>/<Filename>/<Subject>_<NNNNN>.jpg``, grayscale raw frames, large frame
  numbers; planted (from 8 clips on): one apex outside onset..offset, as in the real sheet.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from mer_contrast.synth import sheets
from mer_contrast.synth.manifest import SynthClip, SynthManifest
from mer_contrast.synth.motion import AUToken
from mer_contrast.synth.patterns import MMEW_EMOTION_INDEX, MMEW_FOLDER, PlannedClip, format_aus
from mer_contrast.synth.render import CLIP, NAMES, SubjectFace, clip_frames, stream, subject_face, write_jpeg

CASME2_SHEET = "CASME2-coding-20140508.xlsx"
CASME2_RAW = "CASME2_RAW_selected"
CASME2_CROPPED = "Cropped"
STRAY_FILE = "Desktop - Shortcut.lnk"
STRAY_BYTES = b"L\x00\x00\x00\x01\x14\x02\x00" + bytes(68)  # looks like the start of a Windows shortcut
MMEW_SHEET = "MMEW_Micro_Exp.xlsx"
MMEW_FRAMES = "Micro_Expression"
SAMM_SHEET = "SAMM_Micro_FACS_Codes_v2.xlsx"
SAMM_SKIPPED_SUBJECTS = frozenset({8, 27, 29})  # the real SAMM numbering has these gaps
QUIRK_MIN_CLIPS = 4
SAMM_BAD_APEX_MIN_CLIPS = 8


def _pick(rng: np.random.Generator, candidates: list[int], taken: set[int]) -> int | None:
    free = [index for index in candidates if index not in taken]
    if not free:
        return None
    chosen = free[int(rng.integers(len(free)))]
    taken.add(chosen)
    return chosen


def _render(
    folder: Path, face: SubjectFace, plan: PlannedClip, size: int, rng: np.random.Generator, names: list[str]
) -> list[np.ndarray]:
    """Write the clip's frames as ``folder/<names[i]>`` and return them (callers may crop them)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = list(clip_frames(face, plan, size, rng))
    for name, frame in zip(names, frames, strict=True):
        write_jpeg(folder / name, frame)
    return frames


def _manifest(
    layout: str,
    out: Path,
    sheet: str,
    seed: int,
    size: int,
    faces: dict[str, SubjectFace],
    clips: list[SynthClip],
    quirks: dict[str, str],
) -> SynthManifest:
    first = next(iter(faces.values()))
    return SynthManifest(
        layout=layout,
        root=str(out),
        sheet=sheet,
        seed=seed,
        size=size,
        frame_size=first.frame_size,
        grayscale=first.neutral.ndim == 2,
        face_boxes={subject: face.box for subject, face in faces.items()},
        face_ellipses={subject: face.ellipse for subject, face in faces.items()},
        clips=clips,
        quirks=quirks,
    )


def write_casme2(out: Path, plans: list[list[PlannedClip]], size: int, seed: int) -> SynthManifest:
    rng = stream(seed, "casme2", NAMES)
    flat = [plan for subject in plans for plan in subject]
    taken: set[int] = set()
    quirks: dict[str, str] = {}
    unknown = slash = short = None
    if len(flat) >= QUIRK_MIN_CLIPS:
        others = [i for i, plan in enumerate(flat) if plan.emotion == "others"]
        unknown = _pick(rng, others or list(range(len(flat))), taken)
        slash = _pick(rng, list(range(len(flat))), taken)
        long_enough = [i for i, plan in enumerate(flat) if plan.length >= 6]
        short = _pick(rng, long_enough or list(range(len(flat))), taken)
    clips: list[SynthClip] = []
    rows: list[list[sheets.Cell]] = []
    faces: dict[str, SubjectFace] = {}
    index = 0
    for s, subject_plans in enumerate(plans):
        subject, folder = f"{s + 1:02d}", f"sub{s + 1:02d}"
        face = faces[subject] = subject_face(seed, "casme2", s, size, raw=True)
        used: set[str] = set()
        for c, plan in enumerate(subject_plans):
            clip_id = _casme2_name(rng, used)
            onset = int(rng.integers(20, 201))
            offset = onset + plan.length - 1
            apex = onset + plan.apex_index
            motion_aus = format_aus(plan.tokens, "casme2")
            aus = "?" if index == unknown else motion_aus
            written_apex = None if index == slash else apex
            cropped_last = offset
            if index == short:
                cropped_last = offset - max(1, min(5, plan.length // 4))
            raw_dir = f"{CASME2_RAW}/{folder}/{clip_id}"
            cropped_dir = f"{CASME2_CROPPED}/{folder}/{clip_id}"
            numbers = range(onset, offset + 1)
            frames = _render(
                out / raw_dir,
                face,
                plan,
                size,
                stream(seed, "casme2", CLIP, s, c),
                [f"img{n}.jpg" for n in numbers],
            )
            x, y, w, h = face.box
            (out / cropped_dir).mkdir(parents=True, exist_ok=True)
            for n, frame in zip(numbers, frames, strict=True):
                if n <= cropped_last:
                    write_jpeg(out / cropped_dir / f"reg_img{n}.jpg", frame[y : y + h, x : x + w])
            clips.append(
                SynthClip(
                    subject,
                    clip_id,
                    onset,
                    written_apex,
                    offset,
                    aus,
                    plan.emotion,
                    raw_dir,
                    (onset, offset),
                    motion_aus,
                    apex,
                    row=len(rows) + 2,
                    cropped_folder=cropped_dir,
                    cropped_range=(onset, cropped_last),
                )
            )
            rows.append(
                [
                    subject,
                    clip_id,
                    None,
                    onset,
                    "/" if written_apex is None else apex,
                    offset,
                    None,
                    sheets.au_cell(aus),
                    plan.emotion,
                ]
            )
            key = f"{subject}/{clip_id}"
            if index == unknown:
                quirks["unknown_au"] = key
            if index == slash:
                quirks["apex_slash"] = key
            if index == short:
                quirks["cropped_short"] = key
            index += 1
    if plans:
        stray = f"{CASME2_CROPPED}/sub01/{STRAY_FILE}"
        (out / stray).write_bytes(STRAY_BYTES)
        quirks["stray_file"] = stray
    sheets.write_casme2(out / CASME2_SHEET, rows)
    return _manifest("casme2", out, CASME2_SHEET, seed, size, faces, clips, quirks)


def _casme2_name(rng: np.random.Generator, used: set[str]) -> str:
    """``EP02_01f``-style names, unique within the subject."""
    while True:
        task, take = int(rng.integers(1, 20)), int(rng.integers(1, 16))
        name = f"EP{task:02d}_{take:02d}{'f' if rng.random() < 0.5 else ''}"
        if name not in used:
            used.add(name)
            return name


def write_mmew(out: Path, plans: list[list[PlannedClip]], size: int, seed: int) -> SynthManifest:
    rng = stream(seed, "mmew", NAMES)
    plans = _ensure_suffix_side(plans, rng)
    quirks: dict[str, str] = {}
    planned: list[tuple[int, str, int, PlannedClip]] = []  # subject, filename, clip index, plan
    for s, subject_plans in enumerate(plans):
        samples: dict[str, int] = {}
        for c, plan in enumerate(subject_plans):
            samples[plan.emotion] = samples.get(plan.emotion, 0) + 1
            name = f"S{s + 1:02d}-{MMEW_EMOTION_INDEX[plan.emotion]:02d}-{samples[plan.emotion]:03d}"
            planned.append((s, name, c, plan))
    planned.sort(key=lambda item: (item[0], item[1]))  # the real sheet is sorted by subject, Filename
    faces = {s: subject_face(seed, "mmew", s, size, raw=False) for s in range(len(plans))}
    clips: list[SynthClip] = []
    rows: list[list[sheets.Cell]] = []
    for s, name, c, plan in planned:
        emotion_folder = MMEW_FOLDER.get(plan.emotion, plan.emotion)
        folder = f"{MMEW_FRAMES}/{emotion_folder}/{name}"
        _render(
            out / folder,
            faces[s],
            plan,
            size,
            stream(seed, "mmew", CLIP, s, c),
            [f"{n}.jpg" for n in range(1, plan.length + 1)],
        )
        aus = format_aus(plan.tokens, "mmew", suffix_sides=plan.suffix_sides)
        apex = 1 + plan.apex_index
        clips.append(
            SynthClip(
                str(s + 1),
                name,
                1,
                apex,
                plan.length,
                aus,
                plan.emotion,
                folder,
                (1, plan.length),
                aus,
                apex,
                row=len(rows) + 2,
            )
        )
        rows.append([s + 1, name, 1, apex, plan.length, sheets.au_cell(aus), plan.emotion, None])
        if emotion_folder != plan.emotion and "others_in_repression_folder" not in quirks:
            quirks["others_in_repression_folder"] = f"{MMEW_FRAMES}/{emotion_folder}"
        if plan.suffix_sides and any(t.side for t in plan.tokens) and "suffix_side_au" not in quirks:
            quirks["suffix_side_au"] = f"{s + 1}/{name}"
    sheets.write_mmew(out / MMEW_SHEET, rows)
    by_subject = {str(s + 1): face for s, face in faces.items()}
    return _manifest("mmew", out, MMEW_SHEET, seed, size, by_subject, clips, quirks)


def _ensure_suffix_side(plans: list[list[PlannedClip]], rng: np.random.Generator) -> list[list[PlannedClip]]:
    """From a few clips on, make sure one AU side is written after its number (``12L``)."""
    flat = [plan for subject in plans for plan in subject]
    if len(flat) < QUIRK_MIN_CLIPS or any(p.suffix_sides and any(t.side for t in p.tokens) for p in flat):
        return plans
    sided = [
        (s, c) for s, sub in enumerate(plans) for c, p in enumerate(sub) if any(t.side for t in p.tokens)
    ]
    if sided:
        s, c = sided[int(rng.integers(len(sided)))]
        new = replace(plans[s][c], suffix_sides=True)
    else:  # no unilateral AU at all: make the first AU of one clip unilateral
        s, c = int(rng.integers(len(plans))), 0
        old = plans[s][c]
        first = old.tokens[0]
        new = replace(old, tokens=(AUToken(first.number, "L"), *old.tokens[1:]), suffix_sides=True)
    plans = [list(subject) for subject in plans]
    plans[s][c] = new
    return plans


def _samm_subjects(count: int) -> list[str]:
    """``006``, ``007``, ``009``, ...: the real numbering starts at 6 and skips a few ids."""
    ids: list[str] = []
    number = 6
    while len(ids) < count:
        if number not in SAMM_SKIPPED_SUBJECTS:
            ids.append(f"{number:03d}")
        number += 1
    return ids


def _objective_class(tokens: tuple[AUToken, ...]) -> int:
    """Rough objective class I-VII (Davison et al.) from the AUs, for the ``Objective Classes`` column."""
    numbers = {t.number for t in tokens}
    rules = (
        (1, {6, 12}),
        (3, {4, 7, 23, 24}),
        (2, {1, 2, 5, 25, 26}),
        (4, {9, 10}),
        (5, {20}),
        (6, {15, 17}),
    )
    return next((objective for objective, aus in rules if numbers & aus), 7)


def write_samm(out: Path, plans: list[list[PlannedClip]], size: int, seed: int) -> SynthManifest:
    rng = stream(seed, "samm", NAMES)
    flat_count = sum(len(subject) for subject in plans)
    bad_apex = int(rng.integers(flat_count)) if flat_count >= SAMM_BAD_APEX_MIN_CLIPS else None
    quirks: dict[str, str] = {}
    clips: list[SynthClip] = []
    rows: list[list[sheets.Cell]] = []
    faces: dict[str, SubjectFace] = {}
    index = 0
    for s, (subject, subject_plans) in enumerate(zip(_samm_subjects(len(plans)), plans, strict=True)):
        face = faces[subject] = subject_face(seed, "samm", s, size, raw=True, grayscale=True)
        counters: dict[int, int] = {}
        for c, plan in enumerate(subject_plans):
            inducement = int(rng.integers(1, 8))
            counters[inducement] = counters.get(inducement, 0) + 1 + int(rng.integers(0, 2))
            clip_id = f"{subject}_{inducement}_{counters[inducement]}"
            onset = int(rng.integers(500, 7001))
            offset = onset + plan.length - 1
            apex = onset + plan.apex_index
            written_apex = offset + int(rng.integers(3, 13)) if index == bad_apex else apex
            folder = f"{subject}/{clip_id}"
            _render(
                out / folder,
                face,
                plan,
                size,
                stream(seed, "samm", CLIP, s, c),
                [f"{subject}_{n:05d}.jpg" for n in range(onset, offset + 1)],
            )
            aus = format_aus(plan.tokens, "samm")
            clips.append(
                SynthClip(
                    subject,
                    clip_id,
                    onset,
                    written_apex,
                    offset,
                    aus,
                    plan.emotion,
                    folder,
                    (onset, offset),
                    aus,
                    apex,
                    row=sheets.SAMM_HEADER_ROW + 1 + len(rows),
                )
            )
            rows.append(
                [
                    subject,
                    clip_id,
                    inducement,
                    onset,
                    written_apex,
                    offset,
                    None,
                    "Micro - 1/2",
                    sheets.au_cell(aus),
                    plan.emotion,
                    _objective_class(plan.tokens),
                    None,
                ]
            )
            if index == bad_apex:
                quirks["apex_outside_clip"] = f"{subject}/{clip_id}"
            index += 1
    sheets.write_samm(out / SAMM_SHEET, rows)
    return _manifest("samm", out, SAMM_SHEET, seed, size, faces, clips, quirks)
