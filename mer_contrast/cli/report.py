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
    """``mer-contrast report DIR [--no-plots] [--quiet]``."""
    parser = ToolParser(prog="mer-contrast report", description=report.__doc__.splitlines()[0])
    parser.add_argument("out", help="output folder of `mer-contrast loso` (holds seed*/<subject>/done.json)")
    parser.add_argument("--no-plots", action="store_true", help="skip the confusion-matrix PNGs")
    parser.add_argument("--quiet", action="store_true", help="write the files without printing the report")
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
    print(
        f"wrote {Path(args.out) / 'summary.json'}, summary.md"
        + ("" if args.no_plots else ", confusion_*.png")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
