"""Pooled LOSO metrics against sklearn, per-fold grouping and the mean ± std over seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score

from mer_contrast.loso.metrics import confusion_matrix, mean_std, per_fold_metrics, pooled_metrics


@pytest.mark.parametrize("seed", range(8))
def test_pooled_metrics_equal_sklearn_when_all_classes_have_ground_truth(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    labels = np.concatenate([np.arange(k), rng.integers(0, k, 60)])  # every class present
    preds = np.where(rng.random(labels.size) < 0.6, labels, rng.integers(0, k, labels.size))
    got = pooled_metrics(labels, preds, k)
    assert got["accuracy"] == pytest.approx(accuracy_score(labels, preds))
    assert got["uf1"] == pytest.approx(f1_score(labels, preds, average="macro", labels=list(range(k))))
    assert got["uar"] == pytest.approx(recall_score(labels, preds, average="macro", labels=list(range(k))))
    assert got["uar"] == pytest.approx(balanced_accuracy_score(labels, preds))


def test_absent_classes_follow_the_documented_rule() -> None:
    # K = 5; class 4 never occurs, class 3 is predicted but never true, class 2 true but never predicted.
    labels = [0, 0, 1, 1, 2, 2]
    preds = [0, 1, 1, 1, 3, 0]
    got = pooled_metrics(labels, preds, 5)
    seen = sorted(set(labels) | set(preds))
    assert got["uf1"] == pytest.approx(f1_score(labels, preds, average="macro", labels=seen, zero_division=0))
    # Counting the never-seen class 4 as F1 = 0 would lower the score: it is left out.
    assert got["uf1"] > f1_score(labels, preds, average="macro", labels=list(range(5)), zero_division=0)
    truth = sorted(set(labels))
    assert got["uar"] == pytest.approx(recall_score(labels, preds, average="macro", labels=truth))
    assert got["accuracy"] == pytest.approx(3 / 6)


def test_hand_computed_example() -> None:
    # class 0: TP 2, FP 1, FN 0 -> F1 0.8; class 1: TP 1, FP 0, FN 1 -> F1 2/3.
    got = pooled_metrics([0, 0, 1, 1], [0, 0, 1, 0], 2)
    assert got == pytest.approx({"accuracy": 0.75, "uf1": (0.8 + 2 / 3) / 2, "uar": (1.0 + 0.5) / 2})


def test_confusion_matrix_and_errors() -> None:
    counts = confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], 3)
    assert counts.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    with pytest.raises(ValueError, match="preds must lie in"):
        confusion_matrix([0], [3], 3)
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix([0, 1], [0], 3)
    assert all(math.isnan(v) for v in pooled_metrics([], [], 3).values())


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
