"""``MERObjective``: the training loss of a :class:`~mer_contrast.models.MERRecognizer`, in one place.

::

    loss = CE(logits, label)                                    classification (CE or focal)
         + contrastive_weight * InfoNCE(project_video(feat), encode_text(au_text))
         + text_classification_weight * CE(classify_embedding(text embedding), label)   joint head
         + teacher_ce + distill_weight * KL(teacher || logits)                            text teacher

The text terms exist only when the recognizer has a text tower (``contrastive_weight > 0``); with
``contrastive_weight: 0`` (the visual-only ablation) the objective is the classification loss alone.
Plain ``torch``: the Lightning task (:mod:`mer_contrast.trainers.module`) calls it and logs its terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from torch import Tensor, nn

from mer_contrast.losses.classification import ClassificationLoss
from mer_contrast.losses.contrastive import ContrastiveLoss, stable_text_ids
from mer_contrast.losses.distill import TextDistillation

# Where MERContrastModule kept these losses before they moved into ``objective.`` (checkpoint keys).
LEGACY_LOSS_PREFIXES = ("classification_loss.", "contrastive_loss.", "distillation.")
PREFIX = "objective."


class JointSpace(Protocol):
    """What the objective needs of the recognizer (:class:`~mer_contrast.models.MERRecognizer`)."""

    def encode_text(self, texts: list[str]) -> tuple[Tensor, Tensor]: ...

    def project_video(self, feat: Tensor) -> Tensor: ...

    def classify_embedding(self, embedding: Tensor) -> Tensor: ...


class MERObjective(nn.Module):
    """Classification loss plus the text's training signals (see the module docstring).

    Args:
        num_classes: number of classes.
        text_dim: width of the text tower's features, or ``None`` without a text tower (no text terms).
        joint_head: whether the recognizer's classifier reads the joint space (``head_input: joint``);
            only then does ``text_classification_weight`` apply.
        The rest are :class:`~mer_contrast.trainers.MERContrastModule`'s arguments of the same names.
    """

    def __init__(
        self,
        num_classes: int,
        text_dim: int | None,
        joint_head: bool,
        *,
        classification_loss: Literal["ce", "focal"] = "ce",
        class_weights: Literal["none", "balanced"] | list[float] = "none",
        focal_gamma: float = 2.0,
        contrastive_weight: float = 0.5,
        positives: Literal["pairs", "text", "label", "similarity"] = "text",
        init_temperature: float = 0.07,
        similarity_temperature: float = 0.05,
        text_classification_weight: float = 0.0,
        distill_weight: float = 0.0,
        distill_temperature: float = 2.0,
    ) -> None:
        super().__init__()
        self.classification_loss = ClassificationLoss(
            num_classes, classification_loss, class_weights, focal_gamma
        )
        self.contrastive_weight = contrastive_weight
        self.contrastive_loss: ContrastiveLoss | None = None
        self.distillation: TextDistillation | None = None
        self.text_classification_weight = text_classification_weight if joint_head else 0.0
        self.distill_weight = distill_weight
        if text_dim is None:
            return
        self.contrastive_loss = ContrastiveLoss(
            init_temperature, positives=positives, similarity_temperature=similarity_temperature
        )
        if distill_weight > 0:
            self.distillation = TextDistillation(text_dim, num_classes, distill_temperature)

    def forward(
        self, model: JointSpace, feat: Tensor, logits: Tensor, labels: Tensor, texts: Sequence[str]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``(loss, terms)`` of one training batch; ``terms`` are the parts to log (``train_*``)."""
        ce = self.classification_loss(logits, labels)
        terms = {"train_ce": ce}
        if self.contrastive_loss is None:
            return ce, terms
        text_features, text_embedding = model.encode_text(list(texts))
        contrastive = self.contrastive_loss(
            model.project_video(feat),
            text_embedding,
            text_ids=stable_text_ids(list(texts), device=feat.device),
            labels=labels,
            text_features=text_features,
        )
        loss = ce + self.contrastive_weight * contrastive
        terms["train_contrastive"] = contrastive
        terms["train_temperature"] = self.contrastive_loss.logit_scale.detach().neg().exp()
        if self.text_classification_weight > 0:
            text_ce = self.classification_loss(model.classify_embedding(text_embedding), labels)
            loss = loss + self.text_classification_weight * text_ce
            terms["train_text_ce"] = text_ce
        if self.distillation is not None:
            weight = self.classification_loss.weight if self.classification_loss.weighted else None
            teacher_ce, distill = self.distillation(text_features, logits, labels, weight)
            loss = loss + teacher_ce + self.distill_weight * distill
            terms |= {"train_teacher_ce": teacher_ce, "train_distill": distill}
        return loss, terms

    def clamp_(self) -> None:
        """After each optimiser step: keep the InfoNCE temperature in range (CLIP's clamp)."""
        if self.contrastive_loss is not None:
            self.contrastive_loss.clamp_()

    @property
    def temperature(self) -> float | None:
        """Current InfoNCE temperature (None without the contrastive branch)."""
        return self.contrastive_loss.temperature if self.contrastive_loss is not None else None


def upgrade_loss_keys(state_dict: dict[str, Any]) -> bool:
    """Move the losses' keys of an older checkpoint under ``objective.`` in place; True if any moved."""
    legacy = [key for key in state_dict if key.startswith(LEGACY_LOSS_PREFIXES)]
    for key in legacy:
        state_dict[PREFIX + key] = state_dict.pop(key)
    return bool(legacy)
