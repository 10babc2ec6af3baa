"""SMIC-HS reader: the released high-speed (100 fps) part of SMIC, labelled by its folder names.

SMIC ships no coding sheet: a clip's emotion is the folder it lies in. Layout::

    root/                                   # any one of these is accepted as root:
      SMIC_all_cropped/HS/ ...              #   the release folder (cropped preferred when both exist)
      SMIC_all_raw/HS/ ...
      HS/ ...                               #   a folder holding HS/, or HS/ itself
    HS/<subject>/micro/<emotion>/<clip>/<frames>
        <subject>  s1 .. s20 (s01 also accepted)
        <emotion>  negative, positive or surprise
        <clip>     s1_ne_01, s3_po_02, s12_sur_05
        <frames>   reg_image<N>.bmp (cropped) or image<N>.bmp (raw), N often 6 digits (106720);
                   .jpg / .png accepted; sorted by the number at the end of the name

``HS/<subject>/non_micro/`` holds clips that are *not* micro-expressions; it is ignored, as are the
``VIS``/``NIR`` parts. Ids are normalised as the MEGC2019 ground truth writes them: subject ``s01``,
clip ``s01_ne_01`` (the frame paths keep the on-disk folders ``s1/.../s1_ne_01``). onset and offset
are the first and last frame numbers found; SMIC-HS has no apex (``apex=None``: the clip pipeline
uses the middle frame) and no AU codes (``aus=()``). A clip folder with fewer than 2 frames is a
skipped "row"; rows are numbered 1.. in listing order (subject, emotion, clip).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from mer_contrast.datasets._frames import child_dir, frame_collision, list_frames, number_ranges, undouble
from mer_contrast.datasets._kinds import refuse_other_folder
from mer_contrast.datasets._report import Report, check_root
from mer_contrast.datasets.errors import DatasetNotFoundError
from mer_contrast.datasets.records import ReadResult, SampleRecord, natural_key

DATASET = "smic"
TITLE = "SMIC-HS"
FPS = 100
HS_FOLDER = "HS"
CROPPED_FOLDER = "SMIC_all_cropped"
RAW_FOLDER = "SMIC_all_raw"
MICRO_FOLDER = "micro"
EMOTIONS = ("negative", "positive", "surprise")
#: Emotion code in the clip names (``s1_ne_01``) -> emotion folder.
CLIP_CODES = {"ne": "negative", "po": "positive", "sur": "surprise"}
LAYOUT = "HS/<subject>/micro/<emotion>/<clip>/, e.g. HS/s1/micro/negative/s1_ne_01/"

FrameSource = Literal["auto", "cropped", "raw"]
_SUBJECT = re.compile(r"^s(\d+)$", re.IGNORECASE)
_CLIP = re.compile(r"^s(\d+)(_([a-z]+)_.*)$", re.IGNORECASE)


def subject_id(name: object) -> str:
    """``s1``, ``S01``, ``1`` or ``"01"`` -> ``s01`` (the MEGC2019 spelling); other text as it is."""
    text = str(name).strip()
    match = _SUBJECT.match(text if not text.isdigit() else f"s{text}")
    return f"s{int(match.group(1)):02d}" if match else text


def clip_id(name: str) -> str:
    """``s1_ne_01`` -> ``s01_ne_01`` (the MEGC2019 spelling); other names as they are."""
    match = _CLIP.match(name.strip())
    return f"s{int(match.group(1)):02d}{match.group(2)}" if match else name.strip()


def find_hs(root: Path, frames: FrameSource = "auto") -> tuple[Path, bool]:
    """The ``HS`` folder below ``root`` and whether it is the cropped release.

    ``auto`` tries ``SMIC_all_cropped/HS``, ``SMIC_all_raw/HS``, ``HS`` and ``root`` itself (when it
    holds subject folders); ``cropped``/``raw`` want that release folder (or a root named after it).
    """
    if frames not in ("auto", "cropped", "raw"):
        raise ValueError(f"smic: frames must be 'auto', 'cropped' or 'raw', not {frames!r}")
    candidates: list[tuple[Path | None, str]] = []
    for release, kind in ((CROPPED_FOLDER, "cropped"), (RAW_FOLDER, "raw")):
        folder = child_dir(root, release)
        candidates.append((child_dir(undouble(folder), HS_FOLDER) if folder else None, kind))
    candidates.append((child_dir(root, HS_FOLDER), _kind_of(root)))
    if root.name.lower() == HS_FOLDER.lower() or _subject_dirs(root):
        candidates.append((root, _kind_of(root.parent)))
    for folder, kind in candidates:
        if folder is not None and (frames == "auto" or kind == frames):
            return folder, kind == "cropped"
    refuse_other_folder(root, TITLE, LAYOUT)
    wanted = {
        "auto": f"the frame tree HS/ (or {CROPPED_FOLDER}/HS/, {RAW_FOLDER}/HS/; {LAYOUT})",
        "cropped": f"the frame tree {CROPPED_FOLDER}/{HS_FOLDER}/",
        "raw": f"the frame tree {RAW_FOLDER}/{HS_FOLDER}/",
    }[frames]
    raise DatasetNotFoundError(DATASET, wanted, root)


def read(
    root: Path | None = None,
    sheet: Path | None = None,
    *,
    strict: bool = False,
    frames: FrameSource = "auto",
    quiet: bool = False,
) -> ReadResult:
    """Read SMIC-HS from its folders.

    Args:
        root: the folder holding ``SMIC_all_cropped/`` and/or ``SMIC_all_raw/``, or one holding ``HS/``,
            or ``HS/`` itself.
        sheet: not used: SMIC has no annotation sheet (passing one is a ValueError).
        strict: raise instead of skipping a bad clip folder.
        frames: ``auto`` uses ``SMIC_all_cropped/HS`` when present, else ``SMIC_all_raw/HS``, else ``HS``.
        quiet: do not log warnings (they are still returned).
    """
    if sheet is not None:
        raise ValueError(
            f"smic: sheet={str(sheet)!r} is not used: SMIC-HS has no annotation sheet (labels are its "
            "folder names); give root (the folder holding HS/) instead"
        )
    checked = check_root(DATASET, root)
    if checked is None:
        raise DatasetNotFoundError(DATASET, f"a root folder (SMIC-HS has no sheet; {LAYOUT})")
    hs, cropped = find_hs(checked, frames)
    report = Report(DATASET, hs, strict=strict, quiet=quiet)
    extra = {"fps": str(FPS), **({"cropped": "1"} if cropped else {})}
    records: list[SampleRecord] = []
    seen: dict[str, Path] = {}
    row = 0
    for subject_dir in _subject_dirs(hs):
        micro = child_dir(subject_dir, MICRO_FOLDER)
        if micro is None:  # a subject without micro-expressions (only non_micro/)
            continue
        subject = subject_id(subject_dir.name)
        for emotion_dir in _dirs(micro):
            emotion = emotion_dir.name.lower()
            for clip_dir in _dirs(emotion_dir):
                row += 1
                clip = clip_id(clip_dir.name)
                key = f"{subject}/{clip}"
                if emotion not in EMOTIONS:
                    report.skip(
                        row,
                        f"unknown emotion folder {emotion_dir.name!r} (expected negative, positive or "
                        f"surprise) in {micro}",
                        key,
                    )
                    continue
                if key in seen:
                    report.skip(
                        row, f"same clip as {seen[key]}: remove one of the two folders ({clip_dir})", key
                    )
                    continue
                record = _record(report, row, subject, clip, emotion, clip_dir, extra)
                if record is not None:
                    seen[key] = clip_dir
                    records.append(record)
    if row == 0:
        raise DatasetNotFoundError(DATASET, f"clip folders <subject>/{MICRO_FOLDER}/<emotion>/<clip>/", hs)
    return report.result(records)


def _record(
    report: Report, row: int, subject: str, clip: str, emotion: str, folder: Path, extra: dict[str, str]
) -> SampleRecord | None:
    """The record of one clip folder, or None (skipped) when it has fewer than 2 frames."""
    key = f"{subject}/{clip}"
    listing = list_frames(folder)
    if len(listing) < 2:
        report.skip(row, f"clip folder has fewer than two frames ({len(listing)} found): {folder}", key)
        return None
    collision = frame_collision(listing)
    if collision:
        report.skip(row, collision, key)
        return None
    numbers = [number for number, _ in listing]
    onset, offset = numbers[0], numbers[-1]
    match = _CLIP.match(clip)
    code = match.group(3).lower() if match else ""
    if code in CLIP_CODES and CLIP_CODES[code] != emotion:
        report.warn(f"the clip name says {CLIP_CODES[code]} but it lies in {emotion}/; using {emotion}", key)
    present = set(numbers)
    holes = [number for number in range(onset, offset + 1) if number not in present]
    if holes:
        report.warn(f"frames {onset}-{offset}: no file for frame {number_ranges(holes)} in {folder}", key)
    report.frames_expected += offset - onset + 1
    report.frames_found += len(numbers)
    cropped = extra.get("cropped") == "1" or listing[0][1].name.lower().startswith("reg_")
    return SampleRecord(
        dataset=DATASET,
        subject=subject,
        clip_id=clip,
        onset=onset,
        apex=None,
        offset=offset,
        aus=(),
        au_raw="",
        emotion=emotion,
        frames=tuple(path for _, path in listing),
        frame_numbers=tuple(numbers),
        row=row,
        extra={**extra, "folder": folder.name, **({"cropped": "1"} if cropped else {})},
    )


def _kind_of(folder: Path) -> str:
    """``cropped``/``raw`` from a release folder's name (``SMIC_all_cropped``), else ``""``."""
    name = folder.name.lower()
    return "cropped" if "cropped" in name else "raw" if "raw" in name else ""


def _dirs(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` in natural order (``s2`` before ``s10``; ``s01`` before ``s1``)."""
    with os.scandir(folder) as entries:
        found = [Path(entry.path) for entry in entries if entry.is_dir()]
    return sorted(found, key=lambda path: natural_key(path.name))


def _subject_dirs(folder: Path) -> list[Path]:
    """The subject folders (``s1``, ``s01``) of an ``HS`` folder."""
    if not folder.is_dir():
        return []
    return [path for path in _dirs(folder) if _SUBJECT.match(path.name)]
