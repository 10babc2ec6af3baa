"""``MERContrastModule``: the Lightning task that trains a :class:`~mer_contrast.models.MERRecognizer`.

A training step, as open_clip's::

    outputs = self.model(rgb, flow, au_text)          # logits, joint-space embeddings, logit_scale, ...
    loss, terms = self.objective(
        **outputs, labels=labels, text_ids=stable_text_ids(au_text),
        classify_text=self.model.classify_embedding,  # the joint head's text term (see MERObjective)
    )  # loss = CE + contrastive_weight * InfoNCE (+ the joint head's and the teacher's terms)

The recognizer (towers, head, projections, ``logit_scale``) is ``self.model``
(:class:`~mer_contrast.models.MERRecognizer`) and the loss is ``self.objective``
(:class:`~mer_contrast.losses.objective.MERObjective`), both plain ``nn.Module``s usable without
Lightning. As torchgeo's ``BaseTask``, the task builds them from its own hyper-parameters
(``self.hparams``, by keyword) in :meth:`configure_models`, :meth:`configure_losses` and
:meth:`configure_metrics`, and adds the steps, metrics, optimiser and checkpoint handling. Text is a
training signal only: ``forward(rgb, flow)`` (validation, test, deployment) sees video alone. At
predict time the joint space explains a prediction by the FACS descriptions nearest to the clip's
embedding.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from lightning.pytorch import LightningModule
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor, nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassConfusionMatrix

from mer_contrast.losses.contrastive import stable_text_ids
from mer_contrast.losses.objective import MERObjective
from mer_contrast.metrics import classification_metrics
from mer_contrast.models.migrate import migrate
from mer_contrast.models.recognizer import MERRecognizer
from mer_contrast.models.visual import out_dim_of
from mer_contrast.trainers.checkpoint import check_loaded_settings, load_module, record_clip_settings
from mer_contrast.trainers.config import (
    adopt_saved_configs,
    build_from_config,
    cli_given_hparams,
    warn_not_self_describing,
)
from mer_contrast.trainers.mixup import same_class_mixup
from mer_contrast.trainers.optim import adamw_with_schedule, decay_groups, own_parameters_last
from mer_contrast.trainers.predictions import gather_rows, prediction_rows

# A frozen text tower stays in eval mode on purpose; Lightning would warn about it on every fit.
warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")

log = logging.getLogger(__name__)

Stage = Literal["train", "val", "test"]


class MERContrastModule(LightningModule):
    """Micro-expression classifier with FACS attribute embedding and cross-modal contrastive learning.

    Args:
        visual: video tower (a :class:`~mer_contrast.models.TwoStreamVisual`), ``forward(rgb, flow)``.
        text: text tower (a :class:`~mer_contrast.models.TextTower`); needed when ``contrastive_weight > 0``.
        num_classes: number of classes of the protocol (linked from the datamodule by the CLI).
        class_names: class names in index order; defaults to ``"0"``, ``"1"``, ...
        embed_dim: width of the joint visual-text space.
        contrastive_weight: lambda in ``CE + lambda * contrastive``; 0 is the visual-only ablation
            (no text tower, no projections are built or run).
        positives: ``"pairs"`` (standard InfoNCE), ``"text"`` (clips with the same AU text are
            positives), ``"label"`` (clips of the same class are positives) or ``"similarity"`` (soft
            targets from the FACS sentences' similarity, see :class:`~mer_contrast.losses.ContrastiveLoss`).
        init_temperature: initial InfoNCE temperature (learnable, clamped to ``>= 0.01``).
        similarity_temperature: sharpness of the ``"similarity"`` positives.
        classification_loss: ``"ce"`` or ``"focal"``.
        class_weights: ``"none"``, ``"balanced"`` (inverse training frequency, from the datamodule's
            ``train_label_counts()``) or one weight per class.
        focal_gamma: focusing parameter of the focal loss.
        lr: AdamW learning rate of the visual tower, heads, projections and temperature.
        text_lr: learning rate of the text tower's trainable layers.
        weight_decay: AdamW weight decay of >=2-D weights (never biases, norms or the temperature).
        scheduler: ``"cosine"`` (per step, after ``warmup_epochs`` of linear warmup) or ``"none"``.
        warmup_epochs: epochs of linear warmup.
        explain_top_k: number of nearest FACS descriptions returned per clip by ``predict``.
        head_dropout: dropout before the classifier.
        mixup_alpha: Beta(alpha, alpha) mixup of each training clip with a clip of the same class
            (:mod:`mer_contrast.trainers.mixup`; labels kept); 0 turns it off.
        distill_weight: weight of distilling a text teacher (a linear head over the FACS sentences)
            into the video classifier (:mod:`mer_contrast.losses.distill`); 0 turns it off. Needs the
            text tower, so ``contrastive_weight: 0`` (the visual-only ablation) turns it off too.
        distill_temperature: softening of the teacher's and the video classifier's distributions.
        head_input: ``"features"`` or ``"joint"``: the classifier reads the joint space, where it
            can also learn from the FACS sentences (``text_classification_weight``); see
            :class:`~mer_contrast.models.MERRecognizer`.
        text_classification_weight: weight of the classifier's cross-entropy on the training clips'
            projected sentences (joint head only; 0 turns it off). Text stays a training signal: at
            test time the same head reads the video's embedding.
        test_time_flip: evaluate and predict on the mean of each clip's and its mirror image's
            features (see :class:`~mer_contrast.models.MERRecognizer`); training is unchanged.
    """

    def __init__(
        self,
        visual: nn.Module,
        text: nn.Module | None = None,
        num_classes: int = 5,
        class_names: list[str] | None = None,
        embed_dim: int = 256,
        contrastive_weight: float = 0.5,
        positives: Literal["pairs", "text", "label", "similarity"] = "text",
        init_temperature: float = 0.07,
        similarity_temperature: float = 0.05,
        classification_loss: Literal["ce", "focal"] = "ce",
        class_weights: Literal["none", "balanced"] | list[float] = "none",
        focal_gamma: float = 2.0,
        lr: float = 1e-3,
        text_lr: float = 1e-5,
        weight_decay: float = 1e-4,
        scheduler: Literal["cosine", "none"] = "cosine",
        warmup_epochs: int = 0,
        explain_top_k: int = 3,
        head_dropout: float = 0.0,
        mixup_alpha: float = 0.0,
        distill_weight: float = 0.0,
        distill_temperature: float = 2.0,
        head_input: Literal["features", "joint"] = "features",
        text_classification_weight: float = 0.0,
        test_time_flip: bool = False,
    ) -> None:
        super().__init__()
        # Config-built (CLI, from_config, load_from_checkpoint): hparams hold the towers' configs.
        # Object-built: keep the towers out of hparams (see trainers/config.py).
        self.self_describing = cli_given_hparams() is not None
        self.save_hyperparameters(ignore=None if self.self_describing else ["visual", "text"])
        weights = {"contrastive_weight": contrastive_weight, "mixup_alpha": mixup_alpha}
        weights |= {
            "distill_weight": distill_weight,
            "text_classification_weight": text_classification_weight,
        }
        for name, value in weights.items():
            if value < 0:
                raise ValueError(f"{name} must be >= 0 (0 = off), got {value}")
        if contrastive_weight > 0 and text is None:
            raise ValueError(
                "contrastive_weight > 0 needs a text tower: set model.text (e.g. class_path: TextTower) "
                "or contrastive_weight: 0 for the visual-only ablation"
            )
        # In this order: seeded runs draw the recognizer's weights, then the text teacher's.
        self.configure_models(visual, text)
        self.configure_losses()
        self.configure_metrics()
        self.last_confusion: dict[str, Tensor] = {}
        self.test_predictions: list[dict[str, Any]] = []
        self._test_rows: list[dict[str, Any]] = []
        self._term_sums: dict[str, Tensor] = {}  # this epoch's loss terms x clips (see _record_terms)
        self._term_clips = 0
        self._warned_not_self_describing = False

    # ----------------------------------------------------------------------------- construction
    def configure_models(self, visual: nn.Module, text: nn.Module | None) -> None:
        """``self.model``: the recognizer around the two towers, from ``self.hparams``.

        The towers are the constructor's objects (the hyper-parameters hold their configs, or nothing
        for towers built in Python); everything else comes from the hyper-parameters.
        """
        hparams = self.hparams
        # The ablation builds no text-side modules: unused trainable parameters would break DDP.
        joint = hparams["contrastive_weight"] > 0 and text is not None
        if text is not None and not joint:
            log.info("contrastive_weight=0 (visual-only ablation): the text tower is not used")
        self.model = MERRecognizer(
            visual,
            text if joint else None,
            num_classes=hparams["num_classes"],
            class_names=hparams["class_names"],
            embed_dim=hparams["embed_dim"],
            head_dropout=hparams["head_dropout"],
            explain_top_k=hparams["explain_top_k"],
            head_input=hparams["head_input"],
            init_temperature=hparams["init_temperature"],
            test_time_flip=hparams["test_time_flip"],
        )

    def configure_losses(self) -> None:
        """``self.objective``: the training loss of ``self.model``, from ``self.hparams``."""
        hparams = self.hparams
        text = self.model.text
        self.objective = MERObjective(
            hparams["num_classes"],
            out_dim_of(text, "MERContrastModule", "text") if text is not None else None,
            self.model.joint_head,
            classification_loss=hparams["classification_loss"],
            class_weights=hparams["class_weights"],
            focal_gamma=hparams["focal_gamma"],
            contrastive_weight=hparams["contrastive_weight"],
            positives=hparams["positives"],
            similarity_temperature=hparams["similarity_temperature"],
            text_classification_weight=hparams["text_classification_weight"],
            distill_weight=hparams["distill_weight"],
            distill_temperature=hparams["distill_temperature"],
        )

    def configure_metrics(self) -> None:
        """The report's definitions (mer_contrast/metrics.py): a fold's logged figures equal its report's.

        Evaluation figures are metric states synced over the ranks when computed; with the unpadded
        evaluation sampler (:mod:`mer_contrast.datamodules.sharding`) they count each clip once, so
        2 processes log what 1 does.
        """
        num_classes = self.hparams["num_classes"]
        self.train_metrics = classification_metrics(num_classes, "train_")
        self.val_metrics = classification_metrics(num_classes, "val_")
        self.test_metrics = classification_metrics(num_classes, "test_")
        self.val_confusion = MulticlassConfusionMatrix(num_classes)
        self.test_confusion = MulticlassConfusionMatrix(num_classes)
        # The evaluation loss as a metric too: its states (sum, weight) sync exactly over uneven shards,
        # where ``self.log(sync_dist=True)`` divides the summed batch sizes by the ranks in integers.
        self.val_loss = MeanMetric()
        self.test_loss = MeanMetric()

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | str | Path) -> MERContrastModule:
        """Build from the YAML/dict schema of ``model.init_args`` (towers as ``class_path`` blocks).

        Checkpoints of a module built this way (or by the CLI) load with ``load_from_checkpoint(path)``
        alone. Accepts a dict, a model YAML file or a full CLI config file (its ``model:`` section).
        """
        return build_from_config(cls, config)

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]
        cls, checkpoint_path: str | Path, *args: Any, **kwargs: Any
    ) -> MERContrastModule:
        """``LightningModule.load_from_checkpoint`` with ``weights_only=True`` and one-line errors."""
        return load_module(cls, super().load_from_checkpoint, checkpoint_path, *args, **kwargs)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        record_clip_settings(self, checkpoint)  # testing with other clip settings is then an error
        if not self.self_describing and not self._warned_not_self_describing:
            self._warned_not_self_describing = True
            warn_not_self_describing(type(self).__name__)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        check_loaded_settings(self, checkpoint)
        for change in migrate(checkpoint):  # a checkpoint of an earlier layout
            log.info("older checkpoint: %s", change)
        if not self.self_describing:
            self.self_describing = adopt_saved_configs(self, checkpoint)
        self.model.forget_vocabulary()

    def setup(self, stage: str) -> None:
        if stage != "fit":
            return
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        texts = getattr(datamodule, "train_texts", None)
        precompute = getattr(self.model.text, "precompute", None)
        if callable(texts) and callable(precompute):
            precompute(texts())  # every sentence of the fold at once: BERT loads only if one is new
        classification_loss = self.objective.classification_loss
        if not classification_loss.balanced:
            return
        counts = getattr(datamodule, "train_label_counts", None)
        if callable(counts):
            classification_loss.set_class_counts(counts())
        else:
            rank_zero_warn(
                "class_weights='balanced' needs datamodule.train_label_counts(); using uniform weights"
            )

    # ----------------------------------------------------------------------------- model
    def forward(self, rgb: Tensor, flow: Tensor | None = None) -> Tensor:
        """Class logits ``(B, num_classes)`` from video alone."""
        return self.model(rgb, flow)

    # ----------------------------------------------------------------------------- steps
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        labels = batch["label"]
        texts = list(batch["au_text"])
        rgb, flow = same_class_mixup(batch["rgb"], batch.get("flow"), labels, self.hparams["mixup_alpha"])
        outputs = self.model(rgb, flow, texts)
        text_ids = stable_text_ids(texts, device=labels.device)
        classify_text = self.model.classify_embedding  # the joint head's text term, after InfoNCE
        loss, terms = self.objective(**outputs, labels=labels, text_ids=text_ids, classify_text=classify_text)
        logits = outputs["logits"]
        batch_size = labels.shape[0]
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=batch_size)
        self._record_terms(terms, batch_size)
        self.train_metrics.update(logits.detach(), labels)  # logged at the epoch's end
        return loss

    def _record_terms(self, terms: Mapping[str, Tensor], batch_size: int) -> None:
        """The loss terms: ``{name}_step`` on the steps the logger writes, ``{name}_epoch`` (the
        clip-weighted mean, synced over the ranks) at the epoch's end, and that mean as ``{name}`` in
        ``trainer.callback_metrics``.

        Summed here rather than handed to ``self.log`` at every step: Lightning's bookkeeping of each
        logged value cost a ``casme2_cpu`` fold more than its loss terms' arithmetic.
        """
        for name, value in terms.items():
            weighted = value.detach() * batch_size
            self._term_sums[name] = (
                weighted if name not in self._term_sums else self._term_sums[name] + weighted
            )
        self._term_clips += batch_size
        every = getattr(self._trainer, "log_every_n_steps", 0) if self._trainer is not None else 0
        if every and (self.global_step + 1) % every == 0:  # Lightning's own test of a logging step
            self.log_dict({f"{name}_step": value.detach() for name, value in terms.items()}, on_epoch=False)

    def on_train_epoch_end(self) -> None:
        # Computed (synced over the ranks) and logged once an epoch. Logged as metric objects every
        # step, Lightning moved each one's states to the device at each step; without that, a
        # casme2_cpu fold's whole process took 2.5 % less time (measured 2026-12-07).
        self.log_dict(self.train_metrics.compute())
        self.train_metrics.reset()
        if self._term_clips:
            means = {name: total / self._term_clips for name, total in self._term_sums.items()}
            self.log_dict({f"{name}_epoch": mean for name, mean in means.items()}, sync_dist=True)
            self.log_dict(means, sync_dist=True, logger=False)  # callback_metrics' plain names, as before
        self._term_sums, self._term_clips = {}, 0

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # After the optimizer step (CLIP clamps exp(logit_scale) to <= 100 after every step).
        self.model.clamp_logit_scale()

    def on_train_start(self) -> None:
        self.model.forget_vocabulary()  # the projections are about to change
        self._term_sums, self._term_clips = {}, 0  # nothing left from a fit that stopped mid-epoch

    def _evaluate(self, batch: dict[str, Any], stage: Literal["val", "test"]) -> tuple[Tensor, Tensor]:
        """Video-only logits and probabilities; logs ``{stage}_loss`` (the classification loss)."""
        labels = batch["label"]
        logits = self(batch["rgb"], batch.get("flow"))
        loss = self.objective.classification_loss(logits, labels)
        mean_loss = self.val_loss if stage == "val" else self.test_loss
        mean_loss.update(loss.detach(), weight=len(labels))  # the clip-weighted mean over every rank
        self.log(f"{stage}_loss", mean_loss, on_step=False, on_epoch=True, prog_bar=stage == "val")
        metrics = self.val_metrics if stage == "val" else self.test_metrics
        metrics.update(logits, labels)
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage == "val")
        (self.val_confusion if stage == "val" else self.test_confusion).update(logits, labels)
        return logits, logits.float().softmax(dim=-1)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        _, probs = self._evaluate(batch, "test")
        self._test_rows += prediction_rows(batch, probs)

    def _store_confusion(self, stage: Literal["val", "test"]) -> None:
        confusion = self.val_confusion if stage == "val" else self.test_confusion
        self.last_confusion[stage] = confusion.compute().cpu()
        confusion.reset()

    def on_validation_epoch_end(self) -> None:
        self._store_confusion("val")

    def on_test_epoch_start(self) -> None:
        self._test_rows = []

    def on_test_epoch_end(self) -> None:
        self._store_confusion("test")
        self.test_predictions = gather_rows(self._test_rows)
        self._test_rows = []

    def on_predict_start(self) -> None:
        self.model.forget_vocabulary()

    def predict_step(
        self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0
    ) -> list[dict[str, Any]]:
        """Per clip: ``subject, clip_id, probs, pred, class_name, explanation`` (+ ``label`` if known)."""
        feat = self.model.features(batch["rgb"], batch.get("flow"))
        probs = self.model.classify(feat).float().softmax(dim=-1)
        rows = prediction_rows(batch, probs)
        for row, explanation in zip(rows, self.model.explain(feat), strict=True):
            row["class_name"] = self.model.class_names[row["pred"]]
            row["explanation"] = explanation
        return rows

    # ----------------------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> Any:
        """AdamW: decay only >=2-D weights; the text tower's trainable layers at ``text_lr``."""
        hparams, text = self.hparams, self.model.text
        text_ids = {id(p) for p in text.parameters()} if text is not None else set()
        others = [(n, p) for n, p in self.named_parameters() if not n.startswith("model.")]  # the loss's
        named = [*own_parameters_last(self.model, "model"), *others]
        rest = [(n, p) for n, p in named if id(p) not in text_ids]
        groups = decay_groups(rest, hparams["lr"], hparams["weight_decay"], "model")
        if text is not None:
            groups += decay_groups(
                text.named_parameters(), hparams["text_lr"], hparams["weight_decay"], "text"
            )
        return adamw_with_schedule(groups, self._trainer, hparams["scheduler"], hparams["warmup_epochs"])
