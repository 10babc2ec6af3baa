"""Checkpoints that fail in one line: safe loading and the clip settings a model was trained with.

* :func:`read_checkpoint` loads only with ``weights_only=True`` unless the caller vouches for the file,
  and turns a missing, empty, truncated or foreign file into a :class:`CheckpointError` that names
  the file and the fix, instead of torch's ``EOFError`` or its advice to retry unsafely.
* :func:`record_clip_settings` stores the datamodule's clip settings (image size, T, span, crop,
  register, the flow's method, pairs, channels, size and solver parameters, fixed flow bounds,
  protocol, classes) under ``checkpoint["mer_contrast"]`` at save time; :func:`settings_mismatch`
  compares them with the data of a ``validate``/``test``/``predict`` run, since a model fed clips
  prepared differently from its training clips gives wrong numbers without any error. The line
  names each setting, both values and the option that restores it (:func:`setting_option`).
  Checkpoints written before a setting was recorded are checked on the settings they hold.
"""

from __future__ import annotations

import logging
import pickle
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_only

import mer_contrast
from mer_contrast.clips.flow import METHOD_FIELDS

KEY = "mer_contrast"  # checkpoint[KEY] = {"version": ..., "clip_settings": {...}}
FIX = "pass a last.ckpt written by `mer-contrast fit`"
# ckpt_path values that Lightning resolves itself (not files).
LIGHTNING_KEYWORDS = frozenset({"best", "last", "hpc", "registry"})
# Set by the CLI after it checked the settings, so on_load_checkpoint does not warn a second time.
CHECKED = "_mer_clip_settings_checked"
EVALUATING = frozenset({TrainerFn.VALIDATING, TrainerFn.TESTING, TrainerFn.PREDICTING})

ModuleT = TypeVar("ModuleT", bound=LightningModule)

log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint cannot be used; ``str(err)`` is one line, ``"<path>: <reason>"``."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(reason.split())
        super().__init__(f"{self.path}: {self.reason}")


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def read_checkpoint(path: Path | str, weights_only: bool = True) -> dict[str, Any]:
    """Load a Lightning checkpoint on CPU, memory-mapped (cheap), after checking it is whole.

    ``weights_only=False`` only for a file the user vouched for (it can run arbitrary code).
    Raises :class:`CheckpointError` for anything that is not a loadable Lightning checkpoint.
    """
    file = Path(path)
    if not file.exists():
        raise CheckpointError(file, f"no such file; {FIX}")
    if not file.is_file():
        raise CheckpointError(file, f"is a folder, not a checkpoint; {FIX}")
    size = file.stat().st_size
    if size == 0:
        raise CheckpointError(file, f"not a checkpoint (0 bytes); {FIX}")
    with file.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"PK\x03\x04":  # torch.save writes a zip archive
        raise CheckpointError(file, f"not a checkpoint ({size} bytes, not a PyTorch archive); {FIX}")
    if not zipfile.is_zipfile(file):  # the central directory sits at the end: the file was cut short
        raise CheckpointError(
            file,
            f"truncated checkpoint ({size} bytes, the end is missing: an interrupted save or copy?); {FIX}",
        )
    try:
        loaded = torch.load(file, map_location="cpu", weights_only=weights_only, mmap=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"GLOBAL (\S+)", str(error))
        what = f"it pickles {found.group(1)}" if found else _first_line(error)
        raise CheckpointError(
            file,
            f"cannot be loaded with weights_only=True ({what}, which could run code); {FIX}, or, only "
            "if you trust the file, MERContrastModule.load_from_checkpoint(path, weights_only=False)",
        ) from None
    except Exception as error:  # a damaged member or an archive that torch did not write
        raise CheckpointError(file, f"damaged checkpoint ({_first_line(error)}); {FIX}") from None
    if not isinstance(loaded, Mapping) or "state_dict" not in loaded:
        raise CheckpointError(file, f"a PyTorch file but not a Lightning checkpoint (no state_dict); {FIX}")
    return dict(loaded)


