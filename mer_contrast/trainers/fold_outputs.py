"""What a fold run by hand leaves behind: ``fit``'s ``last.ckpt``, ``test``'s and ``predict``'s CSVs.

A fold of ``mer-contrast loso`` writes ``last.ckpt`` and ``predictions_<selection>.csv`` in its folder
(:mod:`mer_contrast.loso.store`); the same fold run by hand (``fit``, then ``test``/``predict
--ckpt_path``) writes the same files, so its predictions can be read and pooled as a LOSO fold's:

* ``fit``: ``last.ckpt`` in the run's folder (the logger's version folder, else
  ``trainer.default_root_dir``), its path printed;
* ``test``: ``predictions_test.csv`` beside the checkpoint, in the format of
  :func:`~mer_contrast.loso.store.write_predictions` (one row per clip, every rank's clips once;
  ``predictions_test_<subject>.csv`` for a subject the checkpoint trained on, flagged as leakage);
* ``predict``: ``predictions_predict.csv`` beside the checkpoint, by :class:`PredictionCSVWriter`
  (Lightning's :class:`~lightning.pytorch.callbacks.BasePredictionWriter` convention; a writer of
  the user's own replaces it).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from mer_contrast.loso.store import subject_folder, write_predictions
from mer_contrast.trainers.predictions import gather_rows

__all__ = [
    "PredictionCSVWriter",
    "add_prediction_writer",
    "output_folder",
    "run_folder",
    "save_last",
    "write_prediction_rows",
    "write_test_predictions",
]

LAST = "last.ckpt"


def run_folder(trainer: Trainer) -> Path:
    """The folder of this ``fit``: where the checkpoint callback writes, less its ``checkpoints/``."""
    callback = trainer.checkpoint_callback
    dirpath = getattr(callback, "dirpath", None)
    if dirpath:
        return Path(dirpath).parent
    return Path(trainer.log_dir or trainer.default_root_dir)


def save_last(trainer: Trainer) -> Path:
    """``fit``'s end: the trained weights as ``last.ckpt`` in :func:`run_folder`; its path."""
    path = run_folder(trainer) / LAST
    trainer.save_checkpoint(path, weights_only=False)  # whole (resumable); explicit: no notice
    # (every rank calls it; rank zero writes)
    return path


def output_folder(trainer: Trainer, ckpt_path: str | Path | None) -> Path:
    """Where ``test``/``predict`` write: beside the checkpoint file, else the run's log folder."""
    if ckpt_path is not None and Path(ckpt_path).is_file():
        return Path(ckpt_path).parent
    return Path(trainer.log_dir or trainer.default_root_dir)


def _label(ckpt_path: str | Path | None) -> str:
    return f"checkpoint {ckpt_path}" if ckpt_path is not None else "untrained weights (no --ckpt_path)"


def write_test_predictions(
    trainer: Trainer,
    module: Any,
    ckpt_path: str | Path | None,
    *,
    epoch: int | None,
    seed: int,
    leaked: bool = False,
) -> Path | None:
    """``test``'s end: ``module.test_predictions`` as ``predictions_test.csv``; its path (None off rank 0).

    ``leaked`` (the test subject was one of the checkpoint's training subjects): the file is named
    ``predictions_test_<subject>.csv``, so it never replaces the fold's held-out predictions.
    """
    if not trainer.is_global_zero:
        return None
    folder = output_folder(trainer, ckpt_path)
    folder.mkdir(parents=True, exist_ok=True)
    subject = getattr(getattr(trainer, "datamodule", None), "test_subject", None)
    name = f"predictions_test_{subject_folder(str(subject))}.csv" if leaked else "predictions_test.csv"
    path = folder / name
    write_predictions(
        path, module.test_predictions, module.model.class_names, epoch=epoch, seed=seed,
        selection=_label(ckpt_path),
    )  # fmt: skip
    return path


def add_prediction_writer(
    trainer: Trainer, class_names: Sequence[str], ckpt_path: str | Path | None
) -> PredictionCSVWriter | None:
    """``predict``'s start: a :class:`PredictionCSVWriter` into ``predictions_predict.csv``, unless the
    trainer already has a prediction writer (the user's own); the writer added, or None."""
    callbacks: list[Any] = trainer.callbacks  # type: ignore[attr-defined]
    if any(isinstance(callback, BasePredictionWriter) for callback in callbacks):
        return None
    path = output_folder(trainer, ckpt_path) / "predictions_predict.csv"
    writer = PredictionCSVWriter(path, class_names, _label(ckpt_path))
    callbacks.append(writer)
    return writer


class PredictionCSVWriter(BasePredictionWriter):
    """Writes ``predict``'s per-clip rows to one CSV at the end of the pass (rank zero, all ranks' rows).

    The columns are :func:`~mer_contrast.loso.store.write_predictions`'s when every clip has a label,
    plus ``class_name`` and ``explanation`` (the nearest FACS descriptions); ``label`` is left empty
    for unlabelled clips.
    """

    def __init__(self, path: str | Path, class_names: Sequence[str], selection: str) -> None:
        super().__init__(write_interval="epoch")
        self.path = Path(path)
        self.class_names = list(class_names)
        self.selection = selection
        self.written: Path | None = None

    def write_on_epoch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        # One predict dataloader: a list of batches (lists of rows); several: a list of those.
        several = bool(predictions) and bool(predictions[0]) and isinstance(predictions[0][0], list)
        batches = [batch for loader in predictions for batch in loader] if several else predictions
        rows = gather_rows([row for batch in batches for row in batch])  # every rank's clips, once
        if not trainer.is_global_zero:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_prediction_rows(self.path, rows, self.class_names, self.selection)
        self.written = self.path


def write_prediction_rows(
    path: Path, rows: list[dict[str, Any]], class_names: Sequence[str], selection: str
) -> None:
    """Rows of ``predict_step`` as CSV: the LOSO columns, then ``class_name`` and ``explanation``."""
    header = ["subject", "clip_id", "label", "pred", *(f"prob_{name}" for name in class_names)]
    header += ["epoch", "seed", "selection", "class_name", "explanation"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(
                [row["subject"], row["clip_id"], row.get("label", ""), int(row["pred"])]
                + [f"{float(p):.6g}" for p in row["probs"]]
                + ["", "", selection, row.get("class_name", ""), "; ".join(row.get("explanation") or [])]
            )
