"""``mer-contrast bench loso``: the options of the LOSO speed benchmark (:mod:`mer_contrast.bench.loso`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mer_contrast.bench import loso
from mer_contrast.cli.exit_codes import run_command
from mer_contrast.cli.tool_parser import ToolParser, comma_ints, split_overrides


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bench loso``; returns the exit code."""
    parser = ToolParser(
        prog="mer-contrast bench loso",
        description=loso.__doc__,
    )
    parser.add_argument(
        "--config", "-c", action="append", required=True, help="LightningCLI YAML (repeatable)"
    )
    parser.add_argument("--root", type=Path, default=None, help="dataset folder (overrides the config's)")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/bench_loso"), help="run folder (emptied first)"
    )
    parser.add_argument("--max-folds", type=int, default=None, help="only the first N subjects")
    parser.add_argument("--seeds", type=comma_ints, default=[0], help="comma-separated seeds (default 0)")
    parser.add_argument("--parallel-gpus", type=int, default=0, help="run folds as subprocesses on N GPUs")
    parser.add_argument("--procs-per-gpu", type=int, default=1, help="folds sharing each GPU at once")
    parser.add_argument(
        "--procs", type=int, default=None, help="CPU folds side by side, as `loso --procs` (default: its)"
    )
    own, overrides = split_overrides(argv)
    args = parser.parse_args(own)
    from mer_contrast.cli.loso import LOSO_WORDING
    from mer_contrast.loso import RunRefused

    return run_command(lambda: loso.run(args, overrides), wording=LOSO_WORDING, usage=(RunRefused,))


if __name__ == "__main__":
    sys.exit(main())
