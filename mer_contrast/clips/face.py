"""Face region of a clip: the database's own crop, or one box detected on the onset frame.

Modes (``crop``):
* ``auto``: the database's crop when the reader marked the frames as such
  (``extra["cropped"] == "1"``: CASME II ``Cropped/``, MMEW), else ``detect``.
* ``dataset``: the frames are face crops already; use each whole frame.
* ``detect``: OpenCV's frontal-face Haar cascade (shipped in the cv2 wheel, no download) on the
  onset frame; the largest face, enlarged by ``margin`` of its side on every side, made square and
  kept inside the image. That one box is applied to every frame of the clip, so head position
  changes stay visible to the flow instead of being cancelled by a per-frame re-crop. When no face
  is found the clip gets a centred square crop and one :class:`NoFaceFoundWarning` naming it.
* ``none``: the whole frame.

The region is then resized to a square (``cv2.INTER_AREA`` when shrinking); whole frames
(``dataset``/``none``) are resized without keeping their aspect ratio, so no part of the face is cut.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import cv2
import numpy as np

from mer_contrast.clips.errors import warn_once

CropMode = Literal["auto", "dataset", "detect", "none"]
ResolvedCrop = Literal["detect", "whole"]
FaceRect = tuple[int, int, int, int]  # x, y, width, height, as OpenCV returns
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), pixel coordinates

CASCADE_FILE = "haarcascade_frontalface_default.xml"
DETECT_MAX_SIDE = 480  # detect on a downscaled copy: faster, and the cascade needs no more detail
_warned_clips: set[str] = set()


class NoFaceFoundWarning(UserWarning):
    """No face was found on a clip's onset frame; a centred square crop was used instead."""


def resolve_crop(crop: CropMode, extra: dict[str, str]) -> ResolvedCrop:
    """What a crop mode does for one record: ``detect`` a face box, or use the ``whole`` frame."""
    if crop == "auto":
        return "whole" if extra.get("cropped") == "1" else "detect"
    if crop == "detect":
        return "detect"
    if crop in ("dataset", "none"):
        return "whole"
    raise ValueError(f"unknown crop mode {crop!r}; expected auto, dataset, detect or none")


@lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + CASCADE_FILE  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"{path}: cannot load the Haar cascade: reinstall opencv-contrib-python-headless")
    return cascade


def detect_faces(rgb: np.ndarray) -> list[FaceRect]:
    """All frontal faces the Haar cascade finds in an RGB (or grey) image, in full-image pixels."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    scale = min(1.0, DETECT_MAX_SIDE / max(gray.shape))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    min_side = max(16, min(gray.shape) // 6)  # a face fills much of a MER frame; skip tiny false hits
    found = _cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    return [tuple(round(v / scale) for v in rect) for rect in found]  # type: ignore[misc]


def largest_face(rgb: np.ndarray) -> FaceRect | None:
    """The largest detected face as ``(x, y, w, h)``, or None."""
    faces = detect_faces(rgb)
    return max(faces, key=lambda r: r[2] * r[3]) if faces else None


def square_box(face: FaceRect, margin: float, height: int, width: int) -> Box:
    """Enlarge ``face`` by ``margin`` of its side on each side, make it square, keep it in the image.

    The square is centred on the face and shifted (not shrunk) to fit; only when it is larger than
    the image's short side is it reduced to that side.
    """
    x, y, w, h = face
    side = max(w, h) * (1.0 + 2.0 * margin)
    side_px = max(1, min(round(side), height, width))
    cx, cy = x + w / 2.0, y + h / 2.0
    x0 = min(max(round(cx - side_px / 2.0), 0), width - side_px)
    y0 = min(max(round(cy - side_px / 2.0), 0), height - side_px)
    return (x0, y0, x0 + side_px, y0 + side_px)


def center_square_box(height: int, width: int) -> Box:
    """The largest centred square of an image."""
    side = min(height, width)
    x0, y0 = (width - side) // 2, (height - side) // 2
    return (x0, y0, x0 + side, y0 + side)


def face_box(onset_rgb: np.ndarray, mode: ResolvedCrop, margin: float, clip_name: str) -> Box | None:
    """The crop box of a clip from its onset frame; None means "use the whole frame"."""
    if mode == "whole":
        return None
    height, width = onset_rgb.shape[:2]
    face = largest_face(onset_rgb)
    if face is None:
        message = (
            "no face found on the onset frame; using a centred square crop "
            "(use crop='dataset' if these frames are face crops already)"
        )
        warn_once(_warned_clips, clip_name, message, NoFaceFoundWarning)
        return center_square_box(height, width)
    return square_box(face, margin, height, width)


def crop_box(frame: np.ndarray, box: Box | None) -> np.ndarray:
    """The ``box`` region of a frame (a view), or the whole frame when ``box`` is None."""
    if box is None:
        return frame
    x0, y0, x1, y1 = box
    return frame[y0:y1, x0:x1]


def resize_square(frame: np.ndarray, size: int) -> np.ndarray:
    """``size`` x ``size`` image: INTER_AREA when shrinking (it averages: no aliasing), else linear."""
    if frame.shape[0] == size and frame.shape[1] == size:
        return np.ascontiguousarray(frame)
    shrinking = size < min(frame.shape[:2])
    return cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
