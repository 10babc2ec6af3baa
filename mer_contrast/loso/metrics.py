"""LOSO scoring of per-clip prediction rows: pooled over folds in the MEGC style, per fold, mean ± std.

MEGC (2019 onwards) scores a leave-one-subject-out run by concatenating the test predictions of all
folds and computing the metrics once on the pooled set; averaging per-fold scores instead would weight
a subject with 2 clips like one with 30 and leave most per-fold F1s undefined. The metrics themselves
(accuracy, UF1, UAR, and which classes UF1 and UAR average over) are defined once, in
:mod:`mer_contrast.metrics`, shared with the metrics the LightningModule logs, so a fold's logged
``test_uar`` equals its per-fold UAR here. This module only groups rows (``{"label", "pred", ...}``, as
the prediction files hold them) and summarises runs. On a pooled run over a whole dataset every class
has ground truth, so UF1 equals sklearn's ``f1_score(y, p, average="macro", labels=range(K))`` and UAR
its ``balanced_accuracy_score``.

Everything is numpy (no torch import): sklearn is only a test-time reference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mer_contrast.metrics import METRIC_NAMES, confusion, metrics_from_confusion

__all__ = ["confusion_of_rows", "mean_std", "metrics_of_rows", "per_class_of_confusion", "per_fold_metrics"]

Row = Mapping[str, Any]


def confusion_of_rows(rows: Iterable[Row], num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of the rows with ``label`` ``i`` and ``pred`` ``j``; shape ``(K, K)``."""
    rows = list(rows)
    return confusion([int(r["pred"]) for r in rows], [int(r["label"]) for r in rows], num_classes)


def metrics_of_rows(rows: Iterable[Row], num_classes: int) -> dict[str, float]:
    """Accuracy, UF1 and UAR of prediction rows taken as one set (pooled: all folds concatenated)."""
    return metrics_from_confusion(confusion_of_rows(rows, num_classes))


def per_class_of_confusion(counts: np.ndarray) -> dict[str, list[float]]:
    """Each class's ``f1`` and ``recall`` (NaN where undefined: no clip of it, true or predicted) and
    ``support`` (its true clips), from counts with true classes on rows."""
    counts = np.asarray(counts, dtype=np.float64)
    tp, predicted, true = counts.diagonal(), counts.sum(0), counts.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = 2 * tp / (2 * tp + (predicted - tp) + (true - tp))
        recall = tp / true
    return {"f1": f1.tolist(), "recall": recall.tolist(), "support": true.astype(int).tolist()}


def per_fold_metrics(rows: Iterable[Row], num_classes: int, key: str = "subject") -> list[dict[str, object]]:
    """Metrics of each fold, in first-seen order: ``[{key, "n", "accuracy", "uf1", "uar"}]``.

    ``rows`` are per-clip predictions with at least ``key``, ``label`` and ``pred``. Per-fold scores are
    for inspection (which subject fails); the headline number is :func:`metrics_of_rows` of them all.
    """
    groups: dict[object, list[Row]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return [
        {key: fold, "n": len(fold_rows), **metrics_of_rows(fold_rows, num_classes)}
        for fold, fold_rows in groups.items()
    ]


def mean_std(
    runs: Sequence[Mapping[str, float]], names: Sequence[str] = METRIC_NAMES
) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (ddof=1; 0 for a single run) of each metric over runs (seeds).

    Returns ``{"mean": {name: value}, "std": {name: value}}``; NaN when there are no runs.
    """
    mean: dict[str, float] = {}
    std: dict[str, float] = {}
    for name in names:
        values = np.asarray([run[name] for run in runs], dtype=np.float64)
        mean[name] = float(values.mean()) if values.size else math.nan
        std[name] = float(values.std(ddof=1)) if values.size > 1 else (0.0 if values.size else math.nan)
    return {"mean": mean, "std": std}
