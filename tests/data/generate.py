"""Regenerate the tiny synthetic test datasets (CASME II, MMEW, SAMM layouts) into a folder.

The tests build these on the fly into tmp folders (``tests/synth/conftest.py``); this script writes
the same datasets somewhere you can look at them, e.g. to open the sheets or frames by hand::

    python tests/data/generate.py /tmp/mer_synth            # tiny: 2 subjects x 3 clips, 48 px
    python tests/data/generate.py /tmp/mer_demo --demo      # 8 subjects x 12 clips, 128 px

Each layout goes to ``<folder>/<layout>/`` with its ``manifest.json``; an earlier run is replaced.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mer_contrast.synth import LAYOUTS, TINY, generate

DEMO = {"subjects": 8, "clips_per_subject": 12, "size": 128, "frames": (10, 30)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where to write <layout>/ folders")
    parser.add_argument("--demo", action="store_true", help="demo size instead of the tiny test size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    options = DEMO if args.demo else TINY
    for layout in LAYOUTS:
        start = time.perf_counter()
        manifest = generate(layout, args.folder / layout, seed=args.seed, overwrite=True, **options)
        frames = sum(clip.frames for clip in manifest.clips)
        print(
            f"{layout}: {len(manifest.clips)} clips, {frames} frames, {time.perf_counter() - start:.2f} s "
            f"-> {args.folder / layout}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
