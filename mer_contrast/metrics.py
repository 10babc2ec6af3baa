"""The one definition of the MER metrics (accuracy, UF1, UAR), shared by the LOSO report and the log.

With a confusion matrix ``C`` (rows: true class, columns: predicted class) and ``TP_c``, ``FP_c``,
``FN_c`` and the support ``N_c = TP_c + FN_c`` read from it (MEGC 2019 onwards):

* **accuracy** = ``trace(C) / sum(C)``.
* **UF1** (unweighted F1) = mean of ``F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)`` over the classes present
  in the targets *or* the predictions. A class in neither has a 0/0 F1 and says nothing about the
  model, so it is left out; a class predicted but never true counts with F1 = 0 (false positives are
  errors). This is torchmetrics' and sklearn's macro F1 over the classes seen.
* **UAR** (unweighted average recall) = mean of ``TP_c / N_c`` over the classes *with ground truth*
  (``N_c > 0``): a class without samples has no recall, even when it is predicted. This is sklearn's
  ``balanced_accuracy_score``. torchmetrics' macro recall differs here (it counts such a class as 0),
  so :func:`classification_metrics` does not use it.

The ``*_from_confusion`` functions take a numpy array or a torch tensor (on any device) and return a
scalar of the same kind; :func:`f1_from_counts` is the one F1 formula (also spotting's, over intervals).
:func:`confusion`, :func:`metrics_from_labels`, :func:`accuracy`, :func:`uf1` and :func:`uar` work on
label sequences (numpy). :func:`classification_metrics` builds torchmetrics objects that accumulate a
confusion matrix and compute these same functions on it, for the LightningModule's logged
``{stage}_acc`` / ``_uf1`` / ``_uar``. Importing this module loads neither torch nor torchmetrics (the
``report`` command stays light); only :func:`classification_metrics` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torchmetrics import MetricCollection

__all__ = [
    "LOGGED_NAMES",
    "METRIC_NAMES",
    "accuracy",
    "accuracy_from_confusion",
    "classification_metrics",
    "confusion",
    "f1_from_counts",
    "metrics_from_confusion",
    "metrics_from_labels",
    "uar",
    "uar_from_confusion",
    "uf1",
    "uf1_from_confusion",
]

METRIC_NAMES: tuple[str, ...] = ("accuracy", "uf1", "uar")

Labels = Sequence[int] | np.ndarray


def accuracy_from_confusion(counts: Any) -> Any:
    """``trace(C) / sum(C)`` (NaN for an empty torch matrix; numpy warns and gives NaN)."""
    return counts.diagonal().sum() / counts.sum()


def f1_from_counts(tp: Any, fp: Any, fn: Any) -> Any:
    """``2 TP / (2 TP + FP + FN)`` of counts: numbers, or arrays / tensors elementwise (0/0 undefined)."""
    return 2 * tp / (2 * tp + fp + fn)


def uf1_from_confusion(counts: Any) -> Any:
    """Mean F1 over the classes present in the targets or the predictions (see the module docstring)."""
    tp = counts.diagonal()
    predicted, true = counts.sum(0), counts.sum(1)
    present = predicted + true > 0
    return f1_from_counts(tp[present], (predicted - tp)[present], (true - tp)[present]).mean()


def uar_from_confusion(counts: Any) -> Any:
    """Mean recall over the classes with ground truth (see the module docstring)."""
    support = counts.sum(1)
    has_truth = support > 0
    return (counts.diagonal()[has_truth] / support[has_truth]).mean()


_FROM_CONFUSION: dict[str, Callable[[Any], Any]] = {
    "accuracy": accuracy_from_confusion,
    "uf1": uf1_from_confusion,
    "uar": uar_from_confusion,
}
LOGGED_NAMES: dict[str, str] = {"acc": "accuracy", "uf1": "uf1", "uar": "uar"}  # logged -> reported


def _as_labels(values: Labels, name: str, num_classes: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.int64).reshape(-1)
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes}); got values {sorted(set(array.tolist()))}")
    return array


def confusion(preds: Labels, targets: Labels, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples with true class ``i`` predicted as ``j``; shape ``(K, K)``."""
    p = _as_labels(preds, "preds", num_classes)
    y = _as_labels(targets, "labels", num_classes)
    if y.shape != p.shape:
        raise ValueError(f"labels and preds differ in length: {y.size} vs {p.size}")
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y, p), 1)
    return counts


def metrics_from_confusion(counts: np.ndarray) -> dict[str, float]:
    """``{"accuracy", "uf1", "uar"}`` of a confusion matrix; all NaN when it is empty."""
    counts = np.asarray(counts)
    if counts.sum() == 0:
        return {name: math.nan for name in METRIC_NAMES}
    return {name: float(fn(counts)) for name, fn in _FROM_CONFUSION.items()}


def metrics_from_labels(preds: Labels, targets: Labels, num_classes: int) -> dict[str, float]:
    """``{"accuracy", "uf1", "uar"}`` of predicted and true class indices; all NaN for no samples."""
    return metrics_from_confusion(confusion(preds, targets, num_classes))


def accuracy(preds: Labels, targets: Labels, num_classes: int) -> float:
    """Fraction of correct predictions (NaN for no samples)."""
    return metrics_from_labels(preds, targets, num_classes)["accuracy"]


def uf1(preds: Labels, targets: Labels, num_classes: int) -> float:
    """Unweighted F1 over the classes seen (NaN for no samples)."""
    return metrics_from_labels(preds, targets, num_classes)["uf1"]


def uar(preds: Labels, targets: Labels, num_classes: int) -> float:
    """Unweighted average recall over the classes with ground truth (NaN for no samples)."""
    return metrics_from_labels(preds, targets, num_classes)["uar"]


def classification_metrics(num_classes: int, prefix: str | None = None) -> MetricCollection:
    """torchmetrics ``acc``, ``uf1`` and ``uar`` (names after ``prefix``) computed as defined above.

    Each accumulates a ``MulticlassConfusionMatrix`` (logits or class indices, synced across ranks on
    ``compute``) and applies the ``*_from_confusion`` function to it, so a fold's logged figures equal
    the report's per-fold ones.
    """
    from torchmetrics import MetricCollection
    from torchmetrics.classification import MulticlassConfusionMatrix
    from torchmetrics.metric import CompositionalMetric

    return MetricCollection(
        {
            logged: CompositionalMetric(
                _FROM_CONFUSION[reported], MulticlassConfusionMatrix(num_classes), None
            )
            for logged, reported in LOGGED_NAMES.items()
        },
        prefix=prefix,
    )
