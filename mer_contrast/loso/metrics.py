"""Pooled LOSO metrics in the MEGC style: accuracy, UF1 and UAR over concatenated predictions.

MEGC (2019 onwards) scores a leave-one-subject-out run by concatenating the test predictions of all
folds and computing the metrics once on the pooled set; averaging per-fold scores instead would weight
a subject with 2 clips like one with 30 and leave most per-fold F1s undefined. Definitions, with
``TP_c, FP_c, FN_c`` counted over the pooled predictions:

* **accuracy** = correct / total.
* **UF1** (unweighted F1) = mean over classes of ``F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)``. The mean
  runs over the classes present in the labels *or* the predictions. A class that is in neither has a
  0/0 F1 and no information about the model, so it is left out rather than counted as 0 (which would
  punish a fold for the dataset's class balance) or 1. A class that is predicted but never true counts
  with F1 = 0 (false positives are errors). On a pooled run over a whole dataset every class has
  ground truth, so this equals sklearn's ``f1_score(y, p, average="macro", labels=range(K))``; in
  general it equals ``f1_score(..., labels=sorted(set(y) | set(p)))``.
* **UAR** (unweighted average recall) = mean over classes *with ground truth* of ``TP_c / N_c``; a
  class without samples has no recall. Equals sklearn's ``balanced_accuracy_score``.

Everything is numpy: sklearn is only a test-time reference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "METRIC_NAMES",
    "confusion_matrix",
    "mean_std",
    "metrics_from_confusion",
    "per_fold_metrics",
    "pooled_metrics",
]

METRIC_NAMES: tuple[str, ...] = ("accuracy", "uf1", "uar")


def _as_labels(values: Sequence[int] | np.ndarray, name: str, num_classes: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.int64).reshape(-1)
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes}); got values {sorted(set(array.tolist()))}")
    return array


def confusion_matrix(
    labels: Sequence[int] | np.ndarray, preds: Sequence[int] | np.ndarray, num_classes: int
) -> np.ndarray:
    """Counts ``C[i, j]`` of clips with true class ``i`` predicted as ``j``; shape ``(K, K)``."""
    y = _as_labels(labels, "labels", num_classes)
    p = _as_labels(preds, "preds", num_classes)
    if y.shape != p.shape:
        raise ValueError(f"labels and preds differ in length: {y.size} vs {p.size}")
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y, p), 1)
    return counts


def metrics_from_confusion(counts: np.ndarray) -> dict[str, float]:
    """Accuracy, UF1 and UAR (see the module docstring) from a confusion matrix; NaN when it is empty."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return {name: math.nan for name in METRIC_NAMES}
    tp = np.diag(counts)
    support = counts.sum(axis=1)  # ground-truth count per class
    predicted = counts.sum(axis=0)
    seen = (support + predicted) > 0
    f1 = 2 * tp[seen] / (support[seen] + predicted[seen])  # 2TP / (2TP + FP + FN)
    has_truth = support > 0
    recall = tp[has_truth] / support[has_truth]
    return {
        "accuracy": float(tp.sum() / total),
        "uf1": float(f1.mean()),
        "uar": float(recall.mean()),
    }


def pooled_metrics(
    labels: Sequence[int] | np.ndarray, preds: Sequence[int] | np.ndarray, num_classes: int
) -> dict[str, float]:
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
