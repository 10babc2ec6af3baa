"""What the sheet readers share: finding root and sheet, and the one-clip-per-row loop.

Every reader opens the same way (:func:`open_sheet`: a checked root, then the explicit sheet or the
first known one in the root); CASME II, MMEW and SAMM then read one clip per sheet row in the same
way (:func:`read_clip_rows`): a subject and clip id per row, duplicates reported and read once, a record
from the standard columns, its frame folder attached. CAS(ME)^3 (several MEs per video) and MEGC2019
(a join of two databases) keep loops of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from mer_contrast.datasets._frames import FrameAttacher
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
from mer_contrast.datasets.errors import DatasetNotFoundError
from mer_contrast.datasets.records import ReadResult, SampleRecord

SubjectOf = Callable[[object, str], str]  # (Subject cell, clip id) -> subject folder name
FoldersOf = Callable[[SampleRecord], list[Path]]  # where a record's frames may be, in order


def open_sheet(
    dataset: str,
    root: Path | None,
    sheet: Path | None,
    names: tuple[str, ...],
    what: str = "an annotation sheet",
) -> tuple[Path | None, Path]:
    """The checked ``root`` (or None) and the sheet: ``sheet`` if given, else the first of ``names``."""
    root = check_root(dataset, root)
    if sheet is not None:
        return root, check_sheet(dataset, Path(sheet))
    if root is not None:
        return root, find_sheet(dataset, root, names)
    raise DatasetNotFoundError(dataset, f"a root folder or {what} (neither was given)")


def in_subject_folders(frames_dir: Path | None) -> FoldersOf | None:
    """Frames in ``<frames_dir>/<subject>/<clip id>`` (CASME II, SAMM); None (labels only) without one."""
    if frames_dir is None:
        return None
    return lambda record: [frames_dir / record.subject / record.clip_id]


def read_clip_rows(
    dataset: str,
    sheet: Path,
    accepts: Collection[str],
    columns: Mapping[str, tuple[str, ...]],
    *,
    strict: bool,
    quiet: bool,
    emotions: frozenset[str],
    subject_of: SubjectOf,
    folders_of: FoldersOf | None,
    optional: Collection[str] = (),
    extra: dict[str, str] | None = None,
) -> ReadResult:
    """One record per row of a sheet of one of the ``accepts`` kinds (another database's is refused).

    ``columns`` maps the standard fields (``subject``, ``filename``, ``onset``, ``apex``, ``offset``,
    ``aus``, ``emotion``, ``objective``) to the names the field's column may have (the first is the one
    an error names); a field in ``optional`` may have no column. ``folders_of`` lists where a record's
    frames may be (the first existing one is attached; one candidate is attached as it is, so a missing
    folder is reported by name); None reads labels only.
    """
    report = Report(dataset, sheet, strict=strict, quiet=quiet)
    table = load_table(sheet, accepts)
    column_of = {key: table.column(*names, required=key not in optional) for key, names in columns.items()}
    attacher = FrameAttacher(report)
    first_rows = FirstRows(report, ignore=("subject", "filename"))
    records: list[SampleRecord] = []
    for row, cells in table.records(column_of):
        clip_id = text_or_blank(cells["filename"])
        subject = subject_of(cells["subject"], clip_id)
        if clip_id and not first_rows.first(row, f"{subject}/{clip_id}", cells):
            continue
        record = record_from_cells(
            report, row, cells, subject=subject, clip_id=clip_id, emotions=emotions, extra=extra
        )
        if record is not None and folders_of is not None:
            candidates = folders_of(record)
            if len(candidates) == 1:
                record = attacher.attach(record, candidates[0])
            else:
                found = next((folder for folder in candidates if folder.is_dir()), None)
                record = attacher.attach(record, found, tried=" or ".join(str(c) for c in candidates[:2]))
        if record is not None:
            records.append(record)
    return report.result(records)
