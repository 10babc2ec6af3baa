"""Classification losses: class weights, focal loss, hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from mer_contrast.losses import ClassificationLoss, balanced_class_weights, focal_loss


def test_balanced_weights_inverse_frequency() -> None:
    # N=8, K present=3: w_k = 8 / (3 * n_k); absent classes get 0.
    weights = balanced_class_weights([4, 2, 0, 2])
    torch.testing.assert_close(weights, torch.tensor([8 / 12, 8 / 6, 0.0, 8 / 6]))
    with pytest.raises(ValueError, match="non-negative"):
        balanced_class_weights([0, 0])


def test_ce_hand_computed_and_weighted() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([0, 0])
    ce0 = math.log(1 + math.exp(-2.0))  # row 0, target 0
    ce1 = math.log(1 + math.exp(1.0))  # row 1, target 0
    assert ClassificationLoss(2)(logits, target).item() == pytest.approx((ce0 + ce1) / 2, rel=1e-6)
    target = torch.tensor([0, 1])
    ce1 = math.log(1 + math.exp(-1.0))
    weighted = ClassificationLoss(2, class_weights=[1.0, 3.0])(logits, target)
    # torch's weighted mean divides by the sum of the targets' weights.
    assert weighted.item() == pytest.approx((1 * ce0 + 3 * ce1) / 4, rel=1e-6)


def test_balanced_set_from_counts() -> None:
    loss = ClassificationLoss(3, class_weights="balanced")
    torch.testing.assert_close(loss.weight, torch.ones(3))
    loss.set_class_counts([6, 3, 3])
    torch.testing.assert_close(loss.weight, torch.tensor([12 / 18, 12 / 9, 12 / 9]))
    unweighted = ClassificationLoss(3)
    unweighted.set_class_counts([6, 3, 3])  # no-op unless "balanced"
    torch.testing.assert_close(unweighted.weight, torch.ones(3))
    assert "weight" in loss.state_dict()


def test_focal_hand_computed() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([0, 1])
    p0 = 1 / (1 + math.exp(-2.0))
    p1 = 1 / (1 + math.exp(-1.0))
    gamma = 2.0
    expected = (-((1 - p0) ** gamma) * math.log(p0) - ((1 - p1) ** gamma) * math.log(p1)) / 2
    assert focal_loss(logits, target, gamma).item() == pytest.approx(expected, rel=1e-6)
    module = ClassificationLoss(2, kind="focal", focal_gamma=gamma)
    assert module(logits, target).item() == pytest.approx(expected, rel=1e-6)
    # gamma=0 is plain (unweighted) cross-entropy.
    torch.testing.assert_close(
        focal_loss(logits, target, 0.0), torch.nn.functional.cross_entropy(logits, target)
    )


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="class_weights has 2 entries, expected 3"):
        ClassificationLoss(3, class_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="'ce' or 'focal'"):
        ClassificationLoss(3, kind="hinge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="class_weights must be"):
        ClassificationLoss(3, class_weights="inverse")  # type: ignore[arg-type]
