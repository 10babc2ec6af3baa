"""MERContrastModule on tiny real towers and a separable synthetic problem (CPU, seconds)."""

from __future__ import annotations

import csv
import math
import string
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import torch
from lightning.pytorch import LightningDataModule, Trainer, seed_everything
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score
from tiny_bert_model import save_tiny_bert
from torch.utils.data import DataLoader, Dataset

from mer_contrast.losses import balanced_class_weights
from mer_contrast.models import Compact3DCNN, TextTower, TwoStreamVisual
from mer_contrast.trainers import MERContrastModule

NUM_CLASSES = 3
CLASS_NAMES = ["negative", "positive", "surprise"]
# Uneven classes (for "balanced" weights); the AU text is shared within a class (label-aware positives).
LABELS = [0] * 10 + [1] * 8 + [2] * 6
AU_TEXTS = ["brow lowerer", "lip corner puller", "inner brow raiser, upper lid raiser"]
T, H = 4, 16
TRAINER_KW: dict[str, Any] = {
    "accelerator": "cpu",
    "logger": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "enable_checkpointing": False,
}


class ToyClips(Dataset):
    """Class k brightens RGB channel k and shifts flow channel k % 2: separable by a tiny 3D CNN."""

    def __init__(self, seed: int, flip_every: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.samples = []
        for index, label in enumerate(LABELS):
            rgb = 0.3 * torch.rand(T, 3, H, H, generator=gen)
            rgb[:, label] += 0.6
            flow = 0.1 * torch.randn(T - 1, 2, H, H, generator=gen)
            flow[:, label % 2] += 1.0 if label else -1.0
            self.samples.append(
                {
                    "rgb": rgb,
                    "flow": flow,
                    # Flipped labels make test metrics imperfect, so comparing them means something.
                    "label": torch.tensor(
                        (label + 1) % NUM_CLASSES if flip_every and index % flip_every == 0 else label
                    ),
                    "subject": f"sub{index % 4:02d}",
                    "clip_id": f"sub{index % 4:02d}/clip{index:02d}",
                    "aus": str(label + 1),
                    "au_text": AU_TEXTS[label],
                }
            )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.samples[index]


class ToyDataModule(LightningDataModule):
    """Train, val, test and predict loaders over the toy clips."""

    def __init__(self, batch_size: int = 8) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.train_set, self.eval_set, self.test_set = ToyClips(0), ToyClips(1), ToyClips(1, flip_every=3)

    def train_label_counts(self) -> list[int]:
        return [LABELS.count(k) for k in range(NUM_CLASSES)]

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.eval_set, batch_size=self.batch_size)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, batch_size=5)  # uneven last batch on purpose

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(self.eval_set, batch_size=self.batch_size)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """2-layer, hidden-32 random BERT; a character-level WordPiece vocab tokenizes any English text."""
    letters = list(string.ascii_lowercase + string.digits)
    tokens = [*letters, *(f"##{c}" for c in letters), ",", ":"]
    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), tokens, max_position_embeddings=128)


def visual_config() -> dict[str, Any]:
    stream = "mer_contrast.models.Compact3DCNN"
    return {
        "class_path": "mer_contrast.models.TwoStreamVisual",
        "init_args": {
            "rgb_stream": {"class_path": stream, "init_args": {"widths": [4, 8]}},
            "flow_stream": {
                "class_path": stream,
                "init_args": {"in_channels": 2, "widths": [4], "input_norm": "none"},
            },
        },
    }


def model_config(tiny_bert: str, **overrides: Any) -> dict[str, Any]:
    config = {
        "visual": visual_config(),
        "text": {
            "class_path": "mer_contrast.models.TextTower",
            "init_args": {"model": tiny_bert, "max_length": 48},
        },
        "num_classes": NUM_CLASSES,
        "class_names": CLASS_NAMES,
        "embed_dim": 16,
        "lr": 1e-2,
        "class_weights": "balanced",
    }
    return {**config, **overrides}


def tiny_visual() -> TwoStreamVisual:
    return TwoStreamVisual(
        Compact3DCNN(widths=(4, 8)), Compact3DCNN(in_channels=2, widths=(4,), input_norm="none")
    )


def eval_logits(module: MERContrastModule, batch: dict[str, Any]) -> torch.Tensor:
    module.eval()
    with torch.no_grad():
        return module(batch["rgb"], batch["flow"])


