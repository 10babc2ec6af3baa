"""LOSO scoring of prediction rows: pooled, per-fold grouping and the mean ± std over seeds.

The metric definitions themselves (against sklearn) are tested in tests/test_metrics.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from mer_contrast.loso.metrics import confusion_of_rows, mean_std, metrics_of_rows, per_fold_metrics
from mer_contrast.metrics import metrics_from_labels


def _rows(labels: list[int], preds: list[int]) -> list[dict[str, object]]:
    return [{"subject": "s", "label": y, "pred": p} for y, p in zip(labels, preds, strict=True)]


def test_rows_are_scored_as_their_labels_and_predictions() -> None:
    counts = confusion_of_rows(_rows([0, 1, 1, 2], [0, 2, 1, 2]), 3)
    assert counts.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]  # rows: label, columns: prediction
    with pytest.raises(ValueError, match="preds must lie in"):
        confusion_of_rows(_rows([0], [3]), 3)
    assert all(math.isnan(v) for v in metrics_of_rows([], 3).values())
    rng = np.random.default_rng(0)
    labels, preds = rng.integers(0, 4, 40).tolist(), rng.integers(0, 4, 40).tolist()
    assert metrics_of_rows(iter(_rows(labels, preds)), 4) == metrics_from_labels(preds, labels, 4)


def test_per_fold_metrics_groups_by_subject_in_order() -> None:
    rows = [
        {"subject": "s2", "label": 0, "pred": 0},
        {"subject": "s1", "label": 1, "pred": 0},
        {"subject": "s2", "label": 1, "pred": 1},
        {"subject": "s1", "label": 1, "pred": 1},
    ]
    folds = per_fold_metrics(rows, 2)
    assert [f["subject"] for f in folds] == ["s2", "s1"]
    assert folds[0] == {"subject": "s2", "n": 2, "accuracy": 1.0, "uf1": 1.0, "uar": 1.0}
    assert folds[1]["accuracy"] == 0.5
    assert folds[1]["uar"] == 0.5  # only class 1 has ground truth
    assert folds[1]["uf1"] == pytest.approx(f1_score([1, 1], [0, 1], average="macro", labels=[0, 1]))


def test_mean_std_over_seeds() -> None:
    runs = [{"accuracy": 0.5, "uf1": 0.4, "uar": 0.3}, {"accuracy": 0.7, "uf1": 0.6, "uar": 0.5}]
    got = mean_std(runs)
    assert got["mean"] == pytest.approx({"accuracy": 0.6, "uf1": 0.5, "uar": 0.4})
    assert got["std"]["accuracy"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert mean_std(runs[:1])["std"] == {"accuracy": 0.0, "uf1": 0.0, "uar": 0.0}
    assert math.isnan(mean_std([])["mean"]["uf1"])
