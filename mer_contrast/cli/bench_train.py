"""``mer-contrast bench train``: the options of the training benchmark (:mod:`mer_contrast.bench.train`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch

from mer_contrast.bench import train
from mer_contrast.cli.tool_parser import ToolParser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ToolParser(prog="mer-contrast bench train", description=train.__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--sections", nargs="+", choices=("throughput", "text", "overhead"),
                        default=["throughput", "text", "overhead"])  # fmt: skip
    parser.add_argument("--backbones", nargs="+", choices=("compact", "r3d18"), default=["compact", "r3d18"])
    parser.add_argument("--precisions", nargs="+", choices=("32-true", "bf16-mixed", "16-mixed"),
                        default=["32-true", "bf16-mixed"])  # fmt: skip
    parser.add_argument("--frames", type=int, default=8, help="RGB frames per clip (flow has one fewer)")
    parser.add_argument("--size", type=int, default=112, help="frame side in pixels")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=12, help="most timed steps per run")
    parser.add_argument("--min-seconds", type=float, default=4.0, help="stop timing a run after this long")
    parser.add_argument("--repeats", type=int, default=4, help="alternating runs in the overhead section")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch.cuda.is_available() is False")
    if args.frames < 2 or args.size < 16 or args.batch_size < 2:
        parser.error(
            "need --frames >= 2, --size >= 16 and --batch-size >= 2 (the contrastive loss needs pairs)"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and run the selected sections; returns 0."""
    return train.run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
