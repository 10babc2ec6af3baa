"""Sheet-driven twins of every database, each in its released on-disk layout (see ``docs/twins.md``).

:data:`PROFILES` holds, per database, what its twin writes: frame rate, face size range, grayscale or
colour, raw canvas (face somewhere inside a larger frame) or face crops only, file pattern, sheet
names. :func:`render_twin` renders one clip per sheet row in that layout; :func:`render_composite`
renders the MEGC2019 composite (``combined_3class_gt.csv`` plus ``CASME2/``, ``SAMM/`` and ``SMIC/``).
:func:`mer_contrast.synth.sheet_twin.render_from_sheet` dispatches to both.

* **CASME II** (``casme2``): ``CASME2_RAW_selected/<sub>/<clip>/img<N>.jpg`` and
  ``Cropped/<sub>/<clip>/reg_img<N>.jpg``, 200 fps, faces 150-210 px; the six clips whose real
  folders hold other frames than the sheet says get the folder's frames (CASME II only).
* **SAMM** (``samm``): ``<Subject>/<Filename>/<Subject>_<NNNNN>.jpg``, uncropped grayscale frames at
  200 fps, faces 180-260 px inside a larger canvas; the sheet (13-row preamble) copied as it is.
* **MMEW** (``mmew``): ``Micro_Expression/<emotion>/<Filename>/<N>.jpg`` with ``N = 1..OffsetFrame``,
  231x231 colour face crops (the face box fills the crop), 90 fps; ``others`` is stored in
  ``repression/`` as in the release.
* **CAS(ME)^3 part A** (``casme3``): ``part_A/<Subject>/<video letter>/color/<N>.jpg``, colour raw
  frames at 30 fps, faces 160-220 px; onset..offset of each ME (several MEs of one video share its
  folder: where their ranges overlap the later row's frames are kept, recorded as a quirk).
* **SMIC-HS** (``smic``, rows ``smic`` of ``combined_3class_gt.csv``):
  ``SMIC_all_cropped/HS/s<k>/micro/<class>/s<k>_<ne|po|sur>_<NN>/reg_image<N>.bmp`` with the subject
  unpadded (``s1``) as released, colour face crops of 140-190 px, 100 fps, 11-50 frames per clip
  numbered from a random 5-6 digit start. SMIC has no onset/apex/offset and **no AU codes**: the
  motion peaks at 35-65 % of the clip (``motion_apex`` in the manifest), and each clip's AUs are
  drawn from the AU codes that CASME II and SAMM give the same class (their sheets beside the csv,
  grouped by the MEGC2019 3-class mapping), or from the tables of :mod:`.patterns` when those sheets
  are absent. The manifest's quirks say which (``smic_aus``).
* **MEGC2019** (``megc2019``): ``combined_3class_gt.csv`` copied, ``CASME2/`` and ``SAMM/`` twins of
  the sheets found beside the csv (only the rows the csv names, each clip identical to the standalone
  twin's) and ``SMIC/`` (as above), one ``manifest.json`` per part plus a top-level one.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Collection
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np

from mer_contrast.datasets import casme2 as casme2_reader
from mer_contrast.datasets import casme3 as casme3_reader
from mer_contrast.datasets import megc2019 as megc2019_reader
from mer_contrast.datasets import mmew as mmew_reader
from mer_contrast.datasets import read_dataset
from mer_contrast.datasets import samm as samm_reader
from mer_contrast.datasets.errors import WrongSheetError
from mer_contrast.datasets.protocols import get_protocol
from mer_contrast.datasets.records import ReadResult, SampleRecord
from mer_contrast.synth import sheet_twin as st
from mer_contrast.synth.manifest import MANIFEST_NAME, SynthClip, SynthManifest
from mer_contrast.synth.motion import AUToken
from mer_contrast.synth.patterns import (
    CASME2_CLASSES,
    CASME2_RARE,
    MMEW_CLASSES,
    MMEW_FOLDER,
    SAMM_CLASSES,
    SAMM_RARE,
    Classes,
    format_aus,
    parse_pattern,
)
from mer_contrast.synth.render import JPEG_QUALITY, SubjectFace, stream, write_jpeg
from mer_contrast.synth.variation import twin_face


@dataclass(frozen=True)
class TwinProfile:
    """What the twin of one database writes.

    Attributes:
        layout: ``--layout`` name (also the random-stream layout, :data:`.patterns.TWIN_LAYOUTS`).
        title: the database's name, for messages.
        fps: frame rate of the release (drives blink and motion durations in frames).
        crop_sizes: face box side range in px (per subject), used unless the user sets ``--crop-sizes``.
        grayscale: single-channel frames (SAMM).
        raw: frames are a raw canvas with the face inside (False: the face crop is the frame).
        pattern: the file pattern, for docs and messages.
        sheets: official sheet names (``read_dataset(root=...)`` looks for these).
        suffix: frame file suffix.
    """

    layout: str
    title: str
    fps: float
    crop_sizes: tuple[int, int]
    grayscale: bool
    raw: bool
    pattern: str
    sheets: tuple[str, ...]
    suffix: str = ".jpg"


PROFILES: dict[str, TwinProfile] = {
    "casme2": TwinProfile(
        "casme2", "CASME II", 200.0, (150, 210), False, True,
        "CASME2_RAW_selected/<sub>/<clip>/img<N>.jpg + Cropped/<sub>/<clip>/reg_img<N>.jpg",
        tuple(casme2_reader.SHEETS.values()),
    ),
    "samm": TwinProfile(
        "samm", "SAMM", 200.0, (180, 260), True, True,
        "<Subject>/<Filename>/<Subject>_<NNNNN>.jpg", samm_reader.SHEETS,
    ),
    "mmew": TwinProfile(
        "mmew", "MMEW", 90.0, (231, 231), False, False,
        "Micro_Expression/<emotion>/<Filename>/<N>.jpg (N = 1..OffsetFrame; others in repression/)",
        mmew_reader.SHEETS,
    ),
    "casme3": TwinProfile(
        "casme3", "CAS(ME)^3 part A", 30.0, (160, 220), False, True,
        "part_A/<Subject>/<video letter>/color/<N>.jpg", casme3_reader.SHEETS_A,
    ),
    "smic": TwinProfile(
        "smic", "SMIC-HS", 100.0, (140, 190), False, False,
        "SMIC_all_cropped/HS/s<k>/micro/<class>/s<k>_<ne|po|sur>_<NN>/reg_image<N>.bmp",
        megc2019_reader.SHEETS, suffix=".bmp",
    ),
}  # fmt: skip
#: Every ``--layout`` with a sheet-driven twin (``megc2019``: the composite of casme2, samm and smic).
TWIN_CHOICES = (*PROFILES, "megc2019")
#: The composite's parts: source database -> its folder (as the MEGC2019 reader wants it).
COMPOSITE_PARTS = dict(megc2019_reader.SOURCE_FOLDERS)
SMIC_FRAMES = (11, 50)  # 0.1-0.5 s at 100 fps
SMIC_APEX = (0.35, 0.65)  # motion peak, as a share of the clip
SMIC_START = (10_000, 999_000)  # first frame number: a 5-6 digit offset into the recording
SMIC_RELEASE = "SMIC_all_cropped/HS"
# reader name and sheet kind keys (datasets._kinds) -> the --layout that renders them
_KIND_LAYOUTS = {
    "casme2": "casme2", "casme2-bob": "casme2", "mmew": "mmew", "samm": "samm",
    "casme3-A": "casme3", "megc2019": "megc2019 (or smic)",
}  # fmt: skip
# first Filename of each database, for telling sheets apart when the reader cannot
_CLIP_NAMES = {
    "casme2": re.compile(r"EP\d"),
    "mmew": re.compile(r"S\d+-\d+-\d+$", re.IGNORECASE),
    "samm": re.compile(r"\d+_\d+_\d+$"),
    "casme3": re.compile(r"[A-Za-z](_\d+)?$"),
}
_PROFILE_SIZES = {name: profile.crop_sizes for name, profile in PROFILES.items()}


def database_options(layout: str, options: st.TwinOptions | None = None) -> st.TwinOptions:
    """``options`` (default: the defaults) with the face sizes of ``layout``'s database."""
    base = options or st.TwinOptions()
    sizes = _PROFILE_SIZES.get(layout)
    return base if sizes is None else replace(base, crop_sizes=sizes)


