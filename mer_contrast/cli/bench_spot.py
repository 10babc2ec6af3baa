"""``mer-contrast bench spot``: the options of the spotting benchmark (:mod:`mer_contrast.bench.spot`)."""

from __future__ import annotations

import sys
from pathlib import Path

from mer_contrast.bench import spot
from mer_contrast.cli.tool_parser import ToolParser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bench spot``; exit 0, or 2 for an unusable checkpoint or folder."""
    parser = ToolParser(prog="mer-contrast bench spot", description=spot.HELP)
    parser.add_argument(
        "--generator", choices=("broad", "narrow"), default="broad",
        help="broad (default): 30/90/200 fps, 0.3-1.5 px, darkening blinks, macro, talk, rolls; narrow",
    )  # fmt: skip
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None,
        help=f"untouched seeds (broad {' '.join(map(str, spot.BROAD_SEEDS))}; narrow 100-104)",
    )  # fmt: skip
    parser.add_argument(
        "--tuning-seeds", type=int, nargs="*", default=None,
        help="tuning seeds, printed apart (broad 1-12; narrow 1-3; "
        "none: skip)",
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, default=None, help="length of each video (10; broad 14)")
    parser.add_argument("--micro-expressions", type=int, default=None, help="per video (default 4)")
    parser.add_argument("--macro-expressions", type=int, default=None, help="held 1.5-2.5 s (0; broad 1)")
    parser.add_argument(
        "--amplitude",
        type=float,
        default=1.0,
        help="narrow: ME amplitude scale (0.3: about the CASME II twin's)",
    )
    parser.add_argument(
        "--amplitude-px", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
        help="broad: ME peak displacement at the spotter's crop (default 0.3 1.5)",
    )  # fmt: skip
    parser.add_argument("--size", type=int, default=96, help="face box side in pixels (default 96)")
    parser.add_argument("--layout", choices=("casme2", "samm", "mmew"), default="casme2", help="classes, fps")
    parser.add_argument(
        "--fps", type=float, default=None, help="frame rate (default: the layout's; broad: by seed)"
    )
    parser.add_argument("--ckpt_path", type=Path, default=None, help="checkpoint for STRS (optional)")
    parser.add_argument("--work", type=Path, default=None, help="keep the videos here (default: temp)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--apex-of", nargs=2, metavar=("DATASET", "ROOT"), default=None,
        help="instead: distance of `predict FOLDER`'s motion apex to the sheet's, on a database's clips",
    )  # fmt: skip
    args = parser.parse_args(argv)
    return spot.run(args)


if __name__ == "__main__":
    sys.exit(main())
