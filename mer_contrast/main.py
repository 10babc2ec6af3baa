"""Console script ``mer-contrast``: the Lightning subcommands plus the project's own tools.

``fit``/``validate``/``test``/``predict`` go to :mod:`mer_contrast.cli` (LightningCLI); the other
subcommands are small argparse programs imported only when used, so ``mer-contrast inspect`` starts
without loading torch. ``--help``, ``--version``, a misspelled subcommand or config key
(:mod:`mer_contrast.config_check`) and a repeated ``fit --help`` (:mod:`mer_contrast.help_cache`) answer
before torch and Lightning load.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import io
import os
import signal
import sys
from collections.abc import Sequence

# name -> (module with a ``main(argv) -> int``, one-line help)
TOOLS: dict[str, tuple[str, str]] = {
    "synth": ("mer_contrast.synth.cli", "write a synthetic dataset in a real database's on-disk layout"),
    "inspect": ("mer_contrast.datasets.inspect", "count samples per class/subject, skipped rows, frames"),
    "loso": ("mer_contrast.loso.cli", "leave-one-subject-out protocol: train and test one model per fold"),
    "report": ("mer_contrast.loso.report", "pool the finished folds of a LOSO run into a report"),
    "demo": ("mer_contrast.loso.demo", "synthetic data + a short LOSO run + the report, on CPU"),
    "predict-video": (
        "mer_contrast.spot.cli",
        "spot micro-expressions in a video or frame folder, classify and explain each (CSV/JSON/PNG)",
    ),
    "predict-clips": (
        "mer_contrast.spot.clips",
        "classify a folder of clip folders without a sheet (apex from motion); also `predict FOLDER`",
    ),
    "bench": ("mer_contrast.bench", "benchmarks that print measured figures (flow cache, training)"),
}

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
HELP_FLAGS = ("-h", "--help")
# What a shell reports for a tool killed by SIGPIPE (`mer-contrast synth ... | head -1`).
BROKEN_PIPE_STATUS = 128 + getattr(signal, "SIGPIPE", 13)


def _tools_help() -> str:
    lines = ["mer-contrast subcommands:", *(f"  {c:<9} (Lightning) {c} a model" for c in LIGHTNING_COMMANDS)]
    lines += [f"  {name:<9} {text}" for name, (_, text) in TOOLS.items()]
    lines.append(
        "Run `mer-contrast <subcommand> --help` for the options of each; --version prints the version."
    )
    return "\n".join(lines)


def main(args: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if args is None else args)
    try:
        code = _dispatch(argv)
        sys.stdout.flush()  # buffered output meets a closed pipe here, not in the interpreter's exit
    except BrokenPipeError:
        _drop_stdout()
        return BROKEN_PIPE_STATUS
    except SystemExit as stop:
        if isinstance(stop.__context__, BrokenPipeError):  # rich's on_broken_pipe: exits 1, quietly
            return BROKEN_PIPE_STATUS
        raise
    return code


def _drop_stdout() -> None:
    """Point stdout at /dev/null so the flush at exit does not print a second BrokenPipeError."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _dispatch(argv: list[str]) -> int:
    if _clip_folders_given(argv):  # `predict FOLDER ...`: no sheet, no config (spot/clips.py)
        from mer_contrast.spot import clips

        return clips.main(argv[1:])
    if argv and argv[0] in TOOLS:
        module = importlib.import_module(TOOLS[argv[0]][0])
        return int(module.main(argv[1:]) or 0)
    if not argv or argv[0] in HELP_FLAGS:
        print(_tools_help())
        return 0
    if argv[0] == "--version":
        from mer_contrast import __version__

        print(__version__)
        return 0
    if not argv[0].startswith("-") and argv[0] not in LIGHTNING_COMMANDS:
        close = difflib.get_close_matches(argv[0], [*LIGHTNING_COMMANDS, *TOOLS], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        print(f"error: unknown subcommand {argv[0]!r}{hint}; see `mer-contrast --help`", file=sys.stderr)
        return 2
    if argv[0] in LIGHTNING_COMMANDS:
        if _plain_help(argv[1:]):
            return _lightning_help(argv)
        from mer_contrast.config_check import check

        problem = check(argv[0], argv[1:])
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    return _lightning(argv)


def _lightning(argv: list[str]) -> int:
    from mer_contrast import quiet

    with quiet.quiet_run():
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        from mer_contrast.cli import build_cli
        from mer_contrast.clips.errors import find_cause, find_fault
        from mer_contrast.datasets.errors import DATA_ERRORS

        quiet.attach()  # Lightning's handlers exist now
        try:
            build_cli(argv)  # the arguments, never sys.argv (a caller of main() passes its own)
        except SIGTERMException:  # a SystemExit with status 0: a scheduler would record success
            print(f"terminated (SIGTERM) during `{argv[0]}`; the run did not finish", file=sys.stderr)
            return 143
        except Exception as error:
            # Full or read-only cache, dead workers: not the data's fault. Also found when raised in a
            # constructor and wrapped by jsonargparse.
            fault = find_fault(error)
            if fault is not None:
                print(f"error: {fault}", file=sys.stderr)
                return 1
            data_error = find_cause(error, DATA_ERRORS)  # another database's sheet, image_size 0, ...
            if data_error is not None:
                print(f"error: {data_error}", file=sys.stderr)
                return 2
            if isinstance(error, argparse.ArgumentError):  # jsonargparse's, with exit_on_error=False
                print(f"error: {_one_line(str(error), argv)}", file=sys.stderr)
                return 2
            raise
    return 0


def _clip_folders_given(argv: list[str]) -> bool:
    """``predict`` followed by an existing folder: LightningCLI's ``predict`` takes no positional."""
    return len(argv) > 1 and argv[0] == "predict" and not argv[1].startswith("-") and os.path.isdir(argv[1])


def _one_line(message: str, argv: list[str]) -> str:
    from mer_contrast.config_check import describe

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
    from mer_contrast import help_cache

    text = help_cache.load(argv)
    if text is None:
        from mer_contrast.cli import build_cli

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


if __name__ == "__main__":
    sys.exit(main())
