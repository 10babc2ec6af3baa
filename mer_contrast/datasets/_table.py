"""Reading annotation sheets (``.xlsx`` or a ``.csv`` export) as rows of raw cell values.

Cells are kept as openpyxl gives them (text stays text: CASME II's Subject ``"01"`` is not turned
into ``1`` as pandas would). The header row is found by scanning for its first cell (SAMM has a
13-row preamble), and columns are looked up by name ignoring case, spaces and underscores, so
``OnsetFrame`` and ``Onset Frame`` are the same column.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mer_contrast.datasets.errors import SheetFileError, SheetFormatError

#: How many leading rows are searched for the header row.
HEADER_SCAN_ROWS = 40


def normalise_name(name: object) -> str:
    """Column-name key: lower case without spaces/underscores (``"Onset Frame"`` -> ``"onsetframe"``)."""
    return re.sub(r"[\s_]+", "", str(name)).lower()


@dataclass
class Table:
    """A sheet's data rows below its header, with 1-based row numbers as a spreadsheet shows them."""

    path: Path
    header: list[str]
    rows: list[tuple[int, tuple[object, ...]]]

    def column(self, *names: str, required: bool = True) -> int | None:
        """Index of the first column matching one of ``names``; SheetFormatError names ``names[0]``."""
        keys = [normalise_name(cell) for cell in self.header]
        for name in names:
            if normalise_name(name) in keys:
                return keys.index(normalise_name(name))
        if required:
            shown = ", ".join(repr(cell) for cell in self.header if cell)
            raise SheetFormatError(self.path, names[0], f"header: {shown}")
        return None

    def records(self, columns: dict[str, int | None]) -> Iterator[tuple[int, dict[str, object]]]:
        """Non-empty rows as ``(row_number, {field: cell})`` for the given field -> column index map."""
        for number, cells in self.rows:
            if all(is_blank(cell) for cell in cells):
                continue
            yield (
                number,
                {
                    field: (cells[index] if index is not None and index < len(cells) else None)
                    for field, index in columns.items()
                },
            )


def read_rows(path: Path) -> list[tuple[object, ...]]:
    """All rows of the first worksheet (or the CSV), cells as stored."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)[0]
    raise SheetFormatError(path, "Subject", f"unsupported sheet type {suffix!r}; save it as .xlsx or .csv")


def load_table(path: Path, first_header_cells: Sequence[str] = ("Subject",)) -> Table:
    """Load the sheet and split it at the header row whose first cell is one of ``first_header_cells``.

    For a workbook every worksheet is tried in order (CAS(ME)^3 keeps its labels in sheet ``label``).
    """
    return split_table(path, read_sheets(path), first_header_cells)


def read_sheets(path: Path) -> list[list[tuple[object, ...]]]:
    """Rows of every worksheet of a workbook (one list for a CSV), cells as stored."""
    return [_read_csv(path)] if path.suffix.lower() == ".csv" else _read_sheets(path)


def split_table(
    path: Path, sheets: list[list[tuple[object, ...]]], first_header_cells: Sequence[str] = ("Subject",)
) -> Table:
    """:func:`load_table` on sheets already read by :func:`read_sheets`."""
    for rows in sheets:
        index = header_row(rows, first_header_cells)
        if index is not None:
            header = ["" if is_blank(cell) else str(cell).strip() for cell in rows[index]]
            data = [(number + 1, rows[number]) for number in range(index + 1, len(rows))]
            return Table(path=path, header=header, rows=data)
    separator = _csv_hint(path)
    if separator:
        raise SheetFileError(path, separator)
    raise SheetFormatError(path, first_header_cells[0], "no header row starting with it")


def _csv_hint(path: Path) -> str:
    """For a CSV whose first line is split by ';' (or a tab) rather than ',': what it is and the fix."""
    if path.suffix.lower() != ".csv":
        return ""
    with path.open("rb") as handle:
        first = handle.readline(4096).decode("latin-1")
    for separator, name in ((";", "';'"), ("\t", "tabs")):
        if first.count(separator) > max(first.count(","), 0):
            return (
                f"looks separated by {name}, not commas (no header row found; a spreadsheet's export in a "
                "locale that writes decimal commas?): export it again as comma-separated CSV, or save it "
                "as .xlsx"
            )
    return ""


def _check_workbook(path: Path) -> None:
    """Say what the file is when it cannot be a workbook, before anything looks for columns in it."""
    import zipfile

    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise SheetFileError(
            path, f"cannot read the sheet ({error.strerror}): check its permissions"
        ) from None
    fix = "save the annotation sheet again from Excel as .xlsx (or export it as .csv)"
    if size == 0:
        raise SheetFileError(path, f"is empty (0 bytes), not an Excel workbook: {fix}")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        what = "an old Excel 97-2003 .xls file (or another OLE document) with a .xlsx name"
        raise SheetFileError(path, f"is not an Excel workbook: it is {what}; {fix}")
    if not zipfile.is_zipfile(path):
        text = all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head)
        what = "text (a CSV or TSV export with a .xlsx name?)" if text else f"{size} bytes of something else"
        reason = f"is not an Excel workbook (an .xlsx is a zip archive; this is {what}): {fix}"
        raise SheetFileError(path, reason)


def header_row(rows: Sequence[Sequence[object]], first_header_cells: Iterable[str]) -> int | None:
    """Index of the header: the first of the top :data:`HEADER_SCAN_ROWS` rows whose first cell is one
    of ``first_header_cells`` (compared by :func:`normalise_name`; SAMM's sits below a 13-row preamble).
    """
    wanted = {normalise_name(cell) for cell in first_header_cells}
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if row and not is_blank(row[0]) and normalise_name(row[0]) in wanted:
            return index
    return None


def _read_sheets(path: Path) -> list[list[tuple[object, ...]]]:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm"):
        raise SheetFormatError(
            path, "Subject", f"unsupported sheet type {suffix!r}; save it as .xlsx or .csv"
        )
    return _read_xlsx(path)


def _read_xlsx(path: Path) -> list[list[tuple[object, ...]]]:
    import openpyxl  # imported lazily: only sheet reading needs it

    _check_workbook(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several unrelated types for a corrupt file
        reason = " ".join(str(error).split()) or type(error).__name__
        raise SheetFileError(
            path, f"cannot be opened as an Excel workbook ({reason}): save it again from Excel as .xlsx"
        ) from error
    try:
        return [list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets]
    finally:
        workbook.close()


def _read_csv(path: Path) -> list[tuple[object, ...]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    # Empty CSV cells become None, like empty spreadsheet cells.
    return [tuple(cell if cell != "" else None for cell in row) for row in csv.reader(text.splitlines())]


def is_blank(cell: object) -> bool:
    """True for an empty cell (None, NaN or whitespace-only text)."""
    if cell is None:
        return True
    if isinstance(cell, float) and math.isnan(cell):
        return True
    return isinstance(cell, str) and not cell.strip()


def cell_text(cell: object) -> str:
    """A cell as stripped text; whole floats lose their ``.0`` (``12.0`` -> ``"12"``)."""
    if is_blank(cell):
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def cell_int(cell: object) -> int | None:
    """A frame number from an int, a whole float or text (``"355"``); None when it is not one."""
    if isinstance(cell, bool) or is_blank(cell):
        return None
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        return int(cell) if cell.is_integer() else None
    text = str(cell).strip()
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?\d+\.0*", text):
        return int(float(text))
    return None
