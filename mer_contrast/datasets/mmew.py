"""MMEW (micro-expression part) reader: ``MMEW_Micro_Exp.xlsx`` (or a ``.csv`` export) plus frames.

Layout (dataset notes §2)::

    root/
      MMEW_Micro_Exp.xlsx
      Micro_Expression/<emotion>/<Filename>/<N>.jpg          # as released (emotion first)
      Micro_Expression/<Sxx>/<emotion>/<Filename>/<N>.jpg    # as the official text describes

Subjects are ints 1..30 in the sheet; the subject id is ``S01`` (the prefix of ``Filename``
``S01-01-001``). The sheet's ``others`` clips live in a folder named ``repression``: both names are
accepted. Frames are the database's own 231x231 face crops (``extra["cropped"] = "1"``).
"""

from __future__ import annotations

import re
from pathlib import Path

from mer_contrast.datasets._frames import undouble
from mer_contrast.datasets._reader import open_sheet, read_clip_rows
from mer_contrast.datasets._report import text_or_blank
from mer_contrast.datasets._table import cell_int
from mer_contrast.datasets.errors import DatasetNotFoundError
from mer_contrast.datasets.records import ReadResult

DATASET = "mmew"
SHEETS = ("MMEW_Micro_Exp.xlsx", "MMEW_Micro_Exp.csv")
FRAMES_FOLDER = "Micro_Expression"
EMOTIONS = frozenset({"happiness", "surprise", "disgust", "others", "fear", "sadness", "anger"})
#: Folder names that may hold an emotion's clips (the release names the "others" folder "repression").
FOLDER_ALIASES: dict[str, tuple[str, ...]] = {"others": ("others", "repression")}
#: Sheet kinds this reader reads (see :data:`._kinds.SHEET_KINDS`).
ACCEPTS = ("mmew",)
_CLIP_SUBJECT = re.compile(r"^(S\d+)-", re.IGNORECASE)


def subject_id(subject_cell: object, filename: str) -> str:
    """``S01`` from the clip name ``S01-01-001``, else from the Subject cell (``1`` -> ``S01``)."""
    match = _CLIP_SUBJECT.match(filename)
    if match:
        return match.group(1).upper()
    number = cell_int(subject_cell)
    return f"S{number:02d}" if number is not None else text_or_blank(subject_cell)


def read(
    root: Path | None = None,
    sheet: Path | None = None,
    *,
    strict: bool = False,
    quiet: bool = False,
) -> ReadResult:
    """Read MMEW's micro-expressions.

    Args:
        root: folder holding the sheet and ``Micro_Expression/``; without it only the sheet is read.
        sheet: explicit sheet (``.xlsx`` or ``.csv``); default: the one in ``root``.
        strict: raise instead of skipping a bad row.
        quiet: do not log warnings (they are still returned).
    """
    root, sheet_path = open_sheet(DATASET, root, sheet, SHEETS)
    frames_dir = None
    if root is not None:
        frames_dir = undouble(root / FRAMES_FOLDER)
        if not frames_dir.is_dir():
            raise DatasetNotFoundError(DATASET, f"the frame folder {FRAMES_FOLDER}/", root)

    columns = {
        "subject": ("Subject",),
        "filename": ("Filename",),
        "onset": ("OnsetFrame",),
        "apex": ("ApexFrame",),
        "offset": ("OffsetFrame",),
        "aus": ("Action Units",),
        "emotion": ("Estimated Emotion",),
    }
    folder = frames_dir
    return read_clip_rows(
        DATASET, sheet_path, ACCEPTS, columns, strict=strict, quiet=quiet,
        emotions=EMOTIONS, subject_of=subject_id, extra={"cropped": "1"},
        folders_of=None if folder is None else (
            lambda r: clip_folders(folder, r.subject, r.emotion, r.clip_id)
        ),
    )  # fmt: skip


def clip_folders(frames_dir: Path, subject: str, emotion: str, clip_id: str) -> list[Path]:
    """Where a clip may be: ``<emotion>/<clip>`` or ``<Sxx>/<emotion>/<clip>``, for each folder alias."""
    names = FOLDER_ALIASES.get(emotion, (emotion,))
    flat = [frames_dir / name / clip_id for name in names]
    nested = [frames_dir / subject / name / clip_id for name in names]
    return flat + nested
