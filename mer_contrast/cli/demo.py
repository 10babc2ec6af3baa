"""``mer-contrast demo``: synthetic CASME II-layout data, a short LOSO run on CPU, and its report.

The options and the early checks; the run itself is :mod:`mer_contrast.bench.demo`.
"""

from __future__ import annotations

import sys
import time
from argparse import Namespace
from collections.abc import Sequence
from pathlib import Path

from mer_contrast.bench import demo
from mer_contrast.cli.config_check import check, describe
from mer_contrast.cli.exit_codes import run_command
from mer_contrast.cli.tool_parser import ToolParser, split_overrides

__all__ = ["main"]

#: A missing config, an output folder in the way, a bad value: the demo's usage errors (exit 2).
INPUT_ERRORS = (FileNotFoundError, FileExistsError, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mer-contrast demo``; returns the exit code."""
    parser = ToolParser(prog="mer-contrast demo", description=demo.__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="LOSO output folder")
    parser.add_argument("--data", type=Path, default=Path("data/demo"), help="synthetic dataset folder")
    parser.add_argument(
        "--config", type=Path, default=None, help="LightningCLI config (default: configs/demo.yaml)"
    )
    parser.add_argument("--folds", type=int, default=6, help="number of LOSO folds (subjects) to run")
    parser.add_argument("--epochs", type=int, default=None, help="override trainer.max_epochs")
    parser.add_argument(
        "--subjects", type=int, default=demo.DEMO_DATA["subjects"], help="subjects to generate"
    )
    parser.add_argument("--clips-per-subject", type=int, default=demo.DEMO_DATA["clips_per_subject"])
    own, extra = split_overrides(argv)
    args = parser.parse_args(own)

    started = time.time()
    overrides = [f"--data.init_args.root={args.data}", f"--data.init_args.cache_dir={args.out / 'cache'}"]
    if args.epochs is not None:
        overrides.append(f"--trainer.max_epochs={args.epochs}")
    overrides += extra
    chosen: list[Path] = []  # the config _prepare settled on
    code = run_command(lambda: _prepare(args, overrides, chosen), usage=INPUT_ERRORS)
    if code != 0:
        return code
    config = chosen[0]
    from mer_contrast.cli.loso import LOSO_WORDING
    from mer_contrast.loggers.quiet import quiet_run
    from mer_contrast.loso import RunRefused

    with quiet_run():
        return run_command(
            lambda: demo.run(args, str(config), overrides, started),
            wording=LOSO_WORDING,
            usage=(RunRefused,),
            describe=lambda text: describe(text, ["--config", str(config), *overrides]),
        )


def _prepare(args: Namespace, overrides: list[str], chosen: list[Path]) -> int:
    """Check the config's keys and make (or reuse) the synthetic data, before Lightning loads."""
    config = args.config or demo.find_demo_config()
    problem = check("fit", ["--config", str(config), *overrides])
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    size, seed = demo.DEMO_DATA["size"], demo.DEMO_DATA["seed"]
    print(demo.ensure_data(args.data, args.subjects, args.clips_per_subject, size, seed))
    chosen.append(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
