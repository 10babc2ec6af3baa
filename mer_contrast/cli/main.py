"""Console script ``mer-contrast``: the Lightning subcommands plus the project's own tools.

``fit``/``validate``/``test``/``predict`` go to :mod:`mer_contrast.cli.lightning` (the LightningCLI of
:mod:`mer_contrast.trainers.lightning_cli`); every other subcommand is one module of this package with a
``main(argv) -> int``, imported only when used, so ``mer-contrast inspect`` starts without loading torch.
``--help``, ``--version``, a misspelled subcommand or config key (:mod:`mer_contrast.cli.config_check`) and
a repeated ``fit --help`` (:mod:`mer_contrast.cli.help_cache`) answer before torch and Lightning load.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import io
import os
import signal
import sys
from collections.abc import Sequence

from mer_contrast.cli.exit_codes import run_command
from mer_contrast.cli.lightning import HELP_FLAGS, LIGHTNING_COMMANDS

# name -> (module with a ``main(argv) -> int``, one-line help)
TOOLS: dict[str, tuple[str, str]] = {
    "synth": ("mer_contrast.cli.synth", "write a synthetic dataset in a real database's on-disk layout"),
    "inspect": ("mer_contrast.cli.inspect_data", "count samples per class/subject, skipped rows, frames"),
    "loso": ("mer_contrast.cli.loso", "leave-one-subject-out protocol: train and test one model per fold"),
    "report": ("mer_contrast.cli.report", "pool the finished folds of a LOSO run into a report"),
    "demo": ("mer_contrast.cli.demo", "synthetic data + a short LOSO run + the report, on CPU"),
    "predict-video": (
        "mer_contrast.cli.predict_video",
        "spot micro-expressions in a video or frame folder, classify and explain each (CSV/JSON/PNG)",
    ),
    "predict-clips": (
        "mer_contrast.cli.predict_clips",
        "classify a folder of clip folders without a sheet (apex from motion); also `predict FOLDER`",
    ),
    "bench": ("mer_contrast.cli.bench", "benchmarks that print measured figures (flow cache, training)"),
    "config": (
        "mer_contrast.cli.config",
        "list, print or copy the packaged configs (`config NAME --out DIR`)",
    ),
}

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
    if _clip_folders_given(argv):  # `predict FOLDER ...`: no sheet, no config (cli/predict_clips.py)
        from mer_contrast.cli import predict_clips

        return run_command(lambda: predict_clips.main(argv[1:]))
    if argv and argv[0] in TOOLS:  # each tool ends through the one mapping of exit codes
        module = importlib.import_module(TOOLS[argv[0]][0])
        return run_command(lambda: int(module.main(argv[1:]) or 0))
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
    from mer_contrast.cli import lightning

    return lightning.main(argv)


def _clip_folders_given(argv: list[str]) -> bool:
    """``predict`` followed by an existing folder: LightningCLI's ``predict`` takes no positional."""
    return len(argv) > 1 and argv[0] == "predict" and not argv[1].startswith("-") and os.path.isdir(argv[1])


if __name__ == "__main__":
    sys.exit(main())
