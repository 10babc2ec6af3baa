"""Functional contrastive (CLIP / InfoNCE) losses.

Semantics follow open_clip's ``ClipLoss``: features are L2-normalised, logits are
``exp(logit_scale) * v @ t.T`` and the loss is the symmetric cross-entropy averaged over the
visual->text and text->visual directions.

Label-aware (multi-positive) variant
------------------------------------
MER texts are AU-level FACS sentences, so two clips in a batch often share the same text (or the same
class). Plain InfoNCE would push identical texts apart as negatives. Given a boolean/0-1 positives
mask ``targets`` of shape ``(rows, cols)``, each row's target distribution is the mask normalised to
sum to one (``mask / mask.sum(-1)``): the probability mass is shared uniformly among the positives and
the loss is the soft-target cross-entropy ``-sum_j q_ij log softmax(logits)_ij``. With an identity mask
this is exactly standard InfoNCE. (The alternative "SupCon" form averages ``-log p_ij`` over positives;
it has the same minimiser set here but its value is not a cross-entropy, so it would not reduce to the
open_clip numbers that the tests compare against.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def clip_logits(rows: Tensor, cols: Tensor, logit_scale: Tensor) -> Tensor:
    """Scaled cosine similarities ``exp(logit_scale) * normalize(rows) @ normalize(cols).T``.

    Args:
        rows: ``(N_rows, D)`` features (any norm).
        cols: ``(N_cols, D)`` features (any norm).
        logit_scale: scalar log inverse temperature (``ln(1 / T)``).

    Returns:
        ``(N_rows, N_cols)`` logits.
    """
    return logit_scale.exp() * F.normalize(rows, dim=-1) @ F.normalize(cols, dim=-1).T


def positives_mask(row_ids: Tensor, col_ids: Tensor) -> Tensor:
    """Boolean ``(len(row_ids), len(col_ids))`` mask of equal ids (multi-positive targets)."""
    return row_ids.reshape(-1, 1) == col_ids.reshape(1, -1)


def soft_target_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean over rows of ``-sum_j q_ij log softmax(logits)_ij`` with ``q = targets / targets.sum(-1)``.

    Args:
        logits: ``(N, C)``.
        targets: ``(N, C)`` non-negative mask or weights; every row needs at least one positive.

    Raises:
        ValueError: if shapes differ or a row has no positive.
    """
    if targets.shape != logits.shape:
        raise ValueError(f"targets shape {tuple(targets.shape)} != logits shape {tuple(logits.shape)}")
    weights = targets.to(logits.dtype)
    row_sums = weights.sum(dim=-1, keepdim=True)
    if bool((row_sums <= 0).any()):
        raise ValueError("every row of the positives mask needs at least one positive (e.g. its own pair)")
    return -(weights / row_sums * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def clip_loss(visual: Tensor, text: Tensor, logit_scale: Tensor, targets: Tensor | None = None) -> Tensor:
    """Symmetric CLIP loss on one process: ``(CE(v->t) + CE(t->v)) / 2``.

    Args:
        visual: ``(N, D)`` visual features; row ``i`` pairs with ``text[i]``.
        text: ``(N, D)`` text features.
        logit_scale: scalar log inverse temperature.
        targets: optional ``(N, N)`` positives mask (``targets[i, j]``: visual ``i`` matches text ``j``).
            ``None`` means the pairs only (identity, standard InfoNCE). The text->visual direction uses
            ``targets.T``.

    Returns:
        Scalar loss (mean over the ``N`` rows in each direction).
    """
    if visual.shape[0] != text.shape[0]:
        raise ValueError(f"visual has {visual.shape[0]} rows but text has {text.shape[0]}")
    logits_per_visual = clip_logits(visual, text, logit_scale)
    logits_per_text = logits_per_visual.T
    if targets is None:
        labels = torch.arange(visual.shape[0], device=visual.device)
        return (F.cross_entropy(logits_per_visual, labels) + F.cross_entropy(logits_per_text, labels)) / 2
    return (
        soft_target_cross_entropy(logits_per_visual, targets)
        + soft_target_cross_entropy(logits_per_text, targets.T)
    ) / 2


def local_clip_loss(
    visual: Tensor,
    text: Tensor,
    all_visual: Tensor,
    all_text: Tensor,
    logit_scale: Tensor,
    offset: int,
    targets: Tensor | None = None,
) -> Tensor:
    """One rank's share of the global CLIP loss (open_clip's ``local_loss`` with gathered columns).

    The local rows (``visual`` and ``text``, ``B`` each) are scored against all gathered columns
    (``all_text`` / ``all_visual``, ``N = W * B`` each). The local pair ``i`` is column ``offset + i``.

    Args:
        visual: ``(B, D)`` local visual features.
        text: ``(B, D)`` local text features.
        all_visual: ``(N, D)`` gathered visual features (this rank's slice at ``offset``).
        all_text: ``(N, D)`` gathered text features.
        logit_scale: scalar log inverse temperature.
        offset: index of this rank's first row in the gathered batch (``rank * B``).
        targets: optional ``(B, N)`` positives mask of the local rows against all columns; ids-based
            masks are symmetric, so the same mask serves both directions.

    Returns:
        Scalar loss: the mean over local rows. Averaged over ranks it equals :func:`clip_loss` on the
        full batch.
    """
    logits_per_visual = clip_logits(visual, all_text, logit_scale)
    logits_per_text = clip_logits(text, all_visual, logit_scale)
    if targets is None:
        labels = torch.arange(visual.shape[0], device=visual.device) + offset
        return (F.cross_entropy(logits_per_visual, labels) + F.cross_entropy(logits_per_text, labels)) / 2
    return (
        soft_target_cross_entropy(logits_per_visual, targets)
        + soft_target_cross_entropy(logits_per_text, targets)
    ) / 2
