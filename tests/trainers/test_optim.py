"""Parameter groups and the warmup + cosine schedule."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from transformers.optimization import get_cosine_schedule_with_warmup

from mer_contrast.trainers.optim import adamw_with_schedule, decay_groups, own_parameters_last, warmup_cosine

# (optimizer steps, warmup steps); the last one warms up for longer than the run (clamped).
SCHEDULES = [(10, 4), (10, 0), (1, 0), (7, 7), (37, 5), (3, 9)]


def test_warmup_then_cosine_to_zero() -> None:
    factor = warmup_cosine(total_steps=10, warmup_steps=4)
    assert [factor(s) for s in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert factor(4) == pytest.approx(1.0)
    # halfway through the 6 cosine steps: 0.5 * (1 + cos(pi / 2))
    assert factor(7) == pytest.approx(0.5 * (1 + math.cos(math.pi * 3 / 6)))
    assert factor(10) == pytest.approx(0.0, abs=1e-12)
    assert warmup_cosine(5, 0)(0) == pytest.approx(1.0)


def _lrs_of_a_run(total: int, warmup_epochs: int, per_epoch: int) -> list[float]:
    """The learning rate of each optimizer step of a run, through ``adamw_with_schedule``."""
    param = nn.Parameter(torch.zeros(2, 2))
    trainer = SimpleNamespace(
        estimated_stepping_batches=total, num_training_batches=per_epoch, accumulate_grad_batches=1
    )
    config = adamw_with_schedule([{"params": [param], "lr": 0.5}], trainer, "cosine", warmup_epochs)
    optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(total):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize(("total", "warmup"), SCHEDULES)
def test_lr_of_every_step_is_the_documented_schedule(total: int, warmup: int) -> None:
    w = min(warmup, total)
    cosine = [0.5 * (1 + math.cos(math.pi * (s - w) / max(1, total - w))) for s in range(total)]
    expected = [0.5 * ((s + 1) / (w + 1) if s < w else cosine[s]) for s in range(total)]  # base lr 0.5
    assert _lrs_of_a_run(total, warmup, per_epoch=1) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("total", "warmup"), [*SCHEDULES, (1000, 37), (5000, 0)])
def test_schedule_is_transformers_cosine_one_step_ahead(total: int, warmup: int) -> None:
    # Why warmup_cosine is not transformers' get_cosine_schedule_with_warmup: with warmup, that one
    # starts at lr 0 (a step that trains nothing) and lags one step through the warmup. The two are the
    # same schedule shifted by one step, to the bit, hence identical without warmup.
    def hf(num_warmup: int, num_training: int) -> list[float]:
        optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
        lr_lambda = get_cosine_schedule_with_warmup(optimizer, num_warmup, num_training).lr_lambdas[0]
        return [lr_lambda(s) for s in range(num_training + 2)]

    ours = [warmup_cosine(total, warmup)(s) for s in range(total + 1)]
    clamped = min(warmup, total)
    assert ours == hf(clamped + 1, total + 1)[1 : total + 2]
    as_shipped = hf(clamped, total)[: total + 1]
    differ = [s for s, (a, b) in enumerate(zip(ours, as_shipped, strict=True)) if a != b]
    assert differ == list(range(clamped))  # every warmup step, the first at lr 0
    if clamped:
        assert as_shipped[0] == 0.0 < ours[0]


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


def test_own_parameters_come_after_the_submodules() -> None:
    class Owner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.zeros(()))  # named_parameters would list it first
            self.first = nn.Linear(2, 2)
            self.second = nn.Linear(2, 1)

    owner = Owner()
    names = [name for name, _ in own_parameters_last(owner, "model")]
    assert next(name for name, _ in owner.named_parameters("model")) == "model.scale"
    assert names == [
        "model.first.weight",
        "model.first.bias",
        "model.second.weight",
        "model.second.bias",
        "model.scale",
    ]