class LossRecorder(Callback):
    """Records ``train_loss_epoch`` after every training epoch."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def on_train_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
        self.values.append(float(trainer.callback_metrics["train_loss_epoch"]))


@pytest.fixture(scope="module")
def fitted(tiny_bert: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A module built by LightningCLI (as `mer-contrast fit` does), trained 8 epochs with a checkpoint."""
    seed_everything(0)
    root = tmp_path_factory.mktemp("fit")
    with mock.patch("sys.argv", ["mer-contrast"]):  # LightningCLI would also read pytest's argv
        cli = LightningCLI(
            MERContrastModule,
            ToyDataModule,
            subclass_mode_model=True,
            save_config_callback=None,
            run=False,
            args={
                "model": {
                    "class_path": "mer_contrast.trainers.MERContrastModule",
                    "init_args": model_config(tiny_bert),
                },
                "trainer": {
                    **TRAINER_KW,
                    "enable_checkpointing": True,
                    "max_epochs": 8,
                    "default_root_dir": str(root),
                },
            },
        )
    checkpoint, recorder = ModelCheckpoint(dirpath=root / "ckpt", save_top_k=1), LossRecorder()
    trainer = cli.trainer
    trainer.callbacks.extend([checkpoint, recorder])
    model, data = cli.model, cli.datamodule
    trainer.fit(model, data)
    metrics = dict(trainer.callback_metrics)
    trainer.test(model, data)
    return {
        "model": model,
        "data": data,
        "trainer": trainer,
        "ckpt": checkpoint.best_model_path,
        "losses": recorder.values,
        "fit_metrics": metrics,
        "test_metrics": dict(trainer.callback_metrics),
    }


def test_fit_reduces_loss_and_logs_one_naming_scheme(fitted: dict[str, Any]) -> None:
    losses = fitted["losses"]
    assert len(losses) == 8
    assert losses[-1] < 0.6 * losses[0], losses
    metrics = fitted["fit_metrics"]
    for name in ("train_loss_epoch", "train_ce_epoch", "train_contrastive_epoch", "train_temperature_epoch"):
        assert math.isfinite(float(metrics[name])), name
    for stage in ("train", "val"):
        for name in ("acc", "uf1", "uar"):
            assert f"{stage}_{name}" in metrics
    assert "val_loss" in metrics
    assert float(metrics["val_acc"]) > 0.6  # separable toy problem, held-out clips
    model = fitted["model"]
    torch.testing.assert_close(  # "balanced" weights came from the datamodule's label counts
        model.objective.classification_loss.weight,
        balanced_class_weights(fitted["data"].train_label_counts()),
    )
    assert model.last_confusion["val"].shape == (NUM_CLASSES, NUM_CLASSES)


def test_test_predictions_and_metrics_match_sklearn(fitted: dict[str, Any]) -> None:
    rows = fitted["model"].test_predictions
    data = fitted["data"]
    assert [r["clip_id"] for r in rows] == [s["clip_id"] for s in data.test_set.samples]
    assert [r["label"] for r in rows] == [int(s["label"]) for s in data.test_set.samples]
    assert set(rows[0]) == {"subject", "clip_id", "label", "pred", "probs"}
    for row in rows:
        assert len(row["probs"]) == NUM_CLASSES and sum(row["probs"]) == pytest.approx(1.0, abs=1e-5)
        assert row["pred"] == max(range(NUM_CLASSES), key=row["probs"].__getitem__)
    y_true = [r["label"] for r in rows]
    y_pred = [r["pred"] for r in rows]
    metrics = fitted["test_metrics"]
    assert 0.3 < float(metrics["test_acc"]) < 0.9  # imperfect on the flipped labels
    assert float(metrics["test_acc"]) == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-6)
    assert float(metrics["test_uf1"]) == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-6)
    # UAR over the classes present in the labels (MEGC, the report's definition)
    assert float(metrics["test_uar"]) == pytest.approx(balanced_accuracy_score(y_true, y_pred), abs=1e-6)
    expected_cm = confusion_matrix(y_true, y_pred, labels=list(range(NUM_CLASSES)))
    assert fitted["model"].last_confusion["test"].tolist() == expected_cm.tolist()


