"""Self-describing hyperparameters: the towers are stored as ``class_path`` configs, not as objects.

A checkpoint must rebuild its model alone (``MERContrastModule.load_from_checkpoint(path)`` in a
notebook). Pickling the injected ``nn.Module`` towers into the hyperparameters would double the file
size, break ``torch.load(weights_only=True)`` and tie the checkpoint to the pickled code. Instead,
the towers' *configs* are stored, as LightningCLI does: when the module is built from a config (the
CLI, or :func:`build_from_config`), Lightning's instantiator hands the resolved nested config to
``save_hyperparameters`` and ``load_from_checkpoint`` re-instantiates it with jsonargparse.
A module built from tower *instances* in Python cannot know the towers' constructor arguments, so its
checkpoints need ``visual=`` / ``text=`` at load time (we warn when saving such a checkpoint).

The private Lightning names this takes (``_given_hyperparameters``, ``_set_hparams``,
``_hparams_initial``) are used here and nowhere else: they are how LightningCLI itself hands a
resolved config to ``save_hyperparameters`` (Lightning >= 2.3), and no public API tells a
config-built module from an object-built one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from lightning.pytorch import LightningModule
from lightning.pytorch.utilities import rank_zero_warn

from mer_contrast.files import load_config

# The instantiator that Lightning trusts when loading checkpoints (``_ALLOWED_INSTANTIATORS``).
INSTANTIATOR = "lightning.pytorch.cli.instantiate_module"

ModuleT = TypeVar("ModuleT", bound=LightningModule)


def cli_given_hparams() -> dict[str, Any] | None:
    """The config that LightningCLI / :func:`build_from_config` passes to ``save_hyperparameters``, if any."""
    try:  # private, but the only way to tell config-built from object-built modules (lightning>=2.3)
        from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters
    except ImportError:  # pragma: no cover - older Lightning: treat as object-built
        return None
    given = _given_hyperparameters.get()
    return dict(given) if given is not None else None


def read_model_config(config: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """The model's init arguments from a dict or YAML file.

    Accepts a full CLI config (``model:`` section), a ``{class_path, init_args}`` block or the init
    arguments themselves.
    """
    if isinstance(config, (str, Path)):
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"model config {path} does not exist; pass a YAML file or a dict")
        config = load_config(path)  # a full config's `model: model/x.yaml` is read in place
    cfg = dict(config)
    if isinstance(cfg.get("model"), Mapping):
        cfg = dict(cfg["model"])
    if "class_path" in cfg:
        cfg = {**cfg.get("init_args", {}), **cfg.get("dict_kwargs", {})}
    return cfg


def build_from_config(cls: type[ModuleT], config: Mapping[str, Any] | str | Path) -> ModuleT:
    """Instantiate ``cls`` from a nested config exactly as LightningCLI does (hparams = resolved config)."""
    from jsonargparse import ArgumentParser
    from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters_context

    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(cls, "model", fail_untyped=False)
    parsed = parser.parse_object({"model": read_model_config(config)})
    resolved = yaml.safe_load(parser.dump(parsed, skip_none=False, format="yaml"))["model"]
    with _given_hyperparameters_context(hparams=resolved, instantiator=INSTANTIATOR):
        return parser.instantiate_classes(parsed).model


def adopt_saved_configs(module: LightningModule, checkpoint: Mapping[str, Any]) -> bool:
    """Keep a checkpoint's tower configs as ``module``'s hparams; True if it has them.

    A module that ``load_from_checkpoint`` rebuilt with jsonargparse from the stored configs holds
    the towers as objects: taking the configs back lets a re-saved checkpoint load alone too.
    """
    saved = checkpoint.get(module.CHECKPOINT_HYPER_PARAMS_KEY, {})
    if not isinstance(saved.get("visual"), Mapping):
        return False
    module._set_hparams(dict(saved))
    module._hparams_initial = copy.deepcopy(module._hparams)  # type: ignore[assignment]
    return True


def warn_not_self_describing(name: str) -> None:
    """The warning, once per module, that its checkpoints need the towers at load time."""
    rank_zero_warn(
        f"{name} was built from tower objects, so its checkpoints need visual=/text= at load time; "
        f"use {name}.from_config(...) or the CLI for self-describing checkpoints"
    )
