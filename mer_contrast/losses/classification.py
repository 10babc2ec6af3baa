"""Classification losses for imbalanced MER classes: weighted cross-entropy and focal loss.

MER databases are heavily imbalanced (e.g. CASME II "others" vs "fear"), and the field reports UF1/UAR,
so class weights ("balanced" = inverse frequency, normalised to mean 1) or a focal term are common.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ClassWeights = Literal["none", "balanced"] | list[float]


def balanced_class_weights(counts: Sequence[int] | Tensor) -> Tensor:
    """Inverse-frequency weights ``N / (K * n_k)`` (sklearn's "balanced"); absent classes get 0.

    Args:
        counts: number of training samples per class, length ``K``.
    """
    counts_t = torch.as_tensor(counts, dtype=torch.float32)
    if counts_t.ndim != 1 or bool((counts_t < 0).any()) or float(counts_t.sum()) <= 0:
        raise ValueError(
            f"class counts must be a non-negative 1-D sequence with a positive sum, got {counts}"
        )
    present = counts_t > 0
    weights = torch.zeros_like(counts_t)
    weights[present] = counts_t.sum() / (int(present.sum()) * counts_t[present])
    return weights


def focal_loss(logits: Tensor, target: Tensor, gamma: float = 2.0, weight: Tensor | None = None) -> Tensor:
    """Multi-class focal loss ``mean_i w_{y_i} (1 - p_{i,y_i})^gamma (-log p_{i,y_i})``.

    With ``gamma = 0`` it equals weighted CE with ``reduction="mean"`` *without* renormalising by the
    weights (``F.cross_entropy`` divides by ``sum w_{y_i}``); we keep the plain mean so the focal
    modulation is the only difference between ``gamma`` values.
    """
    log_p = F.log_softmax(logits.float(), dim=-1).gather(1, target.reshape(-1, 1)).squeeze(1)
    loss = -((1.0 - log_p.exp()) ** gamma) * log_p
    if weight is not None:
        loss = loss * weight.to(loss.device)[target]
    return loss.mean()


class ClassificationLoss(nn.Module):
    """Cross-entropy or focal loss with optional class weights.

    Args:
        num_classes: number of classes ``K``.
        kind: ``"ce"`` or ``"focal"``.
        class_weights: ``"none"``, ``"balanced"`` (set from counts with :meth:`set_class_counts`;
            uniform until then) or an explicit list of ``K`` weights.
        focal_gamma: focusing parameter of the focal loss.
    """

    weight: Tensor

    def __init__(
        self,
        num_classes: int,
        kind: Literal["ce", "focal"] = "ce",
        class_weights: ClassWeights = "none",
        focal_gamma: float = 2.0,
    ) -> None:
        super().__init__()
        if kind not in ("ce", "focal"):
            raise ValueError(f"classification loss must be 'ce' or 'focal', got {kind!r}")
        if isinstance(class_weights, str) and class_weights not in ("none", "balanced"):
            raise ValueError(f"class_weights must be 'none', 'balanced' or a list, got {class_weights!r}")
        self.kind = kind
        self.focal_gamma = focal_gamma
        self.balanced = class_weights == "balanced"
        weight = torch.ones(num_classes)
        if not isinstance(class_weights, str):
            if len(class_weights) != num_classes:
                raise ValueError(f"class_weights has {len(class_weights)} entries, expected {num_classes}")
            weight = torch.as_tensor(class_weights, dtype=torch.float32)
        # A buffer so the weights follow .to(device) and are saved in checkpoints.
        self.register_buffer("weight", weight)
        self.weighted = class_weights != "none"

    def set_class_counts(self, counts: Sequence[int] | Tensor) -> None:
        """Set ``"balanced"`` weights from training label counts (no-op for other settings)."""
        if not self.balanced:
            return
        if len(counts) != self.weight.numel():
            raise ValueError(f"got {len(counts)} class counts, expected {self.weight.numel()}")
        self.weight.copy_(balanced_class_weights(counts))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Scalar loss of ``(B, K)`` logits against ``(B,)`` class indices."""
        weight = self.weight if self.weighted else None
        if self.kind == "focal":
            return focal_loss(logits, target, self.focal_gamma, weight)
        return F.cross_entropy(logits.float(), target, weight=weight)
