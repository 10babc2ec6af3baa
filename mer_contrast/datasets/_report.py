"""Bookkeeping shared by the readers: skipped rows, warnings, and turning one row into a record.

A bad row never crashes a read (two rows giving one clip two labels do): :meth:`Report.skip` logs
ONE warning line on the ``mer_contrast.datasets`` logger and records a :class:`SkippedRow` (or raises
:class:`DatasetStrictError` with ``strict=True``). Softer problems (apex outside the clip, frames that
disagree with the sheet, an empty or malformed AU cell) go through :meth:`Report.warn` and keep the
row. :class:`FirstRows` reads each clip once: a repeated row is skipped, a repeat with another label is
a :class:`DuplicateClipError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from mer_contrast.datasets._table import cell_int, cell_text, is_blank
from mer_contrast.datasets.aus import au_cell_problem, parse_aus
from mer_contrast.datasets.errors import (
    AUParseError,
    DatasetNotFoundError,
    DatasetStrictError,
    DuplicateClipError,
)
from mer_contrast.datasets.records import ReadResult, SampleRecord, SkippedRow

logger = logging.getLogger("mer_contrast.datasets")


class Report:
    """Collects what a reader skipped and warned about while reading ``sheet``."""

    def __init__(self, dataset: str, sheet: Path, *, strict: bool = False, quiet: bool = False) -> None:
        self.dataset = dataset
        self.sheet = sheet
        self.strict = strict
        self.quiet = quiet
        self.skipped: list[SkippedRow] = []
        self.warnings: list[str] = []
        self.warnings_by_clip: dict[str, list[str]] = {}
        self.frames_found = 0
        self.frames_expected = 0

    def skip(self, row: int, reason: str, clip: str = "", *, log: bool = True) -> None:
        """Record a skipped row (raise instead when strict); ``log=False`` when the caller logs a summary."""
        if self.strict:
            raise DatasetStrictError(self.sheet, row, reason, clip)
        self.skipped.append(SkippedRow(row=row, reason=reason, clip=clip))
        if log and not self.quiet:
            where = f"row {row}" + (f" ({clip})" if clip else "")
            logger.warning("%s: %s: %s: skipped: %s", self.dataset, self.sheet.name, where, reason)

    def warn(self, message: str, clip: str = "") -> None:
        """Record (and log) a problem that does not drop the row."""
        text = f"{clip}: {message}" if clip else message
        self.warnings.append(text)
        self.warnings_by_clip.setdefault(clip, []).append(text)
        if not self.quiet:
            logger.warning("%s: %s", self.dataset, text)

    def warn_row(self, row: int, message: str, clip: str = "") -> None:
        """:meth:`warn` naming the sheet and row (``CASME2-coding-20140508.xlsx row 7: ...``)."""
        self.warn(f"{self.sheet.name} row {row}: {message}", clip)

    def result(self, records: list[SampleRecord]) -> ReadResult:
        return ReadResult(
            records=records,
            skipped=list(self.skipped),
            frames_found=self.frames_found,
            frames_expected=self.frames_expected,
            warnings=list(self.warnings),
        )


def build_record(
    report: Report,
    *,
    row: int,
    subject: str,
    clip_id: str,
    onset: object,
    apex: object,
    offset: object,
    au_cell: object,
    emotion: object,
    emotions: frozenset[str],
    extra: dict[str, str] | None = None,
    apex_column: bool = True,
) -> SampleRecord | None:
    """Validate one sheet row and build its record (without frames); None when the row is skipped.

    ``emotion`` is normalised to stripped lower case and must be one of ``emotions``. An apex that is
    blank (an empty cell, or a formula the workbook holds no saved value for), a formula, written as
    missing (``/``, ``-1``) or outside ``[onset, offset]`` becomes None with a warning naming the sheet
    row and the frame used instead (the middle one); ``apex_column=False`` (a sheet with no apex
    column, CAS(ME)^3 Part C) takes a blank apex silently.
    """
    clip = f"{subject}/{clip_id}"
    if not subject or not clip_id:
        report.skip(row, "missing subject or clip name", clip)
        return None
    first = cell_int(onset)
    last = cell_int(offset)
    if first is None or last is None:
        report.skip(
            row, f"onset/offset {cell_text(onset)!r}/{cell_text(offset)!r} are not frame numbers", clip
        )
        return None
    if last < first:
        report.skip(row, f"offset {last} is before onset {first}", clip)
        return None
    label = cell_text(emotion).lower()
    if label not in emotions:
        reason = "missing emotion" if not label else f"unknown emotion {cell_text(emotion)!r}"
        report.skip(row, reason, clip)
        return None
    try:
        aus = parse_aus(au_cell)
    except AUParseError as error:
        report.skip(row, str(error), clip)
        return None
    problem = au_cell_problem(au_cell)
    if problem:
        report.warn_row(row, problem, clip)
    peak = cell_int(apex)
    if (is_blank(apex) and apex_column) or (
        not is_blank(apex) and (peak is None or not first <= peak <= last)
    ):
        report.warn_row(
            row,
            f"{_apex_problem(apex, first, last)}: the middle frame {first + (last - first) // 2} is used as "
            "the apex; write the apex frame number into the cell",
            clip,
        )
    if peak is not None and not first <= peak <= last:
        peak = None
    return SampleRecord(
        dataset=report.dataset,
        subject=subject,
        clip_id=clip_id,
        onset=first,
        apex=peak,
        offset=last,
        aus=aus,
        au_raw=cell_text(au_cell),
        emotion=label,
        row=row,
        extra=dict(extra or {}),
    )


def _apex_problem(apex: object, first: int, last: int) -> str:
    """What is wrong with an apex cell that gives no frame of ``first..last``."""
    text = cell_text(apex)
    if is_blank(apex):
        return "apex cell is empty (or a formula with no saved value)"
    if text.startswith("="):
        return f"apex cell holds the formula {text!r}, not a frame number"
    number = cell_int(apex)
    if number is None or number < 0 or text in ("/", "-"):
        return f"apex {text!r} is marked missing or is not a frame number"
    return f"apex {text!r} is outside onset..offset {first}-{last}"


class FirstRows:
    """Remembers the first row of each clip of a sheet, so a clip is read once.

    A repeat with the same label is skipped (reported with both row numbers); a repeat with another
    label raises :class:`DuplicateClipError`, since which row is right cannot be guessed.
    """

    def __init__(self, report: Report, label: str = "emotion", ignore: tuple[str, ...] = ()) -> None:
        self.report = report
        self.label = label
        self.ignore = frozenset(ignore)
        self._first: dict[str, tuple[int, dict[str, str]]] = {}

    def first(self, row: int, clip: str, cells: Mapping[str, object], key: str = "") -> bool:
        """True for the first row of ``clip`` (identified by ``key``, default ``clip``), else False."""
        key = key or clip
        values = {name: cell_text(cell) for name, cell in cells.items() if name not in self.ignore}
        seen = self._first.setdefault(key, (row, values))
        if seen[0] == row:
            return True
        first_row, first_values = seen
        labels = (first_values.get(self.label, ""), values.get(self.label, ""))
        if labels[0].lower() != labels[1].lower():
            raise DuplicateClipError(self.report.sheet, (first_row, row), clip, labels)
        differ = [
            f"{name} {first_values.get(name, '')!r} vs {value!r}"
            for name, value in values.items()
            if value != first_values.get(name, "")
        ]
        if differ:
            reason = (
                f"clip already annotated in row {first_row}, with a different {'; '.join(differ[:3])}: "
                f"kept row {first_row}; delete or fix row {row}"
            )
        else:
            reason = f"duplicate of row {first_row} (same clip, same cells): delete row {row}"
        self.report.skip(row, reason, clip)
        return False


def with_extra(record: SampleRecord, **values: str) -> SampleRecord:
    """Copy of ``record`` with ``values`` added to ``extra``."""
    return replace(record, extra={**record.extra, **values})


def find_sheet(dataset: str, root: Path, names: tuple[str, ...]) -> Path:
    """The first of ``names`` present in ``root``; DatasetNotFoundError listing them otherwise."""
    if not root.is_dir():
        raise DatasetNotFoundError(dataset, f"the dataset folder {root}")
    for name in names:
        if (root / name).is_file():
            return root / name
    raise DatasetNotFoundError(dataset, "the annotation sheet " + " or ".join(names), root)


def check_root(dataset: str, root: Path | None) -> Path | None:
    """``root`` as a Path (None stays None); DatasetNotFoundError when it is not a folder."""
    if root is None:
        return None
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(dataset, f"the dataset folder {root}")
    return root


def check_sheet(dataset: str, sheet: Path) -> Path:
    if not sheet.is_file():
        raise DatasetNotFoundError(dataset, f"the annotation sheet {sheet.name}", sheet.parent)
    return sheet


def text_or_blank(cell: object) -> str:
    """Cell text for id columns ("" for blank cells)."""
    return "" if is_blank(cell) else cell_text(cell)


def record_from_cells(
    report: Report,
    row: int,
    cells: Mapping[str, object],
    *,
    subject: str,
    clip_id: str,
    emotions: frozenset[str],
    extra: dict[str, str] | None = None,
) -> SampleRecord | None:
    """:func:`build_record` from a sheet row read with the standard column keys.

    ``cells`` holds ``onset``, ``apex``, ``offset``, ``aus`` and ``emotion``, and optionally
    ``objective`` (the sheet's objective class, kept as ``extra["objective_class"]``).
    """
    extra = dict(extra or {})
    if cells.get("objective") is not None:
        extra["objective_class"] = cell_text(cells["objective"])
    return build_record(
        report,
        row=row,
        subject=subject,
        clip_id=clip_id,
        onset=cells["onset"],
        apex=cells["apex"],
        offset=cells["offset"],
        au_cell=cells["aus"],
        emotion=cells["emotion"],
        emotions=emotions,
        extra=extra,
    )
