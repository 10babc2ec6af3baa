"""``mer-contrast report DIR``: pool the finished folds of a LOSO run into a report.

The pooling itself is :mod:`mer_contrast.loso.report`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mer_contrast.cli.tool_parser import ToolParser
from mer_contrast.loso import report


def main(argv: Sequence[str] | None = None) -> int:
    """``mer-contrast report DIR [--no-plots] [--quiet] [--wandb]``."""
    parser = ToolParser(prog="mer-contrast report", description=report.__doc__.splitlines()[0])
    parser.add_argument("out", help="output folder of `mer-contrast loso` (holds seed*/<subject>/done.json)")
    parser.add_argument("--no-plots", action="store_true", help="skip the confusion-matrix PNGs")
    parser.add_argument("--quiet", action="store_true", help="write the files without printing the report")
    parser.add_argument(
        "--wandb", action="store_true",
        help="also write the study's W&B summary run (job type summary, in the folds' group and project; "
        "offline without an API key)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        summary, not_written = report.report_run(args.out, plots=not args.no_plots)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}")
        return 1
    if not args.quiet or not_written:
        report.print_report(summary)
    if not_written:
        print(f"error: summary files not written: {not_written}", file=sys.stderr)
        return 1
    print(f"wrote {Path(args.out) / 'summary.json'}, summary.md" + ("" if args.no_plots else ", *.png"))
    if args.wandb:
        from mer_contrast.loggers.quiet import quiet_wandb
        from mer_contrast.loso.wandb_study import log_study, sync_hint

        with quiet_wandb():
            log_study(args.out, summary=summary)
        hint = sync_hint(args.out)
        print(hint or "W&B: the study's summary run is written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
