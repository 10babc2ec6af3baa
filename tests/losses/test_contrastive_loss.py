"""Contrastive loss on tensors: hand-computed values, label-aware targets, the scale's gradient, errors."""

from __future__ import annotations

import math

import pytest
import torch

from mer_contrast.losses import (
    ContrastiveLoss,
    clip_logits,
    clip_loss,
    gather_with_grad,
    positives_mask,
    soft_target_cross_entropy,
    stable_text_ids,
)

# v1=(1,0), v2=(0,1); t1=(3,4) -> (0.6,0.8) after normalisation, t2=(0,5) -> (0,1); scale exp(ln 2)=2.
# Cosines: v1.t1=0.6, v1.t2=0, v2.t1=0.8, v2.t2=1  => logits_v = [[1.2, 0.0], [1.6, 2.0]].
VISUAL = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
TEXT = torch.tensor([[3.0, 4.0], [0.0, 5.0]])
LOG_SCALE = torch.tensor(math.log(2.0))
SCALE = torch.tensor(math.log(1 / 0.07))  # CLIP's initial temperature


def _lse(*xs: float) -> float:
    return math.log(sum(math.exp(x) for x in xs))


def test_logits_hand_computed() -> None:
    expected = torch.tensor([[1.2, 0.0], [1.6, 2.0]])
    torch.testing.assert_close(clip_logits(VISUAL, TEXT, LOG_SCALE), expected)


def test_clip_loss_hand_computed() -> None:
    # visual->text rows: [1.2, 0] target 0, [1.6, 2] target 1; text->visual rows: [1.2, 1.6] t0, [0, 2] t1.
    v2t = ((_lse(1.2, 0.0) - 1.2) + (_lse(1.6, 2.0) - 2.0)) / 2
    t2v = ((_lse(1.2, 1.6) - 1.2) + (_lse(0.0, 2.0) - 2.0)) / 2
    expected = (v2t + t2v) / 2
    assert clip_loss(VISUAL, TEXT, LOG_SCALE).item() == pytest.approx(expected, rel=1e-6)
    loss_fn = ContrastiveLoss(positives="pairs")
    assert loss_fn(VISUAL, TEXT, LOG_SCALE).item() == pytest.approx(expected, rel=1e-6)


def test_label_aware_hand_computed() -> None:
    # Both clips share one text id: each row's target is (1/2, 1/2) -> loss_row = lse(row) - mean(row).
    v2t = ((_lse(1.2, 0.0) - 0.6) + (_lse(1.6, 2.0) - 1.8)) / 2
    t2v = ((_lse(1.2, 1.6) - 1.4) + (_lse(0.0, 2.0) - 1.0)) / 2
    expected = (v2t + t2v) / 2
    loss_fn = ContrastiveLoss(positives="text")
    by_text = loss_fn(VISUAL, TEXT, LOG_SCALE, text_ids=torch.tensor([7, 7]))
    assert by_text.item() == pytest.approx(expected, rel=1e-6)
    label_fn = ContrastiveLoss(positives="label")
    assert label_fn(VISUAL, TEXT, LOG_SCALE, labels=torch.tensor([3, 3])).item() == pytest.approx(
        expected, rel=1e-6
    )


def test_label_aware_reduces_to_plain_with_distinct_ids() -> None:
    torch.manual_seed(0)
    visual, text = torch.randn(6, 5), torch.randn(6, 5)
    plain = ContrastiveLoss(positives="pairs")(visual, text, SCALE)
    by_text = ContrastiveLoss(positives="text")(visual, text, SCALE, text_ids=torch.arange(10, 16))
    labels = torch.tensor([4, 1, 0, 2, 3, 5])
    by_label = ContrastiveLoss(positives="label")(visual, text, SCALE, labels=labels)
    torch.testing.assert_close(by_text, plain)
    torch.testing.assert_close(by_label, plain)
    # ...and differs as soon as two clips share a text.
    shared = ContrastiveLoss(positives="text")(visual, text, SCALE, text_ids=torch.tensor([0, 0, 1, 2, 3, 4]))
    assert not torch.allclose(shared, plain)


def test_positives_mask_and_soft_ce() -> None:
    mask = positives_mask(torch.tensor([1, 2, 1]), torch.tensor([1, 2, 1, 3]))
    assert mask.tolist() == [
        [True, False, True, False],
        [False, True, False, False],
        [True, False, True, False],
    ]
    with pytest.raises(ValueError, match="at least one positive"):
        soft_target_cross_entropy(torch.zeros(2, 2), torch.tensor([[1.0, 0.0], [0.0, 0.0]]))


