"""SAMM reader: ``SAMM_Micro_FACS_Codes_v2.xlsx`` plus its grayscale frames.

Layout (dataset notes §3)::

    root/
      SAMM_Micro_FACS_Codes_v2.xlsx                     # 13-row preamble, header in row 14
      <Subject>/<Filename>/<Subject>_<NNNNN>.jpg        # e.g. 006/006_1_2/006_05562.jpg
      (or SAMM/<Subject>/<Filename>/...)

The header row is found by scanning for a first cell ``Subject`` (a variant sheet has no preamble).
Subject ids are three-digit text (``006``). Emotions are Title-case in the sheet and lower-cased here.
An apex outside ``[onset, offset]`` (two rows of the real sheet) becomes None with a warning.
"""

from __future__ import annotations

from pathlib import Path

from mer_contrast.datasets._frames import undouble
from mer_contrast.datasets._reader import in_subject_folders, open_sheet, read_clip_rows
from mer_contrast.datasets._report import text_or_blank
from mer_contrast.datasets._table import cell_int
from mer_contrast.datasets.records import ReadResult

DATASET = "samm"
SHEETS = ("SAMM_Micro_FACS_Codes_v2.xlsx", "SAMM_20181215_Micro_FACS_Codes_v2.xlsx")
FRAMES_FOLDER = "SAMM"
EMOTIONS = frozenset({"anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "other"})
#: Sheet kinds this reader reads (see :data:`._kinds.SHEET_KINDS`).
ACCEPTS = ("samm",)


def subject_id(cell: object) -> str:
    """``"006"`` or ``6`` -> ``"006"`` (the folder name)."""
    number = cell_int(cell)
    return f"{number:03d}" if number is not None else text_or_blank(cell)


def read(
    root: Path | None = None,
    sheet: Path | None = None,
    *,
    strict: bool = False,
    quiet: bool = False,
) -> ReadResult:
    """Read SAMM.

    Args:
        root: folder holding the sheet and the subject folders (directly or under ``SAMM/``); without
            it only the sheet is read.
        sheet: explicit sheet (``.xlsx`` or ``.csv``); default: the one in ``root``.
        strict: raise instead of skipping a bad row.
        quiet: do not log warnings (they are still returned).
    """
    root, sheet_path = open_sheet(DATASET, root, sheet, SHEETS)
    frames_dir = None
    if root is not None:
        nested = undouble(root / FRAMES_FOLDER)
        frames_dir = nested if nested.is_dir() else root

    columns = {
        "subject": ("Subject",),
        "filename": ("Filename",),
        "onset": ("Onset Frame",),
        "apex": ("Apex Frame",),
        "offset": ("Offset Frame",),
        "aus": ("Action Units",),
        "emotion": ("Estimated Emotion",),
        "objective": ("Objective Classes",),
    }
    return read_clip_rows(
        DATASET, sheet_path, ACCEPTS, columns, strict=strict, quiet=quiet, optional=("objective",),
        emotions=EMOTIONS, subject_of=lambda cell, _: subject_id(cell),
        folders_of=in_subject_folders(frames_dir),
        extra={"grayscale": "1"},  # SAMM is released in grayscale only
    )  # fmt: skip
