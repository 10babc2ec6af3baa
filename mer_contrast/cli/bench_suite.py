"""``mer-contrast bench suite``: the options of every database's twin table.

The suite itself is :mod:`mer_contrast.bench.suite`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mer_contrast.bench import suite
from mer_contrast.bench.quality import ROWS
from mer_contrast.cli.bench_quality import add_measuring_options
from mer_contrast.cli.exit_codes import Wording, run_command
from mer_contrast.cli.tool_parser import ToolParser, comma_ints, comma_list, split_overrides

SUITE_WORDING = Wording(
    terminated="terminated (SIGTERM): workers stopped, finished units kept; rerun the same command to resume",
    interrupted="interrupted: finished units kept; rerun the same command to resume",
    prefix="mer-contrast bench suite: ",
)


def build_parser() -> ToolParser:
    """The parser of ``mer-contrast bench suite``."""
    parser = ToolParser(prog="mer-contrast bench suite", description=suite.__doc__, allow_abbrev=False)
    parser.add_argument("--sheets", type=Path, default=None, help="folder of the real coding sheets")
    parser.add_argument("--twins", type=Path, default=None, help="render cache (default OUT/twins)")
    parser.add_argument(
        "--twin",
        action="append",
        default=None,
        help="an already rendered folder, db:render=PATH (repeatable; no sheet needed for it)",
    )
    parser.add_argument(
        "--databases",
        type=comma_list,
        default=["casme2", "samm", "mmew"],
        help=f"comma-separated subset of {', '.join(suite.SHEETS)}",
    )
    parser.add_argument("--renders", type=comma_ints, default=[0, 1, 10, 11, 12], help="twin seeds")
    parser.add_argument(
        "--selection-renders",
        type=comma_ints,
        default=[0, 1],
        help="renders choices are made on; the others are untouched",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 of the seeded rows (default 3)")
    parser.add_argument(
        "--rows",
        type=comma_list,
        default=list(suite.DEFAULT_ROWS),
        help=f"comma-separated subset of {', '.join(ROWS)}",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help="db=PATH, a LightningCLI YAML for one database (repeatable)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes, one thread each (default 2)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run in minutes (not results): truncated twins, 1 render per group, "
        "1 seed, few epochs and folds",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench_suite"), help="output folder")
    parser.add_argument("--workers", type=int, default=2, help="render / flow precompute processes")
    parser.add_argument("--limit", type=int, default=None, help="render only the first N sheet rows")
    add_measuring_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0, 1 when a unit failed, 2 for bad options or missing inputs."""
    parser = build_parser()
    own, extra = split_overrides(argv)
    args = parser.parse_args(own)
    return run_command(lambda: suite.run(args, extra), wording=SUITE_WORDING, usage=(suite.SuiteError,))


if __name__ == "__main__":
    sys.exit(main())
