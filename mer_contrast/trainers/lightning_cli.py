"""The Lightning CLI of mer-contrast: ``fit``, ``validate``, ``test``, ``predict`` over the base classes.

Plain :class:`~lightning.pytorch.cli.LightningCLI` in subclass mode (as torchgeo does), so YAML configs
name any subclass with a short ``class_path``. The subclass only adds what must not be left to the user:
the class count and names flow from the data to the model, the resolved config is saved with every
run and pushed to W&B when that is the logger, and ``sync_batchnorm`` is turned off where the run is
not on a GPU (``configs/trainer/ddp.yaml`` with ``--trainer.accelerator cpu``: torch's SyncBatchNorm
raises on the CPU).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, NoReturn

import torch
from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info

import mer_contrast
import mer_contrast.datamodules
import mer_contrast.models
import mer_contrast.trainers
from mer_contrast.datamodules import MERDataModule
from mer_contrast.datasets.errors import DataSettingError
from mer_contrast.loso.options import LosoSettings
from mer_contrast.trainers import MERContrastModule, fold_outputs
from mer_contrast.trainers.checkpoint import CheckpointError, check_cli_settings, cli_checkpoint
from mer_contrast.trainers.checkpoint_io import use_atomic_checkpoints


class ConfigToLoggersCallback(SaveConfigCallback):
    """Saves ``config.yaml`` in the log dir and, for W&B runs, into the run's config (rank zero only)."""

    def save_config(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                config = self.parser.dump(self.config, skip_none=False, format="json")
                import json

                logger.experiment.config.update({"cli": json.loads(config)}, allow_val_change=True)


class MERLightningCLI(LightningCLI):
    """LightningCLI with the data -> model links every experiment needs."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # The protocol decides the classes; repeating them in the model section invites mismatches.
        parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")
        parser.link_arguments("data.class_names", "model.init_args.class_names", apply_on="instantiate")
        # A config may also hold the `loso:` options (mer_contrast/loso/options.py): typed and checked
        # with the rest of the config, used by `loso`.
        parser.add_argument(
            "--loso", type=LosoSettings | None, default=None, help="options of `mer-contrast loso`"
        )

    # ---- --ckpt_path checks: one line naming the file and the fix, no traceback (exit status 2) ----
    def _parse_ckpt_path(self) -> None:
        # LightningCLI reads the hyperparameters of --ckpt_path here, before any hook: check it first.
        subcommand = self.config.get("subcommand")
        try:
            self._checkpoint = cli_checkpoint(
                self.config[subcommand].get("ckpt_path") if subcommand else None
            )
        except CheckpointError as error:
            _exit(error)
        super()._parse_ckpt_path()

    def _weights_only(self, subcommand: str) -> Any:
        config = self.config_init[subcommand]
        if config.get("weights_only") is None:  # None leaves it to torch's default (False before 2.6)
            config["weights_only"] = True
        return config

    def _check_settings(self, subcommand: str) -> None:
        ckpt_path = self._weights_only(subcommand).get("ckpt_path")
        try:
            # Popped: the memory-mapped file is let go before Lightning loads it again.
            checkpoint = self.__dict__.pop("_checkpoint", None) or cli_checkpoint(ckpt_path)
            self._checkpoint_epoch = checkpoint.get("epoch") if checkpoint else None
            self._leak = check_cli_settings(ckpt_path, checkpoint, self.model, self.datamodule)
        except CheckpointError as error:
            _exit(error)

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer_config = self._get(self.config_init, "trainer", default={})
        _check_accelerator(trainer_config.get("accelerator"))
        if trainer_config.get("sync_batchnorm") and not _on_gpu(trainer_config.get("accelerator")):
            # configs/trainer/ddp.yaml with --trainer.accelerator cpu: SyncBatchNorm raises off the GPU.
            trainer_config["sync_batchnorm"] = False
            rank_zero_info("sync_batchnorm: off on the CPU (torch's SyncBatchNorm runs on GPUs only)")
        if trainer_config.get("logger") in (False, []):
            # LearningRateMonitor raises without a logger: `--trainer.logger false` drops it too.
            trainer_config["callbacks"] = without_lr_monitor(trainer_config.get("callbacks"))
        return super().instantiate_trainer(**kwargs)

    def before_fit(self) -> None:
        use_atomic_checkpoints(self.trainer)  # whole or absent, never cut (checkpoint_io.py)
        self._weights_only("fit")  # resuming from --ckpt_path

    def after_fit(self) -> None:
        _say("checkpoint", self.trainer, fold_outputs.save_last(self.trainer))

    def before_validate(self) -> None:
        if getattr(self.datamodule, "val_strategy", None) == "none":  # Lightning would validate nothing
            raise DataSettingError(
                "validate: data.init_args.val_strategy is none, so this fold has no validation split; "
                "set --data.init_args.val_strategy holdout_subjects (validation subjects taken from the "
                "training ones) or test (the held-out subject: optimistic), or run `test`"
            )
        self._check_settings("validate")

    def before_test(self) -> None:
        self._check_settings("test")

    def after_test(self) -> None:
        seed = self.config["test"].get("seed_everything")
        path = fold_outputs.write_test_predictions(
            self.trainer, self.model, self.config["test"].get("ckpt_path"),
            epoch=getattr(self, "_checkpoint_epoch", None), seed=seed if type(seed) is int else 0,
            leaked=bool(getattr(self, "_leak", None)),
        )  # fmt: skip
        _say("predictions", self.trainer, path)

    def before_predict(self) -> None:
        self._check_settings("predict")
        self._writer = fold_outputs.add_prediction_writer(
            self.trainer, self.model.model.class_names, self.config["predict"].get("ckpt_path")
        )

    def after_predict(self) -> None:
        writer = self.__dict__.pop("_writer", None)
        _say("predictions", self.trainer, writer.written if writer is not None else None)


class DataOnlyCLI(MERLightningCLI):
    """The whole config parsed and checked, but only the datamodule built: what a LOSO plan reads.

    No model (nor its text tower) and no trainer: listing the folds costs the data alone.
    """

    def instantiate_classes(self) -> None:
        from jsonargparse import ArgumentParser

        parser = ArgumentParser(exit_on_error=False)
        parser.add_subclass_arguments(LightningDataModule, "data", required=True)
        config = parser.parse_object({"data": self.config["data"].as_dict()})
        self.config_init = parser.instantiate_classes(config)
        self.datamodule = self.config_init["data"]


def without_lr_monitor(callbacks: Any) -> list[Any]:
    """``trainer.callbacks`` (a list, one callback or None) without its ``LearningRateMonitor``s."""
    if callbacks is None:
        return []
    listed = callbacks if isinstance(callbacks, list) else [callbacks]
    return [callback for callback in listed if not isinstance(callback, LearningRateMonitor)]


def _check_accelerator(accelerator: Any) -> None:
    """``accelerator: gpu`` (or ``cuda``) where torch sees no GPU: one line naming the CPU way instead."""
    if accelerator not in ("gpu", "cuda"):
        return
    from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator

    if CUDAAccelerator.is_available() or (accelerator == "gpu" and MPSAccelerator.is_available()):
        return
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    raise MisconfigurationException(
        f"trainer.accelerator {accelerator}: torch sees no GPU on this machine (torch "
        f"{torch.__version__}, torch.cuda.is_available() False); run on the CPU with "
        "--trainer.accelerator cpu, or use configs/<database>_cpu.yaml"
    )


def _on_gpu(accelerator: Any) -> bool:
    """Whether a trainer given ``accelerator`` runs on CUDA GPUs (``auto``: where torch sees one)."""
    from lightning.pytorch.accelerators import CUDAAccelerator

    if isinstance(accelerator, CUDAAccelerator):
        return True
    return accelerator in ("gpu", "cuda", "auto", None) and CUDAAccelerator.is_available()


def _say(what: str, trainer: Trainer, path: Path | None) -> None:
    """``checkpoint: PATH`` on stdout, once (rank zero), after the command wrote it."""
    if path is not None and trainer.is_global_zero:
        print(f"{what}: {path}", flush=True)


def _exit(error: CheckpointError) -> NoReturn:
    """An unusable checkpoint is a bad argument: its one-line message and status 2, as for the parser."""
    print(f"error: {error}", file=sys.stderr)  # the format of mer_contrast.cli.main's one-line errors
    raise SystemExit(2) from None


def build_cli(
    args: ArgsType = None, run: bool = True, data_only: bool = False, **kwargs: Any
) -> MERLightningCLI:
    """Build (and by default run) the CLI; ``run=False`` returns it with model, data and trainer built.

    ``data_only`` (with ``run=False``): only the datamodule is built (:class:`DataOnlyCLI`).
    """
    # Every caller hands LightningCLI its arguments: the console script its own command line, the
    # LOSO runner a fold's. Lightning warns when ``sys.argv`` holds arguments as well, which it then
    # always does; the arguments it parses are ``args`` either way. (Set per call: a filter set at
    # import would not survive a test framework's per-test warning state.)
    warnings.filterwarnings("ignore", message=r"LightningCLI's args parameter is intended to run")
    return (DataOnlyCLI if data_only else MERLightningCLI)(
        model_class=MERContrastModule,
        datamodule_class=MERDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        seed_everything_default=0,
        save_config_callback=ConfigToLoggersCallback,
        save_config_kwargs={"overwrite": True},
        # Raise instead of printing a usage dump: the callers print one line (config_check.describe).
        parser_kwargs={"exit_on_error": False, **({"version": mer_contrast.__version__} if run else {})},
        args=args,
        run=run,
        **kwargs,
    )