def test_temperature_clamped_and_optimizer_groups(fitted: dict[str, Any]) -> None:
    model = fitted["model"]
    scale = model.model.logit_scale
    assert 0.0 <= scale.item() <= math.log(100.0) + 1e-6
    optimizer = model.configure_optimizers()["optimizer"]
    groups = {g["name"]: g for g in optimizer.param_groups}
    no_decay = groups["model_no_decay"]["params"]
    assert no_decay[-1] is scale and groups["model_no_decay"]["weight_decay"] == 0.0
    # The optimiser's order of the days the loss held the scale: the recognizer's modules, then the
    # scale (position-matched optimiser states of older checkpoints, the clipping norm's sum).
    expected = [p for n, p in model.named_parameters() if n != "model.logit_scale" and p.ndim < 2] + [scale]
    assert [id(p) for p in no_decay] == [id(p) for p in expected if p.requires_grad]
    assert id(model.model.classifier.bias) in {id(p) for p in no_decay}
    assert id(model.model.classifier.weight) in {id(p) for p in groups["model_decay"]["params"]}
    assert groups["model_decay"]["weight_decay"] == pytest.approx(1e-4)
    assert not any(name.startswith("text") for name in groups)  # frozen text tower: not optimised


def test_clamp_after_step_and_text_lr_group(tiny_bert: str) -> None:
    model = MERContrastModule(
        tiny_visual(), TextTower(tiny_bert, trainable_layers=1), num_classes=NUM_CLASSES, text_lr=3e-5
    )
    with torch.no_grad():
        model.model.logit_scale.fill_(10.0)  # above ln(100)
    Trainer(**TRAINER_KW, max_steps=1, limit_val_batches=0).fit(model, ToyDataModule())
    assert model.model.logit_scale.item() == pytest.approx(math.log(100.0))
    groups = {g["name"]: g for g in model.configure_optimizers()["optimizer"].param_groups}
    text_params = {id(p) for g in ("text_decay", "text_no_decay") for p in groups[g]["params"]}
    trainable = {id(p) for p in model.model.text.parameters() if p.requires_grad}
    assert text_params == trainable and trainable
    assert groups["text_decay"]["lr"] == 3e-5 and groups["model_decay"]["lr"] == 1e-3


def test_checkpoint_loads_alone_and_predicts_the_same(fitted: dict[str, Any]) -> None:
    model, data = fitted["model"], fitted["data"]
    assert isinstance(model.hparams["visual"], dict)  # configs, not pickled modules
    batch = next(iter(data.predict_dataloader()))
    expected = eval_logits(model, batch)
    state = torch.load(fitted["ckpt"], map_location="cpu", weights_only=False)["state_dict"]
    assert not any(k.startswith("text.") for k in state)  # the frozen tower is rebuilt from its config
    loaded = MERContrastModule.load_from_checkpoint(fitted["ckpt"])  # as a notebook would
    torch.testing.assert_close(eval_logits(loaded, batch), expected)
    assert loaded.model.class_names == CLASS_NAMES
    predictions = Trainer(**TRAINER_KW).predict(loaded, dataloaders=data.predict_dataloader())
    rows = [row for batch_rows in predictions for row in batch_rows]
    assert len(rows) == len(LABELS)
    for row in rows:
        assert len(row["explanation"]) == 3 and all(e.startswith("AU") for e in row["explanation"])
        assert row["class_name"] == CLASS_NAMES[row["pred"]]
        assert {"subject", "clip_id", "probs", "label"} <= set(row)


def test_from_config_is_self_describing(tiny_bert: str, tmp_path: Path) -> None:
    model = MERContrastModule.from_config(model_config(tiny_bert, contrastive_weight=0.0, explain_top_k=2))
    assert model.hparams["visual"]["class_path"] == "mer_contrast.models.TwoStreamVisual"
    trainer = Trainer(**TRAINER_KW, max_steps=1, limit_val_batches=0)
    trainer.fit(model, ToyDataModule())
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = MERContrastModule.load_from_checkpoint(tmp_path / "m.ckpt")
    batch = next(iter(ToyDataModule().predict_dataloader()))
    torch.testing.assert_close(eval_logits(loaded, batch), eval_logits(model, batch))
    # Re-saving a loaded module keeps the configs.
    assert isinstance(loaded.hparams["visual"], dict) and loaded.self_describing


