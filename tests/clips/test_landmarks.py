"""dlib's landmarks on a face crop: the model found offline, the detector's box, the fallback box."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from mer_contrast.clips import landmarks

from .helpers import needs_dlib, synthetic_face


def face_crop(seed: int) -> np.ndarray:
    """A synthetic CASME II-like face crop, grey uint8."""
    return cv2.cvtColor(synthetic_face(seed), cv2.COLOR_RGB2GRAY)


@needs_dlib
def test_the_model_is_found_without_importing_its_package() -> None:
    sys.modules.pop("face_recognition_models", None)
    path = landmarks.model_path()
    assert path is not None and path.name == landmarks.MODEL_FILE and path.stat().st_size > 1e6
    assert "face_recognition_models" not in sys.modules  # its __init__ needs setuptools' pkg_resources


@needs_dlib
def test_detect_and_fit_puts_the_eyes_above_the_mouth_inside_the_crop() -> None:
    grey = face_crop(3)
    points = landmarks.detect_and_fit(grey, 0.1)
    assert points is not None and points.shape == (68, 2)
    assert (points >= 0).all() and (points < grey.shape[0]).all()
    eyes, mouth = points[36:48, 1].mean(), points[48:68, 1].mean()
    assert eyes < points[33, 1] < mouth
    assert points[36:42, 0].mean() < points[42:48, 0].mean()  # the image's left eye first


@needs_dlib
def test_without_a_detected_face_the_inner_box_is_fitted_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    grey = face_crop(3)
    monkeypatch.setattr(landmarks, "_detector", lambda: lambda image, upsample: [])
    assert landmarks.detect_and_fit(grey) is None
    fallback = landmarks.detect_and_fit(grey, 0.1)
    assert fallback is not None
    assert np.allclose(fallback, landmarks.fit_landmarks(grey, 0.1))


def test_without_dlib_there_are_no_landmarks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landmarks, "_predictor", lambda: None)
    assert not landmarks.landmarks_available()
    assert landmarks.fit_landmarks(np.zeros((64, 64), np.uint8), 0.1) is None
    assert landmarks.detect_and_fit(np.zeros((64, 64), np.uint8), 0.1) is None
