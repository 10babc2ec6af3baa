"""``TextDistillation``: the FACS text as privileged information, distilled into the video classifier.

Text is seen in training only, so what it knows must reach the video network during training. Beside
the contrastive term (which shapes the joint space), a small *teacher* reads each training clip's
FACS sentence (the frozen text tower's features) and predicts the emotion; the video classifier is
then also trained to match the teacher's softened prediction (Hinton-style distillation, "learning
using privileged information", Lopez-Paz et al. 2016)::

    text features --(detached)--> teacher (linear) --> CE with the label           (teacher learns)
                                               \\--> softmax(t / T) --(detached)--> KL <-- video logits / T

The idea: the real coders' emotion is a noisy function of the AUs (the same AUs carry different
labels in different subjects), and a hard label says nothing about which other classes a clip is
close to. The teacher has seen every training sentence with its label, so its targets say "these
AUs are 60 % disgust, 30 % repression" and agree across clips with the same AUs, which hard labels
cannot. At test time nothing of this runs: the teacher is a training-only module. On the CASME II
twin it did not raise UF1 (docs/recipe.md, "The text as a teacher"), so it is off by default.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class TextDistillation(nn.Module):
    """A linear teacher over text features and the distillation loss of the video logits.

    Args:
        text_dim: width of the text tower's features.
        num_classes: number of classes.
        temperature: softening ``T`` of both distributions (the KL is scaled by ``T**2``, so its
            gradients keep their size as ``T`` changes).
        dropout: dropout on the text features before the teacher (the teacher would otherwise fit the
            training sentences' labels exactly, and its targets would be the hard labels again).
    """

    def __init__(
        self, text_dim: int, num_classes: int, temperature: float = 2.0, dropout: float = 0.5
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"distillation temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.dropout = nn.Dropout(dropout)
        self.teacher = nn.Linear(text_dim, num_classes)

    def forward(
        self, text_features: Tensor, video_logits: Tensor, labels: Tensor, class_weight: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(teacher_ce, distillation_kl)`` of one batch.

        The teacher learns from the labels only (``text_features`` are detached); the KL moves the video
        logits only (the teacher's targets are detached), so neither loss can pull the other's model.
        """
        teacher_logits = self.teacher(self.dropout(F.normalize(text_features.detach().float(), dim=-1)))
        weight = None if class_weight is None else class_weight.to(teacher_logits.device)
        teacher_ce = F.cross_entropy(teacher_logits, labels, weight=weight)
        t = self.temperature
        targets = F.softmax(teacher_logits.detach() / t, dim=-1)
        kl = F.kl_div(F.log_softmax(video_logits.float() / t, dim=-1), targets, reduction="batchmean")
        return teacher_ce, kl * t * t