def test_lambda_zero_never_runs_text_and_object_checkpoint(tiny_bert: str, tmp_path: Path) -> None:
    calls: list[int] = []
    text = TextTower(tiny_bert)
    text.register_forward_hook(lambda *args: calls.append(1))
    model = MERContrastModule(tiny_visual(), text, num_classes=NUM_CLASSES, contrastive_weight=0.0)
    assert model.model.text is None and model.objective.contrastive_loss is None
    trainer = Trainer(**TRAINER_KW, max_steps=2, limit_val_batches=1)
    trainer.fit(model, ToyDataModule())
    assert calls == []
    rows = trainer.predict(model, ToyDataModule().predict_dataloader())[0]
    assert all(row["explanation"] == [] for row in rows)
    # ...while the contrastive module does run it.
    with_text = MERContrastModule(tiny_visual(), text, num_classes=NUM_CLASSES)
    Trainer(**TRAINER_KW, max_steps=1, limit_val_batches=0).fit(with_text, ToyDataModule())
    assert calls
    # Object-built modules: the checkpoint needs the towers, and says so.
    with pytest.warns(UserWarning, match="built from tower objects"):
        trainer.save_checkpoint(tmp_path / "obj.ckpt")
    with pytest.raises(TypeError, match="stores no tower configs"):
        MERContrastModule.load_from_checkpoint(tmp_path / "obj.ckpt")
    loaded = MERContrastModule.load_from_checkpoint(tmp_path / "obj.ckpt", visual=tiny_visual())
    batch = next(iter(ToyDataModule().predict_dataloader()))
    torch.testing.assert_close(eval_logits(loaded, batch), eval_logits(model, batch))


def test_bf16_mixed_fit_and_predict(tiny_bert: str) -> None:
    model = MERContrastModule(tiny_visual(), TextTower(tiny_bert), num_classes=NUM_CLASSES, positives="label")
    trainer = Trainer(**TRAINER_KW, precision="bf16-mixed", max_steps=2, limit_val_batches=1)
    trainer.fit(model, ToyDataModule())
    rows = [r for b in trainer.predict(model, ToyDataModule().predict_dataloader()) for r in b]
    assert all(math.isfinite(p) for r in rows for p in r["probs"])
    assert all(len(r["explanation"]) == 3 for r in rows)


def test_bad_configuration_messages(tiny_bert: str) -> None:
    with pytest.raises(ValueError, match="needs a text tower"):
        MERContrastModule(tiny_visual(), None, num_classes=3)
    with pytest.raises(ValueError, match="class_names has 2 names"):
        MERContrastModule(tiny_visual(), None, num_classes=3, class_names=["a", "b"], contrastive_weight=0)
    with pytest.raises(TypeError, match="out_dim"):
        MERContrastModule(torch.nn.Linear(2, 2), None, contrastive_weight=0)