def load_module(
    cls: type[ModuleT], load: Callable[..., Any], checkpoint_path: Path | str, *args: Any, **kwargs: Any
) -> ModuleT:
    """``load_from_checkpoint`` body: check the file, load with ``weights_only=True`` unless vouched."""
    # weights_only is the 5th parameter of LightningModule.load_from_checkpoint; only False vouches
    # (Lightning's None means False for URLs).
    vouched = (args[3] if len(args) > 3 else kwargs.get("weights_only")) is False
    if len(args) <= 3:
        kwargs["weights_only"] = not vouched
    if isinstance(checkpoint_path, (str, Path)) and "://" not in str(checkpoint_path):  # not streams, URLs
        read_checkpoint(checkpoint_path, weights_only=not vouched)
    try:
        return load(checkpoint_path, *args, **kwargs)  # type: ignore[no-any-return]
    except TypeError as error:
        if "visual" not in str(error) or "visual" in kwargs:
            raise
        raise TypeError(
            f"{checkpoint_path}: this checkpoint stores no tower configs (the module was built from "
            "tower objects in Python); pass them: load_from_checkpoint(path, visual=..., text=...), "
            "or build future modules with MERContrastModule.from_config(...) or the CLI"
        ) from error


# --------------------------------------------------------------------------------- clip settings
def clip_settings(datamodule: object) -> dict[str, Any] | None:
    """What decides the clips a model sees, keyed as :data:`SETTING_FLAGS` (plain types).

    The clip's sampling, crop, registration, alignment and size, the flow's method, pairs, channels, size and
    the chosen method's solver parameters (``flow_<name>``), the flow bounds when the config fixes
    them, the protocol and its classes. None for a datamodule without a ``clip_config`` (a toy
    datamodule in Python).
    """
    clip = getattr(datamodule, "clip_config", None)
    if clip is None:
        return None
    flow = clip.flow
    settings: dict[str, Any] = {
        "image_size": int(clip.image_size),
        # The datamodule's T; clip_config.num_frames also counts the temporal-jitter slack.
        "num_frames": int(getattr(datamodule, "num_frames", clip.num_frames)),
        "span": str(clip.span),
        "crop": str(clip.crop),
        "register": str(clip.register),
        "align": str(clip.align),
        "flow_method": str(flow.method),
        "flow_pairs": str(flow.pairs),
        "flow_channels": str(flow.channels),
        "flow_size": None if flow.size is None else int(flow.size),
    }
    for name in METHOD_FIELDS[flow.method]:  # only the solver's own parameters change the flow
        settings[f"flow_{name}"] = getattr(flow, name)
    for name in ("flow_bound", "strain_bound"):  # None: chosen from the training clips, not recorded
        bound = getattr(datamodule, name, None)
        settings[name] = None if bound is None else float(bound)
    settings["protocol"] = str(getattr(datamodule, "protocol_name", ""))
    settings["class_names"] = [str(name) for name in getattr(datamodule, "class_names", [])]
    return settings


def setting_option(key: str, value: Any) -> str | None:
    """The command-line option that sets clip setting ``key`` to ``value`` (None for ``class_names``,
    which the protocol decides).

    ``--data.init_args.<name> V``, and ``--data.init_args.flow.<name> V`` for the flow group's
    fields (``flow_method`` is ``--data.init_args.flow.method``; ``--data.flow_method`` is refused).
    jsonargparse refuses ``null`` for a flow field (``--data.init_args.flow.size null``: "expected
    int") but merges a partial group, so a None flow field is ``--data.init_args.flow '{size: null}'``.
    """
    if key == "class_names":
        return None
    shown = (
        "null" if value is None else ("true" if value is True else "false" if value is False else str(value))
    )
    if key.startswith("flow_") and key != "flow_bound":
        name = key.removeprefix("flow_")
        if value is None:
            return f"--data.init_args.flow '{{{name}: null}}'"
        return f"--data.init_args.flow.{name} {shown}"
    return f"--data.init_args.{key} {shown}"


def record_clip_settings(module: LightningModule, checkpoint: dict[str, Any]) -> None:
    """``on_save_checkpoint``: store the trainer's datamodule's clip settings in ``checkpoint``."""
    trainer = getattr(module, "_trainer", None)
    settings = clip_settings(getattr(trainer, "datamodule", None))
    if settings is not None:
        checkpoint[KEY] = {"version": mer_contrast.__version__, "clip_settings": settings}


def _show(value: Any) -> str:
    return f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)


@rank_zero_only
def _warn_unrecorded(path: Path | str) -> None:
    # A log line rather than a warning: one line (no source line), and the CLI shows it once per run.
    log.warning(
        "%s: records no clip settings (saved before mer-contrast stored them); this run's image size, "
        "frames, flow and classes are not checked against training's",
        path,
    )


