"""The logger of each LOSO fold: which kind the config sets up, its per-fold arguments, closing W&B.

* ``wandb``: one W&B group per LOSO experiment, one run per fold (group and name set before init),
  closed after the fold so the next one does not log into it; the study's own run (job type
  ``summary``, :mod:`~mer_contrast.loso.wandb_study`) joins the group when the folds are done, with
  the logger's project, entity, tags and offline setting (:func:`wandb_settings`).
* ``file`` (CSV/TensorBoard): its ``save_dir`` moves into the fold folder.
* ``none`` (no logger configured): a CSV logger writing ``logs/metrics.csv`` in the fold folder.
* ``other``: left as configured.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Literal

__all__ = ["LoggerKind", "finish_wandb", "logger_args", "logger_kind", "wandb_settings"]

LoggerKind = Literal["wandb", "file", "none", "other"]


def logger_kind(logger_config: Any) -> LoggerKind:
    """How the fold's logger is set up (``trainer.logger`` of the parsed config); see the module doc."""
    if logger_config in (None, True):
        return "none"
    class_path = getattr(logger_config, "class_path", None) or (
        logger_config.get("class_path") if isinstance(logger_config, dict) else None
    )
    # By class, not by name: a user's subclass of WandbLogger or CSVLogger is set up as its base.
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger, WandbLogger

    logger_class = _resolve(class_path)
    if logger_class is None:
        return "other"
    if issubclass(logger_class, WandbLogger):
        return "wandb"
    if issubclass(logger_class, (CSVLogger, TensorBoardLogger)):
        return "file"
    return "other"


def wandb_settings(logger_config: Any) -> dict[str, Any]:
    """What the study's summary run shares with the folds' W&B runs: project, entity, tags, offline."""
    init_args: Any = getattr(logger_config, "init_args", None)
    if init_args is None and isinstance(logger_config, dict):
        init_args = logger_config.get("init_args")
    values = init_args.as_dict() if hasattr(init_args, "as_dict") else dict(init_args or {})
    return {key: values.get(key) for key in ("project", "entity", "tags", "offline")}


def _resolve(class_path: Any) -> type | None:
    """The class a config's ``class_path`` names (``CSVLogger`` alone: Lightning's), or None."""
    if not isinstance(class_path, str) or not class_path:
        return None
    module, _, name = class_path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module or "lightning.pytorch.loggers"), name)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) else None


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
