"""Regions placed from landmarks (with the template fallback), the eye state and the head's motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mer_contrast.clips import landmarks
from mer_contrast.clips.face import crop_box, largest_face, resize_square, square_box
from mer_contrast.spot import regions
from mer_contrast.spot.regions import (
    TEMPLATE_REGIONS,
    EyeState,
    place_regions,
    region_centres,
    to_slices,
    without_head_motion,
)
from mer_contrast.synth.render import subject_face
from tests.clips.helpers import needs_dlib

INNER = 0.1 / 1.2  # the spotter's margin 0.1, as a fraction of its crop


def spotter_crop(seed: int) -> np.ndarray:
    """A synthetic face as the spotter sees it: the detector's box enlarged by 0.1, 96 px grey."""
    face = subject_face(seed, "casme2", 0, 128, raw=True)
    rgb = cv2.cvtColor(np.clip(face.neutral + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)
    found = largest_face(rgb)
    assert found is not None
    box = square_box(found, 0.1, *rgb.shape[:2])
    return cv2.cvtColor(resize_square(crop_box(rgb, box), 96), cv2.COLOR_RGB2GRAY)


def centre(rect: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([(rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2]) * 96


@needs_dlib
def test_eye_region_placed_from_landmarks_follows_a_moved_face() -> None:
    crop = spotter_crop(2)
    shift = np.float32([[1, 0, 3], [0, 1, 9]])  # the face 3 px right and 9 px lower in its box
    moved = cv2.warpAffine(crop, shift, (96, 96), borderMode=cv2.BORDER_REPLICATE)
    (before, found_before), (after, found_after) = (place_regions(c, INNER, True) for c in (crop, moved))
    assert found_before and found_after
    for name in ("eye_left", "eye_right", "corner_left", "chin"):
        assert np.allclose(centre(after[name]) - centre(before[name]), (3, 9), atol=2.0), name
    template, found = place_regions(moved, INNER, False)
    assert not found and template == TEMPLATE_REGIONS  # the box fraction would not have moved


@needs_dlib
def test_landmark_regions_sit_on_the_face_they_name() -> None:
    crop = spotter_crop(5)
    rects, found = place_regions(crop, INNER, True)
    assert found
    eyes = [centre(rects[name]) for name in ("eye_left", "eye_right")]
    brows = [centre(rects[name]) for name in ("brow_left", "brow_right")]
    assert all(b[1] < e[1] for b, e in zip(brows, eyes, strict=True))
    assert eyes[0][0] < 48 < eyes[1][0] and centre(rects["chin"])[1] > centre(rects["nose"])[1]
    eye_box = crop[to_slices(rects["eye_left"], 96, 0)]
    assert eye_box.min() < np.median(crop) - 40  # the iris is in it: the darkest part of the face


def test_without_dlib_the_template_places_the_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landmarks, "_predictor", lambda: None)
    rects, found = place_regions(np.full((96, 96), 128, np.uint8), INNER, True)
    assert not found and rects == TEMPLATE_REGIONS


def face_points(eye_y: float = 40.0) -> np.ndarray:
    """68 dlib-ordered landmarks of a frontal face in a 96 px crop, the eyes' height given."""
    points = np.zeros((68, 2), np.float32)
    angles = np.linspace(np.pi, 0, 17)
    points[0:17] = np.stack([48 + 34 * np.cos(angles), 45 + 40 * np.sin(angles)], axis=1)  # the jaw
    points[17:27] = np.stack([np.r_[np.linspace(26, 44, 5), np.linspace(52, 70, 5)], np.full(10, 30)], 1)
    points[27:31] = np.stack([np.full(4, 48), np.linspace(38, 54, 4)], axis=1)  # the nose's bridge
    points[31:36] = np.stack([np.linspace(42, 54, 5), np.full(5, 58)], axis=1)  # under the nose
    for start, x in ((36, 36), (42, 60)):
        ring = np.linspace(0, 2 * np.pi, 6, endpoint=False)
        points[start : start + 6] = np.stack([x + 5 * np.cos(ring), eye_y + 2 * np.sin(ring)], axis=1)
    ring = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    points[48:68] = np.stack([48 + 10 * np.cos(ring), 72 + 4 * np.sin(ring)], axis=1)  # the lips
    return points


def test_eye_points_fitted_on_the_brows_are_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    # dlib fits a faint eye's points on the thick brow above it on some faces (eye-brow height 0.16-0.27
    # of the eye-nose height, against 0.45 on a real face): the regions then come from the template.
    good, on_brows = face_points(40.0), face_points(33.0)
    assert regions.plausible(good, 96) and not regions.plausible(on_brows, 96)
    monkeypatch.setattr(regions, "fit_landmarks", lambda grey, inner: on_brows)
    rects, found = place_regions(np.full((96, 96), 128, np.uint8), INNER, True)
    assert not found and rects == TEMPLATE_REGIONS
    monkeypatch.setattr(regions, "fit_landmarks", lambda grey, inner: good)
    rects, found = place_regions(np.full((96, 96), 128, np.uint8), INNER, True)
    assert found and centre(rects["eye_left"])[1] == pytest.approx(40.0, abs=0.5)


def test_eye_state_flags_a_darkened_eye_and_forgets_a_slow_drift() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(60, 200, (96, 96)).astype(np.float32)
    eyes = [to_slices(TEMPLATE_REGIONS[name], 96, 0) for name in regions.EYES]
    state = EyeState(200, memory=25)
    state.restart(base.astype(np.uint8), eyes)
    darkened = range(120, 130)
    for t in range(200):
        frame = base + 0.05 * t + rng.normal(0, 1.0, base.shape)  # drift of 10 grey levels overall
        if t in darkened:
            for box in eyes:
                frame[box] *= 0.7
        state.measure(t, np.clip(frame, 0, 255).astype(np.uint8))
    blinks = state.blinks(z=5.0, least=3.0)
    assert set(np.flatnonzero(blinks)) == set(darkened)


def test_head_motion_is_removed_and_a_local_motion_kept() -> None:
    cells = [to_slices(rect, 96, 8) for rect in TEMPLATE_REGIONS.values()]
    centres = region_centres(cells, 96)
    angle = np.deg2rad(2.0)
    rolled = centres @ np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    head = rolled - centres + np.array([1.5, -0.7])  # a roll and a shift move every region
    local = np.zeros_like(centres)
    local[list(TEMPLATE_REGIONS).index("corner_left")] = (0.4, -0.5)  # AU12 on one mouth corner
    residual = without_head_motion(head + local, centres, drop=3)
    assert np.abs(residual - local).max() < 0.05
    assert np.abs(head).max() > 1.0  # what the head alone would have read as motion
