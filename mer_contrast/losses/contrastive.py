"""``ContrastiveLoss``: cross-modal InfoNCE on tensors (as open_clip's ``ClipLoss``), exact under DDP.

The loss holds no parameter: the learnable temperature is the recognizer's ``logit_scale``
(:class:`~mer_contrast.models.MERRecognizer`, as open_clip's ``CLIP.logit_scale``), passed in with the
embeddings: ``ContrastiveLoss(positives)(visual_embedding, text_embedding, logit_scale, ...)``.

Multi-GPU convention ("local loss + gather with grad", open_clip's recommended mode): each rank
L2-normalises its ``B`` rows, all-gathers both modalities *with gradients*, and scores its own rows
against all ``N = W * B`` columns (visual rows vs gathered text, text rows vs gathered visual). The
target of local row ``i`` is column ``rank * B + i`` (or, label-aware, every column with the same id).
The per-rank loss is the mean over its rows, so

* the mean of the per-rank losses equals the 1-process loss on the full batch;
* the all-gather backward sums every rank's gradient into the rank that produced the features, so a
  feature's gradient on its rank is ``W`` times its 1-process gradient, and DDP's averaging of parameter
  gradients over ranks (``/ W``) gives exactly the 1-process gradient. ``logit_scale`` is a replicated
  parameter of the model: its per-rank gradients average to the 1-process gradient too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mer_contrast.losses.distributed import gather_no_grad, gather_with_grad, rank_and_world_size
from mer_contrast.losses.functional import local_clip_loss, positives_mask

Positives = Literal["pairs", "text", "label", "similarity"]
POSITIVES: tuple[str, ...] = ("pairs", "text", "label", "similarity")


def stable_text_ids(texts: Sequence[str], device: torch.device | str | None = None) -> Tensor:
    """63-bit ids of strings that agree across processes (``hash()`` is salted per process).

    Equal strings get equal ids, so the ids can be all-gathered to build a cross-rank positives mask.
    """
    ids = [int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little") >> 1 for t in texts]
    return torch.tensor(ids, dtype=torch.int64, device=device)


class ContrastiveLoss(nn.Module):
    """Symmetric visual<->text InfoNCE at the caller's temperature (``logit_scale``).

    Args:
        positives: ``"pairs"`` = standard InfoNCE (only the clip's own text is positive);
            ``"text"`` = clips with the same AU text are positives; ``"label"`` = clips with the same
            class are positives; ``"similarity"`` = soft targets from how alike the FACS sentences
            are: row ``i`` targets ``softmax_j(cos(f_i, f_j) / similarity_temperature)`` over the text
            tower's (unprojected) features ``f``, so "brow lowerer" is partly matched by "brow lowerer;
            lid tightener" and not at all by "lip corner puller". See
            :mod:`mer_contrast.losses.functional` for the soft-target form.
        similarity_temperature: sharpness of the ``"similarity"`` targets (identical texts dominate
            below about 0.02; at 1 every clip of the batch is an equal positive).

    Example:
        >>> loss_fn = ContrastiveLoss(positives="pairs")
        >>> loss = loss_fn(torch.randn(4, 8), torch.randn(4, 8), logit_scale=torch.tensor(2.66))
        >>> loss.shape
        torch.Size([])
    """

    def __init__(self, positives: Positives = "text", similarity_temperature: float = 0.05) -> None:
        super().__init__()
        if positives not in POSITIVES:
            raise ValueError(f"positives must be one of {', '.join(POSITIVES)}, got {positives!r}")
        if similarity_temperature <= 0:
            raise ValueError(f"similarity_temperature must be > 0, got {similarity_temperature}")
        self.positives: Positives = positives
        self.similarity_temperature = similarity_temperature

    def forward(
        self,
        visual_emb: Tensor,
        text_emb: Tensor,
        logit_scale: Tensor,
        text_ids: Tensor | None = None,
        labels: Tensor | None = None,
        text_features: Tensor | None = None,
    ) -> Tensor:
        """Loss of this rank's ``B`` pairs (scalar; see the module docstring for the DDP convention).

        Args:
            visual_emb: ``(B, D)`` projected visual features (normalised here).
            text_emb: ``(B, D)`` projected text features of the same clips.
            logit_scale: scalar log inverse temperature ``ln(1 / T)`` (the model's learnable
                ``logit_scale``; gradients reach it).
            text_ids: ``(B,)`` int ids, equal for equal texts (:func:`stable_text_ids`); needed when
                ``positives="text"``.
            labels: ``(B,)`` class indices; needed when ``positives="label"``.
            text_features: ``(B, F)`` the text tower's features before the projection; needed when
                ``positives="similarity"`` (treated as constants).
        """
        if logit_scale.ndim != 0:
            raise ValueError(f"logit_scale must be a scalar tensor, got shape {tuple(logit_scale.shape)}")
        if visual_emb.shape != text_emb.shape or visual_emb.ndim != 2:
            raise ValueError(
                f"visual_emb {tuple(visual_emb.shape)} and text_emb {tuple(text_emb.shape)} "
                "must both be (B, D)"
            )
        if self.positives == "similarity" and text_features is None:
            raise ValueError("ContrastiveLoss(positives='similarity') needs `text_features` in forward()")
        ids = None if self.positives == "similarity" else self._ids(text_ids, labels)
        rank, _ = rank_and_world_size()
        # The softmax over up to W*B columns at temperature ~0.01 is precision-sensitive: score in fp32
        # even under bf16/fp16 autocast (the matrices are tiny).
        with torch.autocast(device_type=visual_emb.device.type, enabled=False):
            visual = visual_emb.float()
            text = text_emb.float()
            all_visual = gather_with_grad(visual)
            all_text = gather_with_grad(text)
            targets: Tensor | None = None
            if ids is not None:
                targets = positives_mask(ids.to(visual.device), gather_no_grad(ids.to(visual.device)))
            elif text_features is not None:
                local = F.normalize(text_features.detach().float(), dim=-1)
                similarity = local @ gather_no_grad(local).T
                targets = torch.softmax(similarity / self.similarity_temperature, dim=-1)
            return local_clip_loss(
                visual,
                text,
                all_visual,
                all_text,
                logit_scale.float(),
                offset=rank * visual.shape[0],
                targets=targets,
            )

    def _ids(self, text_ids: Tensor | None, labels: Tensor | None) -> Tensor | None:
        if self.positives == "pairs":
            return None
        ids = text_ids if self.positives == "text" else labels
        if ids is None:
            needed = "text_ids" if self.positives == "text" else "labels"
            raise ValueError(f"ContrastiveLoss(positives={self.positives!r}) needs `{needed}` in forward()")
        return ids.reshape(-1).long()

    def extra_repr(self) -> str:
        """Shown by ``print(module)``."""
        extra = (
            f", similarity_temperature={self.similarity_temperature}"
            if self.positives == "similarity"
            else ""
        )
        return f"positives={self.positives!r}{extra}"
