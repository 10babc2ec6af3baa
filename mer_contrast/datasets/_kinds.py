"""Which database an annotation sheet belongs to, told from its column names.

Each reader accepts only its own kinds of sheet: a SAMM or MMEW sheet given to the CASME II reader
is refused with one line saying what it looks like, instead of being read as CASME II (their column
names normalise to the same keys, so it would be). :data:`SHEET_KINDS` is the one table of signature
columns. CASME II and MMEW share every required column, and MMEW's only extra one (``remarks``) may
have been deleted, so when the columns leave more than one kind the ``Filename`` values decide
(``EP02_01f`` vs ``S01-01-001``); a sheet that fits no kind, or fits several equally, is left to the
reader's own column checks.

SMIC-HS has no sheet at all (labels are folder names): :func:`refuse_other_folder` tells a folder that
holds another database's sheet (``--dataset smic`` pointed at a CASME II root) by that sheet's file
name.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from mer_contrast.datasets._table import (
    Table,
    cell_text,
    header_row,
    is_blank,
    normalise_name,
    read_sheets,
    split_table,
)
from mer_contrast.datasets.errors import WrongSheetError

Rows = Sequence[tuple[object, ...]]


@dataclass(frozen=True)
class SheetKind:
    """The signature of one kind of annotation sheet.

    Attributes:
        key: kind id (readers list the kinds they accept).
        title: what the sheet is, for messages.
        columns: columns its header always has (compared normalised, see ``normalise_name``).
        marks: columns no other kind has; any of them present identifies the kind.
        clip_names: regex the start of its ``Filename`` values match (decides between kinds whose
            columns are shared).
        read_as: how to read it, for messages.
        file: the file name it is shipped as, for messages.
    """

    key: str
    title: str
    columns: tuple[str, ...]
    marks: tuple[str, ...] = ()
    clip_names: str = ""
    read_as: str = ""
    file: str = ""


_CASME2_COLUMNS = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units")

#: Every sheet kind the readers know (dataset notes §1.3, §1.5, §2.3, §3.1, §4, §5).
SHEET_KINDS: tuple[SheetKind, ...] = (
    SheetKind(
        "casme2",
        "a CASME II coding sheet",
        (*_CASME2_COLUMNS, "Estimated Emotion"),
        clip_names=r"EP\d",
        read_as="dataset 'casme2'",
        file="CASME2-coding-20140508.xlsx",
    ),
    SheetKind(
        "casme2-bob",
        "bob.db.casme2's CASME II annotations.csv",
        ("subject", "filename", "onset", "apex", "offset", "action_units", "emotion"),
        marks=("gender",),
        clip_names=r"EP\d",
        read_as="dataset 'casme2'",
        file="annotations.csv",
    ),
    SheetKind(
        "mmew",
        "the MMEW micro-expression sheet",
        (*_CASME2_COLUMNS, "Estimated Emotion"),
        marks=("remarks",),
        clip_names=r"S\d+-\d+-\d+",
        read_as="dataset 'mmew'",
        file="MMEW_Micro_Exp.xlsx",
    ),
    SheetKind(
        "samm",
        "the SAMM coding sheet",
        ("Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Action Units"),
        marks=("Inducement Code", "Duration", "Micro", "Notes"),
        clip_names=r"\d+_\d+_\d+",
        read_as="dataset 'samm'",
        file="SAMM_Micro_FACS_Codes_v2.xlsx",
    ),
    SheetKind(
        "casme3-A",
        "the CAS(ME)^3 Part A label sheet",
        ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "emotion"),
        marks=("Objective class",),
        clip_names=r"[A-Za-z]$",
        read_as="dataset 'casme3', part='A'",
        file="cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
    ),
    SheetKind(
        "casme3-C",
        "the CAS(ME)^3 Part C sheet",
        ("sub", "count", "onset", "offset", "au", "emotion"),
        marks=("sub", "count"),
        read_as="dataset 'casme3', part='C'",
        file="CAS(ME)3_part_C_ME.xlsx",
    ),
    SheetKind(
        "megc2019",
        "the MEGC2019 ground truth",
        (),
        read_as="dataset 'megc2019'",
        file="combined_3class_gt.csv",
    ),
)
KINDS: dict[str, SheetKind] = {kind.key: kind for kind in SHEET_KINDS}
#: First cells of a MEGC2019 ground-truth line (it has no header).
MEGC_DATABASES = frozenset({"casme2", "samm", "smic"})
_HEADER_FIRST_CELLS = frozenset({"subject", "sub"})
_ID_COLUMNS = frozenset({"subject", "sub", "filename"})
_NAMES_CHECKED = 50  # Filename values looked at; the sheets are consistent, a few dozen decide


def identify(rows: Rows) -> tuple[SheetKind, str] | None:
    """The kind of sheet ``rows`` are and the evidence (``"it has the column 'remarks'"``), or None."""
    index = header_row(rows, _HEADER_FIRST_CELLS)
    if index is not None:
        return _identify_header(rows[index], rows[index + 1 :])
    first = next((row for row in rows if any(not is_blank(cell) for cell in row)), None)
    if first is not None and len(first) >= 4 and cell_text(first[0]).lower() in MEGC_DATABASES:
        line = ",".join(cell_text(cell) for cell in first[:4])
        return KINDS["megc2019"], f"its rows look like {line!r}"
    return None


def _identify_header(header: tuple[object, ...], data: Rows) -> tuple[SheetKind, str] | None:
    names = {normalise_name(cell): cell_text(cell) for cell in header if not is_blank(cell)}
    fits = [
        kind for kind in SHEET_KINDS if kind.columns and all(normalise_name(c) in names for c in kind.columns)
    ]
    marked = {
        kind.key: [names[normalise_name(m)] for m in kind.marks if normalise_name(m) in names]
        for kind in fits
    }
    most = max((len(found) for found in marked.values()), default=0)
    best = [kind for kind in fits if most and len(marked[kind.key]) == most]
    if len(best) == 1:
        found = marked[best[0].key]
        plural = "s" if len(found) > 1 else ""
        return best[0], f"it has the column{plural} {', '.join(repr(name) for name in found)}"
    if len(fits) == 1:
        shown = [names[normalise_name(c)] for c in fits[0].columns if normalise_name(c) not in _ID_COLUMNS]
        return fits[0], f"it has the columns {', '.join(repr(name) for name in shown[:4])}"
    column = next((i for i, cell in enumerate(header) if normalise_name(cell) == "filename"), None)
    if column is None or not fits:
        return None
    clips = [cell_text(row[column]) for row in data if column < len(row) and not is_blank(row[column])]
    clips = clips[:_NAMES_CHECKED]
    votes = {
        kind.key: sum(bool(re.match(kind.clip_names, clip, re.IGNORECASE)) for clip in clips)
        for kind in fits
        if kind.clip_names
    }
    top = max(votes.values(), default=0)
    winners = [key for key, count in votes.items() if count == top]
    if 2 * top <= len(clips) or len(winners) != 1:
        return None
    example = next(clip for clip in clips if re.match(KINDS[winners[0]].clip_names, clip, re.IGNORECASE))
    return KINDS[winners[0]], f"its Filename values look like {example!r}"


def refuse_other_kinds(path: Path, sheets: Sequence[Rows], accept: Collection[str]) -> None:
    """Raise :class:`WrongSheetError` when no worksheet is an ``accept`` kind and one is another kind."""
    other: tuple[SheetKind, str] | None = None
    for rows in sheets:
        found = identify(rows)
        if found is not None and found[0].key in accept:
            return
        other = other or found
    if other is not None:
        kind, evidence = other
        wanted = KINDS[next(iter(accept))]
        raise WrongSheetError(
            path,
            f"this looks like {kind.title} ({evidence}), not {wanted.title} ({wanted.file}): read it with "
            f"{kind.read_as} instead",
            kind.key,
        )


def sheet_in_folder(folder: Path) -> SheetKind | None:
    """The kind of the known sheet file (:attr:`SheetKind.file`) lying in ``folder``, if any."""
    for kind in SHEET_KINDS:
        if kind.file and (folder / kind.file).is_file():
            return kind
    return None


def refuse_other_folder(folder: Path, title: str, layout: str) -> None:
    """Raise :class:`WrongSheetError` when ``folder`` holds another database's sheet.

    For sheet-less readers (SMIC-HS) whose own tree was not found in ``folder``: ``title`` and
    ``layout`` say what was wanted (``SMIC-HS``, ``HS/<subject>/micro/<emotion>/<clip>/``).
    """
    kind = sheet_in_folder(folder)
    if kind is not None:
        raise WrongSheetError(
            folder,
            f"this folder holds {kind.file}, so it looks like {kind.title}'s folder, not {title} "
            f"({layout}): read it with {kind.read_as} instead",
            kind.key,
        )


def load_table(
    path: Path, accept: Collection[str], first_header_cells: Sequence[str] = ("Subject",)
) -> Table:
    """:func:`._table.load_table`, refusing another database's sheet (see :func:`refuse_other_kinds`)."""
    sheets = read_sheets(path)
    refuse_other_kinds(path, sheets, accept)
    return split_table(path, sheets, first_header_cells)