def test_stable_text_ids_equal_for_equal_texts() -> None:
    ids = stable_text_ids(["AU4 brow lowerer", "AU12", "AU4 brow lowerer"])
    assert ids.dtype == torch.int64
    assert ids[0] == ids[2] and ids[0] != ids[1]
    assert bool((ids >= 0).all())
    # Not salted per process: the value is fixed by the text.
    assert stable_text_ids(["AU12"]).item() == ids[1].item()


def test_gradient_reaches_features_and_the_callers_scale() -> None:
    visual = torch.randn(4, 3, requires_grad=True)
    text = torch.randn(4, 3, requires_grad=True)
    logit_scale = SCALE.clone().requires_grad_(True)  # a model's parameter, as MERRecognizer.logit_scale
    loss_fn = ContrastiveLoss(positives="pairs")
    assert not list(loss_fn.parameters())  # the loss owns no temperature
    loss_fn(visual, text, logit_scale).backward()
    assert visual.grad is not None and text.grad is not None and logit_scale.grad is not None
    assert logit_scale.grad.abs().item() > 0


def test_the_scale_sets_the_temperature() -> None:
    torch.manual_seed(0)
    visual, text = torch.randn(4, 8), torch.randn(4, 8)
    loss_fn = ContrastiveLoss(positives="pairs")
    cooler, warmer = loss_fn(visual, text, SCALE), loss_fn(visual, text, torch.tensor(0.0))
    expected = clip_loss(visual, text, torch.tensor(0.0))
    assert not torch.allclose(cooler, warmer) and torch.allclose(warmer, expected)


def test_bf16_autocast_scores_in_fp32() -> None:
    torch.manual_seed(0)
    visual, text = torch.randn(4, 8), torch.randn(4, 8)
    loss_fn = ContrastiveLoss(positives="pairs")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = loss_fn(visual.bfloat16(), text.bfloat16(), SCALE)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, loss_fn(visual.bfloat16().float(), text.bfloat16().float(), SCALE))


def test_gather_is_identity_without_process_group() -> None:
    t = torch.randn(3, 2)
    assert gather_with_grad(t) is t


@pytest.mark.parametrize(
    ("kwargs", "call", "match"),
    [
        ({"positives": "text"}, {}, "needs `text_ids`"),
        ({"positives": "label"}, {}, "needs `labels`"),
        ({"positives": "pairs"}, {"logit_scale": torch.ones(1)}, "logit_scale must be a scalar"),
        ({"positives": "nope"}, None, "positives must be"),
    ],
)
def test_bad_arguments(kwargs: dict, call: dict | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        loss_fn = ContrastiveLoss(**kwargs)
        loss_fn(torch.randn(2, 3), torch.randn(2, 3), **{"logit_scale": SCALE, **(call or {})})


def test_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="must both be"):
        ContrastiveLoss(positives="pairs")(torch.randn(2, 3), torch.randn(3, 3), SCALE)


def test_similarity_positives_reduce_to_text_positives_when_sharp() -> None:
    torch.manual_seed(0)
    visual, text = torch.randn(6, 8), torch.randn(6, 8)
    texts = ["a", "b", "a", "c", "b", "a"]
    features = torch.stack([{"a": torch.tensor([1.0, 0, 0]), "b": torch.tensor([0, 1.0, 0]),
                             "c": torch.tensor([0.6, 0.8, 0])}[t] for t in texts])  # fmt: skip
    sharp = ContrastiveLoss(positives="similarity", similarity_temperature=1e-3)
    by_text = ContrastiveLoss(positives="text")
    expected = by_text(visual, text, SCALE, text_ids=stable_text_ids(texts))
    torch.testing.assert_close(sharp(visual, text, SCALE, text_features=features), expected)
    soft = ContrastiveLoss(positives="similarity", similarity_temperature=0.5)
    # "c" is partly "a" and "b"
    assert not torch.allclose(soft(visual, text, SCALE, text_features=features), expected)
    with pytest.raises(ValueError, match="needs `text_features`"):
        sharp(visual, text, SCALE)
    with pytest.raises(ValueError, match="similarity_temperature"):
        ContrastiveLoss(positives="similarity", similarity_temperature=0.0)
