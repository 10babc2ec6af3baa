"""On-disk layout of a LOSO run: per-fold prediction CSVs, ``done.json`` markers and run metadata.

::

    DIR/loso.json                     what was asked for (configs, overrides, seeds, folds, classes)
    DIR/seed{S}/{subject}/done.json   written last, when the fold finished: selections, epochs, config hash
    DIR/seed{S}/{subject}/predictions_{selection}.csv
    DIR/seed{S}/{subject}/last.ckpt   (+ best.ckpt when the epoch was selected on validation data)
    DIR/seed{S}/{subject}/embeddings.npz   the tested model's joint space (loso.joint_space)
    DIR/summary.json, summary.md, confusion_{selection}.png, per_fold.png, per_class.png,
        honest_vs_oracle.png, joint_space.png   (written by ``mer-contrast report``)
    DIR/wandb/                        the folds' and the study's W&B runs (W&B logger, offline)
    DIR/.lock, DIR/.lock.owner        held by the run (or a report) writing DIR, and who that is
    DIR/seed{S}/.{subject}.lock       held by the process running that fold (files.folder_lock)

Selections are named by what chose the epoch. Anything chosen with the test subject's labels is marked
optimistic in every output, so a results table can never pass it off as an honest estimate.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mer_contrast.files import atomic_write

__all__ = [
    "DONE_FILE",
    "EPOCHS_FILE",
    "EPOCHS_LABEL",
    "OPTIMISTIC",
    "RUN_FILE",
    "SELECTION_LABELS",
    "SELECTION_ORDER",
    "done_paths",
    "fold_dir",
    "fold_problem",
    "prediction_file",
    "read_done",
    "read_fold_rows",
    "read_json",
    "read_predictions",
    "subject_folder",
    "write_json",
    "write_predictions",
]

RUN_FILE = "loso.json"
DONE_FILE = "done.json"

# Summary keys, in report order, and their human labels (used verbatim in CSV, JSON, Markdown and PNG).
SELECTION_ORDER: tuple[str, ...] = ("honest", "test_selected", "oracle")
SELECTION_LABELS: dict[str, str] = {
    "honest": "honest (fixed epoch budget: last epoch)",
    "honest_val": "honest (best val_uf1 on held-out training subjects)",
    "test_selected": "test-selected (best val_uf1 with the test subject as validation set, optimistic)",
    "oracle": "oracle (test-set selection, optimistic)",
}
# Selections that looked at the test subject's labels.
OPTIMISTIC: frozenset[str] = frozenset({"test_selected", "oracle"})


def subject_folder(subject: str) -> str:
    """A subject id as one folder name: MEGC2019 ids such as ``casme2/sub01`` become ``casme2-sub01``."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", subject) or "-"


def fold_dir(out: str | Path, seed: int, subject: str) -> Path:
    """Folder of one fold of one seed (``done.json`` inside keeps the exact subject id)."""
    return Path(out) / f"seed{seed}" / subject_folder(subject)


EPOCHS_FILE = "predictions_per_epoch.csv"
EPOCHS_LABEL = "every epoch's test predictions (input of the oracle selection; optimistic if selected from)"


def prediction_file(selection: str) -> str:
    """File name of a fold's predictions under ``selection`` (``honest``, ``oracle``, ``test_selected``)."""
    return f"predictions_{selection}.csv"