# --- reading and checking the sheet ---------------------------------------------------------------


def _guess_layout(records: list[SampleRecord]) -> str | None:
    """The layout whose clip names most of ``records`` have (None when none fits most)."""
    for layout, names in _CLIP_NAMES.items():
        if records and 2 * sum(bool(names.match(r.clip_id)) for r in records) >= len(records):
            return layout
    return None


def read_sheet(layout: str, sheet: Path) -> ReadResult:
    """Read ``sheet`` with ``layout``'s reader, refusing another database's sheet in one line."""
    reader = "megc2019" if layout == "smic" else layout
    try:
        result = read_dataset(reader, sheet=sheet, quiet=True)
    except WrongSheetError as error:
        right = _KIND_LAYOUTS.get(error.looks_like)
        if right is None:
            raise
        raise ValueError(
            f"synth --from-sheet: {sheet} is not a {_title(layout)} sheet ({_sheet_name(layout)}), it "
            f"looks like {error.looks_like}'s: use --layout {right}"
        ) from None
    records = list(result.records)
    if layout == "casme2":
        st._check_is_casme2(sheet, records)
    elif layout in _CLIP_NAMES and records:
        names = _CLIP_NAMES[layout]
        if 2 * sum(bool(names.match(r.clip_id)) for r in records) < len(records):
            guess = _guess_layout(records)
            example = next(r.clip_id for r in records if not names.match(r.clip_id))
            hint = f"use --layout {guess}" if guess else f"pass {_sheet_name(layout)}"
            raise ValueError(
                f"synth --from-sheet: {sheet} does not look like a {_title(layout)} sheet "
                f"(Filename {example!r}): {hint}"
            )
    return result


