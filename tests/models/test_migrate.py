"""``migrate``: each earlier checkpoint layout's keys move to today's, and today's stay put."""

from __future__ import annotations

from typing import Any

import torch

from mer_contrast.models.migrate import migrate

TODAY = {
    "model.visual.rgb.conv.weight": torch.ones(2),
    "model.classifier.weight": torch.ones(3),
    "model.text_proj.bias": torch.ones(4),
    "model.logit_scale": torch.tensor(2.5),
    "objective.classification_loss.weight": torch.ones(5),
    "objective.distillation.teacher.weight": torch.ones(6),
}
# The same weights as each earlier mer-contrast wrote them.
UP_TO_C83FA28 = {
    ("objective.contrastive_loss.logit_scale" if key == "model.logit_scale" else key): value
    for key, value in TODAY.items()
}
LOSSES_ON_THE_TASK = {key.removeprefix("objective."): value for key, value in UP_TO_C83FA28.items()}
BEFORE_THE_SPLIT = {key.removeprefix("model."): value for key, value in LOSSES_ON_THE_TASK.items()}


def checkpoint(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    return {"state_dict": dict(state), "hyper_parameters": {"lr": 1e-3}}


def test_every_earlier_layout_becomes_todays() -> None:
    for old, changes in ((UP_TO_C83FA28, 1), (LOSSES_ON_THE_TASK, 2), (BEFORE_THE_SPLIT, 3)):
        saved = checkpoint(old)
        done = migrate(saved)
        assert len(done) == changes, done
        assert saved["state_dict"].keys() == TODAY.keys()
        assert all(saved["state_dict"][key] is TODAY[key] for key in TODAY)  # moved, not copied
        assert saved["hyper_parameters"] == {"lr": 1e-3}  # the names never changed
    assert migrate(checkpoint(UP_TO_C83FA28))[-1] == (
        "objective.contrastive_loss.logit_scale is now model.logit_scale"
    )


def test_todays_layout_and_non_checkpoints_are_left_alone() -> None:
    saved = checkpoint(TODAY)
    assert migrate(saved) == [] and saved["state_dict"] == TODAY
    assert migrate({"no": "state dict"}) == []
    twice = checkpoint(BEFORE_THE_SPLIT)
    migrate(twice)
    assert migrate(twice) == []  # idempotent
