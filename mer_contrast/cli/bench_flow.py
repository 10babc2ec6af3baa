"""``mer-contrast bench flow``: the options of the clip pipeline's benchmark.

The benchmark itself is :mod:`mer_contrast.bench.flow`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mer_contrast.bench import flow
from mer_contrast.cli.tool_parser import ToolParser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and run the benchmark; returns 0."""
    parser = ToolParser(prog="mer-contrast bench flow", description=flow.__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=12, help="synthetic clips (default 12)")
    parser.add_argument("--frames", type=int, default=30, help="frames per clip on disk (default 30)")
    parser.add_argument(
        "--frame-size", type=int, default=128, help="side of the synthetic frames (default 128)"
    )
    parser.add_argument("--num-frames", type=int, default=8, help="sampled frames T (default 8)")
    parser.add_argument("--image-size", type=int, default=112, help="face image side S (default 112)")
    parser.add_argument("--method", choices=["tvl1", "farneback", "dis"], default="tvl1")
    parser.add_argument(
        "--flow-size", type=int, default=None, help="flow resolution (default: native, the frame size)"
    )
    parser.add_argument("--register", choices=["none", "translation", "euclidean"], default="translation")
    parser.add_argument("--read-passes", type=int, default=5, help="DataLoader passes over the cache")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="folder for clips and caches (default: temp)"
    )
    args = parser.parse_args(argv)
    return flow.run(args)


if __name__ == "__main__":
    sys.exit(main())
