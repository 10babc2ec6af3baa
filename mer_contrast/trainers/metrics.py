"""MER metrics: accuracy, UF1 and UAR (the confusion matrix is a plain torchmetrics metric)."""

from __future__ import annotations

from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score, MulticlassRecall


def classification_metrics(num_classes: int) -> MetricCollection:
    """``acc`` (micro accuracy), ``uf1`` (macro F1) and ``uar`` (macro recall), the field's trio."""
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes=num_classes, average="micro"),
            "uf1": MulticlassF1Score(num_classes=num_classes, average="macro"),
            "uar": MulticlassRecall(num_classes=num_classes, average="macro"),
        }
    )
