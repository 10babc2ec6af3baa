"""Face crop: mode resolution, box geometry, one box per clip, fallback, and the real Haar cascade."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_contrast.clips import face
from mer_contrast.clips.face import (
    NoFaceFoundWarning,
    center_square_box,
    crop_box,
    face_box,
    largest_face,
    resize_square,
    resolve_crop,
    square_box,
)
from mer_contrast.clips.prepare import ClipConfig, prepare_clip

from .helpers import drawn_face, moving_clip, record_for, texture, write_frames


def test_resolve_crop_modes() -> None:
    assert resolve_crop("auto", {"cropped": "1"}) == "whole"
    assert resolve_crop("auto", {}) == "detect"
    assert resolve_crop("detect", {"cropped": "1"}) == "detect"
    assert resolve_crop("dataset", {}) == "whole" and resolve_crop("none", {}) == "whole"
    with pytest.raises(ValueError, match="unknown crop mode"):
        resolve_crop("mtcnn", {})  # type: ignore[arg-type]


def test_square_box_enlarges_squares_and_centres() -> None:
    assert square_box((40, 30, 20, 30), 0.1, 200, 200) == (32, 27, 68, 63)  # side 30 * 1.2 = 36


def test_square_box_is_shifted_inside_the_image() -> None:
    assert square_box((0, 0, 20, 20), 0.5, 100, 100) == (0, 0, 40, 40)
    assert square_box((85, 90, 10, 10), 0.5, 100, 100) == (80, 80, 100, 100)


def test_square_box_larger_than_image_shrinks_to_short_side() -> None:
    assert square_box((0, 0, 100, 100), 0.2, 60, 80) == (20, 0, 80, 60)
    assert center_square_box(60, 80) == (10, 0, 70, 60)


def test_crop_then_resize_uses_inter_area_on_the_box() -> None:
    frame = np.zeros((20, 30, 3), np.uint8)
    frame[5:15, 10:20] = 255
    out = resize_square(crop_box(frame, (10, 5, 20, 15)), 5)
    assert out.shape == (5, 5, 3) and out.min() == 255
    assert resize_square(crop_box(frame, None), 10).shape == (10, 10, 3)


def test_detect_applies_one_onset_box_to_every_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frames = moving_clip(5, size=64)  # a clip: its frames fit between their neighbours
    record = record_for(write_frames(tmp_path, frames), apex=3, cropped=False)
    seen: list[np.ndarray] = []

    def fake_detector(rgb: np.ndarray) -> tuple[int, int, int, int]:
        seen.append(rgb.copy())
        return (20, 10, 16, 24)

    monkeypatch.setattr(face, "largest_face", fake_detector)
    cfg = ClipConfig(num_frames=3, image_size=16, span="whole", crop="auto", face_margin=0.25)
    out = prepare_clip(record, cfg)
    assert len(seen) == 1 and np.array_equal(seen[0], frames[0])  # detected once, on the onset
    box = square_box((20, 10, 16, 24), 0.25, 64, 64)  # side 36 -> (10, 4, 46, 40)
    assert box == (10, 4, 46, 40)
    for k, index in enumerate([0, 2, 4]):
        np.testing.assert_array_equal(out["rgb"][k], resize_square(crop_box(frames[index], box), 16))


def test_no_face_falls_back_to_centre_and_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(face, "largest_face", lambda rgb: None)
    monkeypatch.setattr(face, "_warned_clips", set())
    image = np.zeros((40, 60, 3), np.uint8)
    with pytest.warns(NoFaceFoundWarning, match="sub09/EP01_02: no face found") as caught:
        assert face_box(image, "detect", 0.1, "sub09/EP01_02") == (10, 0, 50, 40)
        assert face_box(image, "detect", 0.1, "sub09/EP01_02") == (10, 0, 50, 40)
    assert len([w for w in caught if issubclass(w.category, NoFaceFoundWarning)]) == 1
    assert face_box(image, "whole", 0.1, "sub09/EP01_02") is None


def test_real_haar_cascade_finds_a_drawn_face_and_survives_noise() -> None:
    # Haar is trained on photos; this drawing (skin ellipse, eyes, brows, nose, mouth) is found by
    # OpenCV 4.x. Noise and a blank frame must simply give no face, not crash.
    canvas = np.full((240, 320, 3), 80, np.uint8)
    canvas[40:200, 100:260] = cv2.resize(drawn_face(128), (160, 160))
    found = largest_face(canvas)
    assert found is not None
    x, y, w, h = found
    assert x <= 180 <= x + w and y <= 120 <= y + h and 80 <= w <= 200  # on the face, about its size
    assert largest_face(np.zeros((50, 70, 3), np.uint8)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        largest_face(np.repeat(texture(96)[..., None], 3, axis=2))
