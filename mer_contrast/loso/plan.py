"""What a LOSO run is: the options it was asked for, its folds and the plan every fold shares.

:class:`LosoOptions` (the configs, their overrides and the :class:`~mer_contrast.loso.options.LosoSettings`),
:class:`FoldSpec` (a held-out subject under a seed), :class:`RunPlan` (learned once from the config by
:func:`~mer_contrast.loso.runner.make_plan`, or read back from ``loso.json`` by
:mod:`~mer_contrast.loso.finished`) and :func:`config_hash` (what a finished fold must match).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mer_contrast
from mer_contrast.files import config_texts
from mer_contrast.loso.fold_logger import LoggerKind
from mer_contrast.loso.options import LosoSettings
from mer_contrast.loso.provenance import DATA_KEY

__all__ = ["FoldSpec", "LosoOptions", "RunPlan", "config_hash"]


@dataclass
class LosoOptions(LosoSettings):
    """What ``mer-contrast loso`` was asked to do: the configs, their overrides and the settings.

    The settings (:class:`~mer_contrast.loso.options.LosoSettings`) are keyword-only; they are the
    flags of :mod:`mer_contrast.cli.loso` and the keys of a config's ``loso:`` section.
    """

    configs: list[str]
    overrides: list[str] = field(default_factory=list)

    def output_dir(self) -> Path:
        return Path(self.out) if self.out is not None else Path("runs") / "loso" / Path(self.configs[0]).stem


@dataclass(frozen=True)
class FoldSpec:
    """One unit of work: a held-out subject under a seed; ``index`` is its ``--fold-index``."""

    index: int
    seed: int
    subject: str


@dataclass
class RunPlan:
    """Everything the folds share, learned once from the config."""

    out: Path
    experiment: str
    classes: list[str]
    subjects: list[str]
    seeds: list[int]
    val_strategy: str
    logger: LoggerKind
    config_hash: str
    folds: list[FoldSpec]
    data_seed: bool = False  # the datamodule takes a ``seed`` argument (the runner sets it per seed)
    data_hash: str | None = None  # the clips and frame files the folds use (provenance.data_fingerprint)
    data_reading: dict[str, Any] | None = None  # how the datamodule reads them (provenance.reading_of)
    wandb: dict[str, Any] | None = None  # the W&B logger's project, entity, tags, offline (wandb logger)
    accelerator: str = "auto"  # the folds' trainer.accelerator (schedule.py: CPU folds run side by side)

    def metadata(self, options: LosoOptions) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "config": [str(c) for c in options.configs],
            "overrides": options.overrides,
            "classes": self.classes,
            "folds": self.subjects,
            "seeds": self.seeds,
            "selection": options.selection,
            "oracle_metric": options.oracle_metric,
            "val_strategy": self.val_strategy,
            "config_hash": self.config_hash,
            DATA_KEY: self.data_hash,
            "data_reading": self.data_reading,
            "logger": self.logger,
            "fold_options": options.fold_selection(),
            "wandb": self.wandb,  # `report --wandb` logs the study into the folds' project
            "version": mer_contrast.__version__,
        }


def config_hash(configs: list[str], overrides: list[str]) -> str:
    """Hash of the config files' contents and the overrides: a finished fold is redone when it changes."""
    parts = []
    for config in configs:
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(
                f"{config}: config file not found; pass a YAML such as configs/casme2.yaml"
            )
        # With the section files it names (`model: model/x.yaml`); `loso:` says how many folds, not what
        parts += config_texts(path, ignore=("loso",))
    blob = json.dumps({"configs": parts, "overrides": list(overrides)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
