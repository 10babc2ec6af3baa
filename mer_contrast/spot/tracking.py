"""Following the face through a long recording: a box re-detected when the head moves away from it.

The spotter's face box is detected once, on the first frame that shows a face; a head that turns or
shifts to a new pose and stays there would leave the face sliding out of it (and the eye band off the
eyes). :class:`FaceFollower` runs the Haar detector again every ``redetect_s`` seconds and takes the
new box when its centre or side moved more than ``redetect_move`` of the side (the detector's own
jitter on a still face is a few percent, so a still face keeps its box). The curve then restarts
after the change: no frame pair straddles two boxes.

Registration that follows the face is in :func:`register_to_recent`: each frame is aligned to the
frame ``k`` before it (the reference of its flow), not to the recording's first frame. A face that
ends in a new pose (a rotation a translation cannot undo, a shift that changed what the box holds)
is then compared with itself 0.15 s earlier, in the same pose, and sensor noise cannot move the
estimate; against the first crop the mismatch made the estimate jump by pixels from frame to frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from mer_contrast.clips.face import Box, largest_face, square_box
from mer_contrast.clips.register import BORDER_FRACTION, coarse_shift

ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)  # as clips/register.py


class FaceFollower:
    """The face box over time: the first one, replaced when a re-detection finds the face moved."""

    def __init__(self, box: Box, every: int, move: float, margin: float) -> None:
        self.box = box
        self.every = max(1, every)
        self.move = move
        self.margin = margin
        self.changes: list[tuple[int, Box]] = [(0, box)]
        self.restarts: list[int] = []  # frames where the curve restarted (new reference or box)

    def update(self, index: int, frame: np.ndarray, now: bool = False) -> bool:
        """Re-detect on every ``every``-th frame (or ``now``); True when the box changed at ``index``."""
        if index == 0 or (index % self.every and not now):
            return False
        face = largest_face(frame)
        if face is None:  # a lost face keeps the last box: a blink of the detector is no move
            return False
        new = square_box(face, self.margin, *frame.shape[:2])
        if box_shift(self.box, new) <= self.move:
            return False
        self.box = new
        self.changes.append((index, new))
        return True

    def box_at(self, index: int) -> Box:
        """The box frame ``index`` was read with."""
        return [box for start, box in self.changes if start <= index][-1]


def box_shift(old: Box, new: Box) -> float:
    """How far ``new`` moved from ``old``: the largest change of centre or side, over the old side."""
    side = max(old[2] - old[0], 1)
    centre_x = abs((new[0] + new[2]) - (old[0] + old[2])) / 2
    centre_y = abs((new[1] + new[3]) - (old[1] + old[3])) / 2
    resize = abs((new[2] - new[0]) - side)
    return max(centre_x, centre_y, resize) / side


def align_to(reference: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, float]:
    """``frame`` aligned (translation) to ``reference`` and the fit's correlation, -1 when ECC failed.

    The estimate of :func:`~mer_contrast.clips.register.estimate_warp` (phase correlation over the inner
    region, refined by ECC), so a frame whose fit is good is aligned exactly as ``register_to_onset``
    aligns it; ECC's correlation coefficient says how well the reference still fits.
    """
    ref, cur = reference.astype(np.float32), frame.astype(np.float32)
    dx, dy = coarse_shift(ref, cur)
    warp = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], np.float32)
    mask = np.zeros(ref.shape, np.uint8)
    dy0, dx0 = round(ref.shape[0] * BORDER_FRACTION), round(ref.shape[1] * BORDER_FRACTION)
    mask[dy0 : ref.shape[0] - dy0, dx0 : ref.shape[1] - dx0] = 1  # the region phase correlation used
    try:
        rho, found = cv2.findTransformECC(
            ref, cur, warp.copy(), cv2.MOTION_TRANSLATION, ECC_CRITERIA, mask, 5
        )
        warp = np.asarray(found, np.float32)
    except cv2.error:  # no convergence: the reference no longer fits this frame
        rho = -1.0
    height, width = frame.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    aligned = cv2.warpAffine(frame, warp, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return aligned, float(rho)


class RenewingReference:
    """Registration to a reference that is renewed when it stops fitting (a pose change).

    Each crop is aligned to the reference by :func:`align_to`. When ECC fails or its correlation
    falls below ``min_fit`` the head is in a pose a translation cannot undo, and the crop itself
    becomes the new reference. That crop was taken while the head moved, so ``settle`` frames later
    the reference is renewed once more, from the pose the head came to rest in (a head still moving
    then falls below ``min_fit`` again and starts the same again). :meth:`align` says when the
    reference changed: the spotter restarts its curve there.
    """

    def __init__(self, min_fit: float, settle: int) -> None:
        self.min_fit = min_fit
        self.settle = max(1, settle)
        self.reference: np.ndarray | None = None
        self.due: int | None = None  # frames until the renewal from the settled pose

    def align(self, crop: np.ndarray) -> tuple[np.ndarray, bool]:
        """The crop aligned to the reference, and whether the reference was renewed with it."""
        if self.reference is None:
            self.reference = crop
            return crop, False
        if self.due is not None:
            self.due -= 1
            if self.due <= 0:
                self.renew(crop)
                return crop, True
        aligned, fit = align_to(self.reference, crop)
        if fit < self.min_fit:
            self.renew(crop, settle=True)
            return crop, True
        return aligned, False

    def renew(self, crop: np.ndarray, settle: bool = False) -> None:
        """Start again from ``crop``; ``settle``: and once more ``settle`` frames later (a new face box)."""
        self.reference = crop
        self.due = self.settle if settle else None
