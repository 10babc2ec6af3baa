"""Pooled LOSO metrics in the MEGC style: accuracy, UF1 and UAR over concatenated predictions.

MEGC (2019 onwards) scores a leave-one-subject-out run by concatenating the test predictions of all
folds and computing the metrics once on the pooled set; averaging per-fold scores instead would weight
a subject with 2 clips like one with 30 and leave most per-fold F1s undefined. The definitions (which
classes UF1 and UAR average over) live in :mod:`mer_contrast.metrics`, shared with the metrics the
LightningModule logs, so a fold's logged ``test_uar`` equals its per-fold UAR here. On a pooled run over
a whole dataset every class has ground truth, so UF1 equals sklearn's ``f1_score(y, p,
average="macro", labels=range(K))`` and UAR its ``balanced_accuracy_score``.

Everything is numpy (no torch import): sklearn is only a test-time reference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from mer_contrast.metrics import METRIC_NAMES, Labels, confusion, metrics_from_confusion

__all__ = [
    "METRIC_NAMES",
    "confusion_matrix",
    "mean_std",
    "metrics_from_confusion",
    "per_fold_metrics",
    "pooled_metrics",
]


def confusion_matrix(labels: Labels, preds: Labels, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of clips with true class ``i`` predicted as ``j``; shape ``(K, K)``."""
    return confusion(preds, labels, num_classes)


def pooled_metrics(labels: Labels, preds: Labels, num_classes: int) -> dict[str, float]:
    """Accuracy, UF1 and UAR of one pooled set of predictions (all folds concatenated)."""
    return metrics_from_confusion(confusion_matrix(labels, preds, num_classes))


def per_fold_metrics(
    rows: Iterable[Mapping[str, object]], num_classes: int, key: str = "subject"
) -> list[dict[str, object]]:
    """Metrics of each fold, in first-seen order: ``[{key, "n", "accuracy", "uf1", "uar"}]``.

    ``rows`` are per-clip predictions with at least ``key``, ``label`` and ``pred``. Per-fold scores are
    for inspection (which subject fails); the headline number is :func:`pooled_metrics`.
    """
    groups: dict[object, tuple[list[int], list[int]]] = {}
    for row in rows:
        labels, preds = groups.setdefault(row[key], ([], []))
        labels.append(int(row["label"]))  # type: ignore[call-overload]
        preds.append(int(row["pred"]))  # type: ignore[call-overload]
    return [
        {key: fold, "n": len(labels), **pooled_metrics(labels, preds, num_classes)}
        for fold, (labels, preds) in groups.items()
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
