"""``mer-contrast synth``: write a synthetic dataset in a real database's layout.

Example::

    python -m mer_contrast.synth.cli --layout casme2 --out data/casme2_synth --subjects 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mer_contrast.synth.generator import generate
from mer_contrast.synth.patterns import LAYOUTS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mer-contrast synth",
        description="Write a synthetic micro-expression dataset in the layout of CASME II, MMEW or SAMM.",
    )
    parser.add_argument("--layout", required=True, choices=LAYOUTS, help="which real database to mirror")
    parser.add_argument("--out", required=True, type=Path, help="output folder (new or empty)")
    parser.add_argument("--subjects", type=int, default=4, help="number of subjects (default 4)")
    parser.add_argument("--clips-per-subject", type=int, default=6, help="clips per subject (default 6)")
    parser.add_argument("--size", type=int, default=128, help="face box side in pixels (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same bytes (default 0)")
    parser.add_argument("--min-frames", type=int, default=10, help="shortest clip in frames (default 10)")
    parser.add_argument("--max-frames", type=int, default=30, help="longest clip in frames (default 30)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier synth dataset in --out")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad arguments or output folder)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        manifest = generate(
            args.layout,
            args.out,
            subjects=args.subjects,
            clips_per_subject=args.clips_per_subject,
            size=args.size,
            seed=args.seed,
            frames=(args.min_frames, args.max_frames),
            overwrite=args.overwrite,
        )
    except (ValueError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    frames = sum(clip.frames for clip in manifest.clips)
    classes = ", ".join(f"{name} {count}" for name, count in manifest.class_counts.items())
    print(
        f"wrote {args.layout} to {args.out}: {len(manifest.subject_counts)} subjects, "
        f"{len(manifest.clips)} clips, {frames} frames in {elapsed:.1f} s"
    )
    print(f"sheet: {manifest.sheet}; classes: {classes}")
    if manifest.quirks:
        print("planted quirks: " + ", ".join(f"{name} ({where})" for name, where in manifest.quirks.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
