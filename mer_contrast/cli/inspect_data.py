"""``mer-contrast inspect``: count a dataset's samples per class and subject, skipped rows and frames.

The summary and its tables are :mod:`mer_contrast.datasets.inspection`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mer_contrast.cli.tool_parser import ToolParser
from mer_contrast.datasets import READERS, SHEETLESS, inspection
from mer_contrast.datasets.protocols import list_protocols


def build_parser() -> ToolParser:
    parser = ToolParser(
        prog="mer-contrast inspect",
        description="Summarise a micro-expression dataset on disk: samples per class and subject, skipped "
        "rows and why, frames found vs expected.",
    )
    parser.add_argument("--dataset", required=True, choices=sorted(READERS))
    parser.add_argument("--root", type=Path, help="dataset folder (sheet + frames; SMIC: frames only)")
    parser.add_argument(
        "--sheet", type=Path, help="annotation sheet (alone: labels only, no frames); SMIC has none"
    )
    parser.add_argument(
        "--protocol", help=f"class protocol (default per dataset); one of {', '.join(list_protocols())}"
    )
    parser.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="reader option, e.g. frames=raw (casme2), sheet_version=20190701, part=C (casme3)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--strict", action="store_true", help="fail on the first row that would be skipped")
    parser.add_argument(
        "--max-rows", type=int, default=20, help="skipped rows / warnings listed in the tables"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input, with one line on stderr)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse already printed its usage error
        return int(stop.code or 0)
    if args.root is None and args.sheet is None:
        wanted = "--root DIR (it has no sheet)" if args.dataset in SHEETLESS else "--root DIR or --sheet FILE"
        print(f"error: give {wanted}", file=sys.stderr)
        return 2
    try:
        options = dict(_split_option(text) for text in args.option)
        summary = inspection.summarize(
            args.dataset, args.root, args.sheet, args.protocol, args.strict, **options
        )
    except inspection.USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        inspection.print_tables(summary, max_rows=args.max_rows)
    return 0


def _split_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--option {text!r}: expected KEY=VALUE")
    return key.strip(), value.strip()


if __name__ == "__main__":
    sys.exit(main())
