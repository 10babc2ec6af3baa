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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

KEY = "loso"


@dataclass
class LosoSettings:
    """The options of ``mer-contrast loso`` that a config may set (flag ``--max-folds`` = ``max_folds``)."""

    out: str | None = None
    folds: list[str] | None = None
    max_folds: int | None = None
    seeds: list[int] | None = None
    selection: Literal["honest", "oracle", "both"] = "honest"
    oracle_metric: Literal["accuracy", "uf1"] = "accuracy"
    early_stopping: int = 0
    keep_best_only: bool = False
    parallel_gpus: int = 0
    procs_per_gpu: int = 1


FIELDS = {field.name: field for field in dataclasses.fields(LosoSettings)}


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
    """``value`` if it has the field's type (jsonargparse's check), else a one-line error."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument(f"--{name}", type=_type(name))
    try:
        return getattr(parser.parse_object({name: value}), name)
    except Exception as err:  # jsonargparse's ArgumentError: keep its first line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LosoSectionError(f"{path}: {KEY}.{name}: {first}") from None


def _type(name: str) -> Any:
    """The resolved annotation of a field (the module uses postponed annotations)."""
    import typing

    return typing.get_type_hints(LosoSettings)[name]


def without_section(document: Mapping[str, Any]) -> dict[str, Any]:
    """A config's mapping without its ``loso:`` section (what the config hash covers)."""
    return {key: value for key, value in document.items() if key != KEY}
