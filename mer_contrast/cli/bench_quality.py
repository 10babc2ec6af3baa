"""``mer-contrast bench quality``: the options of the honest-LOSO quality table.

The rows themselves are :mod:`mer_contrast.bench.quality`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mer_contrast.bench import quality
from mer_contrast.cli.tool_parser import ToolParser, comma_list, split_overrides


def build_parser() -> ToolParser:
    """The parser of ``mer-contrast bench quality``."""
    parser = ToolParser(
        prog="mer-contrast bench quality",
        description=quality.__doc__,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--root", type=Path, default=quality.DEFAULT_ROOT, help="dataset folder (default: the twin)"
    )
    parser.add_argument("--dataset", default=None, help="reader (default: the config's, else casme2)")
    parser.add_argument(
        "--config", "-c", action="append", default=None, help="LightningCLI YAML (repeatable)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_quality"), help="output folder")
    parser.add_argument(
        "--rows",
        type=comma_list,
        default=list(quality.ROWS),
        help=f"comma-separated subset of {', '.join(quality.ROWS)}",
    )
    parser.add_argument("--workers", type=int, default=2, help="flow precompute processes (default 2)")
    add_measuring_options(parser)
    return parser


def add_measuring_options(parser: ToolParser) -> None:
    """The options of every honest-LOSO measurement (``bench quality``, ``bench suite``)."""
    parser.add_argument("--max-folds", type=int, default=None, help="only the first N subjects (smoke tests)")
    parser.add_argument("--cache-dir", default=None, help="flow cache (default: the config's)")
    parser.add_argument("--ststnet-epochs", type=int, default=None, help="override the STSTNet budget")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad arguments or a missing dataset)."""
    parser = build_parser()
    own, extra = split_overrides(argv)
    args = parser.parse_args(own)
    rows = args.rows
    unknown = [r for r in rows if r not in quality.ROWS]
    if unknown:
        parser.error(f"unknown rows {', '.join(unknown)}; choose from {', '.join(quality.ROWS)}")
    return quality.run(args, extra)


if __name__ == "__main__":
    sys.exit(main())
