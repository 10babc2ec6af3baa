"""JointEmbeddings: a test pass's clips and sentences in the joint space, nothing for the ablation."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mer_contrast.loso.joint_embeddings import JointEmbeddings

CLASSES = ["a", "b", "c"]


class Recognizer:
    """The recognizer's joint-space surface: ``embed`` for clips, ``encode_text`` for sentences."""

    def __init__(self, joint: bool = True) -> None:
        self.has_joint_space = joint
        self.class_names = CLASSES
        self.text_in_inference_mode: list[bool] = []

    def embed(self, rgb: torch.Tensor, flow: Any = None) -> torch.Tensor:
        return F.normalize(rgb.flatten(1)[:, :4].float() + 1, dim=-1)

    def encode_text(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        self.text_in_inference_mode.append(torch.is_inference_mode_enabled())
        features = torch.stack([torch.full((4,), float(len(t))) for t in texts])
        return features, features * 2


def _test_pass(recognizer: Recognizer) -> JointEmbeddings:
    callback = JointEmbeddings()
    train_set = SimpleNamespace(
        items=[SimpleNamespace(au_text="x", label=0), SimpleNamespace(au_text="yy", label=1)]
    )
    precision = SimpleNamespace(forward_context=contextlib.nullcontext)
    trainer: Any = SimpleNamespace(
        datamodule=SimpleNamespace(train_set=train_set), precision_plugin=precision
    )
    module: Any = SimpleNamespace(model=recognizer)
    batch = {
        "rgb": torch.rand(3, 2, 3, 4, 4), "clip_id": ["s/1", "s/2", "s/3"], "subject": ["s"] * 3,
        "label": torch.tensor([0, 2, 2]), "au_text": ["x", "zzz", "zzz"],
    }  # fmt: skip
    with torch.inference_mode():  # as Lightning's test loop
        callback.on_test_epoch_start(trainer, module)
        callback.on_test_batch_end(trainer, module, None, batch, 0)
        callback.on_test_epoch_end(trainer, module)
    return callback


def test_a_test_pass_keeps_every_clip_and_each_sentence_once() -> None:
    recognizer = Recognizer()
    arrays = _test_pass(recognizer).arrays
    assert arrays is not None
    assert arrays["video"].shape == (3, 4) and arrays["video_clip"].tolist() == ["s/1", "s/2", "s/3"]
    assert arrays["text_sentence"].tolist() == ["x", "yy", "zzz"] and arrays["text_label"].tolist() == [
        0,
        1,
        2,
    ]
    np.testing.assert_allclose(np.linalg.norm(arrays["text"].astype(np.float32), axis=1), 1.0, atol=1e-2)
    assert arrays["classes"].tolist() == CLASSES
    # Outside inference mode: the text tower's cache must never keep a tensor training would reject.
    assert recognizer.text_in_inference_mode == [False]


def test_the_visual_only_ablation_keeps_nothing() -> None:
    assert _test_pass(Recognizer(joint=False)).arrays is None
