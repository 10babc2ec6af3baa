"""Parameter groups and the warmup + cosine schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mer_contrast.trainers.optim import decay_groups, warmup_cosine


def test_warmup_then_cosine_to_zero() -> None:
    factor = warmup_cosine(total_steps=10, warmup_steps=4)
    assert [factor(s) for s in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert factor(4) == pytest.approx(1.0)
    # halfway through the 6 cosine steps: 0.5 * (1 + cos(pi / 2))
    assert factor(7) == pytest.approx(0.5 * (1 + math.cos(math.pi * 3 / 6)))
    assert factor(10) == pytest.approx(0.0, abs=1e-12)
    assert warmup_cosine(5, 0)(0) == pytest.approx(1.0)


def test_decay_groups_split_by_dimension_and_skip_frozen() -> None:
    layer = nn.Sequential(nn.Conv1d(2, 3, 1), nn.LayerNorm(3))
    scale = nn.Parameter(torch.tensor(2.0))
    frozen = nn.Parameter(torch.ones(2, 2), requires_grad=False)
    named = [*layer.named_parameters(), ("scale", scale), ("frozen", frozen)]
    groups = {g["name"]: g for g in decay_groups(named, lr=0.1, weight_decay=0.01, name="m")}
    assert [p.shape for p in groups["m_decay"]["params"]] == [torch.Size([3, 2, 1])]
    assert {id(p) for p in groups["m_no_decay"]["params"]} == {
        id(layer[0].bias),
        id(layer[1].weight),
        id(layer[1].bias),
        id(scale),
    }
    assert groups["m_no_decay"]["weight_decay"] == 0.0 and groups["m_decay"]["weight_decay"] == 0.01
    assert decay_groups([("frozen", frozen)], 0.1, 0.01, "t") == []