def settings_mismatch(path: Path | str, checkpoint: Mapping[str, Any], datamodule: object) -> str | None:
    """The reason, in one line, listing every clip setting of ``checkpoint`` that ``datamodule`` changes.

    None when they agree, when the datamodule has no clip settings, or when the checkpoint predates
    the record (then one warning says the run is unchecked).
    """
    current = clip_settings(datamodule)
    if current is None:
        return None
    recorded = (checkpoint.get(KEY) or {}).get("clip_settings")
    if not isinstance(recorded, Mapping):
        _warn_unrecorded(path)
        return None
    # The protocol's name is recorded but not compared: it names the database (casme2-3class,
    # samm-3class), and testing on another database with the same classes is cross-database MER.
    differ = [
        key for key in recorded if key != "protocol" and key in current and recorded[key] != current[key]
    ]
    if not differ:
        return None
    if "class_names" in differ and "protocol" in recorded:
        differ.insert(differ.index("class_names"), "protocol")  # class_names come from the protocol
    trained = ", ".join(f"{key} {_show(recorded[key])}" for key in differ)
    this_run = ", ".join(f"{key} {_show(current.get(key))}" for key in differ)
    # class_names have no flag of their own: the protocol decides them.
    flags = [flag for key in differ if (flag := setting_option(key, recorded[key]))]
    hint = "use the training config" + (f", or {' '.join(flags)}" if flags else "")
    return f"trained with {trained}; this run has {this_run}: {hint}"


def check_loaded_settings(module: LightningModule, checkpoint: Mapping[str, Any]) -> None:
    """``on_load_checkpoint``: in validate/test/predict, raise if the trainer's data differs from training.

    Skipped when the CLI already checked this checkpoint, and outside a trainer (``load_from_checkpoint``).
    """
    if module.__dict__.pop(CHECKED, False):
        return
    trainer = getattr(module, "_trainer", None)
    if trainer is None or trainer.state.fn not in EVALUATING:
        return
    path = trainer.ckpt_path or "the checkpoint"
    message = settings_mismatch(path, checkpoint, trainer.datamodule)
    if message:
        raise CheckpointError(path, message)


def cli_checkpoint(ckpt_path: Path | str | None) -> dict[str, Any] | None:
    """The CLI's ``--ckpt_path``, loaded with ``weights_only=True`` (memory-mapped); None if not a file path.

    LightningCLI itself reads the file's hyperparameters with ``weights_only=True`` before anything
    runs, so no ``--weights_only false`` could rescue an unsafe file: the check is always safe.
    """
    if ckpt_path is None or str(ckpt_path) in LIGHTNING_KEYWORDS or "://" in str(ckpt_path):
        return None
    return read_checkpoint(ckpt_path)


def check_cli_settings(
    ckpt_path: Path | str | None,
    checkpoint: Mapping[str, Any] | None,
    module: LightningModule,
    datamodule: object,
) -> str | None:
    """Before ``validate``/``test``/``predict``: raise if this run prepares clips unlike training.

    A test subject the checkpoint trained on is flagged as leakage in one warning line (returned).
    """
    if ckpt_path is None or checkpoint is None:
        return None
    message = settings_mismatch(ckpt_path, checkpoint, datamodule)
    if message:
        raise CheckpointError(ckpt_path, message)
    setattr(module, CHECKED, True)
    leak = training_subject_leak(ckpt_path, checkpoint, datamodule)
    if leak:
        _warn(leak)
    return leak


@rank_zero_only
def _warn(line: str) -> None:
    log.warning("%s", line)


# --------------------------------------------------------------------------------- held-out subject
def training_subject_leak(
    ckpt_path: Path | str, checkpoint: Mapping[str, Any], datamodule: object
) -> str | None:
    """One line when this run's test subject was in the checkpoint's training set, else None.

    The checkpoint's datamodule hyper-parameters (saved by Lightning) name the subject its fold held
    out; a checkpoint of the same protocol tested on any other subject scores clips it trained on. A
    checkpoint of another protocol (cross-database testing) or without the record is not judged.
    """
    trained = checkpoint.get("datamodule_hyper_parameters")
    subject = getattr(datamodule, "test_subject", None)
    if not isinstance(trained, Mapping) or "test_subject" not in trained or subject is None:
        return None
    from mer_contrast.datasets.protocols import DEFAULT_PROTOCOL

    protocol = trained.get("protocol") or DEFAULT_PROTOCOL.get(str(trained.get("dataset")))
    if protocol != getattr(datamodule, "protocol_name", None):
        return None
    held_out = trained["test_subject"]
    if held_out == subject:
        return None
    fold = f"held out {held_out}" if held_out is not None else "trained on every subject"
    fix = f" (--data.init_args.test_subject {held_out})" if held_out is not None else ""
    return (
        f"{ckpt_path}: leakage: this checkpoint's fold {fold}, so test subject {subject} was in its "
        f"training set and these figures are not held-out; test the fold's own subject{fix}"
    )
