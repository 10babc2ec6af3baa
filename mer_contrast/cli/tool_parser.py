"""The parser of the project's own tools (``synth``, ``inspect``, ``loso``, ``report``, ``demo``, ``bench``).

:class:`ToolParser` is a jsonargparse parser, so every flag of a tool is also a YAML key:
``mer-contrast synth --options synth.yaml`` reads ``layout: casme2``, ``clips_per_subject: 8`` (the flag
with ``_`` for ``-``) and the command line still overrides the file; ``--print_options`` writes the
YAML of a command line. (``--config`` stays the LightningCLI config of the tools that train.) Errors
are one line, as everywhere in the CLI.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import itertools
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from jsonargparse import ActionConfigFile, ArgumentParser

__all__ = ["PASS_THROUGH", "ToolParser", "comma_ints", "comma_list", "from_text", "split_overrides"]

Parsed = TypeVar("Parsed")

# Arguments that go on to the LightningCLI of the tools that train (loso, demo, bench loso|quality).
PASS_THROUGH = ("--trainer.", "--model.", "--data.", "--trainer=", "--model=", "--data=", "--seed_everything")


class ToolParser(ArgumentParser):
    """jsonargparse with an ``--options FILE`` of the tool's own flags and one-line errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, print_config="--print_options", **kwargs)
        self._option_files: list[str] = []
        self.add_argument(
            "--options", action=ActionConfigFile,
            help="YAML of these options (keys: the flags with _ for -); --print_options writes one",
        )  # fmt: skip

    def parse_args(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        self._option_files = [value for flag, value in itertools.pairwise(argv) if flag == "--options"] + [
            arg.split("=", 1)[1] for arg in argv if arg.startswith("--options=")
        ]
        return super().parse_args(argv, *rest, **kwargs)

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        # jsonargparse's messages span lines ('Parser key "seed":\n  Expected a <class 'int'>...').
        text = " ".join(message.split())
        unknown = re.match(r"Option '([^']+)' is not accepted", text)
        if unknown:
            known = [action.dest for action in self._actions if action.option_strings]
            close = difflib.get_close_matches(unknown[1], known, n=1)
            text = f"unknown option {unknown[1]}" + (f" (did you mean {close[0]}?)" if close else "")
        key = re.match(r'Parser key "([^"]+)"', text)
        if unknown or "parsing config" in text or (key and key[1] in self._file_keys()):
            text = f"{', '.join(self._option_files)}: {text}" if self._option_files else text
        if "arguments are required: " in text:  # jsonargparse names the dest: name the flags
            head, names = text.split("required: ", 1)
            text = head + "required: " + ", ".join(map(self._flags_of, names.split(", ")))
        self.exit(2, f"{self.prog}: error: {text}; see `{self.prog} --help`\n")

    def _file_keys(self) -> set[str]:
        """The keys of the ``--options`` files (a bad value there is named with its file)."""
        import yaml

        keys: set[str] = set()
        for path in self._option_files:
            try:
                document = yaml.safe_load(Path(path).read_text())
            except (OSError, yaml.YAMLError):
                continue
            keys |= set(document) if isinstance(document, dict) else set()
        return keys

    def _flags_of(self, dest: str) -> str:
        for action in self._actions:
            if action.dest == dest and action.option_strings:
                return "/".join(action.option_strings)
        return dest


def from_text(parse: Callable[[str], Parsed]) -> Callable[[Any], Parsed]:
    """``parse`` (of a flag's text, e.g. ``"0,1,2"``) that also takes what YAML gives (``[0, 1, 2]``).

    jsonargparse applies a flag's ``type`` again to the parsed value when it checks the namespace,
    so the parser must also accept its own result.
    """

    @functools.wraps(parse)
    def parse_any(value: Any) -> Parsed:
        if isinstance(value, (list, tuple)):
            value = ",".join(map(str, value))
        return parse(value if isinstance(value, str) else str(value))

    return parse_any


@from_text
def comma_list(text: str) -> list[str]:
    """``"sub01, sub05"`` -> ``["sub01", "sub05"]`` (YAML may give the list)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


@from_text
def comma_ints(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]`` (seeds; YAML may give the list)."""
    try:
        return [int(t) for t in comma_list(text)]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers: {text!r}") from err


def positive_number(text: str) -> float:
    """A value above zero (a frame rate): ``"-200"`` and ``"0"`` are refused in one line."""
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a number: {text!r}") from err
    if not value > 0:  # also NaN
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def split_overrides(argv: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """The tool's own arguments and the LightningCLI overrides (after ``--``, or ``--trainer.*`` ...).

    ``None`` is the process's command line. ``--trainer.max_epochs 3`` (its value as the next
    argument) is taken whole.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, overrides = argv[:cut], argv[cut + 1 :]
    own: list[str] = []
    passing: list[str] = []
    for i, arg in enumerate(argv):
        follows = i > 0 and argv[i - 1].startswith(PASS_THROUGH) and "=" not in argv[i - 1]
        if arg.startswith(PASS_THROUGH) or (follows and not arg.startswith("-")):
            passing.append(arg)
        else:
            own.append(arg)
    return own, [*passing, *overrides]
