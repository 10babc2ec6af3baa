"""``mer-contrast predict FOLDER`` (also ``predict-clips``): classify clip folders that have no sheet.

A folder of clip folders (``FOLDER/<clip>/*.jpg``, or deeper as ``FOLDER/<subject>/<clip>/``; a folder
of frames alone is one clip) is read without annotations: each clip's onset is its first frame, its
offset its last, and its apex is estimated from motion, as the frame whose registered face moved
most from the onset (flow from the first frame, averaged in the spotter's face cells outside the eye
band and the border, mean of the strongest quarter, smoothed over ``smooth_s``). The clip then goes
through the checkpoint's clip pipeline and model (video only) as in ``predict-video``, and the same
table is written: start, apex and end frame and time, class, probability and explanation, plus the
clip's name and apex file. ``flags`` marks a clip whose first frame shows no face (it is then read
through a centred square) and one whose face did not move more than :data:`NO_MOTION_PX` from its
first frame: both are still classified, but their class says nothing.

Example::

    mer-contrast predict my_clips/ --ckpt_path runs/fold/last.ckpt --out runs/my_clips
    mer-contrast predict my_clips/ --ckpt_path last.ckpt --crop none --json   # frames are face crops

A clip folder that cannot be read (no frames, one frame, a corrupt image) is reported on one line and
left out of the table; the others are still classified. Exit 0, or 2 when no clip was usable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mer_contrast.clips.prepare import ClipConfig
from mer_contrast.spot.report import NO_FACE, interval_row, no_motion_flag, write_csv
from mer_contrast.spot.source import FootageSource, SpotError
from mer_contrast.spot.spotting import FaceTrack, Interval, SpotConfig, smooth

NO_MOTION_PX = 0.12  # a clip's face moved less than this from its first frame: no expression to read

HELP = "classify a folder of clip folders without a sheet (apex estimated from motion): CSV/JSON table"
CLIP_COLUMNS = (
    "clip", "frames", "start_frame", "apex_frame", "end_frame", "start_s", "apex_s", "end_s",
    "score", "apex_file", "class", "probability", "explanation", "flags",
)  # fmt: skip


@dataclass(frozen=True)
class ClipMotion:
    """A clip's motion apex, how far the face moved there (pixels) and whether a face was found."""

    apex: int
    moved: float
    face_found: bool


def clip_folders(root: Path) -> list[Path]:
    """Every folder under ``root`` (``root`` included) that directly holds image frames, sorted."""
    from mer_contrast.clips.frames import IMAGE_EXTENSIONS

    def has_frames(folder: Path) -> bool:
        return any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir() if p.is_file())

    folders = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    return [f for f in folders if has_frames(f)]


def estimate_apex(
    source: FootageSource, cfg: SpotConfig, crop: Literal["detect", "none"], margin: float | None = None
) -> tuple[int, float]:
    """The frame index that moved most from the first one, and that motion in pixels (:func:`clip_motion`)."""
    found = clip_motion(source, cfg, crop, margin)
    return found.apex, found.moved


def clip_face_box(
    first: np.ndarray, crop: Literal["detect", "none"], margin: float
) -> tuple[tuple[int, int, int, int], bool]:
    """The clip pipeline's face box of a first frame (``detect``: the largest Haar face enlarged by
    ``margin``, else a centred square; ``none``: the whole frame) and whether a face was found."""
    from mer_contrast.clips.face import center_square_box, largest_face, square_box

    height, width = first.shape[:2]
    if crop == "none":
        return (0, 0, width, height), True
    face = largest_face(first)
    if face is None:
        return center_square_box(height, width), False
    return square_box(face, margin, height, width), True


