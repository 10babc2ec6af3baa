"""Fixtures of the spotting tests: short synthetic long videos, a tiny trained checkpoint (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch import LightningDataModule, Trainer
from tiny_bert_model import save_tiny_bert
from torch.utils.data import DataLoader

from mer_contrast.clips.flow import FlowConfig
from mer_contrast.clips.prepare import ClipConfig
from mer_contrast.synth.long_video import LongVideoOptions, render_long_video
from mer_contrast.trainers import MERContrastModule

CLASSES = ["happiness", "disgust", "repression", "surprise", "others"]
WORDS = "inner outer brow raiser lowerer lip corner puller depressor chin cheek lid tightener nose".split()
# 100 fps keeps the videos short in frames; the spotter's parameters are in seconds.
VIDEO = {"seconds": 4.0, "micro_expressions": 2, "blinks": 1, "head_moves": 1, "size": 64, "fps": 100.0}


@pytest.fixture(scope="session")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s at 100 fps, 2 micro-expressions, a blink and a head movement (video, frames, ground truth)."""
    out = tmp_path_factory.mktemp("spot") / "long"
    render_long_video(out, LongVideoOptions(**VIDEO, seed=7))
    return out


@pytest.fixture(scope="session")
def still_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.5 s of a neutral face with nothing but noise and jitter."""
    out = tmp_path_factory.mktemp("spot") / "still"
    options = LongVideoOptions(seconds=1.5, micro_expressions=0, blinks=0, head_moves=0, size=64, fps=100.0)
    render_long_video(out, options)
    return out


class ToyData(LightningDataModule):
    """Random clips with the clip settings a `mer-contrast fit` datamodule records in its checkpoints."""

    def __init__(self, flow_bound: float = 1.0, flow_size: int | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()  # checkpoint["datamodule_hyper_parameters"], as MERDataModule's
        self.num_frames = 4
        self.protocol_name = "casme2-5class"
        self.class_names = CLASSES
        flow = FlowConfig(method="farneback", pairs="consecutive", channels="uv")
        self.clip_config = ClipConfig(num_frames=4, image_size=32, register="translation", flow=flow)

    def train_dataloader(self) -> DataLoader:
        gen = torch.Generator().manual_seed(0)
        items: list[dict[str, Any]] = [
            {
                "rgb": torch.rand(4, 3, 32, 32, generator=gen),
                "flow": torch.randn(3, 2, 32, 32, generator=gen),
                "label": torch.tensor(i % 5),
                "au_text": "lip corner puller",
                "subject": "s",
                "clip_id": f"c{i}",
            }
            for i in range(4)
        ]
        return DataLoader(items, batch_size=4)


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-describing checkpoint of a tiny two-stream model after one training step."""
    folder = tmp_path_factory.mktemp("spot_ckpt")
    (folder / "bert").mkdir()
    bert = save_tiny_bert(folder / "bert", WORDS)
    stream = "mer_contrast.models.Compact3DCNN"
    config = {
        "visual": {
            "class_path": "mer_contrast.models.TwoStreamVisual",
            "init_args": {
                "rgb_stream": {"class_path": stream, "init_args": {"widths": [4, 8]}},
                "flow_stream": {
                    "class_path": stream,
                    "init_args": {"in_channels": 2, "widths": [4], "input_norm": "none"},
                },
            },
        },
        "text": {
            "class_path": "mer_contrast.models.TextTower",
            "init_args": {"model": bert, "max_length": 48},
        },
        "num_classes": 5,
        "class_names": CLASSES,
        "embed_dim": 16,
    }
    model = MERContrastModule.from_config(config)
    trainer = Trainer(
        accelerator="cpu", max_steps=1, logger=False, enable_progress_bar=False,
        enable_model_summary=False, enable_checkpointing=False,
    )  # fmt: skip
    trainer.fit(model, ToyData())
    path = folder / "tiny.ckpt"
    trainer.save_checkpoint(path)
    return path
