"""Shared rendering steps of all layouts: a subject's face on its canvas, a clip's frames, JPEG files.

Random streams are keyed by (seed, layout, purpose, subject, clip) so that one part of a dataset does
not change when another does, and the same seed always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from mer_contrast.synth.faces import FaceGeometry, FaceIdentity, render_neutral
from mer_contrast.synth.motion import BASE_AMPLITUDE, JITTER_PX, au_field, envelope, jitter, render_frames
from mer_contrast.synth.patterns import TWIN_LAYOUTS, Layout, PlannedClip, TwinLayout

JPEG_QUALITY = 95  # high enough that sub-pixel motion survives compression
RAW_SCALE = 4 / 3  # raw frames: canvas height = 4/3 of the face box, 4:3 aspect, face somewhere inside

# purposes of the random streams
PLAN, NAMES, IDENTITY, CLIP = 0, 1, 2, 3


def stream(seed: int, layout: Layout | TwinLayout, purpose: int, *keys: int) -> np.random.Generator:
    """An independent, reproducible random generator for one purpose of one layout.

    Indexed by :data:`~mer_contrast.synth.patterns.TWIN_LAYOUTS`, whose first three are the generator's
    ``LAYOUTS`` in the same order (their streams are unchanged).
    """
    return np.random.default_rng([seed, TWIN_LAYOUTS.index(layout), purpose, *keys])


@dataclass(frozen=True)
class SubjectFace:
    """A subject's neutral frame: the canvas (BGR or gray float32), its face box and geometry."""

    neutral: np.ndarray
    box: tuple[int, int, int, int]  # x, y, width, height of the face box in the canvas
    geometry: FaceGeometry
    # optional, set by the sheet-driven twin (``variation.twin_face``); the defaults render as before
    motions: dict[int, tuple[tuple[str, float, float, float], ...]] | None = None  # AU table (AU_MOTIONS)
    eyes: tuple[tuple[float, float, float, float], ...] = ()  # eye regions: cx, cy, half w, half h
    draws: dict[str, float] = field(default_factory=dict)  # per-subject random draws

    @property
    def ellipse(self) -> tuple[float, float, float, float]:
        """Face oval (centre x, centre y, half width, half height) in canvas pixels."""
        g = self.geometry
        return round(g.cx, 2), round(g.cy, 2), round(g.a, 2), round(g.b, 2)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the canvas."""
        return int(self.neutral.shape[1]), int(self.neutral.shape[0])


def face_placement(
    seed: int, layout: str, subject_index: int, size: int, *, raw: bool
) -> tuple[FaceIdentity, tuple[int, int, int, int], tuple[int, int]]:
    """Subject ``subject_index``'s identity, its face box (x, y, w, h) and the canvas (height, width)."""
    rng = stream(seed, layout, IDENTITY, subject_index)  # type: ignore[arg-type]
    identity = FaceIdentity.sample(rng)
    if raw:
        height = round(size * RAW_SCALE)
        width = round(height * 4 / 3)
        x = int(rng.integers(round(0.2 * (width - size)), round(0.8 * (width - size)) + 1))
        y = int(rng.integers(round(0.2 * (height - size)), round(0.7 * (height - size)) + 1))
    else:
        height = width = size
        x = y = 0
    return identity, (x, y, size, size), (height, width)


def subject_face(
    seed: int, layout: Layout, subject_index: int, size: int, *, raw: bool, grayscale: bool = False
) -> SubjectFace:
    """Render subject ``subject_index``: a ``size`` face crop, or a larger raw canvas with the face inside."""
    identity, box, canvas = face_placement(seed, layout, subject_index, size, raw=raw)
    neutral, geometry = render_neutral(identity, canvas, box)
    if grayscale:
        neutral = cv2.cvtColor(neutral, cv2.COLOR_BGR2GRAY)
    return SubjectFace(neutral=neutral, box=box, geometry=geometry)


def clip_frames(
    face: SubjectFace, plan: PlannedClip, size: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """The clip's uint8 frames, onset to offset: AU motion peaking at the planned apex, jitter, noise."""
    scale = size / 128
    field = au_field(plan.tokens, face.geometry, face.neutral.shape[:2], BASE_AMPLITUDE * scale * plan.gain)
    weights = envelope(plan.length, plan.apex_index)
    shifts = jitter(plan.length, JITTER_PX * scale, rng)
    return render_frames(face.neutral, field, weights, shifts, rng)


def write_jpeg(path: Path, image: np.ndarray, quality: int = JPEG_QUALITY) -> None:
    """Write a JPEG (BGR or single-channel gray) at ``quality`` (0-100); any path, any platform."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise OSError(f"{path}: OpenCV could not encode the frame as JPEG")
    path.write_bytes(data.tobytes())
