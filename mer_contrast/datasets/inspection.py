"""What a dataset on disk gives under a class protocol (the library of ``mer-contrast inspect``).

:func:`summarize`: samples per class and per subject, the rows skipped (by the reader or by the
protocol) and why, and frames found vs expected; :func:`print_tables` renders it. From the shell:
``mer-contrast inspect --dataset casme2 --root /data/CASME2``.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from mer_contrast.datasets import SHEETLESS, read_dataset
from mer_contrast.datasets.errors import (
    AUParseError,
    DatasetNotFoundError,
    DatasetStrictError,
    SheetFormatError,
)
from mer_contrast.datasets.protocols import (
    DEFAULT_PROTOCOL,
    PROTOCOLS,
    ClassProtocol,
    apply_protocol,
    get_protocol,
    list_protocols,
)
from mer_contrast.datasets.records import ReadResult, natural_key

#: Errors reported as one line with exit code 2 (no traceback).
USER_ERRORS = (DatasetNotFoundError, SheetFormatError, DatasetStrictError, AUParseError, ValueError, OSError)


def summarize(
    dataset: str,
    root: Path | str | None = None,
    sheet: Path | str | None = None,
    protocol: str | None = None,
    strict: bool = False,
    **options: object,
) -> dict[str, Any]:
    """Read ``dataset`` and summarise it under ``protocol`` (default: ``DEFAULT_PROTOCOL[dataset]``).

    Returns ``{"dataset", "protocol", "classes", "total", "per_class", "per_subject", "subjects",
    "rows", "skipped": [{"row", "reason", "clip", "stage"}], "frames_read", "frames_found",
    "frames_expected", "warnings"}``; ``per_class`` is in protocol order, ``stage`` is ``reader`` or
    ``protocol``.
    """
    options.setdefault("quiet", True)  # warnings are returned in the summary instead of logged
    result = read_dataset(dataset, root, sheet, strict=strict, **options)
    return summary_of(dataset, result, protocol, frames_read=root is not None)


def summary_of(
    dataset: str, result: ReadResult, protocol: str | None = None, frames_read: bool = True
) -> dict[str, Any]:
    """The :func:`summarize` dict of a sheet already read (``result`` of :func:`read_dataset`)."""
    chosen = get_protocol(protocol or DEFAULT_PROTOCOL[dataset])
    labelled, dropped = apply_protocol(result, chosen)
    per_class = Counter(chosen.classes[label] for _, label in labelled)
    per_subject = Counter(record.subject for record, _ in labelled)
    dropped_records = [record for record in result.records if chosen.label_of(record.emotion) is None]
    skipped = [
        {"row": row.row, "reason": row.reason, "clip": row.clip, "stage": stage}
        for stage, rows in (("reader", result.skipped), ("protocol", dropped))
        for row in rows
    ]
    return {
        "dataset": dataset,
        "protocol": chosen.name,
        "classes": list(chosen.classes),
        "total": len(labelled),
        "per_class": {name: per_class.get(name, 0) for name in chosen.classes},
        "per_subject": {name: per_subject[name] for name in sorted(per_subject, key=natural_key)},
        "subjects": len(per_subject),
        "rows": len(result.records) + len(result.skipped),
        "skipped": skipped,
        "frames_read": frames_read,
        "frames_found": result.frames_found,
        "frames_expected": result.frames_expected,
        "warnings": list(result.warnings),
        "protocol_dropped": dict(Counter(r.emotion.strip() for r in dropped_records).most_common()),
        "fitting_protocol": fitting_protocol(dataset, result, chosen, len(labelled)),
    }


def fitting_protocol(
    dataset: str, result: ReadResult, chosen: ClassProtocol, kept: int
) -> tuple[str, int, int] | None:
    """A protocol of ``dataset`` that fits its labels when ``chosen`` does not: its name, the clips it
    keeps and the clips there are.

    ``chosen`` does not fit when it was written for another database (a SAMM protocol on CASME II
    data) or keeps fewer than half of the clips; the protocol of ``dataset`` that keeps the most (its
    default first) is then named, if it keeps more. None otherwise (a protocol that leaves out a few
    emotions by design, as casme2-3class does, is not second-guessed).
    """
    total = len(result.records)
    foreign = chosen.dataset not in (dataset, "custom")
    if not total or not (foreign or 2 * kept < total):
        return None
    candidates = [DEFAULT_PROTOCOL.get(dataset, ""), *list_protocols(dataset)]
    counts = {
        name: sum(PROTOCOLS[name].label_of(r.emotion) is not None for r in result.records)
        for name in dict.fromkeys(candidates)
        if name in PROTOCOLS
    }
    if not counts:
        return None
    best = max(counts, key=lambda name: counts[name])  # the first of the most: the default on a tie
    return (best, counts[best], total) if counts[best] > kept else None


def kept_line(
    summary: dict[str, Any], not_prepared: int = 0, root: Path | str | None = None, shown: int = 3
) -> str:
    """``casme2: 245 clips kept, 10 dropped (9 emotion not in protocol casme2-5class, 1 ...)``, one line.

    ``summary`` is a :func:`summarize` result; ``not_prepared`` clips passed the protocol but have no
    prepared clip (their frames failed in ``prepare_data``), so they are dropped too; ``root`` goes
    into the ``inspect`` command the line ends with. The ``shown`` commonest reasons are listed,
    without their variable parts (names, numbers, paths).
    """
    kinds = Counter(_short_reason(item["reason"]) for item in summary["skipped"])
    if not_prepared:
        kinds["failed to prepare as warned above"] += not_prepared
    line = f"{summary['dataset']}: {summary['total'] - not_prepared} clips kept, {kinds.total()} dropped"
    if not kinds:
        return line
    parts = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common(shown))
    line += f" ({parts}{', ...' if len(kinds) > shown else ''})"
    labels = list((summary.get("protocol_dropped") or {}).items())
    if labels:
        named = ", ".join(f"{label or '(empty)'} {count}" for label, count in labels[: shown + 2])
        line += f"; not in {summary['protocol']}: {named}{', ...' if len(labels) > shown + 2 else ''}"
    if summary.get("fitting_protocol"):
        name, count, total = summary["fitting_protocol"]
        line += f"; protocol {name} fits this data (keeps {'all ' if count == total else ''}{count} clips)"
    if not summary["skipped"]:  # inspect reads no frames: it cannot list prepare failures
        return line
    command = f"mer-contrast inspect --dataset {summary['dataset']}" + (f" --root {root}" if root else "")
    return f"{line}; `{command}` lists them"


_printed: set[str] = set()


def print_once(line: str) -> None:
    """Print ``line`` on stderr unless this process already did (LOSO folds repeat it verbatim)."""
    if line not in _printed:
        _printed.add(line)
        print(line, file=sys.stderr, flush=True)


def _short_reason(reason: str) -> str:
    """The kind of a skip reason: ``unknown emotion 'Bewilderment'`` -> ``unknown emotion``."""
    source, sep, rest = reason.partition(": ")
    if sep and source in ("CASME II", "SAMM", "SMIC"):  # MEGC2019 rows joined to a source database's reader
        return f"{source} {_short_reason(rest)}"
    text = re.split(r": |, | \(", _reason_kind(reason), maxsplit=1)[0]
    text = re.sub(r"'[^']*'(/'[^']*')*|(?<!\S)[/~]\S*|\b\d+\b", " ", text)  # values, paths, numbers
    return re.sub(r"\s+in$", "", " ".join(text.split())) or reason


def print_tables(summary: dict[str, Any], max_rows: int = 20) -> None:
    """Render a :func:`summarize` result as rich tables on stdout."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    total = summary["total"]
    title = (
        f"{summary['dataset']} under {summary['protocol']}: {total} samples, {summary['subjects']} subjects"
    )
    classes = Table(title=title)
    for column in ("label", "class", "samples", "share"):
        classes.add_column(column, justify="right" if column != "class" else "left")
    for label, (name, count) in enumerate(summary["per_class"].items()):
        classes.add_row(str(label), name, str(count), f"{100 * count / total:.1f}%" if total else "-")
    console.print(classes)

    subjects = Table(title="Samples per subject")
    per_row = 4
    for _ in range(per_row):
        subjects.add_column("subject")
        subjects.add_column("n", justify="right")
    items = list(summary["per_subject"].items())
    for start in range(0, len(items), per_row):
        cells = [str(value) for item in items[start : start + per_row] for value in item]
        subjects.add_row(*cells, *[""] * (2 * per_row - len(cells)))
    console.print(subjects)

    sheetless = summary["dataset"] in SHEETLESS
    if summary["frames_read"]:
        by = "by the clips' first..last frame numbers" if sheetless else "by the sheet"
        console.print(f"Frames: {summary['frames_found']} found, {summary['frames_expected']} expected {by}")
    else:
        console.print("Frames: not read (sheet only; give --root to check the frame folders)")

    skipped = summary["skipped"]
    unit = "Clip folders" if sheetless else "Rows"  # a sheet-less reader's rows are its clip folders
    console.print(f"{unit}: {summary['rows']} read, {len(skipped)} skipped")
    if skipped:
        reasons = Table(title="Skipped rows by reason")
        reasons.add_column("stage")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        grouped = Counter((item["stage"], _reason_kind(item["reason"])) for item in skipped)
        for (stage, reason), count in grouped.most_common():
            reasons.add_row(stage, reason, str(count))
        console.print(reasons)
        detail = Table(title=f"Skipped rows (first {min(max_rows, len(skipped))} of {len(skipped)})")
        for column in ("row", "clip", "stage", "reason"):
            detail.add_column(column)
        for item in skipped[:max_rows]:
            detail.add_row(str(item["row"]), item["clip"], item["stage"], item["reason"])
        console.print(detail)
    if summary["warnings"]:
        console.print(f"Warnings: {len(summary['warnings'])}")
        for message in summary["warnings"][:max_rows]:
            console.print(f"  {message}", markup=False, highlight=False)


def _reason_kind(reason: str) -> str:
    """Group reasons that differ only by a path (``clip folder not found: ...``)."""
    if reason.startswith("clip folder"):
        return reason.split(": ", 1)[0]
    if reason.startswith("no frame of"):
        return "no frame of the clip's range in its video folder"
    return reason
