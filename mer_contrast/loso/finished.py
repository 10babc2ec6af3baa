"""A ``loso`` rerun of a finished run, answered without building anything: no Lightning, no datamodule.

The plan of a run (:func:`~mer_contrast.loso.runner.make_plan`) parses the config with the
LightningCLI and builds the datamodule to learn its folds, classes and data fingerprint; importing
Lightning alone takes 3-10 s. When ``loso.json`` in ``--out`` says the run was made from the same
config files and overrides (its config hash), with the same fold options, and the data read as it
recorded (:func:`~mer_contrast.loso.provenance.reading_of`) still gives its data fingerprint,
:func:`finished_plan` rebuilds the plan from that record; if every fold of it is done
(:func:`~mer_contrast.loso.runner.is_done`) and the folder holds no fold of another config or other
data, the run is finished and only its report is written again. Anything else (a changed config or
sheet, a missing fold, a record from before runs kept their reading) is None: the long way decides,
with its messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast, get_args

from mer_contrast.loso.fold_logger import LoggerKind
from mer_contrast.loso.plan import FoldSpec, LosoOptions, RunPlan, config_hash
from mer_contrast.loso.provenance import DATA_KEY, find_conflicts, fingerprint_of_reading
from mer_contrast.loso.runner import is_done
from mer_contrast.loso.store import RUN_FILE, read_json

__all__ = ["finished_plan"]


def finished_plan(options: LosoOptions) -> RunPlan | None:
    """The plan of the finished run in ``options``' output folder, or None (module docstring)."""
    out = options.output_dir()
    try:
        record = read_json(out / RUN_FILE)
        if not isinstance(record, dict) or record.get("fold_options") != options.fold_selection():
            return None
        digest = config_hash(options.configs, options.overrides)
    except (OSError, ValueError):  # no or a garbled loso.json, a missing config: the long way says it
        return None
    if record.get("config_hash") != digest or not isinstance(record.get("data_reading"), dict):
        return None
    data_hash = fingerprint_of_reading(record["data_reading"])
    if data_hash is None or data_hash != record.get(DATA_KEY):
        return None
    plan = _plan_of(out, record, digest, data_hash)
    if plan is None or not all(is_done(plan, options, spec, warn=False) for spec in plan.folds):
        return None
    conflicts = find_conflicts(out, digest, data_hash)
    if conflicts.other_config or conflicts.other_data or conflicts.unknown_data:
        return None
    return plan


def _plan_of(out: Path, record: dict[str, Any], digest: str, data_hash: str) -> RunPlan | None:
    """The :class:`RunPlan` that ``loso.json`` describes; None when a field is missing or malformed."""
    logger = record.get("logger")
    if logger not in get_args(LoggerKind):
        return None
    try:
        subjects = [str(subject) for subject in record["folds"]]
        seeds = [int(seed) for seed in record["seeds"]]
        folds = [
            FoldSpec(i * len(subjects) + j, seed, subject)
            for i, seed in enumerate(seeds)
            for j, subject in enumerate(subjects)
        ]
        return RunPlan(
            out=out,
            experiment=str(record["experiment"]),
            classes=[str(name) for name in record["classes"]],
            subjects=subjects,
            seeds=seeds,
            val_strategy=str(record["val_strategy"]),
            logger=cast(LoggerKind, logger),
            config_hash=digest,
            folds=folds,
            data_hash=data_hash,
            data_reading=record["data_reading"],
            wandb=record.get("wandb") if isinstance(record.get("wandb"), dict) else None,
        )
    except (KeyError, TypeError, ValueError):
        return None
