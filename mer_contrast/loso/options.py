"""The ``loso:`` section of a config: the LOSO protocol's options in YAML, as on the command line.

A config may hold, beside ``trainer``/``model``/``data``::

    loso:
      seeds: [0, 1, 2]
      selection: both
      out: runs/casme2

``mer-contrast loso --config FILE`` takes these as its defaults (later ``--config`` files win) and
the command line overrides them (``--seeds 0``). ``fit``/``test`` accept and ignore the section, so
one file describes the whole experiment. Keys and types are those of :class:`LosoSettings`; a wrong
one is a one-line error naming the file. The section is left out of the run's config hash: it says
how many folds to run and where, not what a fold computes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

KEY = "loso"


@dataclass(kw_only=True)
class LosoSettings:
    """The options of ``mer-contrast loso`` that a config may set (flag ``--max-folds`` = ``max_folds``).

    The one definition of them: :func:`mer_contrast.loso.cli.build_parser` makes the flags from these
    fields (type, default, and the ``help`` and argparse extras in their metadata), and
    :class:`~mer_contrast.loso.runner.LosoOptions` extends them.
    """

    out: str | Path | None = field(
        default=None, metadata={"help": "output folder (default: runs/loso/<config name>)"}
    )
    folds: list[str] | None = field(default=None, metadata={"help": "only these subjects, e.g. sub01,sub05"})
    max_folds: int | None = field(default=None, metadata={"help": "only the first N folds (quick checks)"})
    seeds: list[int] | None = field(
        default=None, metadata={"help": "seeds, e.g. 0,1,2 (default: seed_everything)"}
    )
    selection: Literal["honest", "oracle", "both"] = field(
        default="honest",
        metadata={
            "help": "honest: last epoch, or best val_uf1 on held-out training subjects (default); "
            "oracle: per-subject best TEST epoch (optimistic, labelled as such); both"
        },
    )
    oracle_metric: Literal["accuracy", "uf1"] = field(
        default="accuracy", metadata={"help": "test score the oracle maximises"}
    )
    early_stopping: int = field(
        default=0,
        metadata={
            "help": "stop when val_uf1 has not improved for PATIENCE epochs "
            "(needs a validation set; 0 = off)",
            "metavar": "PATIENCE",
        },
    )
    keep_best_only: bool = field(default=False, metadata={"help": "delete last.ckpt when best.ckpt exists"})
    parallel_gpus: int = field(default=0, metadata={"help": "run folds as subprocesses on N GPUs"})
    procs_per_gpu: int = field(
        default=1, metadata={"help": "folds sharing each GPU at once (with --parallel-gpus)"}
    )


FIELDS = {field.name: field for field in dataclasses.fields(LosoSettings)}
#: The least value of each count (``max_folds: -1`` would drop the last subject, ``seeds: [-1]`` fails
#: deep inside a fold); seeds must also differ (one seed twice is one fold run twice).
MINIMUM = {"max_folds": 1, "seeds": 0, "early_stopping": 0, "parallel_gpus": 0, "procs_per_gpu": 1}


class LosoSectionError(ValueError):
    """A ``loso:`` section that cannot be used; ``str(err)`` is one line naming the file."""


def read_section(configs: Sequence[str | Path]) -> dict[str, Any]:
    """The merged ``loso:`` sections of ``configs`` (later files win), checked against LosoSettings."""
    import yaml

    merged: dict[str, Any] = {}
    for config in configs:
        path = Path(config)
        if not path.is_file():
            continue  # the runner names a missing config file
        document = yaml.safe_load(path.read_text()) or {}
        section = document.get(KEY) if isinstance(document, Mapping) else None
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise LosoSectionError(f"{path}: `{KEY}:` must be a mapping of options, e.g. `seeds: [0, 1, 2]`")
        for name, value in section.items():
            if name not in FIELDS:
                import difflib

                close = difflib.get_close_matches(str(name), list(FIELDS), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise LosoSectionError(f"{path}: unknown key {KEY}.{name}{hint}; known: {', '.join(FIELDS)}")
            merged[name] = _checked(path, name, value)
    return merged


def _checked(path: Path, name: str, value: Any) -> Any:
    """``value`` if it has the field's type (jsonargparse's check) and range, else a one-line error."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument(f"--{name}", type=setting_type(name))
    try:
        checked = getattr(parser.parse_object({name: value}), name)
    except Exception as err:  # jsonargparse's ArgumentError: keep its first line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LosoSectionError(f"{path}: {KEY}.{name}: {first}") from None
    problem = value_problem(name, checked)
    if problem:
        raise LosoSectionError(f"{path}: {KEY}.{name}: {problem}")
    return checked


def value_problem(name: str, value: Any) -> str:
    """Why ``value`` cannot be setting ``name`` (a count below its :data:`MINIMUM`...), or ``""``."""
    if value is None or name not in MINIMUM:
        return ""
    least = MINIMUM[name]
    values = value if isinstance(value, list) else [value]
    if name == "seeds" and not values:
        return "give at least one seed, e.g. 0,1,2"
    low = [v for v in values if v < least]
    if low:
        return f"must be at least {least}, got {low[0]}"
    if len(set(values)) != len(values):
        return f"{sorted(v for v in set(values) if values.count(v) > 1)[0]} is given twice"
    return ""


def check_settings(values: Mapping[str, Any]) -> None:
    """Raise :class:`LosoSectionError` naming the flag of the first bad value (``--max-folds -1``)."""
    for name in FIELDS:
        problem = value_problem(name, values.get(name))
        if problem:
            raise LosoSectionError(f"--{name.replace('_', '-')} {_shown(values[name])}: {problem}")


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def setting_type(name: str) -> Any:
    """The resolved annotation of a field (the module uses postponed annotations)."""
    import typing

    return typing.get_type_hints(LosoSettings)[name]


def without_section(document: Mapping[str, Any]) -> dict[str, Any]:
    """A config's mapping without its ``loso:`` section (what the config hash covers)."""
    return {key: value for key, value in document.items() if key != KEY}
