"""CASME II reader: ``CASME2-coding-20140508.xlsx`` (or ``-20190701``) plus its frame folders.

Layout (dataset notes §1)::

    root/
      CASME2-coding-20140508.xlsx          # and/or CASME2-coding-20190701.xlsx
      CASME2_RAW_selected/subNN/<Filename>/img<N>.jpg     # may be doubled (CASME2_RAW_selected/ twice)
      Cropped/subNN/<Filename>/reg_img<N>.jpg             # the database's own face crops

Quirks handled: blank columns C and G, Subject stored as text ``"01"`` (-> subject ``sub01``), AU
cells that are ints or text, apex ``"/"`` (-> None), folders whose frames differ from the sheet range.
bob.db.casme2's ``annotations.csv`` export (lower-case column names, apex ``-1``) is read too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from mer_contrast.datasets._frames import undouble
from mer_contrast.datasets._reader import in_subject_folders, open_sheet, read_clip_rows
from mer_contrast.datasets._report import text_or_blank
from mer_contrast.datasets._table import cell_int
from mer_contrast.datasets.errors import DatasetNotFoundError
from mer_contrast.datasets.records import ReadResult

DATASET = "casme2"
SHEETS: dict[str, str] = {
    "20140508": "CASME2-coding-20140508.xlsx",
    "20190701": "CASME2-coding-20190701.xlsx",
}
RAW_FOLDER = "CASME2_RAW_selected"
CROPPED_FOLDER = "Cropped"
EMOTIONS = frozenset({"happiness", "disgust", "repression", "surprise", "sadness", "fear", "others"})
#: Sheet kinds this reader reads (see :data:`._kinds.SHEET_KINDS`).
ACCEPTS = ("casme2", "casme2-bob")

FrameSource = Literal["auto", "cropped", "raw"]
SheetVersion = Literal["20140508", "20190701"]


def subject_id(cell: object) -> str:
    """``"01"``, ``1`` or ``"sub01"`` -> ``"sub01"`` (the folder name)."""
    text = text_or_blank(cell)
    if text.lower().startswith("sub"):
        text = text[3:]
    number = cell_int(text)
    return f"sub{number:02d}" if number is not None else text


def read(
    root: Path | None = None,
    sheet: Path | None = None,
    *,
    strict: bool = False,
    frames: FrameSource = "auto",
    sheet_version: SheetVersion | None = None,
    quiet: bool = False,
) -> ReadResult:
    """Read CASME II.

    Args:
        root: folder holding the sheet(s) and ``CASME2_RAW_selected/`` and/or ``Cropped/``. Without it
            only the sheet is read (``frames == ()``).
        sheet: explicit sheet (``.xlsx`` or a ``.csv`` export); default: the one in ``root``.
        strict: raise :class:`DatasetStrictError` instead of skipping a bad row.
        frames: ``auto`` uses ``Cropped/`` when present, else ``CASME2_RAW_selected/``.
        sheet_version: which sheet of ``root`` to use when both are there (default 20140508).
        quiet: do not log warnings (they are still returned).
    """
    if sheet_version is not None and sheet_version not in SHEETS:
        raise ValueError(f"casme2: sheet_version must be one of {sorted(SHEETS)}, not {sheet_version!r}")
    names = (SHEETS[sheet_version],) if sheet_version else tuple(SHEETS.values())
    root, sheet_path = open_sheet(DATASET, root, sheet, names)

    frames_dir, cropped = (None, False) if root is None else _frames_dir(root, frames)
    columns = {
        "subject": ("Subject",),
        "filename": ("Filename",),
        # The second names are those of bob.db.casme2's annotations.csv export.
        "onset": ("OnsetFrame", "onset"),
        "apex": ("ApexFrame", "apex"),
        "offset": ("OffsetFrame", "offset"),
        "aus": ("Action Units", "action_units"),
        "emotion": ("Estimated Emotion", "emotion"),
        "objective": ("Objective Classes",),
    }
    return read_clip_rows(
        DATASET, sheet_path, ACCEPTS, columns, strict=strict, quiet=quiet, optional=("objective",),
        emotions=EMOTIONS, subject_of=lambda cell, _: subject_id(cell),
        folders_of=in_subject_folders(frames_dir), extra={"cropped": "1"} if cropped else {},
    )  # fmt: skip


def _frames_dir(root: Path, frames: FrameSource) -> tuple[Path, bool]:
    """The frame tree to use and whether it is the cropped one."""
    cropped = undouble(root / CROPPED_FOLDER)
    raw = undouble(root / RAW_FOLDER)
    if frames == "cropped" or (frames == "auto" and cropped.is_dir()):
        if not cropped.is_dir():
            raise DatasetNotFoundError(DATASET, f"the frame folder {CROPPED_FOLDER}/", root)
        return cropped, True
    if frames not in ("auto", "raw"):
        raise ValueError(f"casme2: frames must be 'auto', 'cropped' or 'raw', not {frames!r}")
    if not raw.is_dir():
        wanted = f"{RAW_FOLDER}/" if frames == "raw" else f"{CROPPED_FOLDER}/ or {RAW_FOLDER}/"
        raise DatasetNotFoundError(DATASET, f"the frame folder {wanted}", root)
    return raw, False
