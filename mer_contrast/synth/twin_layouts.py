"""Sheet-driven twins of every database, each in its released on-disk layout (see ``docs/twins.md``).

:data:`PROFILES` holds, per database, what its twin writes: frame rate, face size range, grayscale or
colour, raw canvas (face somewhere inside a larger frame) or face crops only, file pattern, sheet
names; the sheet checks and the planning of each row. :func:`.twin_render.render_twin` renders one
clip per sheet row in that layout; :func:`.twin_composite.render_composite` renders the MEGC2019 composite
(``combined_3class_gt.csv`` plus ``CASME2/``, ``SAMM/`` and ``SMIC/``);
:func:`mer_contrast.synth.sheet_twin.render_from_sheet` dispatches to both. SMIC's planning (AUs per
class, clip lengths, folder names, BMP frames) is in :mod:`.twin_smic`.

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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from mer_contrast.datasets import casme2 as casme2_reader
from mer_contrast.datasets import casme3 as casme3_reader
from mer_contrast.datasets import megc2019 as megc2019_reader
from mer_contrast.datasets import mmew as mmew_reader
from mer_contrast.datasets import read_dataset
from mer_contrast.datasets import samm as samm_reader
from mer_contrast.datasets.errors import WrongSheetError
from mer_contrast.datasets.records import ReadResult, SampleRecord
from mer_contrast.synth import twin_clip as st
from mer_contrast.synth.render import stream


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
    # MMEW and SAMM sheets can read as another database's: their clip names tell them apart
    names = _CLIP_NAMES.get(layout)
    if names is not None and 2 * sum(bool(names.match(r.clip_id)) for r in records) < len(records):
        guess = _guess_layout(records)
        example = next(r.clip_id for r in records if not names.match(r.clip_id))
        hint = f"use --layout {guess}" if guess else f"pass {_sheet_name(layout)}"
        raise ValueError(
            f"synth --from-sheet: {sheet} does not look like a {_title(layout)} sheet "
            f"({_sheet_name(layout)}; Filename {example!r}): {hint}"
        )
    return result


def _sheet_name(layout: str) -> str:
    return PROFILES[layout].sheets[0] if layout in PROFILES else "combined_3class_gt.csv"


def _title(layout: str) -> str:
    return PROFILES[layout].title if layout in PROFILES else "MEGC2019"


# --- planning -----------------------------------------------------------------------------------


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
        plans.append(
            st.ClipPlan(record, (first, last), st.row_tokens(layout, record, rng), apex_index, quirk)
        )
    return plans


# --- the twin (its frames: :mod:`.twin_render`) -------------------------------------------------


def _check_arguments(limit: int | None, workers: int) -> None:
    if limit is not None and limit < 1:
        raise ValueError(f"synth --from-sheet: limit must be at least 1 row, got {limit}")
    if workers < 1:
        raise ValueError(f"synth --from-sheet: workers must be at least 1, got {workers}")


def _manifest_key(layout: str, subject: str) -> str:
    return subject[3:] if layout == "casme2" and subject.startswith("sub") else subject