def clip_motion(
    source: FootageSource, cfg: SpotConfig, crop: Literal["detect", "none"], margin: float | None = None
) -> ClipMotion:
    """The frame that moved most from the first one (module docstring), and whether a face was found.

    The face box is the clip pipeline's (:func:`clip_face_box`, ``margin`` as the checkpoint's
    ``face_margin``, else the clip pipeline's default).
    """
    from mer_contrast.clips.flow import flow_pair

    margin = ClipConfig().face_margin if margin is None else margin
    box, face_found = clip_face_box(source.read(0, 1)[0], crop, margin)
    track = FaceTrack(
        source, replace(cfg, regions="grid", head_motion="none"), box
    )  # a clip's own crop and margin
    crops = [c for _, frames in source.chunks(cfg.chunk) for c in track.crops(frames)]
    top = max(1, round(cfg.top_fraction * len(track.cells)))
    motion = np.zeros(len(crops), np.float32)
    for t in range(1, len(crops)):
        magnitude = np.linalg.norm(track.cell_means(flow_pair(crops[0], crops[t], cfg.flow)), axis=1)
        motion[t] = np.sort(magnitude)[-top:].mean()
    motion = smooth(motion, cfg.smoothing(source.fps))
    apex = int(np.argmax(motion[1:]) + 1) if len(motion) > 1 else 0
    return ClipMotion(apex, float(motion[apex]), face_found)


def clip_flags(motion: ClipMotion) -> list[str]:
    """What the table must say of a clip before its class: no face, no motion."""
    flags = [] if motion.face_found else [NO_FACE]
    if motion.moved < NO_MOTION_PX:
        flags.append(no_motion_flag(motion.moved, NO_MOTION_PX))
    return flags


def predict_clips(
    root: Path, ckpt: Path | None, *, fps: float | None, crop: Literal["detect", "none"], cfg: SpotConfig
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the table (one per usable clip) and one line per clip left out."""
    from mer_contrast.spot.classify import Classifier

    classifier = Classifier.load(ckpt) if ckpt is not None else None  # fail fast, before reading clips
    folders = clip_folders(root)
    if not folders:
        raise SpotError(root, "no clip folder with image frames found under it: pass FOLDER/<clip>/*.jpg")
    margin = classifier.clip.face_margin if classifier is not None else ClipConfig().face_margin
    clips: list[tuple[str, FootageSource, Interval, list[str]]] = []
    skipped, prepared = [], []
    for folder in folders:
        name = folder.relative_to(root).as_posix() if folder != root else folder.name
        try:
            source = FootageSource.open(folder, fps)
            if source.num_frames < 2:
                raise SpotError(folder, f"{source.num_frames} frame: a clip needs at least 2")
            motion = clip_motion(source, cfg, crop, margin)
        except SpotError as err:
            skipped.append(f"skipped clip {name}: {err}")
            continue
        interval = Interval(0, motion.apex, source.num_frames - 1, motion.moved)
        if classifier is not None:
            prepared.append(classifier.prepare_safely(source, name, interval, crop))
        clips.append((name, source, interval, clip_flags(motion)))
    subjects = [name.split("/")[0] for name, _, _, _ in clips]
    labels = classifier.classify_prepared(prepared, subjects) if classifier is not None else [{}] * len(clips)
    rows = []
    for (name, source, interval, flags), label in zip(clips, labels, strict=True):
        row = {"clip": name, "frames": source.num_frames, "apex_file": source.files[interval.apex].name}
        row |= interval_row(interval, source.fps, {**label, "flags": [*flags, *label.get("flags", [])]})
        rows.append({**{key: row[key] for key in CLIP_COLUMNS}, **row})  # columns first, then probs
    return rows, skipped


def write_table(out: Path, stem: str, rows: list[dict[str, Any]], document: str) -> tuple[Path, Path]:
    """``<stem>_clips.csv`` (explanations joined by ``" | "``) and ``<stem>_clips.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / f"{stem}_clips.csv", out / f"{stem}_clips.json"
    write_csv(csv_path, rows, CLIP_COLUMNS)
    json_path.write_text(document + "\n")
    return csv_path, json_path