def write_predictions(
    path: str | Path,
    predictions: Iterable[Mapping[str, Any]],
    class_names: Sequence[str],
    *,
    epoch: int | None,
    seed: int,
    selection: str,
) -> None:
    """Write per-clip predictions: subject, clip_id, label, pred, prob_<class>..., epoch, seed, selection.

    ``predictions`` are dicts with ``subject``, ``clip_id``, ``label``, ``pred`` and ``probs`` (a
    sequence of K probabilities), and optionally their own ``epoch`` (else ``epoch``); ``selection``
    is the human label of how the epoch was chosen.
    """
    header = ["subject", "clip_id", "label", "pred", *(f"prob_{name}" for name in class_names)]
    header += ["epoch", "seed", "selection"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in predictions:
            probs = [float(p) for p in row["probs"]]
            if len(probs) != len(class_names):
                raise ValueError(f"{path}: {len(probs)} probabilities for {len(class_names)} classes")
            writer.writerow(
                [row["subject"], row["clip_id"], int(row["label"]), int(row["pred"])]
                + [f"{p:.6g}" for p in probs]
                + [row.get("epoch", epoch), seed, selection]
            )


def read_predictions(path: str | Path) -> list[dict[str, Any]]:
    """Read a file written by :func:`write_predictions`; ``label``, ``pred``, ``epoch``, ``seed`` as ints."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"subject", "clip_id", "label", "pred", "epoch", "selection"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: not a prediction file, missing columns {sorted(missing)}")
        rows = []
        for row in reader:
            parsed: dict[str, Any] = dict(row)
            for key in ("label", "pred", "epoch", "seed"):
                if row.get(key) not in (None, ""):
                    parsed[key] = int(row[key])
            rows.append(parsed)
    return rows


def _finite(value: Any) -> Any:
    """JSON has no NaN: write null (a metric over no samples)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_json(path: str | Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON atomically (a half-written done.json must never look finished)."""
    with atomic_write(path, "w") as handle:  # its own temporary name: SLURM array tasks write loso.json too
        handle.write(json.dumps(_finite(dict(data)), indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON object; a clear one-line error when the file is damaged."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}); delete it to redo that fold") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object; delete it to redo that fold")
    return data


def done_paths(out: str | Path) -> list[Path]:
    """Every fold's ``done.json`` under a run folder (``DIR/seed{S}/{subject}/done.json``), sorted."""
    return sorted(Path(out).glob(f"seed*/*/{DONE_FILE}"))


def read_done(folder: str | Path) -> dict[str, Any] | None:
    """The fold's ``done.json`` or None when the fold has not finished."""
    path = Path(folder) / DONE_FILE
    return read_json(path) if path.is_file() else None


def read_fold_rows(
    folder: str | Path, done: Mapping[str, Any]
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    """Every selection's prediction rows of a fold with a ``done.json``, and why it cannot be pooled.

    Every selection's CSV must exist, parse, and hold ``n_test`` rows, each clip once: a file cut short
    (a full disk, a hand edit, a copy interrupted) would otherwise be pooled as if that subject had
    fewer clips, and one mixed from two runs could hold a clip twice and another not at all.
    Returns ``(rows, None)`` when the fold is whole, else ``({}, problem)``.
    """
    folder = Path(folder)
    expected = done.get("n_test")
    rows: dict[str, list[dict[str, Any]]] = {}
    for key, info in dict(done.get("selections", {})).items():
        path = folder / str(info.get("file", prediction_file(key)))
        if not path.is_file():
            return {}, f"{path}: missing"
        try:
            rows[key] = read_predictions(path)
        except (ValueError, OSError, csv.Error) as err:
            return {}, f"{path}: unreadable ({err})"
        if expected is not None and len(rows[key]) != int(expected):
            return {}, f"{path}: {len(rows[key])} rows, but {folder / DONE_FILE} says n_test {expected}"
        twice = _repeated_clip(rows[key])
        if twice is not None:  # the right count, but another clip missing: a file mixed from two runs
            return {}, f"{path}: clip {twice} appears twice (another clip is missing)"
    return rows, None


def _repeated_clip(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """The first ``clip_id`` (within its seed) that a prediction file holds twice, or None."""
    seen: set[tuple[Any, Any]] = set()
    for row in rows:
        key = (row.get("seed"), row.get("clip_id"))
        if key in seen:
            return str(row.get("clip_id"))
        seen.add(key)
    return None


def fold_problem(folder: str | Path, done: Mapping[str, Any]) -> str | None:
    """Why a fold with a ``done.json`` cannot be pooled, or None (see :func:`read_fold_rows`)."""
    return read_fold_rows(folder, done)[1]
