"""``MERRecognizer``: the whole micro-expression recognizer as a plain ``nn.Module`` (no Lightning).

::

    rgb, flow -> visual tower -> feat -> dropout -> classifier -> logits
                                   \\-> visual_proj -> joint space <- text_proj <- text tower <- FACS text
                                                      (scored at exp(logit_scale))

The visual tower, the classifier head and, when the model is trained with the cross-modal term, the
text tower, the two projections into the joint space and the learnable ``logit_scale`` (the log
inverse temperature of the joint space, as open_clip's ``CLIP.logit_scale``, clamped to
``[0, ln 100]`` by :meth:`clamp_logit_scale` after each optimiser step). Text is a training signal
only: ``model(rgb, flow)`` sees video alone and gives logits; ``model(rgb, flow, texts)`` gives the
training outputs, a dict of tensors that :class:`~mer_contrast.losses.objective.MERObjective` takes as
keyword arguments (with :meth:`classify_embedding` for the joint head's text term). The joint space
explains a prediction by the FACS descriptions nearest to the clip's projected embedding
(:meth:`explain`). The losses and the training loop live in
:class:`~mer_contrast.trainers.MERContrastModule`, which wraps this module as ``module.model`` (as
anomalib's ``torch_model`` beside its ``lightning_model``).

Without Lightning, from a checkpoint of ``mer-contrast fit``::

    model = MERRecognizer.from_checkpoint("runs/fold/last.ckpt").eval()
    logits = model(rgb, flow)                  # (B, num_classes)
    names = model.explain(model.features(rgb, flow))
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mer_contrast.clips.mirror import mirror_clip
from mer_contrast.models.migrate import PREFIX, migrate
from mer_contrast.models.visual import out_dim_of
from mer_contrast.text.facs import au_vocabulary

log = logging.getLogger(__name__)

# A joint-space head classifies unit vectors: this fixed scale lets its logits span a useful range
# (as a cosine classifier's; CLIP's learnt logit scale ends near 100, a 5-class head needs less).
JOINT_HEAD_SCALE = 10.0


class MERRecognizer(nn.Module):
    """Visual tower + classifier, and (with ``text``) the text tower and the joint-space projections.

    Args:
        visual: video tower (a :class:`~mer_contrast.models.TwoStreamVisual`), ``forward(rgb, flow)``.
        text: text tower (a :class:`~mer_contrast.models.TextTower`), or None for a video-only model.
        num_classes: number of classes.
        class_names: class names in index order; defaults to ``"0"``, ``"1"``, ...
        embed_dim: width of the joint visual-text space.
        head_dropout: dropout before the classifier.
        explain_top_k: number of nearest FACS descriptions :meth:`explain` returns per clip.
        head_input: ``"features"`` (the classifier reads the visual features) or ``"joint"`` (it
            reads the clip's normalised joint-space embedding, the space the FACS sentences share, so
            that it can also be trained on the sentences; needs ``text``, else ``"features"``).
        init_temperature: initial temperature ``T`` of the joint space: ``logit_scale`` starts at
            ``ln(1 / T)`` (with ``text`` only).
        max_logit_scale: upper bound of ``exp(logit_scale)`` kept by :meth:`clamp_logit_scale` (CLIP: 100).
        test_time_flip: in eval mode, :meth:`features` averages each clip's features with those of
            its mirror image (:func:`~mer_contrast.clips.mirror.mirror_clip`): training flips faces, so a
            face and its mirror are the same expression to the model. Training is unchanged.
    """

    def __init__(
        self,
        visual: nn.Module,
        text: nn.Module | None = None,
        num_classes: int = 5,
        class_names: list[str] | None = None,
        embed_dim: int = 256,
        head_dropout: float = 0.0,
        explain_top_k: int = 3,
        head_input: Literal["features", "joint"] = "features",
        init_temperature: float = 0.07,
        max_logit_scale: float = 100.0,
        test_time_flip: bool = False,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if init_temperature <= 0:
            raise ValueError(f"init_temperature must be > 0, got {init_temperature}")
        if max_logit_scale < 1:
            raise ValueError(f"max_logit_scale must be >= 1 (exp(0)), got {max_logit_scale}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"class_names has {len(class_names)} names but num_classes is {num_classes}")
        self.num_classes = num_classes
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        self.explain_top_k = explain_top_k
        self.test_time_flip = test_time_flip
        self.visual = visual
        feat_dim = out_dim_of(visual, "MERRecognizer", "visual")
        self.head_dropout = nn.Dropout(head_dropout)
        if head_input == "joint" and text is None:
            log.info("head_input='joint' needs the text tower's joint space: the head reads the features")
        self.joint_head = head_input == "joint" and text is not None
        self.classifier = nn.Linear(embed_dim if self.joint_head else feat_dim, num_classes)
        # Built in this order (classifier, then projections) so seeded runs initialise as before. The
        # logit scale is this module's own parameter (named_parameters() lists it first); the task's
        # optimiser puts it after the submodules', where it was when the loss held it (own_parameters_last).
        self.text: nn.Module | None = text
        self.visual_proj: nn.Module | None = None
        self.text_proj: nn.Module | None = None
        self.logit_scale: nn.Parameter | None = None
        self.max_log_scale = math.log(max_logit_scale)
        if text is not None:
            self.visual_proj = nn.Linear(feat_dim, embed_dim)
            self.text_proj = nn.Linear(out_dim_of(text, "MERRecognizer", "text"), embed_dim)
            init = min(math.log(1.0 / init_temperature), self.max_log_scale)
            self.logit_scale = nn.Parameter(torch.tensor(init))
        self._vocabulary: tuple[list[str], Tensor] | None = None

    # ----------------------------------------------------------------------------- video
    def features(self, rgb: Tensor, flow: Tensor | None = None) -> Tensor:
        """Visual-tower features ``(B, visual.out_dim)``; in eval mode with ``test_time_flip``, the
        mean of the clips' and their mirror images'."""
        feat = self.visual(rgb, flow)
        if self.test_time_flip and not self.training:
            feat = (feat + self.visual(*mirror_clip(rgb, flow))) / 2
        return feat

    def classify(self, feat: Tensor) -> Tensor:
        """Class logits of visual features."""
        if self.joint_head:
            return self.classify_embedding(self.project_video(feat))
        return self.classifier(self.head_dropout(feat))

    def classify_embedding(self, embedding: Tensor) -> Tensor:
        """Class logits of joint-space embeddings, of a clip or of a FACS sentence (joint head only)."""
        if not self.joint_head:
            raise RuntimeError("this model's classifier reads visual features (head_input='features')")
        return self.classifier(self.head_dropout(F.normalize(embedding, dim=-1) * JOINT_HEAD_SCALE))

    @overload
    def forward(self, rgb: Tensor, flow: Tensor | None = None) -> Tensor: ...

    @overload
    def forward(self, rgb: Tensor, flow: Tensor | None, texts: Sequence[str]) -> dict[str, Tensor]: ...

    def forward(
        self, rgb: Tensor, flow: Tensor | None = None, texts: Sequence[str] | None = None
    ) -> Tensor | dict[str, Tensor]:
        """Class logits ``(B, num_classes)`` from video alone; with ``texts``, the training outputs.

        The training outputs (the clips' FACS sentences given) are a dict: ``logits`` and, with a joint
        space, ``text_features`` (the text tower's), ``visual_embedding`` and ``text_embedding`` (the
        joint space, not normalised) and ``logit_scale``.
        """
        feat = self.features(rgb, flow)
        logits = self.classify(feat)
        if texts is None:
            return logits
        outputs = {"logits": logits}
        if self.logit_scale is None:
            return outputs
        # In this order (text tower, then the projection) so that seeded runs draw as before.
        text_features, text_embedding = self.encode_text(list(texts))
        outputs |= {
            "text_features": text_features,
            "visual_embedding": self.project_video(feat),
            "text_embedding": text_embedding,
            "logit_scale": self.logit_scale,
        }
        return outputs

    # ----------------------------------------------------------------------------- joint space
    @property
    def temperature(self) -> float | None:
        """Current temperature ``1 / exp(logit_scale)`` of the joint space (None without one)."""
        return None if self.logit_scale is None else float(torch.exp(-self.logit_scale.detach()))

    @torch.no_grad()
    def clamp_logit_scale(self) -> None:
        """Clamp ``logit_scale`` to ``[0, ln(max_logit_scale)]``; call after each optimiser step (CLIP)."""
        if self.logit_scale is not None:
            self.logit_scale.clamp_(0.0, self.max_log_scale)

    @property
    def has_joint_space(self) -> bool:
        """Whether the text tower and the projections exist (trained with the cross-modal term)."""
        return self.text is not None and self.visual_proj is not None and self.text_proj is not None

    def project_video(self, feat: Tensor) -> Tensor:
        """Visual features in the joint space (not normalised; the loss normalises)."""
        if self.visual_proj is None:
            raise RuntimeError("this model has no joint space (built without a text tower)")
        return self.visual_proj(feat)

    def encode_text(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        """The text tower's features of ``texts`` and their projection into the joint space."""
        if self.text is None or self.text_proj is None:
            raise RuntimeError("this model has no text tower (built with text=None)")
        features = self.text(texts)
        return features, self.text_proj(features)

    def embed(self, rgb: Tensor, flow: Tensor | None = None) -> Tensor:
        """L2-normalised joint-space embeddings ``(B, embed_dim)`` of clips (video only)."""
        return F.normalize(self.project_video(self.features(rgb, flow)).float(), dim=-1)

    @torch.no_grad()
    def explain(self, feat: Tensor, k: int | None = None) -> list[list[str]]:
        """The ``k`` FACS descriptions nearest (cosine, joint space) to each visual feature.

        Empty lists for a model without a joint space.
        """
        k = self.explain_top_k if k is None else k
        if not self.has_joint_space or k <= 0:
            return [[] for _ in range(feat.shape[0])]
        names, vocab = self._vocabulary_embeddings()
        visual = F.normalize(self.project_video(feat).float(), dim=-1)
        top = (visual @ vocab.T).topk(min(k, len(names)), dim=-1).indices.cpu().tolist()
        return [[names[j] for j in row] for row in top]

    def forget_vocabulary(self) -> None:
        """Drop the cached description embeddings (the projections changed, or were loaded)."""
        self._vocabulary = None

    def _vocabulary_embeddings(self) -> tuple[list[str], Tensor]:
        """Projected, normalised embeddings of every AU description (embedded once until forgotten)."""
        if self._vocabulary is None:
            vocabulary = au_vocabulary()
            _, projected = self.encode_text([description for _, description in vocabulary])
            self._vocabulary = (
                [f"AU{number}: {description}" for number, description in vocabulary],
                F.normalize(projected.float(), dim=-1),
            )
        return self._vocabulary

    # ----------------------------------------------------------------------------- loading
    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MERRecognizer:
        """Build from the init arguments of ``MERContrastModule`` (towers as ``class_path`` blocks).

        Arguments that belong to training (losses, optimiser) are ignored; without a contrastive
        term (``contrastive_weight: 0``) the text tower is not built, as in training.
        """
        from jsonargparse import ArgumentParser

        names = set(inspect.signature(cls.__init__).parameters) - {"self"}
        args = {key: value for key, value in dict(config).items() if key in names}
        if float(config.get("contrastive_weight", 1.0) or 0.0) <= 0:
            args["text"] = None
        parser = ArgumentParser(exit_on_error=False)
        parser.add_class_arguments(cls, "model", fail_untyped=False)
        return parser.instantiate_classes(parser.parse_object({"model": args})).model

    @classmethod
    def from_checkpoint(cls, path: str | Path, map_location: str | torch.device = "cpu") -> MERRecognizer:
        """The recognizer of a ``mer-contrast fit`` checkpoint, without Lightning (``weights_only``).

        Checkpoints of earlier versions load too (:func:`~mer_contrast.models.migrate.migrate`).
        """
        checkpoint = torch.load(path, map_location=map_location, weights_only=True, mmap=True)
        migrate(checkpoint)
        config = checkpoint.get("hyper_parameters") or {}
        if not isinstance(config.get("visual"), Mapping):
            raise ValueError(
                f"{path}: the checkpoint does not describe its towers (built from objects, not a config); "
                "load it with MERContrastModule.load_from_checkpoint(path, visual=..., text=...)"
            )
        model = cls.from_config(config)
        model.load_state_dict(own_state(checkpoint["state_dict"]))
        return model

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        """``nn.Module.load_state_dict`` that also forgets the cached vocabulary embeddings."""
        self.forget_vocabulary()
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


def own_state(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """This module's entries of a (migrated) ``MERContrastModule`` state dict, without the ``model.``."""
    return {key[len(PREFIX) :]: value for key, value in state_dict.items() if key.startswith(PREFIX)}
