"""``mer-contrast predict-video``: spot micro-expressions in a recording, classify and explain each.

Example::

    mer-contrast predict-video recording.mp4 --ckpt_path runs/fold/last.ckpt --out runs/video
    mer-contrast predict-video frames_dir/ --ckpt_path last.ckpt --fps 200 --json

Writes ``<out>/<name>_intervals.csv``, ``<out>/<name>_intervals.json`` and ``<out>/<name>_timeline.png``;
``--json`` prints the JSON to stdout. A recording without a micro-expression gives an empty table
(exit 0); an unreadable video, a video without a face or an unusable checkpoint one line on stderr
(exit 2).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mer_contrast.cli.tool_parser import ToolParser, positive_number
from mer_contrast.spot.source import SpotError
from mer_contrast.spot.spotting import SpotConfig

HELP = "spot micro-expressions in a video or frame folder, classify and explain each (CSV/JSON/PNG)"


def build_parser() -> ToolParser:
    parser = ToolParser(prog="mer-contrast predict-video", description=HELP)
    parser.add_argument("video", type=Path, help="video file (decord) or folder of frames")
    parser.add_argument("--ckpt_path", type=Path, default=None, help="checkpoint of `mer-contrast fit`")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: beside the input)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON to stdout")
    parser.add_argument(
        "--fps", type=positive_number, default=None, help="frame rate (frame folders: default 200)"
    )
    parser.add_argument("--z", type=float, default=SpotConfig.z, help="threshold: baseline + z robust std")
    parser.add_argument(
        "--kinds", default="micro,macro", help="kinds to report: micro (<= 0.5 s), macro, or micro,macro"
    )
    parser.add_argument(
        "--follow", choices=("on", "off"), default="on",
        help="on (default): follow the face (box re-detected, reference renewed after a pose change); "
        "off: one box, every frame registered to the first",
    )  # fmt: skip
    parser.add_argument(
        "--regions", choices=("landmarks", "template", "grid"), default=SpotConfig.regions,
        help="where to look: landmarks (dlib's 68 points when installed, else a mean face), template, or "
        "grid (the old grid without the eye band)",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, also with no interval; 2 unusable input)."""
    from mer_contrast.spot.kinds import parse_kinds
    from mer_contrast.spot.recording import predict_recording
    from mer_contrast.spot.report import summary

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        kinds = parse_kinds(args.kinds)
    except ValueError as err:
        parser.error(str(err))
    cfg = SpotConfig(z=args.z, follow="renew" if args.follow == "on" else "first", regions=args.regions)
    out = args.out or args.video.parent  # beside the video, or beside the frame folder
    stem = args.video.stem if args.video.is_file() else args.video.name
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        done = predict_recording(
            args.video, args.ckpt_path, cfg, fps=args.fps, out=out, stem=stem, progress=progress, kinds=kinds
        )
    except SpotError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows, document = done.rows, done.document
    if args.json:
        print(document)
    else:
        if not rows or done.result.note:
            print(f"{args.video}: {summary(done.result)}")
        for row in rows:
            span = f"{row['start_s']:8.3f}-{row['end_s']:.3f} s apex {row['apex_s']:.3f} {row['kind']}:"
            print_row(span, row, classified=args.ckpt_path is not None)
        print(f"wrote {out / (stem + '_intervals.csv')}, .json and {stem}_timeline.png")
    return 0


def print_row(head: str, row: Mapping[str, Any], *, classified: bool) -> None:
    """A table row on stdout: ``head``, the class (or why there is none), the explanation, each flag."""
    unlabelled = "(unclassified)" if classified else "(no checkpoint)"
    label = f"{row['class']} {row['probability']:.2f}" if row["class"] else unlabelled
    why = "; ".join(row["explanation"][:2])
    print(f"{head} {label} {why}".rstrip())
    for flag in row["flags"]:
        print(f"    {flag}")


if __name__ == "__main__":
    sys.exit(main())