class SavePredictions(Callback):
    """Writes each rank's gathered test predictions (ddp_spawn keeps them in the workers)."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def on_test_end(self, trainer: Trainer, pl_module: Any) -> None:
        rows = pl_module.test_predictions
        torch.save(rows, Path(self.out_dir) / f"rank{trainer.global_rank}.pt")


@pytest.mark.slow
def test_ddp_spawn_two_cpu_processes(tiny_bert: str, tmp_path: Path) -> None:
    model = MERContrastModule(tiny_visual(), TextTower(tiny_bert), num_classes=NUM_CLASSES, positives="text")
    kwargs = {**TRAINER_KW, "devices": 2, "strategy": "ddp_spawn", "max_epochs": 1}
    trainer = Trainer(**kwargs, callbacks=[SavePredictions(str(tmp_path))])
    trainer.fit(model, ToyDataModule(batch_size=4))
    trainer.test(model, ToyDataModule())
    expected = [s["clip_id"] for s in ToyDataModule().test_set.samples]
    for rank in range(2):
        rows = torch.load(tmp_path / f"rank{rank}.pt")
        assert [r["clip_id"] for r in rows] == expected


@pytest.mark.parametrize("every", [1, 2])
def test_loss_terms_log_on_logging_steps_and_as_epoch_means(
    tiny_bert: str, tmp_path: Path, every: int
) -> None:
    # The terms are summed by the module, not logged to Lightning at every step (see _record_terms).
    seed_everything(0)
    model = MERContrastModule.from_config(model_config(tiny_bert))
    trainer = Trainer(
        **{**TRAINER_KW, "logger": CSVLogger(tmp_path, name="logs")},
        max_epochs=2,
        limit_val_batches=0,
        log_every_n_steps=every,
    )
    trainer.fit(model, ToyDataModule())  # 3 batches of 8 an epoch
    rows = list(csv.DictReader(next(tmp_path.rglob("metrics.csv")).read_text().splitlines()))
    steps = {int(r["step"]): float(r["train_ce_step"]) for r in rows if r.get("train_ce_step")}
    assert sorted(steps) == [step for step in range(6) if (step + 1) % every == 0]
    epochs = [float(r["train_ce_epoch"]) for r in rows if r.get("train_ce_epoch")]
    assert len(epochs) == 2 and "train_ce" in trainer.callback_metrics
    if every == 1:  # every step is in the log: the epoch's figure is their mean (equal batches)
        for epoch, value in enumerate(epochs):
            assert value == pytest.approx(sum(steps[3 * epoch + k] for k in range(3)) / 3, rel=1e-5)
        assert float(trainer.callback_metrics["train_ce"]) == pytest.approx(epochs[-1], rel=1e-6)


def test_a_fit_starts_its_loss_terms_afresh(tiny_bert: str) -> None:
    model = MERContrastModule.from_config(model_config(tiny_bert))
    model._term_sums, model._term_clips = {"train_ce": torch.tensor(1e6)}, 1  # a fit that broke mid-epoch
    trainer = Trainer(**TRAINER_KW, max_epochs=1, limit_val_batches=0)
    trainer.fit(model, ToyDataModule())
    assert float(trainer.callback_metrics["train_ce_epoch"]) < 10.0


def test_text_distillation_trains_a_teacher_and_is_off_without_the_text(tiny_bert: str) -> None:
    model = MERContrastModule.from_config(model_config(tiny_bert, distill_weight=1.0))
    distillation = model.objective.distillation
    assert distillation is not None
    before = distillation.teacher.weight.detach().clone()
    Trainer(**TRAINER_KW, max_steps=2, limit_val_batches=0).fit(model, ToyDataModule())
    assert not torch.equal(distillation.teacher.weight, before)  # the teacher learnt
    assert {"train_teacher_ce", "train_distill"} <= set(model.trainer.callback_metrics)
    # The teacher is a training-only module: the recognizer alone predicts as the task does.
    batch = next(iter(ToyDataModule().predict_dataloader()))
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model.model(batch["rgb"], batch["flow"]), eval_logits(model, batch))
    ablation = MERContrastModule.from_config(
        model_config(tiny_bert, distill_weight=1.0, contrastive_weight=0.0)
    )
    assert ablation.objective.distillation is None and ablation.model.text is None
    with pytest.raises(ValueError, match="distill_weight must be >= 0"):
        MERContrastModule.from_config(model_config(tiny_bert, distill_weight=-1.0))


def test_joint_head_learns_from_the_sentences_and_predicts_from_video_alone(tiny_bert: str) -> None:
    model = MERContrastModule.from_config(
        model_config(tiny_bert, head_input="joint", text_classification_weight=1.0)
    )
    assert model.model.joint_head and model.model.classifier.in_features == model.hparams.embed_dim
    Trainer(**TRAINER_KW, max_steps=2, limit_val_batches=0).fit(model, ToyDataModule())
    assert "train_text_ce" in model.trainer.callback_metrics
    # The head reads the clip's joint-space embedding; at test time the text tower is not called.
    batch = next(iter(ToyDataModule().predict_dataloader()))
    model.eval()
    with torch.no_grad():
        embedding = model.model.project_video(model.model.features(batch["rgb"], batch["flow"]))
        torch.testing.assert_close(
            model.model(batch["rgb"], batch["flow"]), model.model.classify_embedding(embedding)
        )
        torch.testing.assert_close(model.model(batch["rgb"], batch["flow"]), eval_logits(model, batch))
    # The visual-only ablation of the same config has no joint space: its head reads the features.
    ablation = MERContrastModule.from_config(
        model_config(tiny_bert, head_input="joint", text_classification_weight=1.0, contrastive_weight=0.0)
    )
    assert not ablation.model.joint_head and ablation.objective.text_classification_weight == 0.0
    with pytest.raises(RuntimeError, match="reads visual features"):
        ablation.model.classify_embedding(torch.zeros(1, 8))
    with pytest.raises(ValueError, match="text_classification_weight must be >= 0"):
        MERContrastModule.from_config(model_config(tiny_bert, text_classification_weight=-1.0))
