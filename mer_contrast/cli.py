"""The Lightning CLI of mer-contrast: ``fit``, ``validate``, ``test``, ``predict`` over the base classes.

Plain :class:`~lightning.pytorch.cli.LightningCLI` in subclass mode (as torchgeo does), so YAML configs
name any subclass with a short ``class_path``. The subclass only adds what must not be left to the user:
the class count and names flow from the data to the model, and the resolved config is saved with every
run and pushed to W&B when that is the logger.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import WandbLogger

import mer_contrast
import mer_contrast.datamodules
import mer_contrast.models
import mer_contrast.trainers
from mer_contrast.datamodules import MERDataModule
from mer_contrast.trainers import MERContrastModule


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


def build_cli(args: ArgsType = None, run: bool = True, **kwargs: Any) -> MERLightningCLI:
    """Build (and by default run) the CLI; ``run=False`` returns it with model, data and trainer built."""
    return MERLightningCLI(
        model_class=MERContrastModule,
        datamodule_class=MERDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        seed_everything_default=0,
        save_config_callback=ConfigToLoggersCallback,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"version": mer_contrast.__version__} if run else {},
        args=args,
        run=run,
        **kwargs,
    )
