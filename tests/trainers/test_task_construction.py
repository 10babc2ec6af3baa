"""The task builds its recognizer, objective and metrics from its own hyper-parameters, by keyword."""

from __future__ import annotations

import pytest
from stand_in_text_tower import LetterCounts

from mer_contrast.models import Compact3DCNN, TwoStreamVisual
from mer_contrast.trainers import MERContrastModule


def visual() -> TwoStreamVisual:
    return TwoStreamVisual(
        Compact3DCNN(widths=(4, 8)), Compact3DCNN(in_channels=2, widths=(4,), input_norm="none")
    )


def test_configure_methods_read_the_hyperparameters() -> None:
    text = LetterCounts()
    task = MERContrastModule(visual(), text, num_classes=3, embed_dim=16, positives="text")
    assert task.model.visual_proj is not None and task.model.visual_proj.out_features == 16
    task.hparams["embed_dim"], task.hparams["positives"] = 24, "label"
    task.hparams["init_temperature"], task.hparams["num_classes"] = 0.5, 4
    task.configure_models(visual(), text)
    task.configure_losses()
    task.configure_metrics()
    assert task.model.visual_proj is not None and task.model.visual_proj.out_features == 24
    assert task.model.temperature == pytest.approx(0.5) and task.model.num_classes == 4
    assert (
        task.objective.contrastive_loss is not None and task.objective.contrastive_loss.positives == "label"
    )
    assert task.val_confusion.num_classes == 4


def test_the_parts_are_reached_through_model_and_objective_only() -> None:
    task = MERContrastModule(visual(), LetterCounts(), num_classes=3, distill_weight=1.0)
    assert task.model.text is not None and task.objective.distillation is not None
    for alias in ("visual", "text", "classifier", "visual_proj", "text_proj", "class_names"):
        assert not hasattr(task, alias), alias
    for alias in ("classification_loss", "contrastive_loss", "distillation", "temperature", "lr"):
        assert not hasattr(task, alias), alias
    # The visual-only ablation builds no text-side module, from the same hyper-parameters.
    ablation = MERContrastModule(visual(), LetterCounts(), num_classes=3, contrastive_weight=0.0)
    assert ablation.model.text is None and ablation.model.logit_scale is None
    assert ablation.objective.contrastive_loss is None and ablation.objective.distillation is None
