"""EpochTestPredictions on a toy model: per-epoch records, oracle choice, and no effect on training."""

from __future__ import annotations

import contextlib
import random
from types import SimpleNamespace

import numpy as np
import torch
from lightning.pytorch import LightningDataModule, LightningModule, Trainer, seed_everything
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mer_contrast.loso.callbacks import EpochTestPredictions


class ToyClips(Dataset):
    def __init__(self, n: int, subject: str, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, 3, (n,), generator=g)
        self.rgb = torch.randn(n, 2, 3, 4, 4, generator=g) + self.labels[:, None, None, None, None].float()
        self.flow = torch.randn(n, 1, 2, 4, 4, generator=g)
        self.subject = subject

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"rgb": self.rgb[i], "flow": self.flow[i], "label": self.labels[i],
                "subject": self.subject, "clip_id": f"{self.subject}/c{i}"}  # fmt: skip


class ToyData(LightningDataModule):
    def train_dataloader(self) -> DataLoader:
        return DataLoader(ToyClips(24, "train", 0), batch_size=6, shuffle=True)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(ToyClips(7, "s9", 1), batch_size=4)


class ToyModel(LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(2 * 3 * 16 + 2 * 16, 3))
        self.frozen = nn.Sequential(nn.Dropout(0.5))  # kept in eval on purpose, as a frozen tower would be
        self.forward_modes: list[bool] = []

    def on_train_start(self) -> None:
        self.frozen.eval()

    def forward(self, rgb: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        self.forward_modes.append(self.training)
        return self.net(torch.cat([rgb.flatten(1), flow.flatten(1)], dim=1))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        assert not self.frozen.training and self.net.training
        return nn.functional.cross_entropy(self(batch["rgb"], batch["flow"]), batch["label"])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(callbacks: list) -> ToyModel:
    seed_everything(0)
    model = ToyModel()
    trainer = Trainer(max_epochs=3, callbacks=callbacks, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")  # fmt: skip
    trainer.fit(model, datamodule=ToyData())
    return model


def test_records_each_epoch_in_eval_mode_without_changing_training() -> None:
    recorder = EpochTestPredictions()
    with_cb = _fit([recorder])
    without = _fit([])
    # Same weights: eval mode, no_grad and the RNG restore keep the honest path untouched.
    for a, b in zip(with_cb.parameters(), without.parameters(), strict=True):
        assert torch.equal(a, b)
    assert sorted(recorder.epochs) == [0, 1, 2]
    rows = recorder.epochs[2]
    assert [r["clip_id"] for r in rows] == [f"s9/c{i}" for i in range(7)]
    assert {r["subject"] for r in rows} == {"s9"}
    assert rows[0]["label"] == int(ToyClips(7, "s9", 1).labels[0])
    assert all(abs(sum(r["probs"]) - 1) < 1e-5 and r["pred"] == max(range(3), key=r["probs"].__getitem__)
               for r in rows)  # fmt: skip
    # The test passes ran in eval mode (4 batches x 2 = 2 test batches per epoch), training in train mode.
    assert with_cb.forward_modes.count(False) == 3 * 2
    assert without.forward_modes.count(False) == 0


def test_best_epoch_uses_test_score_then_earliest() -> None:
    recorder = EpochTestPredictions()
    row = {"subject": "s", "clip_id": "c", "probs": [1.0, 0.0]}
    recorder.epochs = {
        0: [{**row, "label": 0, "pred": 1}, {**row, "label": 1, "pred": 1}],
        1: [{**row, "label": 0, "pred": 0}, {**row, "label": 1, "pred": 1}],
        2: [{**row, "label": 0, "pred": 0}, {**row, "label": 1, "pred": 1}],
    }
    assert recorder.best_epoch(2)[0] == 1
    assert recorder.best_epoch(2, metric="uf1")[0] == 1
    recorder.epochs = {}
    try:
        recorder.best_epoch(2)
    except RuntimeError as err:
        assert "recorded no epoch" in str(err)
    else:
        raise AssertionError("expected RuntimeError")


class RandomClips(ToyClips):
    """Draws from python's, numpy's and torch's global generators for every clip it serves."""

    def __getitem__(self, i: int) -> dict:
        random.random(), np.random.rand(), torch.rand(1)
        return super().__getitem__(i)


def test_epoch_test_pass_leaves_every_global_rng_stream_unchanged() -> None:
    def draws() -> tuple:
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    recorder = EpochTestPredictions()
    loader = DataLoader(RandomClips(5, "s1", 2), batch_size=2, shuffle=True)
    trainer = SimpleNamespace(
        current_epoch=0,
        max_epochs=1,
        is_global_zero=True,
        datamodule=SimpleNamespace(test_dataloader=lambda: loader),
        precision_plugin=SimpleNamespace(forward_context=contextlib.nullcontext),
    )
    model = ToyModel()
    seed_everything(3)
    expected = draws()
    seed_everything(3)
    recorder.on_train_epoch_end(trainer, model)  # type: ignore[arg-type]
    assert draws() == expected
    assert len(recorder.epochs[0]) == 5 and model.training
