"""``MERObjective``: the training loss of a :class:`~mer_contrast.models.MERRecognizer`, on its outputs.

::

    loss = CE(logits, label)                                           classification (CE or focal)
         + contrastive_weight * InfoNCE(visual_embedding, text_embedding, logit_scale)
         + text_classification_weight * CE(classify_text(text_embedding), label)  joint head
         + teacher_ce + distill_weight * KL(teacher(text_features) || logits)      text teacher

Tensors in, tensors out, as open_clip's ``ClipLoss``: the recognizer's training outputs (a dict whose
keys are this module's keyword arguments, ``objective(**model(rgb, flow, texts), labels=...)``) and the
batch's labels; its only parameters are the text teacher's. One model function comes in beside them,
for the joint head's text term only (``text_classification_weight > 0``): ``classify_text``, the
recognizer's ``classify_embedding``, applied here, after the InfoNCE term is built. Applied in the
recognizer's forward instead, the head's gradient would reach the text embedding before the InfoNCE
term's rather than after it (autograd sums a tensor's gradients in the reverse order of the operations
that read it), and a seeded run's numbers would move in their last digits, then further over epochs.

The text terms exist only when the recognizer has a text tower (``contrastive_weight > 0``); with
``contrastive_weight: 0`` (the visual-only ablation) the objective is the classification loss alone.
Plain ``torch``: the Lightning task (:mod:`mer_contrast.trainers.module`) calls it and logs its terms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from torch import Tensor, nn

from mer_contrast.losses.classification import ClassificationLoss
from mer_contrast.losses.contrastive import ContrastiveLoss
from mer_contrast.losses.distill import TextDistillation


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
        text_dim: int | None = None,
        joint_head: bool = False,
        *,
        classification_loss: Literal["ce", "focal"] = "ce",
        class_weights: Literal["none", "balanced"] | list[float] = "none",
        focal_gamma: float = 2.0,
        contrastive_weight: float = 0.5,
        positives: Literal["pairs", "text", "label", "similarity"] = "text",
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
        self.contrastive_loss = ContrastiveLoss(positives, similarity_temperature)
        if distill_weight > 0:
            self.distillation = TextDistillation(text_dim, num_classes, distill_temperature)

    def forward(
        self,
        logits: Tensor,
        labels: Tensor,
        *,
        visual_embedding: Tensor | None = None,
        text_embedding: Tensor | None = None,
        text_features: Tensor | None = None,
        logit_scale: Tensor | None = None,
        text_ids: Tensor | None = None,
        classify_text: Callable[[Tensor], Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``(loss, terms)`` of one training batch; ``terms`` are the parts to log (``train_*``).

        Args:
            logits: ``(B, num_classes)`` the video's class logits.
            labels: ``(B,)`` class indices.
            visual_embedding, text_embedding: ``(B, D)`` the clips and their sentences in the joint
                space (not normalised); needed with a text tower.
            text_features: ``(B, F)`` the text tower's features (similarity positives, the teacher).
            logit_scale: the recognizer's scalar log inverse temperature; needed with a text tower.
            text_ids: ``(B,)`` ids of the sentences (``stable_text_ids``) for ``positives="text"``.
            classify_text: the joint head on the sentences' embeddings (``model.classify_embedding``);
                called only when ``text_classification_weight > 0`` (see the module docstring).
        """
        ce = self.classification_loss(logits, labels)
        terms = {"train_ce": ce}
        if self.contrastive_loss is None:
            return ce, terms
        if visual_embedding is None or text_embedding is None or logit_scale is None:
            raise ValueError(
                "MERObjective with a text tower needs visual_embedding, text_embedding and logit_scale: "
                "pass the recognizer's training outputs, model(rgb, flow, texts)"
            )
        contrastive = self.contrastive_loss(
            visual_embedding,
            text_embedding,
            logit_scale,
            text_ids=text_ids,
            labels=labels,
            text_features=text_features,
        )
        loss = ce + self.contrastive_weight * contrastive
        terms["train_contrastive"] = contrastive
        terms["train_temperature"] = logit_scale.detach().neg().exp()
        if self.text_classification_weight > 0:
            if classify_text is None:
                raise ValueError(
                    "text_classification_weight > 0 needs classify_text: pass the recognizer's "
                    "classify_embedding"
                )
            text_ce = self.classification_loss(classify_text(text_embedding), labels)
            loss = loss + self.text_classification_weight * text_ce
            terms["train_text_ce"] = text_ce
        if self.distillation is not None:
            if text_features is None:
                raise ValueError("distill_weight > 0 needs text_features (the text tower's features)")
            weight = self.classification_loss.weight if self.classification_loss.weighted else None
            teacher_ce, distill = self.distillation(text_features, logits, labels, weight)
            loss = loss + teacher_ce + self.distill_weight * distill
            terms |= {"train_teacher_ce": teacher_ce, "train_distill": distill}
        return loss, terms
