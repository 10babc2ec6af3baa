"""One metric definition: the logged torchmetrics objects agree with the report's functions."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics.classification import MulticlassRecall

from mer_contrast.loso.metrics import metrics_of_rows, per_fold_metrics
from mer_contrast.metrics import (
    LOGGED_NAMES,
    accuracy,
    classification_metrics,
    confusion,
    f1_from_counts,
    metrics_from_confusion,
    metrics_from_labels,
    uar,
    uf1,
)

# 12 clips of 4 subjects (3 each), K = 5: class 4 is predicted but never true, class 3 never predicted.
SUBJECTS = list("aaabbbcccddd")
LABELS = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 0, 1]
PREDS = [0, 1, 0, 1, 4, 2, 0, 2, 1, 0, 4, 1]
ROWS = [{"subject": s, "label": y, "pred": p} for s, y, p in zip(SUBJECTS, LABELS, PREDS, strict=True)]


def _logged(preds: list[int], labels: list[int], num_classes: int, logits: bool = False) -> dict[str, float]:
    metrics = classification_metrics(num_classes, prefix="test_")
    p = torch.tensor(preds)
    if logits:  # what the LightningModule passes
        p = (
            torch.nn.functional.one_hot(p, num_classes).float() * 3
            + torch.randn(len(preds), num_classes) * 0.1
        )
    half = len(preds) // 2  # two batches
    metrics.update(p[:half], torch.tensor(labels[:half]))
    metrics.update(p[half:], torch.tensor(labels[half:]))
    return {name: float(value) for name, value in metrics.compute().items()}


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fold_with_a_predicted_but_absent_class_logs_the_report_uar() -> None:
    # Subject b: true classes {1, 2}, predicted {1, 4}; class 4 has no ground truth in the fold.
    fold = [(y, p) for s, y, p in zip(SUBJECTS, LABELS, PREDS, strict=True) if s == "b"]
    labels, preds = [y for y, _ in fold], [p for _, p in fold]
    report = per_fold_metrics([{"subject": "b", "label": y, "pred": p} for y, p in fold], num_classes=5)[0]
    logged = _logged(preds, labels, 5, logits=True)
    assert logged["test_uar"] == pytest.approx(report["uar"]) == pytest.approx(0.75)
    assert report["uar"] == pytest.approx(balanced_accuracy_score(labels, preds))
    assert logged["test_uf1"] == pytest.approx(report["uf1"])
    assert logged["test_acc"] == pytest.approx(report["accuracy"])
    # torchmetrics' own macro recall counts class 4 as recall 0: the disagreement this module removes.
    builtin = MulticlassRecall(num_classes=5, average="macro")(torch.tensor(preds), torch.tensor(labels))
    assert float(builtin) == pytest.approx(0.5) != report["uar"]


def test_pooled_figures_are_unchanged() -> None:
    # The numbers the report printed before the definitions moved to mer_contrast.metrics.
    expected = {"accuracy": 0.5, "uf1": 0.3742857142857143, "uar": 0.45833333333333326}
    assert metrics_of_rows(ROWS, 5) == metrics_from_labels(PREDS, LABELS, 5) == expected
    assert (2 / 4 + 2 / 3 + 2 / 3 + 0) / 4 == pytest.approx(expected["uar"])  # classes 0-3 have truth
    assert uf1(PREDS, LABELS, 5) == pytest.approx(f1_score(LABELS, PREDS, average="macro", labels=range(5)))
    logged = _logged(PREDS, LABELS, 5)
    assert {LOGGED_NAMES[n.removeprefix("test_")]: v for n, v in logged.items()} == pytest.approx(expected)
    per_fold = [f["uar"] for f in per_fold_metrics(ROWS, 5)]
    assert per_fold == pytest.approx([2 / 3, 0.75, 0.25, 1 / 3])


@pytest.mark.filterwarnings("ignore::UserWarning")  # sklearn, on classes missing from a fold
@pytest.mark.parametrize("seed", range(6))
def test_logged_and_reported_agree_on_random_folds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    n = int(rng.integers(1, 12))  # small folds: classes go missing from labels, predictions or both
    labels = rng.integers(0, k, n).tolist()
    preds = rng.integers(0, k, n).tolist()
    report = metrics_from_labels(preds, labels, k)
    logged = _logged(preds, labels, k)
    for name, reported in LOGGED_NAMES.items():
        assert logged[f"test_{name}"] == pytest.approx(report[reported], abs=1e-6), name
    assert report == {
        "accuracy": accuracy(preds, labels, k),
        "uf1": uf1(preds, labels, k),
        "uar": uar(preds, labels, k),
    }
    seen = sorted(set(labels) | set(preds))
    assert report["uf1"] == pytest.approx(f1_score(labels, preds, average="macro", labels=seen))
    assert report["uar"] == pytest.approx(balanced_accuracy_score(labels, preds))


@pytest.mark.parametrize("seed", range(8))
def test_metrics_equal_sklearn_when_all_classes_have_ground_truth(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    labels = np.concatenate([np.arange(k), rng.integers(0, k, 60)])  # every class present
    preds = np.where(rng.random(labels.size) < 0.6, labels, rng.integers(0, k, labels.size))
    got = metrics_from_labels(preds, labels, k)
    assert got["accuracy"] == pytest.approx(accuracy_score(labels, preds))
    assert got["uf1"] == pytest.approx(f1_score(labels, preds, average="macro", labels=list(range(k))))
    assert got["uar"] == pytest.approx(recall_score(labels, preds, average="macro", labels=list(range(k))))
    assert got["uar"] == pytest.approx(balanced_accuracy_score(labels, preds))


def test_absent_classes_follow_the_documented_rule() -> None:
    # K = 5; class 4 never occurs, class 3 is predicted but never true, class 2 true but never predicted.
    labels = [0, 0, 1, 1, 2, 2]
    preds = [0, 1, 1, 1, 3, 0]
    got = metrics_from_labels(preds, labels, 5)
    seen = sorted(set(labels) | set(preds))
    assert got["uf1"] == pytest.approx(f1_score(labels, preds, average="macro", labels=seen, zero_division=0))
    # Counting the never-seen class 4 as F1 = 0 would lower the score: it is left out.
    assert got["uf1"] > f1_score(labels, preds, average="macro", labels=list(range(5)), zero_division=0)
    truth = sorted(set(labels))
    assert got["uar"] == pytest.approx(recall_score(labels, preds, average="macro", labels=truth))
    assert got["accuracy"] == pytest.approx(3 / 6)


def test_hand_computed_example() -> None:
    # class 0: TP 2, FP 1, FN 0 -> F1 0.8; class 1: TP 1, FP 0, FN 1 -> F1 2/3.
    got = metrics_from_labels([0, 0, 1, 0], [0, 0, 1, 1], 2)
    assert got == pytest.approx({"accuracy": 0.75, "uf1": (0.8 + 2 / 3) / 2, "uar": (1.0 + 0.5) / 2})


def test_f1_is_one_formula_for_classes_and_spotted_intervals() -> None:
    from mer_contrast.spot.metrics import Score

    counts = np.array([[3, 1], [2, 4]])
    tp = counts.diagonal()
    f1 = f1_from_counts(tp, counts.sum(0) - tp, counts.sum(1) - tp)
    assert f1.tolist() == [6 / 9, 8 / 11]
    assert float(f1.mean()) == metrics_from_confusion(counts)["uf1"]
    assert Score(tp=3, fp=2, fn=1).f1 == f1_from_counts(3, 2, 1) == 6 / 9
    assert Score(0, 0, 0).f1 == 1.0  # spotting's own rule: nothing to find and nothing found


class FixedPredictions(LightningModule):
    """Logs ``classification_metrics`` as MERContrastModule does, on given predictions."""

    def __init__(self) -> None:
        super().__init__()
        self.test_metrics = classification_metrics(5, prefix="test_")
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        preds, labels = batch
        logits = torch.nn.functional.one_hot(preds, 5).float() + self.anchor
        self.test_metrics.update(logits, labels)
        self.log_dict(self.test_metrics, on_step=False, on_epoch=True)


def test_lightning_logs_the_report_figures_per_fold() -> None:
    for subject in "abcd":
        fold = [row for row in ROWS if row["subject"] == subject]
        data = TensorDataset(
            torch.tensor([r["pred"] for r in fold]), torch.tensor([r["label"] for r in fold])
        )
        trainer = Trainer(
            accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
        )
        (logged,) = trainer.test(FixedPredictions(), DataLoader(data, batch_size=2), verbose=False)
        report = per_fold_metrics(fold, 5)[0]
        assert logged == pytest.approx({f"test_{n}": report[r] for n, r in LOGGED_NAMES.items()}), subject


def test_confusion_orientation_clone_reset_and_no_saved_state() -> None:
    assert confusion([0, 2, 1, 2], [0, 1, 1, 2], 3).tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert all(np.isnan(v) for v in metrics_from_confusion(np.zeros((3, 3), dtype=np.int64)).values())
    metrics = classification_metrics(3)
    assert metrics.state_dict() == {}  # checkpoints keep the same keys as with torchmetrics' own metrics
    val = metrics.clone(prefix="val_")
    val.update(torch.tensor([0, 1]), torch.tensor([0, 0]))
    assert {n: float(v) for n, v in val.compute().items()} == pytest.approx(
        {"val_acc": 0.5, "val_uf1": 1 / 3, "val_uar": 0.5}
    )
    val.reset()
    val.update(torch.tensor([1]), torch.tensor([1]))
    assert float(val.compute()["val_uar"]) == 1.0
    with pytest.raises(RuntimeError):
        val.update(torch.tensor([0]), torch.tensor([3]))  # target outside [0, K)


def test_report_and_metric_functions_import_without_torch() -> None:
    code = "import sys, mer_contrast.loso.report, mer_contrast.metrics; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
