"""``generate``: one synthetic micro-expression dataset in a real database's on-disk layout."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mer_contrast.synth.layouts import write_casme2, write_mmew, write_samm
from mer_contrast.synth.manifest import MANIFEST_NAME, SynthManifest
from mer_contrast.synth.patterns import LAYOUTS, Layout, PlannedClip, plan_clips
from mer_contrast.synth.render import PLAN, stream

Writer = Callable[[Path, list[list[PlannedClip]], int, int], SynthManifest]
WRITERS: dict[str, Writer] = {"casme2": write_casme2, "mmew": write_mmew, "samm": write_samm}
MIN_SIZE = 32  # below this the eyes and lips are a few pixels and AU motion is lost in JPEG noise
MIN_FRAMES = 4  # onset, at least one frame each side of the apex, offset
MAX_SUBJECTS = 99  # two-digit subject numbers in the CASME II and MMEW names
# options of the tiny datasets used by tests (each layout in well under a second)
TINY: dict[str, Any] = {"subjects": 2, "clips_per_subject": 3, "size": 48, "frames": (4, 8)}


def generate(
    layout: Layout,
    out: Path,
    *,
    subjects: int = 4,
    clips_per_subject: int = 6,
    size: int = 128,
    seed: int = 0,
    frames: tuple[int, int] = (10, 30),
    overwrite: bool = False,
) -> SynthManifest:
    """Write a synthetic dataset in the exact layout of ``layout`` to ``out`` and return its manifest.

    Args:
        layout: ``casme2``, ``mmew`` or ``samm``: which real database's sheet and folders to mirror.
        out: dataset folder; must be new or empty (or, with ``overwrite``, hold an earlier synth output).
        subjects: number of subjects (identities).
        clips_per_subject: clips per subject; classes are spread over all subjects at random.
        size: side in pixels of the face box (the crop; raw frames are 4/3 taller, 4:3 wide).
        seed: same seed, same bytes; another seed, another dataset.
        frames: (min, max) clip length in frames, drawn uniformly per clip.
        overwrite: replace ``out`` when it holds a previous synth dataset (its ``manifest.json``).

    The manifest is also saved as ``out/manifest.json`` (beside the sheet, outside frame folders).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"synth: unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    _check_counts(subjects, clips_per_subject, size, frames)
    out = Path(out)
    _prepare_folder(out, overwrite)
    plans = plan_clips(
        layout, subjects, clips_per_subject, (frames[0], frames[1]), stream(seed, layout, PLAN)
    )
    manifest = WRITERS[layout](out, plans, size, seed)
    manifest.save(out / MANIFEST_NAME)
    return manifest


def _check_counts(subjects: int, clips_per_subject: int, size: int, frames: tuple[int, int]) -> None:
    if not 1 <= subjects <= MAX_SUBJECTS:
        raise ValueError(f"synth: subjects must be 1..{MAX_SUBJECTS}, got {subjects}")
    if not 1 <= clips_per_subject <= 100:
        raise ValueError(f"synth: clips_per_subject must be 1..100, got {clips_per_subject}")
    if not MIN_SIZE <= size <= 1024:
        raise ValueError(f"synth: size must be {MIN_SIZE}..1024 pixels, got {size}")
    if len(frames) != 2 or not MIN_FRAMES <= frames[0] <= frames[1] <= 1000:
        raise ValueError(
            f"synth: frames must be (min, max) with {MIN_FRAMES} <= min <= max <= 1000, got {frames}"
        )


def _prepare_folder(out: Path, overwrite: bool) -> None:
    """Refuse to mix a new dataset into a folder with other files (stale frames would be read too)."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"synth: {out} is a file; pass a new or empty folder as the output")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"synth: {out} is not empty; pass a new or empty folder (or --overwrite)")
        if not (out / MANIFEST_NAME).is_file():
            raise FileExistsError(
                f"synth: {out} is not empty and holds no {MANIFEST_NAME}; refusing to delete a folder "
                "that synth did not write: pass a new or empty folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
