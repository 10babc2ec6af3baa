"""``mer-contrast fit|validate|test|predict``: the LightningCLI commands.

The LightningCLI itself is :mod:`mer_contrast.trainers.lightning_cli`.

A misspelled config key is answered before torch loads (:mod:`mer_contrast.cli.config_check`), a
plain ``fit --help`` from a cache (:mod:`mer_contrast.cli.help_cache`); errors are one line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys

from mer_contrast.cli.exit_codes import Wording, run_command

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
HELP_FLAGS = ("-h", "--help")


def main(argv: list[str]) -> int:
    """``argv`` starts with the subcommand (``fit ...``) or an option LightningCLI answers; the exit code."""
    if argv and argv[0] in LIGHTNING_COMMANDS:
        if _plain_help(argv[1:]):
            return _lightning_help(argv)
        from mer_contrast.cli.config_check import check

        problem = check(argv[0], argv[1:])
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    return _lightning(argv)


def _lightning(argv: list[str]) -> int:
    from mer_contrast.loggers import quiet

    with quiet.quiet_run(evaluating=bool(argv) and argv[0] in ("validate", "test", "predict")):
        from mer_contrast.trainers.lightning_cli import build_cli

        quiet.attach()  # Lightning's handlers exist now
        during = f"during `{argv[0]}`" if argv else "during the run"
        wording = Wording(
            terminated=f"terminated (SIGTERM) {during}; the run did not finish",
            interrupted=f"interrupted (Ctrl-C) {during}; the run did not finish",
        )

        def run() -> int:
            build_cli(argv)  # the arguments, never sys.argv (a caller of main() passes its own)
            return 0

        # Full or read-only cache, dead workers: exit 1, also when raised in a constructor and wrapped
        # by jsonargparse; another database's sheet, a clip with two labels, a bad value: exit 2.
        return run_command(run, wording=wording, describe=lambda text: _one_line(text, argv))


def _one_line(message: str, argv: list[str]) -> str:
    from mer_contrast.cli.config_check import describe

    text = describe(message, argv[1:])
    if text.startswith(("unrecognized arguments", "argument subcommand")):
        text += f"; see `mer-contrast {argv[0] if argv[0] in LIGHTNING_COMMANDS else ''} --help`"
    return text.replace("  ", " ")


def _plain_help(rest: list[str]) -> bool:
    """``--help`` last, after nothing but ``--config FILE`` pairs of existing files (cacheable)."""
    if not rest or rest[-1] not in HELP_FLAGS or len(rest) % 2 == 0:
        return False
    pairs = zip(rest[:-1:2], rest[1:-1:2], strict=True)
    return all(flag in ("-c", "--config") and os.path.isfile(path) for flag, path in pairs)


def _lightning_help(argv: list[str]) -> int:
    """``mer-contrast fit [--config FILE] --help``: from the cache, else built (Lightning loads)."""
    from mer_contrast.cli import help_cache

    text = help_cache.load(argv)
    if text is None:
        from mer_contrast.trainers.lightning_cli import build_cli

        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                build_cli(argv)
        except SystemExit as stop:  # argparse's help action exits 0 after printing
            if stop.code not in (0, None):
                raise
        except argparse.ArgumentError as error:  # e.g. a bad value in the --config file
            print(f"error: {_one_line(str(error), argv)}", file=sys.stderr)
            return 2
        text = captured.getvalue()
        help_cache.save(argv, text)
    sys.stdout.write(text)
    return 0
