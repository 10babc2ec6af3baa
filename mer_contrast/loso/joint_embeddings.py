"""Taking the joint-space embeddings of a fold's test pass (the torch side of
:mod:`~mer_contrast.loso.joint_space`, which describes the file and draws the map)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch import Callback, LightningModule, Trainer

from mer_contrast.loso.joint_space import sentence_classes
from mer_contrast.trainers.predictions import gather_rows

__all__ = ["JointEmbeddings", "embed_sentences", "joint_space_arrays"]


def embed_sentences(recognizer: Any, sentences: Sequence[str]) -> np.ndarray:
    """Normalised joint-space embeddings ``(M, D)`` of sentences (text tower, then ``text_proj``).

    Outside inference mode (plain ``no_grad``), so that the text tower's cache never holds an
    inference tensor that a later training step would reject.
    """
    if not sentences:
        return np.zeros((0, 0), dtype=np.float32)
    with torch.inference_mode(False), torch.no_grad():
        _, projected = recognizer.encode_text(list(sentences))
    return F.normalize(projected.float(), dim=-1).cpu().numpy()


def joint_space_arrays(
    recognizer: Any,
    clips: Sequence[Mapping[str, Any]],
    sentence_pairs: Iterable[tuple[str, int]],
    class_names: Sequence[str],
) -> dict[str, np.ndarray]:
    """The arrays of ``embeddings.npz``: ``clips`` are rows with ``embedding``, ``label``, ``clip_id``,
    ``subject``; the sentences are ``(sentence, class)`` pairs (one per clip they describe)."""
    sentences, labels = sentence_classes(sentence_pairs)
    text = embed_sentences(recognizer, sentences)
    width = text.shape[1] if len(text) else len(clips[0]["embedding"]) if clips else 0
    return {
        "video": np.asarray([row["embedding"] for row in clips], dtype=np.float16).reshape(len(clips), width),
        "video_label": np.asarray([int(row["label"]) for row in clips], dtype=np.int64),
        "video_clip": np.asarray([str(row["clip_id"]) for row in clips]),
        "video_subject": np.asarray([str(row["subject"]) for row in clips]),
        "text": text.astype(np.float16).reshape(len(sentences), width),
        "text_label": np.asarray(labels, dtype=np.int64),
        "text_sentence": np.asarray(sentences),
        "classes": np.asarray(list(class_names)),
    }


class JointEmbeddings(Callback):
    """Keeps the joint-space embeddings of a test pass (:func:`joint_space_arrays`) in ``arrays``.

    Nothing for a model without a joint space (the visual-only ablation). Runs on every rank (the
    clips are gathered); the caller writes ``arrays`` on rank zero.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] | None = None
        self._rows: list[dict[str, Any]] = []

    def on_test_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.arrays, self._rows = None, []

    def on_test_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        recognizer: Any = pl_module.model
        if not recognizer.has_joint_space:
            return
        with trainer.precision_plugin.forward_context():  # as the test step (autocast under *-mixed)
            embedding = recognizer.embed(batch["rgb"], batch.get("flow")).cpu().tolist()
        for i, vector in enumerate(embedding):
            self._rows.append(
                {"clip_id": batch["clip_id"][i], "subject": batch["subject"][i], "embedding": vector,
                 "label": int(batch["label"][i]), "au_text": batch["au_text"][i]}
            )  # fmt: skip

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        recognizer: Any = pl_module.model
        if not recognizer.has_joint_space:
            return
        clips = gather_rows(self._rows)
        self._rows = []
        train_set = getattr(getattr(trainer, "datamodule", None), "train_set", None)
        pairs = [(item.au_text, item.label) for item in getattr(train_set, "items", ())]
        pairs += [(row["au_text"], row["label"]) for row in clips]
        self.arrays = joint_space_arrays(recognizer, clips, pairs, recognizer.class_names)
