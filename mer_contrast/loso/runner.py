"""The LOSO runner: a fresh model per held-out subject and seed, tested, written fold by fold.

Each fold is one LightningCLI build of the user's config plus ``--data.init_args.test_subject S``,
``--seed_everything SEED`` (and ``--data.init_args.seed SEED`` unless the overrides set it, so a seed
also varies shuffling, augmentation and validation subjects) and ``--trainer.default_root_dir
DIR/seed{SEED}/{S}``. Model selection is honest by default:

* ``val_strategy: none``: the last epoch of the fixed budget (``max_epochs``).
* ``val_strategy: holdout_subjects``: the checkpoint with the best ``val_uf1`` on validation subjects
  taken from the training subjects (``best.ckpt``), with optional early stopping.
* ``val_strategy: test``: the same checkpointing, but validation *is* the test subject, so the result
  is stored as ``test_selected`` (optimistic), never as honest.

The runner owns checkpointing (a ``ModelCheckpoint`` in the config is replaced): ``last.ckpt``
always, ``best.ckpt`` when validation selects the epoch. ``--selection oracle|both`` adds
:class:`~mer_contrast.loso.callbacks.EpochTestPredictions` and keeps, per subject, the epoch with the
best test score: the number many public MER codebases report, stored as ``oracle`` and labelled
optimistic everywhere. A fold is finished when its ``done.json`` exists; a rerun
skips folds whose ``done.json`` has the same config hash, the same data hash (the clips and frame
files it was built from, :mod:`~mer_contrast.loso.provenance`) and the requested selections.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import mer_contrast
from mer_contrast.datamodules.protocol import missing_members
from mer_contrast.loso.fold_logger import finish_wandb, logger_args, logger_kind, wandb_settings
from mer_contrast.loso.joint_space import EMBEDDINGS_FILE, write_embeddings
from mer_contrast.loso.plan import FoldSpec, LosoOptions, RunPlan, config_hash
from mer_contrast.loso.provenance import DATA_KEY, data_fingerprint, data_status, reading_of
from mer_contrast.loso.store import (
    DONE_FILE,
    EPOCHS_FILE,
    EPOCHS_LABEL,
    RUN_FILE,
    SELECTION_LABELS,
    fold_dir,
    fold_problem,
    prediction_file,
    read_done,
    write_json,
    write_predictions,
)

__all__ = [
    "build_fold_cli",
    "fold_args",
    "is_rank_zero",
    "make_plan",
    "run_fold",
]

log = logging.getLogger(__name__)


def _config_args(options: LosoOptions) -> list[str]:
    return [arg for config in options.configs for arg in ("--config", str(config))] + list(options.overrides)


def build_fold_cli(args: list[str], data_only: bool = False) -> Any:
    """``build_cli(args, run=False)``: a fold's config, built but not run (``sys.argv`` is not read).

    ``data_only``: the config is parsed whole but only the datamodule is built (the plan's need).
    """
    from mer_contrast.loggers.quiet import attach
    from mer_contrast.trainers.checkpoint_io import use_atomic_checkpoints
    from mer_contrast.trainers.lightning_cli import build_cli

    attach()  # Lightning's log handlers exist once it is imported
    cli = build_cli(args, run=False, data_only=data_only)
    if not data_only:  # a fold's checkpoints: whole or absent, a full disk in one line
        use_atomic_checkpoints(cli.trainer)
    return cli


def make_plan(options: LosoOptions) -> RunPlan:
    """Parse the config once and build its data to learn folds, classes and validation strategy."""
    out = options.output_dir()
    digest = config_hash(options.configs, options.overrides)
    cli = build_fold_cli([*_config_args(options), f"--trainer.default_root_dir={out}"], data_only=True)
    datamodule = cli.datamodule
    _check_budget(cli.config)
    lacking = missing_members(datamodule)
    if lacking:
        raise ValueError(
            f"data: {type(datamodule).__name__} lacks {', '.join(lacking)}, which the LOSO runner needs "
            "(mer_contrast.datamodules.protocol.LosoData; MERDataModule has them all)"
        )
    subjects = list(datamodule.folds())
    if options.folds:
        unknown = [s for s in options.folds if s not in subjects]
        if unknown:
            raise ValueError(f"--folds {','.join(unknown)}: not a fold of this dataset; folds are {subjects}")
        subjects = [s for s in subjects if s in options.folds]
    if options.max_folds is not None:
        subjects = subjects[: options.max_folds]
    seed_default = cli.config.get("seed_everything")
    seeds = options.seeds or [
        int(seed_default) if isinstance(seed_default, int) and seed_default is not True else 0
    ]
    folds = [
        FoldSpec(i * len(subjects) + j, seed, s)
        for i, seed in enumerate(seeds)
        for j, s in enumerate(subjects)
    ]
    logger_config = cli.config.get("trainer.logger")
    kind = logger_kind(logger_config)
    return RunPlan(
        out=out,
        experiment=out.resolve().name,
        classes=list(datamodule.class_names),
        subjects=subjects,
        seeds=seeds,
        val_strategy=str(datamodule.val_strategy),
        logger=kind,
        config_hash=digest,
        folds=folds,
        data_seed=cli.config.get("data.init_args.seed") is not None,
        data_hash=data_fingerprint(datamodule),
        data_reading=reading_of(datamodule),
        wandb=wandb_settings(logger_config) if kind == "wandb" else None,
        accelerator=str(cli.config.get("trainer.accelerator") or "auto"),
    )


def _check_budget(config: Any) -> None:
    """A fold that cannot train a step would report an untrained model as its honest result: refuse it."""
    epochs, steps = config.get("trainer.max_epochs"), config.get("trainer.max_steps")
    if epochs == 0 or steps == 0:
        which = "max_epochs" if epochs == 0 else "max_steps"
        raise ValueError(
            f"trainer.{which} is 0: every fold would test an untrained model and report it as the "
            f"result; set --trainer.{which} to at least 1"
        )


def wanted_selections(options: LosoOptions, val_strategy: str) -> list[str]:
    """Summary keys a fold must produce: honest (or test_selected) and/or oracle."""
    keys = []
    if options.selection in ("honest", "both"):
        keys.append("test_selected" if val_strategy == "test" else "honest")
    if options.selection in ("oracle", "both"):
        keys.append("oracle")
    return keys


def is_done(plan: RunPlan, options: LosoOptions, spec: FoldSpec, warn: bool = True) -> bool:
    """True when the fold finished under the same config hash with every requested selection.

    A fold made on other data (another data hash) is not done; one that recorded no data hash (an
    older run) counts as done. A fold whose ``done.json`` is damaged, or whose prediction files
    disagree with it, is redone, with a warning (``warn``).
    """
    folder = fold_dir(plan.out, spec.seed, spec.subject)
    try:
        done = read_done(folder)
    except ValueError as err:  # a garbled done.json: the fold did not provably finish
        if warn:
            log.warning("redoing seed%s/%s: %s", spec.seed, spec.subject, str(err).split(";")[0])
        return False
    if done is None or done.get("config_hash") != plan.config_hash:
        return False
    if data_status(done, plan.data_hash) == "other":
        return False
    if not set(wanted_selections(options, plan.val_strategy)) <= set(done.get("selections", {})):
        return False
    problem = fold_problem(folder, done)
    if problem is not None:
        if warn:
            log.warning("redoing seed%s/%s: %s", spec.seed, spec.subject, problem)
        return False
    return True


def fold_args(options: LosoOptions, plan: RunPlan, spec: FoldSpec) -> list[str]:
    """LightningCLI arguments of one fold: the config, the overrides, then the fold's own settings."""
    folder = fold_dir(plan.out, spec.seed, spec.subject)
    args = [
        *_config_args(options),
        f"--data.init_args.test_subject={spec.subject}",
        f"--seed_everything={spec.seed}",
        f"--trainer.default_root_dir={folder}",
    ]
    if plan.data_seed and not any(o.startswith("--data.init_args.seed") for o in options.overrides):
        # Seeds should vary the data side too (shuffling, augmentation, validation subjects).
        args.append(f"--data.init_args.seed={spec.seed}")
    args += logger_args(plan.logger, plan.experiment, plan.out, folder, f"{spec.subject}-seed{spec.seed}")
    return args


def is_rank_zero() -> bool:
    """False in the extra processes of a multi-GPU (DDP) fold: they run the same loop but write nothing
    (before Lightning is imported, as a finished run's rerun is not: the rank it would read)."""
    if "lightning.fabric" not in sys.modules:
        keys = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")  # lightning's _get_rank
        ranks = [os.environ[key] for key in keys if key in os.environ]
        return not ranks or int(ranks[0]) == 0
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def _clean_fold(folder: Path) -> None:
    """Remove what an interrupted earlier attempt left (checkpoints, CSVs, logs); keep nothing stale."""
    if not is_rank_zero():
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def _checkpoint_epoch(path: Path) -> int:
    from mer_contrast.trainers.checkpoint import read_checkpoint  # weights_only, one-line errors

    return int(read_checkpoint(path)["epoch"])


def run_fold(options: LosoOptions, plan: RunPlan, spec: FoldSpec) -> dict[str, Any]:
    """Train and test one fold; write its checkpoints, prediction CSVs and (last) ``done.json``."""
    import torch
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, Timer

    from mer_contrast.loso.callbacks import EpochTestPredictions
    from mer_contrast.loso.joint_embeddings import JointEmbeddings

    started = time.time()
    folder = fold_dir(plan.out, spec.seed, spec.subject)
    _clean_fold(folder)
    cli = build_fold_cli(fold_args(options, plan, spec))
    model, datamodule, trainer = cli.model, cli.datamodule, cli.trainer
    keys = wanted_selections(options, plan.val_strategy)
    selects_on_val = plan.val_strategy != "none"

    # The runner owns checkpointing: best.ckpt on val_uf1 when there is validation, last.ckpt always.
    callbacks = [c for c in trainer.callbacks if not isinstance(c, ModelCheckpoint)]
    best_cb = None
    if selects_on_val:
        best_cb = ModelCheckpoint(
            dirpath=folder, filename="best", monitor="val_uf1", mode="max", save_top_k=1,
            enable_version_counter=False, auto_insert_metric_name=False,
        )  # fmt: skip
        callbacks.append(best_cb)
        if options.early_stopping > 0:
            callbacks.append(EarlyStopping(monitor="val_uf1", mode="max", patience=options.early_stopping))
    recorder = EpochTestPredictions() if "oracle" in keys else None
    if recorder is not None:
        callbacks.append(recorder)
    timer = Timer()  # time inside the fit/validate/test loops; the rest of a fold is overhead
    embeddings = JointEmbeddings()  # the tested model's joint space, for the report's map
    trainer.callbacks = [*callbacks, embeddings, timer]
    built = time.time()

    trainer.fit(model, datamodule=datamodule)
    if trainer.interrupted:  # Lightning swallows Ctrl-C in fit; a half-trained fold must not look done
        raise KeyboardInterrupt(f"fold seed{spec.seed}/{spec.subject} interrupted; rerun to redo it")
    trainer.save_checkpoint(folder / "last.ckpt", weights_only=False)  # explicit: no notice per fold
    last_epoch = trainer.current_epoch - 1  # epochs are counted from 0; current_epoch = epochs run

    selections: dict[str, dict[str, Any]] = {}
    n_test = 0
    honest_key = next((k for k in keys if k != "oracle"), None)
    if honest_key is not None:
        best_path = Path(best_cb.best_model_path) if best_cb is not None and best_cb.best_model_path else None
        trainer.test(
            model, datamodule=datamodule, ckpt_path=str(best_path) if best_path else None, verbose=False
        )
        if best_path is None:  # no validation score was ever logged: the fixed budget is what was tested
            epoch, label = last_epoch, SELECTION_LABELS["honest" if honest_key == "honest" else honest_key]
        else:
            epoch = _checkpoint_epoch(best_path)
            label = SELECTION_LABELS["honest_val" if honest_key == "honest" else honest_key]
        selections[honest_key] = {"rows": list(model.test_predictions), "epoch": epoch, "label": label}
    if recorder is not None and trainer.is_global_zero:  # the recorder runs on rank zero only
        epoch, rows = recorder.best_epoch(len(plan.classes), options.oracle_metric)
        selections["oracle"] = {"rows": rows, "epoch": epoch, "label": SELECTION_LABELS["oracle"]}

    done: dict[str, Any] = {}
    if trainer.is_global_zero:
        for key, sel in selections.items():
            write_predictions(
                folder / prediction_file(key), sel["rows"], plan.classes,
                epoch=sel["epoch"], seed=spec.seed, selection=sel["label"],
            )  # fmt: skip
            n_test = len(sel["rows"])
        if embeddings.arrays is not None:  # the honest test pass's (none for the visual-only ablation)
            write_embeddings(folder / EMBEDDINGS_FILE, embeddings.arrays)
        if recorder is not None:  # kept for analysis (test-subject learning curves); never pooled
            every_epoch = [{**row, "epoch": e} for e, rows in sorted(recorder.epochs.items()) for row in rows]
            write_predictions(folder / EPOCHS_FILE, every_epoch, plan.classes, epoch=None, seed=spec.seed,
                              selection=EPOCHS_LABEL)  # fmt: skip
        if options.keep_best_only and best_cb is not None and best_cb.best_model_path:
            (folder / "last.ckpt").unlink(missing_ok=True)
        done = {
            "subject": spec.subject,
            "seed": spec.seed,
            "fold_index": spec.index,
            "classes": plan.classes,
            "config_hash": plan.config_hash,
            DATA_KEY: data_fingerprint(datamodule),  # what this fold read, not what the plan saw
            "val_strategy": plan.val_strategy,
            "selections": {
                key: {"label": sel["label"], "file": prediction_file(key), "epoch": sel["epoch"]}
                for key, sel in selections.items()
            },
            "epochs_trained": last_epoch + 1,
            "n_test": n_test,
            "checkpoints": sorted(p.name for p in folder.glob("*.ckpt")),
            "split": datamodule.describe(),  # LosoData, checked by make_plan
            "duration_s": round(time.time() - started, 1),
            "finished": round(time.time(), 1),
            "seconds": {
                "build": round(built - started, 2),  # config parse, model, data and trainer
                "train": round(timer.time_elapsed("train") + timer.time_elapsed("validate"), 2),
                "test": round(timer.time_elapsed("test"), 2),
            },
            "torch_threads": torch.get_num_threads(),  # the thread policy of this fold's process
            "version": mer_contrast.__version__,
        }
        write_json(folder / DONE_FILE, done)  # last: its presence means the fold is complete
    finish_wandb(trainer)
    return done


def write_metadata(plan: RunPlan, options: LosoOptions) -> None:
    """``DIR/loso.json``: what the run is (the report reads classes, folds and seeds from it)."""
    if not is_rank_zero():
        return
    plan.out.mkdir(parents=True, exist_ok=True)
    write_json(plan.out / RUN_FILE, plan.metadata(options))
