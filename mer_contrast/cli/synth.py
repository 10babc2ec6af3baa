"""``mer-contrast synth``: write a synthetic dataset in a real database's layout.

Examples::

    mer-contrast synth --layout casme2 --out data/casme2_synth --subjects 8
    mer-contrast synth --layout casme2 --from-sheet /data/CASME2/CASME2-coding-20140508.xlsx \
        --out data/twin_casme2          # a twin of CASME II: one clip per row of the real sheet
    mer-contrast synth --layout samm --from-sheet SAMM_Micro_FACS_Codes_v2.xlsx --out data/twin_samm
    mer-contrast synth --layout mmew --from-sheet MMEW_Micro_Exp.xlsx --out data/twin_mmew
    mer-contrast synth --layout casme3 --from-sheet "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx" --out t3
    mer-contrast synth --layout smic --from-sheet combined_3class_gt.csv --out data/twin_smic
    mer-contrast synth --layout megc2019 --from-sheet combined_3class_gt.csv --out data/twin_megc2019
        # the composite: CASME2-coding-20140508.xlsx and SAMM_Micro_FACS_Codes_v2.xlsx beside the csv

See docs/twins.md for what each twin writes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mer_contrast.cli.tool_parser import ToolParser, from_text
from mer_contrast.synth.generator import generate
from mer_contrast.synth.patterns import LAYOUTS

#: ``--layout`` values: the generator's (``LAYOUTS``), then those with a sheet-driven twin only.
TWIN_ONLY = ("casme3", "smic", "megc2019")


def build_parser() -> ToolParser:
    parser = ToolParser(
        prog="mer-contrast synth",
        description=(
            "Write a synthetic micro-expression dataset in a real database's on-disk layout: planned "
            "datasets for CASME II, MMEW and SAMM (casme2, mmew, samm); with --from-sheet, a twin of a "
            "real database rendered from its own sheet, one clip per row: casme2 (CASME II, 200 fps), "
            "samm (SAMM, grayscale, 200 fps), mmew (MMEW, 231 px crops, 90 fps), casme3 (CAS(ME)^3 "
            "part A, 30 fps), smic (SMIC-HS from the smic rows of combined_3class_gt.csv, BMP, 100 fps) "
            "and megc2019 (the MEGC2019 composite: CASME2/, SAMM/ and SMIC/ from the csv and the "
            "CASME II and SAMM sheets beside it)."
        ),
    )
    parser.add_argument(
        "--layout",
        required=True,
        choices=(*LAYOUTS, *TWIN_ONLY),
        help="which real database to mirror (casme3, smic, megc2019: with --from-sheet only)",
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder (new or empty)")
    parser.add_argument("--subjects", type=int, default=4, help="number of subjects (default 4)")
    parser.add_argument("--clips-per-subject", type=int, default=6, help="clips per subject (default 6)")
    parser.add_argument("--size", type=int, default=128, help="face box side in pixels (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same bytes (default 0)")
    parser.add_argument("--min-frames", type=int, default=10, help="shortest clip in frames (default 10)")
    parser.add_argument("--max-frames", type=int, default=30, help="longest clip in frames (default 30)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier synth dataset in --out")
    twin = parser.add_argument_group("sheet-driven twin (--from-sheet; --subjects/--size/... do not apply)")
    twin.add_argument("--from-sheet", type=Path, default=None, help="render one clip per row of this sheet")
    twin.add_argument("--limit", type=int, default=None, help="only the first N rows")
    twin.add_argument(
        "--no-raw", action="store_true", help="face crops only: CASME II Cropped/ alone, SAMM/CAS(ME)^3 crops"
    )
    twin.add_argument(
        "--crop-sizes",
        type=_pair(int),
        default=None,
        help="face side range, e.g. 150,210 (default: the database's own, see docs/twins.md)",
    )
    twin.add_argument("--amplitudes", type=_pair(float), default=None, help="apex motion px bounds (min,max)")
    twin.add_argument(
        "--drift-px",
        type=float,
        default=None,
        help="head drift scale, px (default 1): a render's largest drift over a clip is this x a factor "
        "of 0.5-2.5 drawn per render",
    )
    twin.add_argument("--blink-prob", type=float, default=None, help="share of clips with a blink")
    twin.add_argument("--workers", type=int, default=1, help="processes, one subject each (default 1)")
    long = parser.add_argument_group("long recording (--long-video; --size and --seed apply)")
    long.add_argument("--long-video", action="store_true", help="one neutral recording with embedded MEs")
    long.add_argument("--seconds", type=float, default=10.0, help="length in seconds (default 10)")
    long.add_argument("--micro-expressions", type=int, default=4, help="embedded MEs (default 4)")
    long.add_argument("--blinks", type=int, default=3, help="blinks as distractors (default 3)")
    long.add_argument("--head-moves", type=int, default=2, help="head movements as distractors (default 2)")
    long.add_argument("--fps", type=float, default=None, help="frame rate (default: the database's)")
    return parser


def _long_video(args: argparse.Namespace) -> int:
    from mer_contrast.synth.long_video import LongVideoOptions, render_long_video

    try:
        options = LongVideoOptions(
            layout=args.layout, seconds=args.seconds, micro_expressions=args.micro_expressions,
            blinks=args.blinks, head_moves=args.head_moves, size=args.size, fps=args.fps, seed=args.seed,
        )  # fmt: skip
        events = render_long_video(args.out, options, overwrite=args.overwrite)
    except (ValueError, FileExistsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    kinds = ", ".join(f"{k} {sum(e.kind == k for e in events)}" for k in ("me", "blink", "head"))
    print(f"wrote {args.out}: {options.seconds:g} s at {options.rate:g} fps (video.avi, frames/); {kinds}")
    print(f"ground truth: {args.out / 'ground_truth.csv'}")
    return 0


def _pair(kind: type) -> Callable[[str], tuple[Any, Any]]:
    def parse(text: str) -> tuple[Any, Any]:
        parts = text.split(",")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(f"expected two comma-separated numbers, got {text!r}")
        try:
            return kind(parts[0]), kind(parts[1])
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"not numbers: {text!r}") from err

    return from_text(parse)  # YAML gives [150, 210]


def _from_sheet(args: argparse.Namespace) -> int:
    from mer_contrast.datasets.errors import DatasetNotFoundError, SheetFormatError
    from mer_contrast.synth.sheet_twin import TwinOptions, render_from_sheet

    start = time.perf_counter()
    try:
        given = {
            "crop_sizes": args.crop_sizes,
            "amplitudes": args.amplitudes,
            "drift_px": args.drift_px,
            "blink_prob": args.blink_prob,
        }
        options = TwinOptions(
            seed=args.seed, raw=not args.no_raw, **{k: v for k, v in given.items() if v is not None}
        )
        manifest = render_from_sheet(
            args.layout, args.from_sheet, args.out, options=options, limit=args.limit,
            workers=args.workers, overwrite=args.overwrite, database_sizes=args.crop_sizes is None,
        )  # fmt: skip
    except (ValueError, FileExistsError, DatasetNotFoundError, SheetFormatError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    frames = sum(clip.frames for clip in manifest.clips)
    skipped = {k.split(":", 1)[1]: why for k, why in manifest.quirks.items() if k.startswith("skipped_row:")}
    print(
        f"rendered {len(manifest.clips)} rows of {args.from_sheet.name} to {args.out}: "
        f"{len(manifest.subject_counts)} subjects, {frames} frames in {time.perf_counter() - start:.1f} s; "
        f"{len(skipped)} rows skipped by the reader"
    )
    for row, why in skipped.items():
        print(f"  skipped row {row}: {why}")
    if "sheet_name" in manifest.quirks:
        print(f"note: {manifest.quirks['sheet_name']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad arguments or output folder)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.from_sheet is not None:
        return _from_sheet(args)
    if args.layout in TWIN_ONLY:  # one line, exit status 2
        parser.error(
            f"--layout {args.layout} has only a sheet-driven twin: pass --from-sheet "
            "(casme2, mmew and samm can also be planned without a sheet)"
        )
    if args.long_video:
        return _long_video(args)
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