def _sheet_name(layout: str) -> str:
    return PROFILES[layout].sheets[0] if layout in PROFILES else "combined_3class_gt.csv"


def _title(layout: str) -> str:
    return PROFILES[layout].title if layout in PROFILES else "MEGC2019"


# --- planning -----------------------------------------------------------------------------------


def _fallback_table(layout: str) -> Classes:
    """AU pattern table of ``layout``'s emotions, keyed lower-case (for ``?`` and empty codes)."""
    tables: dict[str, Classes] = {
        "mmew": MMEW_CLASSES,
        "samm": {**SAMM_CLASSES, **SAMM_RARE},
        "casme3": {**MMEW_CLASSES, "sad": MMEW_CLASSES["sadness"], "happy": MMEW_CLASSES["happiness"]},
    }
    return {name.lower(): value for name, value in tables.get(layout, CASME2_CLASSES).items()}


def _draw(options: list[tuple[tuple[AUToken, ...], float]], rng: np.random.Generator) -> tuple[AUToken, ...]:
    weights = np.array([w for _, w in options], float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def _tokens(layout: str, record: SampleRecord, rng: np.random.Generator) -> tuple[AUToken, ...]:
    """The row's AUs, or a pattern of its emotion when the code is unknown (``?``) or empty."""
    tokens = tuple(AUToken(au.number, au.side) for au in record.aus)
    if tokens:
        return tokens
    table = _fallback_table(layout)
    entry = table.get(record.emotion.lower(), table.get("others", next(iter(table.values()))))
    return _draw([(parse_pattern(p), w) for p, w in entry[1]], rng)


def plan_layout(layout: str, records: list[SampleRecord], seed: int) -> list[st.ClipPlan]:
    """Frames, motion AUs and apex position of every row of a sheet (CASME II: :func:`.plan_rows`)."""
    if layout == "casme2":
        return st.plan_rows(records, seed)
    plans = []
    seen: dict[tuple[str, str], list[tuple[int, int]]] = {}  # casme3: ranges already in a video
    for index, record in enumerate(records):
        rng = stream(seed, cast(Any, layout), st.TWIN, 0, index)
        first, last = (1, record.offset) if layout == "mmew" else (record.onset, record.offset)
        apex = record.apex if record.apex is not None and first <= record.apex <= last else None
        apex_index = apex - first if apex is not None else (last - first) // 2
        quirk = ""
        if layout == "casme3":
            video = (record.subject, record.extra.get("video_letter", record.clip_id))
            if any(a <= last and first <= b for a, b in seen.get(video, [])):
                quirk = "shared_frames"  # this row's frames overwrite an earlier row's in the same video
            seen.setdefault(video, []).append((first, last))
        plans.append(st.ClipPlan(record, (first, last), _tokens(layout, record, rng), apex_index, quirk))
    return plans


def smic_au_table(folder: Path | None) -> tuple[dict[str, list[tuple[tuple[AUToken, ...], float]]], str]:
    """AU patterns per MEGC2019 class for SMIC clips, and where they come from.

    From the CASME II and SAMM sheets in ``folder`` (rows with an AU code, grouped by the
    ``casme2-3class``/``samm-3class`` mappings, weighted by how often each code occurs); a class no
    sheet covers, or no sheet at all, falls back to :mod:`.patterns` (CASME II and SAMM tables,
    weighted by class share times pattern weight).
    """
    counts: dict[str, Counter[tuple[AUToken, ...]]] = {c: Counter() for c in megc2019_reader.CLASSES}
    used = []
    for reader, names in (("casme2", PROFILES["casme2"].sheets), ("samm", PROFILES["samm"].sheets)):
        path = _beside(folder, names) if folder is not None else None
        if path is None:
            continue
        mapping = get_protocol(f"{reader}-3class").mapping
        lowered = {k.lower(): v for k, v in mapping.items()}
        for record in read_dataset(reader, sheet=path, quiet=True).records:
            tokens = tuple(AUToken(au.number, au.side) for au in record.aus)
            klass = lowered.get(record.emotion.lower())
            if tokens and klass in counts:
                counts[klass][tokens] += 1
        used.append(path.name)
    table: dict[str, list[tuple[tuple[AUToken, ...], float]]] = {}
    fallback = False
    for klass, counter in counts.items():
        if counter:
            table[klass] = sorted(((t, float(n)) for t, n in counter.items()), key=lambda i: str(i[0]))
            continue
        fallback = True
        merged: dict[tuple[AUToken, ...], float] = {}
        for reader, classes in (
            ("casme2", {**CASME2_CLASSES, **CASME2_RARE}),
            ("samm", {**SAMM_CLASSES, **SAMM_RARE}),
        ):
            lowered = {k.lower(): v for k, v in get_protocol(f"{reader}-3class").mapping.items()}
            for emotion, (share, patterns) in classes.items():
                if lowered.get(emotion.lower()) == klass:
                    for pattern, weight in patterns:
                        tokens = parse_pattern(pattern)
                        merged[tokens] = merged.get(tokens, 0.0) + share * weight
        table[klass] = sorted(merged.items(), key=lambda i: str(i[0]))
    source = (
        f"AU codes of {' and '.join(used)} grouped by the MEGC2019 3-class mapping"
        if used
        else "no CASME II/SAMM sheet beside the csv: AU patterns of synth/patterns.py"
    )
    if used and fallback:
        source += " (classes they lack: synth/patterns.py)"
    return table, source


def smic_subject_folder(subject: str) -> str:
    """``s01`` -> ``s1`` (the release's folder names are unpadded)."""
    match = re.match(r"^s0*(\d+)", subject, re.IGNORECASE)
    return f"s{int(match.group(1))}" if match else subject


def smic_clip_folder(clip_id: str) -> str:
    """``s01_ne_01`` -> ``s1_ne_01``."""
    return re.sub(r"^s0*(\d+)", lambda m: f"s{int(m.group(1))}", clip_id, flags=re.IGNORECASE)


def plan_smic(
    entries: list[SampleRecord], seed: int, table: dict[str, list[tuple[tuple[AUToken, ...], float]]]
) -> list[st.ClipPlan]:
    """SMIC clips for the composite's ``smic`` rows: length, first frame, apex and AUs drawn per clip."""
    plans = []
    for index, entry in enumerate(entries):
        rng = stream(seed, "smic", st.TWIN, 0, index)
        length = int(rng.integers(SMIC_FRAMES[0], SMIC_FRAMES[1] + 1))
        start = int(rng.integers(SMIC_START[0], SMIC_START[1] + 1))
        apex_index = round(float(rng.uniform(*SMIC_APEX)) * (length - 1))
        tokens = _draw(table[entry.emotion], rng)
        subject = entry.subject.split("/", 1)[-1]
        record = SampleRecord(
            dataset="smic", subject=subject, clip_id=entry.clip_id, onset=start, apex=None,
            offset=start + length - 1, aus=(), au_raw="", emotion=entry.emotion, row=entry.row,
        )  # fmt: skip
        plans.append(st.ClipPlan(record, (start, start + length - 1), tokens, apex_index))
    return plans


# --- rendering ----------------------------------------------------------------------------------

Target = tuple[str, Callable[[int], str], bool]  # folder, frame number -> file name, face crop?


def _targets(layout: str, record: SampleRecord, raw: bool) -> list[Target]:
    """Where a clip's frames go: (folder relative to the twin root, file namer, crop the face box)."""
    subject, clip = record.subject, record.clip_id
    if layout == "casme2":
        cropped = (f"{st.CASME2_CROPPED}/{subject}/{clip}", lambda n: f"reg_img{n}.jpg", True)
        return (
            [cropped, (f"{st.CASME2_RAW}/{subject}/{clip}", lambda n: f"img{n}.jpg", False)]
            if raw
            else [cropped]
        )
    if layout == "samm":
        return [(f"{subject}/{clip}", lambda n: f"{subject}_{n:05d}.jpg", not raw)]
    if layout == "mmew":
        folder = MMEW_FOLDER.get(record.emotion, record.emotion)
        return [(f"{mmew_reader.FRAMES_FOLDER}/{folder}/{clip}", lambda n: f"{n}.jpg", True)]
    if layout == "casme3":
        video = record.extra.get("video_letter", clip)
        return [(f"{casme3_reader.FRAMES_FOLDER}/{subject}/{video}/color", lambda n: f"{n}.jpg", not raw)]
    if layout == "smic":
        folder = (
            f"{SMIC_RELEASE}/{smic_subject_folder(subject)}/micro/{record.emotion}/{smic_clip_folder(clip)}"
        )
        return [(folder, lambda n: f"reg_image{n}.bmp", True)]
    raise ValueError(f"synth: no twin layout {layout!r}")


def _write_bmp(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".bmp", image)
    if not ok:
        raise OSError(f"{path}: OpenCV could not encode the frame as BMP")
    path.write_bytes(data.tobytes())


Rendered = list[tuple[int, SynthClip, dict[str, float]]]


def render_subject(
    out: Path,
    layout: str,
    subject: str,
    subject_index: int,
    size: int,
    jobs: list[tuple[int, st.ClipPlan]],
    options: st.TwinOptions,
) -> tuple[SubjectFace, Rendered]:
    """Render every clip of one subject (one worker's unit of work); returns its face and clips."""
    profile = PROFILES[layout]
    raw = options.raw and profile.raw  # crop-only databases never write a canvas
    face = twin_face(options, layout, subject_index, size, raw=profile.raw, grayscale=profile.grayscale)
    x, y, w, h = face.box
    results = []
    for index, plan in jobs:
        record = plan.record
        first, last = plan.frames
        targets = _targets(layout, record, raw)
        for folder, _, _ in targets:
            (out / folder).mkdir(parents=True, exist_ok=True)
        frames, draws = st.render_clip(face, plan, options, index, layout=layout, fps=profile.fps, raw=raw)
        quality = int(draws.get("jpeg_quality", JPEG_QUALITY))
        for number, frame in zip(range(first, last + 1), frames, strict=True):
            for folder, name, crop in targets:
                image = frame[y : y + h, x : x + w] if crop and raw else frame
                if profile.suffix == ".bmp":
                    _write_bmp(out / folder / name(number), image)
                else:
                    write_jpeg(out / folder / name(number), image, quality=quality)
        casme2 = layout == "casme2"
        clip = SynthClip(
            subject=record.subject[3:] if casme2 and record.subject.startswith("sub") else record.subject,
            clip_id=record.clip_id,
            onset=record.onset,
            apex=record.apex,
            offset=record.offset,
            aus=record.au_raw,
            emotion=record.emotion,
            frame_folder=targets[-1][0],
            frame_range=(first, last),
            motion_aus=format_aus(
                plan.motion_aus, cast(Any, layout if layout in ("mmew", "samm") else "casme2")
            ),
            motion_apex=first + plan.apex_index,
            row=record.row,
            cropped_folder=targets[0][0] if casme2 else None,
            cropped_range=(first, last) if casme2 else None,
        )
        results.append((index, clip, draws))
    return face, results


def _subject_sizes(layout: str, indices: dict[str, int], options: st.TwinOptions) -> dict[str, int]:
    """Face side per subject (CASME II: :func:`.sheet_twin._subject_sizes`, unchanged)."""
    if layout == "casme2":
        return st._subject_sizes(indices, options)
    rng = stream(options.seed, cast(Any, layout), st.TWIN, 2)
    low, high = options.crop_sizes
    draws = [int(rng.integers(low, high + 1)) for _ in range(max(indices.values(), default=-1) + 1)]
    return {s: draws[i] for s, i in indices.items()}


def _check_arguments(limit: int | None, workers: int) -> None:
    if limit is not None and limit < 1:
        raise ValueError(f"synth --from-sheet: limit must be at least 1 row, got {limit}")
    if workers < 1:
        raise ValueError(f"synth --from-sheet: workers must be at least 1, got {workers}")


def render_plans(
    layout: str,
    plans: list[tuple[int, st.ClipPlan]],
    out: Path,
    options: st.TwinOptions,
    workers: int,
) -> tuple[dict[str, SubjectFace], dict[str, int], Rendered]:
    """Render ``(stream index, plan)`` pairs into ``out`` one subject per job: faces, sizes, clips."""
    subjects = sorted({p.record.subject for _, p in plans})
    indices = st.subject_indices(subjects)
    sizes = _subject_sizes(layout, indices, options)
    jobs: dict[str, list[tuple[int, st.ClipPlan]]] = {s: [] for s in subjects}
    for index, plan in plans:
        jobs[plan.record.subject].append((index, plan))
    args = [(out, layout, s, indices[s], sizes[s], jobs[s], options) for s in subjects]
    if workers > 1 and len(args) > 1:
        from mer_contrast.clips.precompute import worker_context  # not fork: see there

        with ProcessPoolExecutor(max_workers=workers, mp_context=worker_context()) as pool:
            parts = list(pool.map(render_subject, *zip(*args, strict=True)))
    else:
        parts = [render_subject(*a) for a in args]
    rendered = sorted((item for _, part in parts for item in part), key=lambda item: item[0])
    faces = {subject: face for subject, (face, _) in zip(subjects, parts, strict=True)}
    return faces, sizes, rendered


def _manifest_key(layout: str, subject: str) -> str:
    return subject[3:] if layout == "casme2" and subject.startswith("sub") else subject


def render_twin(
    layout: str,
    sheet: Path,
    out: Path,
    options: st.TwinOptions,
    *,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    keys: Collection[str] | None = None,
    copy_sheet: bool = True,
) -> SynthManifest:
    """One database's twin (``casme2``, ``samm``, ``mmew``, ``casme3``, ``smic``): see the module docstring.

    ``keys`` (``subject/clip_id``): render only these rows, each with the same random draws as in the
    full twin (the composite's parts).
    """
    from mer_contrast.synth.generator import _prepare_folder

    profile = PROFILES[layout]
    _check_arguments(limit, workers)
    sheet = Path(sheet)
    result = read_sheet(layout, sheet)
    quirks: dict[str, str] = {}
    if layout == "smic":
        entries = [r for r in result.records if r.dataset == "smic"]
        table, source = smic_au_table(sheet.parent)
        quirks["smic_aus"] = f"SMIC has no AU codes: drawn per class from {source}"
        quirks["smic_apex"] = "SMIC has no apex: the motion peaks at 35-65 % of the clip (motion_apex)"
        all_plans = plan_smic(entries, options.seed, table)
    else:
        all_plans = plan_layout(layout, list(result.records), options.seed)
    indexed = list(enumerate(all_plans))[:limit]
    if keys is not None:
        wanted = set(keys)
        indexed = [(i, p) for i, p in indexed if p.record.key in wanted]
    if not indexed:
        raise ValueError(
            f"synth --from-sheet: {sheet} has no usable {profile.title} row; "
            "check it with `mer-contrast inspect`"
        )
    _prepare_folder(Path(out), overwrite)
    out = Path(out)
    if copy_sheet:
        shutil.copyfile(sheet, out / sheet.name)
    faces, sizes, rendered = render_plans(layout, indexed, out, options, workers)
    quirks.update(
        {f"{p.quirk}:{p.record.key}": f"{p.frames[0]}-{p.frames[1]}" for _, p in indexed if p.quirk}
    )
    if layout != "smic":
        quirks.update({f"skipped_row:{s.row}": s.reason for s in result.skipped})
        if sheet.name not in profile.sheets and copy_sheet:
            # read_dataset(root=out) looks for the official names only
            quirks["sheet_name"] = f"{sheet.name} is not an official name: give read_dataset sheet= too"
    raw = options.raw and profile.raw
    first = next(iter(faces.values()))
    manifest = SynthManifest(
        layout=layout,
        root=str(out),
        sheet=sheet.name if copy_sheet else f"../{sheet.name}",
        seed=options.seed,
        size=max(sizes.values()),
        frame_size=first.frame_size if raw else (first.box[2], first.box[3]),
        grayscale=profile.grayscale,
        face_boxes={_manifest_key(layout, s): f.box for s, f in faces.items()},
        face_ellipses={_manifest_key(layout, s): f.ellipse for s, f in faces.items()},
        clips=[clip for _, clip, _ in rendered],
        quirks=quirks,
        draws={f"{c.subject}/{c.clip_id}": d for _, c, d in rendered},
        fps=profile.fps,
    )
    manifest.save(out / MANIFEST_NAME)
    return manifest


def _beside(folder: Path, names: Collection[str]) -> Path | None:
    """The first of ``names`` that is a file in ``folder``."""
    return next((folder / n for n in names if (folder / n).is_file()), None)


def render_composite(
    sheet: Path,
    out: Path,
    options: st.TwinOptions,
    *,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    database_sizes: bool = False,
) -> SynthManifest:
    """The MEGC2019 composite: the csv, and ``CASME2/``, ``SAMM/``, ``SMIC/`` twins of its rows."""
    from mer_contrast.synth.generator import _prepare_folder

    _check_arguments(limit, workers)
    sheet = Path(sheet)
    entries = list(read_sheet("megc2019", sheet).records)[:limit]
    if not entries:
        raise ValueError(f"synth --from-sheet: {sheet} has no usable row")
    databases = [db for db in COMPOSITE_PARTS if any(e.dataset == db for e in entries)]
    sources: dict[str, Path] = {}
    for db in databases:
        if db == "smic":
            continue
        found = _beside(sheet.parent, PROFILES[db].sheets)
        if found is None:
            raise ValueError(
                f"synth --from-sheet: the {PROFILES[db].title} rows of {sheet.name} need "
                f"{PROFILES[db].sheets[0]} beside it in {sheet.parent}"
            )
        sources[db] = found
    _prepare_folder(Path(out), overwrite)
    out = Path(out)
    shutil.copyfile(sheet, out / sheet.name)
    manifests: dict[str, SynthManifest] = {}
    for db in databases:
        part = out / COMPOSITE_PARTS[db]
        part_options = database_options(db, options) if database_sizes else options
        rows = [e for e in entries if e.dataset == db]
        keys = {f"{e.subject.split('/', 1)[1]}/{e.clip_id}" for e in rows}
        if db == "smic":  # the csv stays at the top; same rows, same draws as the standalone SMIC twin
            manifests[db] = render_twin(
                db, sheet, part, part_options, workers=workers, keys=keys, copy_sheet=False
            )
        else:
            manifests[db] = render_twin(db, sources[db], part, part_options, workers=workers, keys=keys)
    return _composite_manifest(sheet, out, options, entries, manifests)


def _composite_manifest(
    sheet: Path,
    out: Path,
    options: st.TwinOptions,
    entries: list[SampleRecord],
    manifests: dict[str, SynthManifest],
) -> SynthManifest:
    """Top-level manifest: every part's clips (subjects ``casme2/sub01``-style, emotion = class)."""
    by_key: dict[str, tuple[str, SynthClip]] = {}
    for db, manifest in manifests.items():
        for clip in manifest.clips:
            subject = f"sub{clip.subject}" if db == "casme2" else clip.subject
            by_key[f"{db}/{subject}/{clip.clip_id}"] = (db, clip)
    clips = []
    for entry in entries:
        found = by_key.get(f"{entry.subject}/{entry.clip_id}")
        if found is None:
            continue
        db, clip = found
        folder = COMPOSITE_PARTS[db]
        clips.append(
            replace(
                clip,
                subject=entry.subject,
                emotion=entry.emotion,
                row=entry.row,
                frame_folder=f"{folder}/{clip.frame_folder}",
                cropped_folder=f"{folder}/{clip.cropped_folder}" if clip.cropped_folder else None,
            )
        )
    prefix = {db: f"{db}/" for db in manifests}
    manifest = SynthManifest(
        layout="megc2019",
        root=str(out),
        sheet=sheet.name,
        seed=options.seed,
        size=max(m.size for m in manifests.values()),
        frame_size=next(iter(manifests.values())).frame_size,
        grayscale=False,
        face_boxes={prefix[db] + s: b for db, m in manifests.items() for s, b in m.face_boxes.items()},
        face_ellipses={prefix[db] + s: e for db, m in manifests.items() for s, e in m.face_ellipses.items()},
        clips=clips,
        quirks={f"{db}:{k}": v for db, m in manifests.items() for k, v in m.quirks.items()},
        draws={prefix[db] + k: d for db, m in manifests.items() for k, d in m.draws.items()},
        parts={db: COMPOSITE_PARTS[db] for db in manifests},
    )
    manifest.save(out / MANIFEST_NAME)
    return manifest
