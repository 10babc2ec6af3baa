"""CAS(ME)^3 reader: Part A micro-expressions (with frames) and, sheet only, Part C.

Part A layout (dataset notes §4)::

    root/
      cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx
      part_A/<Subject>/<Filename>/color/<N>.jpg    # whole videos; each clip is cut onset..offset

Quirks handled: every cell is text (frame numbers too); ``Filename`` is the video letter
``a``..``m`` and repeats when a video holds several MEs (clip ids become ``a``, ``a_2``, ...);
one capitalised ``Others``; rows with offset < onset are skipped; frame drops inside a clip are
tolerated with a warning.

Part C (``part="C"``, ``CAS(ME)3_part_C_ME.xlsx``: ``sub, count, onset, offset, au, emotion``) is
read from the sheet only: its AUs are comma-separated, it has no apex, and its emotions are
``negative``/``positive``/``surprise``/``others``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from mer_contrast.datasets._frames import FrameAttacher, undouble
from mer_contrast.datasets._kinds import load_table
from mer_contrast.datasets._reader import open_sheet
from mer_contrast.datasets._report import (
    FirstRows,
    Report,
    build_record,
    record_from_cells,
    text_or_blank,
)
from mer_contrast.datasets._table import cell_int
from mer_contrast.datasets.records import ReadResult, SampleRecord

DATASET = "casme3"
SHEETS_A = ("cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", "cas(me)3_part_A_ME_label_JpgIndex_v2.csv")
SHEETS_C = ("CAS(ME)3_part_C_ME.xlsx", "CAS(ME)3_part_C_ME.csv")
FRAMES_FOLDER = "part_A"
VIDEO_SUBFOLDER = "color"
EMOTIONS_A = frozenset({"disgust", "surprise", "others", "fear", "anger", "sad", "happy"})
EMOTIONS_C = frozenset({"negative", "positive", "surprise", "others"})

Part = Literal["A", "C"]


def read(
    root: Path | None = None,
    sheet: Path | None = None,
    *,
    strict: bool = False,
    part: Part = "A",
    quiet: bool = False,
) -> ReadResult:
    """Read CAS(ME)^3.

    Args:
        root: folder holding the sheet and ``part_A/`` (or the subject folders directly); without it
            only the sheet is read.
        sheet: explicit sheet (``.xlsx`` or ``.csv``); default: the one in ``root``.
        strict: raise instead of skipping a bad row.
        part: ``"A"`` (micro-expressions of Part A) or ``"C"`` (mock-crime MEs, sheet only).
        quiet: do not log warnings (they are still returned).
    """
    if part not in ("A", "C"):
        raise ValueError(f"casme3: part must be 'A' or 'C', not {part!r}")
    names = SHEETS_A if part == "A" else SHEETS_C
    root, sheet_path = open_sheet(DATASET, root, sheet, names)
    report = Report(DATASET, sheet_path, strict=strict, quiet=quiet)
    if part == "C":
        if root is not None:
            report.warn("Part C frames are not supported: records are read from the sheet only")
        return _read_part_c(sheet_path, report)

    frames_dir = None
    if root is not None:
        nested = undouble(root / FRAMES_FOLDER)
        frames_dir = nested if nested.is_dir() else root
    table = load_table(sheet_path, ("casme3-A",))
    columns = {
        "subject": table.column("Subject"),
        "filename": table.column("Filename"),
        "onset": table.column("Onset"),
        "apex": table.column("Apex"),
        "offset": table.column("Offset"),
        "aus": table.column("AU"),
        "emotion": table.column("emotion", "Estimated Emotion"),
        "objective": table.column("Objective class", required=False),
    }
    attacher = FrameAttacher(report, whole_video=True)
    seen: dict[tuple[str, str], int] = {}
    # A video holds several MEs, so one ME is the video plus its frame range.
    first_rows = FirstRows(report, ignore=("subject", "filename"))
    records: list[SampleRecord] = []
    for row, cells in table.records(columns):
        subject = text_or_blank(cells["subject"])
        video = text_or_blank(cells["filename"])
        span = f"{cell_int(cells['onset'])}-{cell_int(cells['offset'])}"
        me = f"{subject}/{video} (frames {span})"
        if video and not first_rows.first(row, me, cells, key=f"{subject}/{video.lower()}/{span}"):
            continue  # checked before unique_clip_id so a repeat does not shift the ids a_2, a_3
        clip_id = unique_clip_id(seen, subject, video)
        extra = {"video_letter": video}
        record = record_from_cells(
            report, row, cells, subject=subject, clip_id=clip_id, emotions=EMOTIONS_A, extra=extra
        )
        if record is not None and frames_dir is not None:
            candidates = [
                frames_dir / subject / name / VIDEO_SUBFOLDER
                for name in dict.fromkeys((video, video.lower()))
            ]
            found = next((folder for folder in candidates if folder.is_dir()), None)
            record = attacher.attach(record, found, tried=str(candidates[0]))
        if record is not None:
            records.append(record)
    return report.result(records)


def unique_clip_id(seen: dict[tuple[str, str], int], subject: str, video: str) -> str:
    """``a``, then ``a_2``, ``a_3`` ... for the MEs of one video (letters compared lower-case)."""
    base = video.lower()
    count = seen.get((subject, base), 0) + 1
    seen[(subject, base)] = count
    return base if count == 1 else f"{base}_{count}"


def _read_part_c(sheet_path: Path, report: Report) -> ReadResult:
    table = load_table(sheet_path, ("casme3-C",), first_header_cells=("sub", "Subject"))
    columns = {
        "subject": table.column("sub", "Subject"),
        "count": table.column("count"),
        "onset": table.column("onset"),
        "offset": table.column("offset"),
        "aus": table.column("au"),
        "emotion": table.column("emotion"),
    }
    first_rows = FirstRows(report, ignore=("subject", "count"))
    records: list[SampleRecord] = []
    for row, cells in table.records(columns):
        number = cell_int(cells["subject"])
        subject = f"sub{number:02d}" if number is not None else text_or_blank(cells["subject"])
        clip_id = text_or_blank(cells["count"])
        if clip_id and not first_rows.first(row, f"{subject}/{clip_id}", cells):
            continue
        record = build_record(
            report,
            row=row,
            subject=subject,
            clip_id=clip_id,
            onset=cells["onset"],
            apex=None,
            offset=cells["offset"],
            au_cell=cells["aus"],
            emotion=cells["emotion"],
            emotions=EMOTIONS_C,
            extra={"part": "C"},
            apex_column=False,
        )
        if record is not None:
            records.append(record)
    return report.result(records)
