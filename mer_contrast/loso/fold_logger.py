"""The logger of each LOSO fold: which kind the config sets up, its per-fold arguments, closing W&B.

* ``wandb``: one W&B group per LOSO experiment, one run per fold (group and name set before init),
  closed after the fold so the next one does not log into it.
* ``file`` (CSV/TensorBoard): its ``save_dir`` moves into the fold folder.
* ``none`` (no logger configured): a CSV logger writing ``logs/metrics.csv`` in the fold folder.
* ``other``: left as configured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

__all__ = ["FILE_LOGGER_CLASSES", "WANDB_CLASSES", "LoggerKind", "finish_wandb", "logger_args", "logger_kind"]

WANDB_CLASSES = ("OfflineSafeWandbLogger", "WandbLogger")
FILE_LOGGER_CLASSES = ("CSVLogger", "TensorBoardLogger")
LoggerKind = Literal["wandb", "file", "none", "other"]


def logger_kind(logger_config: Any) -> LoggerKind:
    """How the fold's logger is set up (``trainer.logger`` of the parsed config); see the module doc."""
    if logger_config in (None, True):
        return "none"
    class_path = getattr(logger_config, "class_path", None) or (
        logger_config.get("class_path") if isinstance(logger_config, dict) else None
    )
    name = class_path.rsplit(".", 1)[-1] if isinstance(class_path, str) else ""
    if name in WANDB_CLASSES:
        return "wandb"
    if name in FILE_LOGGER_CLASSES:
        return "file"
    return "other"


def logger_args(kind: LoggerKind, experiment: str, out: Path, folder: Path, run_name: str) -> list[str]:
    """LightningCLI arguments that point a fold's logger of ``kind`` at its run and folder."""
    if kind == "wandb":
        return [
            f"--trainer.logger.init_args.group={experiment}",
            f"--trainer.logger.init_args.name={run_name}",
            f"--trainer.logger.init_args.save_dir={out}",
        ]
    if kind == "file":
        return [f"--trainer.logger.init_args.save_dir={folder}"]
    if kind == "none":
        csv_logger = {
            "class_path": "lightning.pytorch.loggers.CSVLogger",
            "init_args": {"save_dir": str(folder), "name": "logs", "version": ""},
        }
        return [f"--trainer.logger={json.dumps(csv_logger)}"]
    return []


def finish_wandb(trainer: Any) -> None:
    """Close the fold's W&B run: WandbLogger leaves it open and the next fold would log into it."""
    from lightning.pytorch.loggers import WandbLogger

    if any(isinstance(logger, WandbLogger) for logger in trainer.loggers):
        import wandb

        if wandb.run is not None:
            wandb.finish()
