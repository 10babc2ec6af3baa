"""Callbacks of the LOSO runner: per-epoch test predictions for the (labelled) oracle selection.

Many public MER codebases test after every epoch and keep, per held-out subject, the epoch with the
best *test* score. :class:`EpochTestPredictions` records what that needs, so the runner can report the
oracle number next to the honest one, but it is built to leave training untouched: it runs on the
model in eval mode under ``no_grad`` (no BatchNorm statistics move), restores every submodule's
train/eval flag, and restores the python, numpy, torch and CUDA RNG states (Lightning's
``isolate_rng``; iterating a DataLoader draws a seed from torch's global generator), so the honest
model of a fold is the same with or without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities.seed import isolate_rng

from mer_contrast.datamodules.sharding import unsharded
from mer_contrast.loso.metrics import metrics_of_rows
from mer_contrast.trainers.predictions import prediction_rows

__all__ = ["EpochTestPredictions", "predict_clips"]


def predict_clips(
    module: LightningModule, batches: Iterable[Mapping[str, Any]], device: torch.device | None = None
) -> list[dict[str, Any]]:
    """Per-clip predictions of ``module(rgb, flow)`` (video only) over ``batches``, without gradients.

    Returns dicts with ``subject``, ``clip_id``, ``label``, ``pred`` and ``probs`` (list of floats). The
    caller sets eval mode and any autocast context.
    """
    device = device or module.device
    rows: list[dict[str, Any]] = []
    with torch.no_grad():
        for batch in batches:
            rgb = move_data_to_device(batch["rgb"], device)
            flow = move_data_to_device(batch["flow"], device)
            probs = module(rgb, flow).float().softmax(dim=-1)
            rows += prediction_rows({**batch, "label": torch.as_tensor(batch["label"]).reshape(-1)}, probs)
    return rows


class EpochTestPredictions(Callback):
    """At the end of every training epoch, predict the datamodule's test set and keep the predictions.

    Only for the oracle selection (:meth:`best_epoch`), which is optimistic by construction; the honest
    path never reads it. Runs on global rank zero only (the test set is not sharded here).

    Args:
        every_n_epochs: record every n-th epoch (and always the last one).
    """

    def __init__(self, every_n_epochs: int = 1) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.every_n_epochs = every_n_epochs
        self.epochs: dict[int, list[dict[str, Any]]] = {}
        self._loader: Any = None

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.epochs = {}
        self._loader = None

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        epoch = trainer.current_epoch
        last = trainer.max_epochs is not None and epoch + 1 >= trainer.max_epochs
        if not trainer.is_global_zero or ((epoch + 1) % self.every_n_epochs and not last):
            return
        if self._loader is None:  # built once: its workers (if persistent) serve every epoch
            datamodule = getattr(trainer, "datamodule", None)
            if datamodule is None or not hasattr(datamodule, "test_dataloader"):
                raise RuntimeError("EpochTestPredictions needs a datamodule with test_dataloader()")
            self._loader = unsharded(datamodule.test_dataloader())  # every clip, on this rank alone
        modes = {module: module.training for module in pl_module.modules()}
        pl_module.eval()
        cuda = torch.cuda.is_initialized()  # saving the CUDA states would initialise CUDA on a CPU run
        try:
            with isolate_rng(include_cuda=cuda), trainer.precision_plugin.forward_context():
                self.epochs[epoch] = predict_clips(pl_module, self._loader)
        finally:
            for module, training in modes.items():
                module.train(training)

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._loader = None  # let persistent loader workers exit

    def best_epoch(self, num_classes: int, metric: str = "accuracy") -> tuple[int, list[dict[str, Any]]]:
        """The epoch with the best test ``metric`` (ties: the other of accuracy/UF1, then the earliest).

        This is test-set selection: report its numbers only as the oracle.
        """
        if not self.epochs:
            raise RuntimeError("EpochTestPredictions recorded no epoch (was the model trained?)")
        other = "uf1" if metric == "accuracy" else "accuracy"

        def score(epoch: int) -> tuple[float, float, int]:
            rows = self.epochs[epoch]
            values = metrics_of_rows(rows, num_classes)
            return values[metric], values[other], -epoch

        best = max(self.epochs, key=score)
        return best, self.epochs[best]
