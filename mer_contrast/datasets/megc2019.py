"""MEGC2019 composite (CDE) reader: ``combined_3class_gt.csv`` joined to the CASME II, SAMM and SMIC readers.

The official ground truth (dataset notes §5) has no header and CRLF line endings; each line is
``database, subject, video, class`` with class 0 negative, 1 positive, 2 surprise. Subject ids are
written differently per database (``sub01``, ``6`` for SAMM folder ``006``, ``s01``), so records get
ids unique across databases: ``casme2/sub01``, ``samm/006``, ``smic/s01``; ``SampleRecord.dataset`` is
the source database.

With ``root`` (``root/combined_3class_gt.csv`` plus ``root/CASME2/``, ``root/SAMM/`` and ``root/SMIC/`` in
their own layouts, sheets included; ``SMIC/`` is SMIC-HS as released: ``SMIC/SMIC_all_cropped/HS/``,
``SMIC/HS/`` or ``SMIC/`` being ``HS``, see :mod:`.smic`) each row is joined to the source reader's
record for onset/apex/offset, AUs and frames. SMIC folders ``s1``/``s1_ne_01`` join the ground truth's
``s01``/``s01_ne_01``; SMIC records have no apex (middle frame) and no AUs. With all three databases:
442 records, 68 subjects (LOSO folds). A missing database folder skips that database's rows, with
the reason. With ``sheet`` only, records have no frames, onset/offset 0 and no AUs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

from mer_contrast.datasets import casme2, samm, smic
from mer_contrast.datasets._frames import child_dir
from mer_contrast.datasets._kinds import refuse_other_kinds
from mer_contrast.datasets._reader import open_sheet
from mer_contrast.datasets._report import FirstRows, Report, logger
from mer_contrast.datasets._table import cell_int, cell_text, read_rows
from mer_contrast.datasets.records import ReadResult, SampleRecord

DATASET = "megc2019"
SHEETS = ("combined_3class_gt.csv",)
CLASSES = ("negative", "positive", "surprise")
#: Source database -> its folder under ``root``.
SOURCE_FOLDERS = {"casme2": "CASME2", "samm": "SAMM", "smic": "SMIC"}
#: Source database -> its name in skip reasons.
SOURCE_TITLES = {"casme2": "CASME II", "samm": "SAMM", "smic": "SMIC"}
SMIC_LAYOUT = "SMIC/SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/ or SMIC/HS/s1/..."


def subject_id(database: str, cell: object) -> str:
    """Subject id unique across the composite: ``casme2/sub01``, ``samm/006``, ``smic/s01``."""
    if database == "casme2":
        return f"casme2/{casme2.subject_id(cell)}"
    if database == "samm":
        return f"samm/{samm.subject_id(cell)}"
    if database == "smic":
        return f"smic/{smic.subject_id(cell_text(cell))}"
    return f"{database}/{cell_text(cell).lower()}"


def read(
    root: Path | None = None,
    sheet: Path | None = None,
    *,
    strict: bool = False,
    frames: casme2.FrameSource = "auto",
    quiet: bool = False,
) -> ReadResult:
    """Read the MEGC2019 composite.

    Args:
        root: folder holding ``combined_3class_gt.csv`` and the ``CASME2/``, ``SAMM/``, ``SMIC/`` database
            folders.
        sheet: explicit ground-truth CSV; alone, records carry labels only (no frames).
        strict: raise instead of skipping a bad (or unjoinable) row.
        frames: which CASME II frames to use (``auto``/``cropped``/``raw``, see :mod:`.casme2`); SMIC
            uses its cropped tree when present (``auto`` of :mod:`.smic`).
        quiet: do not log warnings (they are still returned).
    """
    root, sheet_path = open_sheet(DATASET, root, sheet, SHEETS, "the ground-truth CSV")
    report = Report(DATASET, sheet_path, strict=strict, quiet=quiet)

    rows = read_rows(sheet_path)
    refuse_other_kinds(sheet_path, [rows], ("megc2019",))
    first_rows = FirstRows(report, label="class")
    entries: list[tuple[int, str, str, str, str]] = []  # row, database, subject, video, class name
    for row, cells in enumerate(rows, start=1):
        values = [cell_text(cell) for cell in cells]
        if not any(values):
            continue
        if len(values) < 4:
            report.skip(row, f"expected 4 fields (database, subject, video, class), got {len(values)}")
            continue
        database, video = values[0].lower(), values[2]
        if database == "smic":
            video = smic.clip_id(video)  # s1_ne_01 -> s01_ne_01, as the subject id
        label = cell_int(values[3])
        clip = f"{database}/{values[1]}/{video}"
        if database not in SOURCE_FOLDERS:
            report.skip(row, f"unknown database {values[0]!r}", clip)
        elif label is None or not 0 <= label < len(CLASSES):
            report.skip(row, f"unknown class {values[3]!r} (expected 0, 1 or 2)", clip)
        else:
            subject = subject_id(database, values[1])
            if first_rows.first(row, clip, {"class": CLASSES[label]}, key=f"{subject}/{video}"):
                entries.append((row, database, subject, video, CLASSES[label]))

    if root is None:
        records = [
            SampleRecord(
                dataset=database,
                subject=subject,
                clip_id=video,
                onset=0,
                apex=None,
                offset=0,
                aus=(),
                au_raw="",
                emotion=label,
                row=row,
            )
            for row, database, subject, video, label in entries
        ]
        return report.result(records)
    return _join(root, entries, report, frames)


def _join(
    root: Path, entries: list[tuple[int, str, str, str, str]], report: Report, frames: casme2.FrameSource
) -> ReadResult:
    """Join each ground-truth row to the record of its source database's reader."""
    sources: dict[str, ReadResult | str] = {}  # database -> its read, or why its rows are skipped
    for database in dict.fromkeys(entry[1] for entry in entries):
        folder = child_dir(root, SOURCE_FOLDERS[database])
        if folder is None:
            reason = f"database folder {SOURCE_FOLDERS[database]}/ not found in {root}"
            if database == "smic":
                reason += f": put SMIC-HS in {root / 'SMIC'} ({SMIC_LAYOUT}) to join its rows"
            sources[database] = reason
        elif database == "casme2":
            sources[database] = casme2.read(folder, frames=frames, quiet=True)
        elif database == "smic":
            sources[database] = smic.read(folder, quiet=True)
        else:
            sources[database] = samm.read(folder, quiet=True)

    by_key = {
        (database, f"{database}/{record.key}"): record
        for database, source in sources.items()
        if isinstance(source, ReadResult)
        for record in source.records
    }
    why_skipped = {
        (database, f"{database}/{skipped.clip}"): skipped.reason
        for database, source in sources.items()
        if isinstance(source, ReadResult)
        for skipped in source.skipped
    }
    group_skips: Counter[str] = Counter()
    records: list[SampleRecord] = []
    for row, database, subject, video, label in entries:
        key = f"{subject}/{video}"
        source = sources[database]
        if isinstance(source, str):
            report.skip(row, source, key, log=False)
            group_skips[source] += 1
            continue
        found = by_key.get((database, key))
        if found is None:
            title = SOURCE_TITLES[database]
            missing = f"not in the {title} sheet"
            if database == "smic":
                unpadded = re.sub(r"^s0+(?=\d)", "s", video)
                where = "under HS/<subject>/micro/<emotion>/"
                missing = f"not in the SMIC-HS tree (no folder {unpadded} or {video} {where})"
            reason = why_skipped.get((database, key), missing)
            report.skip(row, f"{title}: {reason}", key)
            continue
        for message in source.warnings:
            if message.startswith(f"{found.key}: "):
                report.warn(message.split(": ", 1)[1], key)
        report.frames_found += len(found.frames)
        report.frames_expected += found.offset - found.onset + 1
        records.append(
            replace(
                found,
                subject=subject,
                emotion=label,
                row=row,
                extra={**found.extra, "source_emotion": found.emotion, "source_row": str(found.row)},
            )
        )
    for reason, count in group_skips.items():
        if not report.quiet:
            logger.warning("%s: %s: %d rows skipped: %s", DATASET, report.sheet.name, count, reason)
    return report.result(records)
