"""MERRecognizer: the logit scale it owns, and its training outputs beside its video-only logits."""

from __future__ import annotations

import math

import pytest
import torch
from stand_in_text_tower import LetterCounts

from mer_contrast.losses import stable_text_ids
from mer_contrast.losses.objective import MERObjective
from mer_contrast.models import Compact3DCNN, MERRecognizer, TwoStreamVisual

TEXTS = ["brow lowerer", "lip corner puller"]


def visual() -> TwoStreamVisual:
    return TwoStreamVisual(
        Compact3DCNN(widths=(4, 8)), Compact3DCNN(in_channels=2, widths=(4,), input_norm="none")
    )


def clips() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(2, 4, 3, 16, 16, generator=gen), torch.randn(2, 3, 2, 16, 16, generator=gen)


def test_logit_scale_starts_at_the_temperature_and_is_clamped_as_clip() -> None:
    torch.manual_seed(0)
    model = MERRecognizer(visual(), LetterCounts(), num_classes=3, embed_dim=8, init_temperature=0.07)
    assert model.logit_scale is not None and model.logit_scale.requires_grad
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert model.temperature == pytest.approx(0.07, rel=1e-5)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)  # above ln(100)
    model.clamp_logit_scale()
    assert model.logit_scale.item() == pytest.approx(math.log(100.0))
    with torch.no_grad():
        model.logit_scale.fill_(-3.0)
    model.clamp_logit_scale()
    assert model.logit_scale.item() == 0.0
    assert "logit_scale" in model.state_dict()


def test_no_text_tower_no_logit_scale() -> None:
    model = MERRecognizer(visual(), None, num_classes=3)
    assert model.logit_scale is None and model.temperature is None
    model.clamp_logit_scale()  # nothing to clamp
    rgb, flow = clips()
    outputs = model(rgb, flow, TEXTS)
    assert set(outputs) == {"logits"}  # the visual-only ablation trains on the classification loss


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"init_temperature": 0.0}, "init_temperature must be > 0"), ({"max_logit_scale": 0.5}, "max_logit")],
)
def test_bad_temperatures(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MERRecognizer(visual(), LetterCounts(), num_classes=3, **kwargs)


@pytest.mark.parametrize("head_input", ["features", "joint"])
def test_training_outputs_feed_the_objective(head_input: str) -> None:
    torch.manual_seed(0)
    model = MERRecognizer(visual(), LetterCounts(), num_classes=3, embed_dim=8, head_input=head_input)  # type: ignore[arg-type]
    model.eval()  # no dropout: the training outputs' logits are the video-only logits
    rgb, flow = clips()
    joint = head_input == "joint"
    outputs = model(rgb, flow, TEXTS)
    assert set(outputs) == {"logits", "text_features", "visual_embedding", "text_embedding", "logit_scale"}
    assert torch.equal(outputs["logits"], model(rgb, flow))
    assert outputs["logit_scale"] is model.logit_scale
    assert outputs["visual_embedding"].shape == outputs["text_embedding"].shape == (2, 8)
    objective = MERObjective(3, LetterCounts.out_dim, model.joint_head, text_classification_weight=1.0)
    loss, terms = objective(
        **outputs,
        labels=torch.tensor([0, 2]),
        text_ids=stable_text_ids(TEXTS),
        classify_text=model.classify_embedding,
    )
    assert ("train_text_ce" in terms) == joint
    loss.backward()
    assert model.logit_scale is not None and model.logit_scale.grad is not None  # the loss trains T
    assert model.text_proj is not None and model.text_proj.weight.grad is not None
    if not joint:
        with pytest.raises(RuntimeError, match="reads visual features"):
            model.classify_embedding(outputs["text_embedding"])


def test_test_time_flip_averages_a_clip_with_its_mirror_in_eval_mode_only() -> None:
    from mer_contrast.clips.mirror import mirror_clip

    torch.manual_seed(0)
    plain = MERRecognizer(visual(), num_classes=3)
    flipping = MERRecognizer(visual(), num_classes=3, test_time_flip=True)
    flipping.load_state_dict(plain.state_dict())
    rgb, flow = clips()
    plain.eval(), flipping.eval()
    with torch.no_grad():
        expected = (plain.features(rgb, flow) + plain.features(*mirror_clip(rgb, flow))) / 2
        assert torch.allclose(flipping.features(rgb, flow), expected)
        assert not torch.allclose(flipping.features(rgb, flow), plain.features(rgb, flow))
        # the mirror's answer is the clip's: a mirrored face shows the same expression
        assert torch.allclose(flipping(rgb, flow), flipping(*mirror_clip(rgb, flow)), atol=1e-6)
    plain.train(), flipping.train()
    torch.manual_seed(1)
    train_plain = plain.features(rgb, flow)
    torch.manual_seed(1)
    assert torch.equal(flipping.features(rgb, flow), train_plain)  # training is unchanged
