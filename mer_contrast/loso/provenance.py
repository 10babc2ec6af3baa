"""What a LOSO run was trained and tested on: a fingerprint of its data, beside the config's.

The config hash (``plan.config_hash``) says how a fold was computed; the data hash says on what.
:func:`data_fingerprint` hashes, for every clip the protocol keeps (the datamodule's
``labelled_records``), the sheet row's subject, clip, label, emotion, AU code and onset/apex/offset,
the frame numbers found, and each frame file's identity (name, size, modification time: one
``stat`` per file, nothing decoded; CASME II's ~17,000 frames take well under a second). A relabelled
clip, a corrected onset, a re-extracted or touched frame give another hash; moving the dataset folder
does not (file names, not paths). Every fold trains on all subjects but its own and tests on its own,
so one change of the data concerns every fold.

Each fold's ``done.json`` keeps the hash of the data it was built from (:data:`DATA_KEY`), and
``loso.json`` the run's. A finished fold made on other data is refused like one of another config
(``--force`` redoes it), and ``report`` never pools it. Folds finished before runs recorded their data
have no hash: their data is unknown, they are kept and pooled as before, with a one-line note.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mer_contrast.loso.store import done_paths, read_json

__all__ = [
    "DATA_KEY",
    "FoldConflicts",
    "data_fingerprint",
    "data_status",
    "few",
    "find_conflicts",
    "fingerprint_of_reading",
    "reading_of",
    "unknown_note",
]

DATA_KEY = "data_hash"
DataStatus = Literal["same", "other", "unknown"]


def data_fingerprint(datamodule: Any) -> str | None:
    """Hex digest (16 characters) of the clips ``datamodule`` keeps and their frame files.

    None when the datamodule has no ``labelled_records`` (a datamodule of your own): its data is then
    not checked.
    """
    records = getattr(datamodule, "labelled_records", None)
    if records is None:
        return None
    if callable(records):
        records = records()
    rows = []
    for record, label in records:
        files = list(record.frame_paths) or ([Path(record.video)] if record.video is not None else [])
        rows.append(
            [
                record.dataset, record.subject, record.clip_id, int(label), record.emotion, record.au_raw,
                record.onset, record.apex, record.offset, list(record.frame_numbers),
                [_identity(path) for path in files],
            ]
        )  # fmt: skip
    rows.sort(key=lambda row: (str(row[1]), str(row[2]), str(row[0])))
    blob = json.dumps(rows, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def reading_of(datamodule: Any) -> dict[str, Any] | None:
    """How ``datamodule`` reads its clips (dataset, root, protocol, strict, reader options), as
    ``loso.json`` keeps it, so :func:`fingerprint_of_reading` can hash the data again without building
    the datamodule (nor importing Lightning). None for a datamodule of another kind."""
    names = ("dataset", "root", "protocol_name", "strict", "reader_options")
    if not all(hasattr(datamodule, name) for name in names):
        return None
    reading = {
        "dataset": str(datamodule.dataset),
        "root": str(datamodule.root),
        "protocol": str(datamodule.protocol_name),
        "strict": bool(datamodule.strict),
        "reader_options": dict(datamodule.reader_options),
    }
    try:
        json.dumps(reading)
    except TypeError:  # reader options that JSON cannot hold: the data is read the long way
        return None
    return reading


def fingerprint_of_reading(reading: Mapping[str, Any]) -> str | None:
    """:func:`data_fingerprint` of the clips a datamodule with ``reading`` (:func:`reading_of`) keeps:
    the same reader and protocol as ``MERDataModule.labelled_records``. None when they cannot be read."""
    from mer_contrast.datasets import read_dataset
    from mer_contrast.datasets.protocols import apply_protocol

    try:
        options = {"quiet": True, **reading["reader_options"]}  # its warnings were said when it ran
        result = read_dataset(reading["dataset"], root=reading["root"], strict=reading["strict"], **options)
        labelled, _ = apply_protocol(result, reading["protocol"])
    except Exception:  # anything the long way would report (a moved sheet, a bad option): it will
        return None
    return data_fingerprint(_Records(labelled))


@dataclass
class _Records:
    labelled_records: list[Any]


def _identity(path: Path) -> tuple[str, int, int]:
    """``(name, size, mtime_ns)`` of a frame file; ``(name, -1, -1)`` when it cannot be read."""
    try:
        info = os.stat(path)
    except OSError:
        return (path.name, -1, -1)
    return (path.name, info.st_size, info.st_mtime_ns)


def data_status(done: Mapping[str, Any], data_hash: str | None) -> DataStatus:
    """Whether a fold's ``done.json`` was made on the data of ``data_hash``: same, other or unknown."""
    recorded = done.get(DATA_KEY)
    if recorded is None or data_hash is None:
        return "unknown"
    return "same" if recorded == data_hash else "other"


@dataclass
class FoldConflicts:
    """Finished folds under a run folder that this run cannot take as its own, by name (``seed0/sub01``)."""

    other_config: list[str] = field(default_factory=list)
    other_data: list[str] = field(default_factory=list)
    unknown_data: list[str] = field(default_factory=list)


def find_conflicts(out: str | Path, config_hash: str, data_hash: str | None) -> FoldConflicts:
    """Sort the finished folds of ``out`` by what differs from this config and data.

    A damaged ``done.json`` is left to the runner (it redoes that fold).
    """
    found = FoldConflicts()
    for path in done_paths(out):
        try:
            done = read_json(path)
        except ValueError:
            continue
        name = f"{path.parent.parent.name}/{path.parent.name}"
        recorded = done.get("config_hash")
        if recorded is not None and recorded != config_hash:
            found.other_config.append(name)
            continue
        if data_status(done, data_hash) == "other":
            found.other_data.append(name)
        elif DATA_KEY not in done:  # finished before runs recorded their data
            found.unknown_data.append(name)
    return found


def few(folds: list[str]) -> str:
    """The first three fold names of ``folds``, and ``...`` when there are more (for one-line messages)."""
    return ", ".join(folds[:3]) + (" ..." if len(folds) > 3 else "")


def unknown_note(folds: list[str]) -> str:
    """The one-line note on finished folds that recorded no data hash."""
    return (
        f"{len(folds)} finished fold(s) ({few(folds)}) were made before runs recorded their data: whether "
        "the sheet or the frames changed since cannot be checked; they are kept (delete a fold's folder "
        "to redo it)"
    )
