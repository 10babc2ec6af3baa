"""Contrastive (InfoNCE, label-aware, multi-GPU gather) and classification losses."""

from mer_contrast.losses.classification import ClassificationLoss, balanced_class_weights, focal_loss
from mer_contrast.losses.contrastive import ContrastiveLoss, stable_text_ids
from mer_contrast.losses.distributed import gather_no_grad, gather_with_grad, rank_and_world_size
from mer_contrast.losses.functional import (
    clip_logits,
    clip_loss,
    local_clip_loss,
    positives_mask,
    soft_target_cross_entropy,
)

__all__ = [
    "ClassificationLoss",
    "ContrastiveLoss",
    "balanced_class_weights",
    "clip_logits",
    "clip_loss",
    "focal_loss",
    "gather_no_grad",
    "gather_with_grad",
    "local_clip_loss",
    "positives_mask",
    "rank_and_world_size",
    "soft_target_cross_entropy",
    "stable_text_ids",
]
