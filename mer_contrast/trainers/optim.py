"""Optimizer parameter groups and the warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn


def decay_groups(
    named_params: Iterable[tuple[str, nn.Parameter]], lr: float, weight_decay: float, name: str
) -> list[dict[str, Any]]:
    """Split trainable parameters into a decayed group (>=2-D weights) and an undecayed one.

    Biases, norm scales and the scalar ``logit_scale`` are 0-/1-D: decaying them pulls the
    temperature and the normalisation gains towards 0 for no regularisation benefit (CLIP, nanoGPT).
    Empty groups are dropped.
    """
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for _, param in named_params:
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [
        {"name": f"{name}_decay", "params": decay, "lr": lr, "weight_decay": weight_decay},
        {"name": f"{name}_no_decay", "params": no_decay, "lr": lr, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def own_parameters_last(module: nn.Module, prefix: str) -> list[tuple[str, nn.Parameter]]:
    """``module.named_parameters(prefix=prefix)`` with the module's own parameters after its submodules'.

    ``named_parameters`` lists a module's own parameters first; the recognizer's ``logit_scale`` (its
    one own parameter) sat in the loss until 0.x, after the recognizer's submodules, and the optimiser
    keeps that order: an older checkpoint's optimiser state is matched to parameters by position, and
    the total norm of gradient clipping sums in parameter order.
    """
    own = list(module.named_parameters(prefix=prefix, recurse=False))
    own_ids = {id(param) for _, param in own}
    rest = [
        (name, param) for name, param in module.named_parameters(prefix=prefix) if id(param) not in own_ids
    ]
    return rest + own


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """LR multiplier: linear warmup from ~0 to 1 over ``warmup_steps``, then cosine decay to 0.

    Written here rather than taken from transformers: ``get_cosine_schedule_with_warmup(W, T)`` gives
    the same factors only without warmup. With warmup it spends its first step at lr 0 (a step that
    trains nothing) and runs every warmup step one step behind; this schedule equals it called with
    ``(W + 1, T + 1)`` and read one step ahead, which its LambdaLR cannot do without reaching into its
    private lambda. tests/trainers/test_optim.py compares the two step by step.
    """
    total_steps = max(1, total_steps)
    warmup_steps = min(max(0, warmup_steps), total_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def adamw_with_schedule(
    groups: list[dict[str, Any]], trainer: Any, scheduler: str, warmup_epochs: int
) -> Any:
    """AdamW over ``groups``; with ``scheduler="cosine"`` and a trainer, warmup + cosine per step.

    The schedule length comes from the trainer (``estimated_stepping_batches``), so it follows
    ``max_epochs``, gradient accumulation and the number of devices.
    """
    optimizer = torch.optim.AdamW(groups)
    if scheduler == "none" or trainer is None:
        return optimizer
    total = float(trainer.estimated_stepping_batches)
    if not math.isfinite(total):
        rank_zero_warn("scheduler='cosine' needs max_epochs or max_steps; training without a schedule")
        return optimizer
    batches = float(trainer.num_training_batches)
    per_epoch = batches / trainer.accumulate_grad_batches if math.isfinite(batches) else total
    factor = warmup_cosine(int(total), warmup_epochs * max(1, math.ceil(per_epoch)))
    lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": lr_scheduler, "interval": "step"}}
