"""``mer-contrast bench flow|train|loso|spot|realface|quality|suite``: benchmarks that print measured figures.

Never timed tests.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

BENCHMARKS = {
    "flow": ("mer_contrast.cli.bench_flow", "flow precompute scaling, cache-hit speed-up, loader clips/s"),
    "train": ("mer_contrast.cli.bench_train", "training clips/s, memory, text-tower share, loop overhead"),
    "loso": ("mer_contrast.cli.bench_loso", "folds per minute and the per-fold overhead of a LOSO run"),
    "spot": ("mer_contrast.cli.bench_spot", "spotting F1 (IoU>=0.5), spot-then-recognize F1 and frames/s"),
    "realface": (
        "mer_contrast.cli.bench_realface",
        "predict-video on a real talking face: crashes, still-face false alarms/min",
    ),
    "quality": (
        "mer_contrast.cli.bench_quality",
        "honest LOSO UF1/UAR of mer-contrast against classical peers",
    ),
    "suite": (
        "mer_contrast.cli.bench_suite",
        "every database x twin render: selection vs untouched renders, one table",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one benchmark; ``mer-contrast bench flow --help`` shows its options."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] not in BENCHMARKS and args[0] not in ("-h", "--help"):
        print(
            f"mer-contrast bench: error: unknown benchmark {args[0]!r} (choose from {', '.join(BENCHMARKS)})",
            file=sys.stderr,
        )
        return 2
    if not args or args[0] not in BENCHMARKS:
        print("usage: mer-contrast bench {" + ",".join(BENCHMARKS) + "} [options]")
        for name, (_, text) in BENCHMARKS.items():
            print(f"  {name:<8} {text}")
        return 0 if args else 2
    return int(importlib.import_module(BENCHMARKS[args[0]][0]).main(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
