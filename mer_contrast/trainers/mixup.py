"""Mixup between clips of the same class: new training clips that keep their label (no soft targets).

Each clip of a batch is blended with a random clip of the same class from the batch (itself when it
is the only one): ``x = lam * x_i + (1 - lam) * x_j`` with ``lam ~ Beta(alpha, alpha)`` folded to
``[0.5, 1]``, so the clip stays the dominant one and its FACS sentence still describes it. RGB
(or the onset difference) and flow are blended with the same ``lam``, so motion and appearance stay
consistent. With a few hundred clips this interpolates within each class's motion patterns without
inventing boundaries between classes, as label-mixing mixup would.
"""

from __future__ import annotations

import torch
from torch import Tensor


def same_class_partners(labels: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """For each clip, the index of a random clip of the same class in the batch (possibly itself)."""
    partners = torch.arange(len(labels), device=labels.device)
    for label in labels.unique():
        members = (labels == label).nonzero().flatten()
        order = torch.randint(len(members), (len(members),), generator=generator, device="cpu")
        partners[members] = members[order.to(labels.device)]
    return partners


def same_class_mixup(
    rgb: Tensor, flow: Tensor | None, labels: Tensor, alpha: float, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor | None]:
    """Blend every clip with a same-class partner (see the module docstring); ``alpha <= 0`` is a no-op."""
    if alpha <= 0:
        return rgb, flow
    partners = same_class_partners(labels, generator)
    lam = torch.distributions.Beta(alpha, alpha).sample((len(labels),)).to(rgb.device)
    lam = torch.maximum(lam, 1 - lam)

    def blend(x: Tensor) -> Tensor:
        weight = lam.view(-1, *([1] * (x.dim() - 1))).to(x.dtype)
        return weight * x + (1 - weight) * x[partners]

    return blend(rgb), blend(flow) if flow is not None else None
