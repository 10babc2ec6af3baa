"""The ``loso:`` section of a config: the LOSO protocol's options in YAML, as on the command line.

A config may hold, beside ``trainer``/``model``/``data``::

    loso:
      seeds: [0, 1, 2]
      selection: both
      out: runs/casme2

``mer-contrast loso --config FILE`` takes these as its defaults (later ``--config`` files win) and
the command line overrides them (``--seeds 0``). ``fit``/``test`` accept and ignore the section, so
one file describes the whole experiment. The section's type is :class:`LosoSettings`, checked by
jsonargparse with the rest of the config (and here, before Lightning loads, for the defaults of
``loso``); a wrong key or value is a one-line error naming the file. The section is left out of the
run's config hash: it says how many folds to run and where, not what a fold computes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

KEY = "loso"


@dataclass(kw_only=True)
class LosoSettings:
    """The options of ``mer-contrast loso`` that a config may set (flag ``--max-folds`` = ``max_folds``).

    The one definition of them: :func:`mer_contrast.cli.loso.build_parser` makes the flags from these
    fields (type, default, and the ``help`` and argparse extras in their metadata), and
    :class:`~mer_contrast.loso.plan.LosoOptions` extends them.
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
    procs: int | None = field(
        default=None,
        metadata={
            "help": "CPU folds side by side: after the first, N processes of one torch thread each "
            "(default: one per free core up to the folds, when a fold outlasts a process start; "
            "1: all in this process)",
            "metavar": "N",
        },
    )

    def fold_selection(self) -> dict[str, Any]:
        """The settings that choose a run's folds and what each must hold (``loso.json`` keeps them)."""
        names = ("folds", "max_folds", "seeds", "selection", "oracle_metric")
        return {name: getattr(self, name) for name in names}


FIELDS = {field.name: field for field in dataclasses.fields(LosoSettings)}
#: The least value of each count (``max_folds: -1`` would drop the last subject, ``seeds: [-1]`` fails
#: deep inside a fold); seeds must also differ (one seed twice is one fold run twice).
MINIMUM = {
    "max_folds": 1, "seeds": 0, "early_stopping": 0, "parallel_gpus": 0, "procs_per_gpu": 1, "procs": 1,
}  # fmt: skip


class LosoSectionError(ValueError):
    """A ``loso:`` section that cannot be used; ``str(err)`` is one line naming the file."""


def read_section(configs: Sequence[str | Path]) -> dict[str, Any]:
    """The merged ``loso:`` sections of ``configs`` (later files win), checked as :class:`LosoSettings`."""
    import yaml

    merged: dict[str, Any] = {}
    for config in configs:
        path = Path(config)
        if not path.is_file():
            continue  # the runner names a missing config file
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:  # as `fit` says it (cli/config_check.py)
            mark = getattr(err, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(err, "problem", err)
            raise LosoSectionError(f"{path}{where}: not valid YAML ({problem})") from None
        section = document.get(KEY) if isinstance(document, Mapping) else None
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise LosoSectionError(f"{path}: `{KEY}:` must be a mapping of options, e.g. `seeds: [0, 1, 2]`")
        for name in section:
            if name not in FIELDS:
                import difflib

                close = difflib.get_close_matches(str(name), list(FIELDS), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise LosoSectionError(f"{path}: unknown key {KEY}.{name}{hint}; known: {', '.join(FIELDS)}")
        merged.update(_checked(path, section))
    return merged


def section_parser() -> Any:
    """A jsonargparse parser of the ``loso:`` section as the type :class:`LosoSettings` (the type the
    LightningCLI checks it with, :mod:`mer_contrast.trainers.lightning_cli`)."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument(f"--{KEY}", type=LosoSettings)
    return parser


def _checked(path: Path, section: Mapping[str, Any]) -> dict[str, Any]:
    """The section's values as jsonargparse types them, else a one-line error naming the key."""
    try:
        parsed = getattr(section_parser().parse_object({KEY: dict(section)}), KEY)
    except Exception as err:  # jsonargparse's ArgumentError: 'Parser key "loso.seeds":\n  Expected ...'
        lines = [line.strip() for line in str(err).strip().splitlines()] or [type(err).__name__]
        key = re.match(r'Parser key "([^"]+)":$', lines[0])
        where, detail = (key[1], lines[1]) if key and len(lines) > 1 else (KEY, lines[0])
        raise LosoSectionError(f"{path}: {where}: {detail}") from None
    values = {name: getattr(parsed, name) for name in section}
    for name, value in values.items():
        problem = value_problem(name, value)
        if problem:
            raise LosoSectionError(f"{path}: {KEY}.{name}: {problem}")
    return values


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
