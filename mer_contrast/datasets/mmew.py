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

from mer_contrast.datasets._frames import FrameAttacher, undouble
from mer_contrast.datasets._kinds import load_table
from mer_contrast.datasets._report import (
    FirstRows,
    Report,
    check_root,
    check_sheet,
    find_sheet,
    record_from_cells,
    text_or_blank,
)
from mer_contrast.datasets._table import cell_int
from mer_contrast.datasets.errors import DatasetNotFoundError
from mer_contrast.datasets.records import ReadResult, SampleRecord

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
    root = check_root(DATASET, root)
    if sheet is not None:
        sheet_path = check_sheet(DATASET, Path(sheet))
    elif root is not None:
        sheet_path = find_sheet(DATASET, root, SHEETS)
    else:
        raise DatasetNotFoundError(DATASET, "a root folder or an annotation sheet (neither was given)")
    frames_dir = None
    if root is not None:
        frames_dir = undouble(root / FRAMES_FOLDER)
        if not frames_dir.is_dir():
            raise DatasetNotFoundError(DATASET, f"the frame folder {FRAMES_FOLDER}/", root)

    report = Report(DATASET, sheet_path, strict=strict, quiet=quiet)
    table = load_table(sheet_path, ACCEPTS)
    columns = {
        "subject": table.column("Subject"),
        "filename": table.column("Filename"),
        "onset": table.column("OnsetFrame"),
        "apex": table.column("ApexFrame"),
        "offset": table.column("OffsetFrame"),
        "aus": table.column("Action Units"),
        "emotion": table.column("Estimated Emotion"),
    }
    attacher = FrameAttacher(report)
    first_rows = FirstRows(report, ignore=("subject", "filename"))
    records: list[SampleRecord] = []
    for row, cells in table.records(columns):
        clip_id = text_or_blank(cells["filename"])
        subject = subject_id(cells["subject"], clip_id)
        if clip_id and not first_rows.first(row, f"{subject}/{clip_id}", cells):
            continue
        record = record_from_cells(
            report,
            row,
            cells,
            subject=subject,
            clip_id=clip_id,
            emotions=EMOTIONS,
            extra={"cropped": "1"},
        )
        if record is not None and frames_dir is not None:
            candidates = clip_folders(frames_dir, record.subject, record.emotion, clip_id)
            found = next((folder for folder in candidates if folder.is_dir()), None)
            record = attacher.attach(record, found, tried=" or ".join(str(c) for c in candidates[:2]))
        if record is not None:
            records.append(record)
    return report.result(records)


def clip_folders(frames_dir: Path, subject: str, emotion: str, clip_id: str) -> list[Path]:
    """Where a clip may be: ``<emotion>/<clip>`` or ``<Sxx>/<emotion>/<clip>``, for each folder alias."""
    names = FOLDER_ALIASES.get(emotion, (emotion,))
    flat = [frames_dir / name / clip_id for name in names]
    nested = [frames_dir / subject / name / clip_id for name in names]
    return flat + nested
