"""``mer-contrast predict FOLDER`` (also ``predict-clips``): classify clip folders that have no sheet.

What is read and written is :mod:`mer_contrast.spot.clips`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mer_contrast.cli.predict_video import print_row
from mer_contrast.cli.tool_parser import ToolParser
from mer_contrast.spot import clips
from mer_contrast.spot.source import SpotError
from mer_contrast.spot.spotting import SpotConfig


def build_parser(prog: str = "mer-contrast predict") -> ToolParser:
    parser = ToolParser(prog=prog, description=clips.HELP)
    parser.add_argument("folder", type=Path, help="folder of clip folders (each a folder of frames)")
    parser.add_argument("--ckpt_path", type=Path, default=None, help="checkpoint of `mer-contrast fit`")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: beside FOLDER)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON to stdout")
    parser.add_argument("--fps", type=float, default=None, help="frame rate for times (default 200)")
    parser.add_argument(
        "--crop", choices=("detect", "none"), default="detect",
        help="detect the face (default) or use whole frames (clips that are face crops already)",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None, prog: str = "mer-contrast predict") -> int:
    """Entry point; exit 0 (also with clips left out), 2 when nothing was usable."""
    args = build_parser(prog).parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder}: not a folder; pass a folder of clip folders", file=sys.stderr)
        return 2
    try:
        rows, skipped = clips.predict_clips(
            args.folder, args.ckpt_path, fps=args.fps, crop=args.crop, cfg=SpotConfig()
        )
    except SpotError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in skipped:
        print(line, file=sys.stderr)
    if not rows:
        print(f"error: {args.folder}: none of {len(skipped)} clip folder(s) could be read", file=sys.stderr)
        return 2
    folder = args.folder.resolve()
    document = json.dumps({"folder": str(args.folder), "clips": rows, "skipped": skipped}, indent=1)
    csv_path, _ = clips.write_table(args.out or folder.parent, folder.name, rows, document)
    if args.json:
        print(document)
        return 0
    for row in rows:
        head = f"{row['clip']}: apex {row['apex_frame']} ({row['apex_file']})"
        print_row(head, row, classified=args.ckpt_path is not None)
    print(f"wrote {csv_path} and .json ({len(rows)} clip(s), {len(skipped)} left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
