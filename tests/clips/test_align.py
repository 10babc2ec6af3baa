"""Alignment of a clip to the template face from its onset's landmarks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_contrast.clips import landmarks, prepare
from mer_contrast.clips.align import (
    TEMPLATE,
    AlignmentWarning,
    LandmarksMissing,
    align_to_template,
    five_points,
    template_warp,
)
from mer_contrast.clips.cache import cache_key
from mer_contrast.clips.flow import FlowConfig
from mer_contrast.clips.prepare import ClipConfig, prepare_clip

from .helpers import needs_dlib, record_for, synthetic_face, write_frames


def onset_five(rgb: np.ndarray) -> np.ndarray:
    points = landmarks.detect_and_fit(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    assert points is not None
    return five_points(points)


def test_points_on_the_template_give_the_identity_and_moved_points_are_brought_back() -> None:
    on_template = TEMPLATE * 100
    warp = template_warp(on_template, 100, 100)
    assert warp is not None and np.allclose(warp, [[1, 0, 0], [0, 1, 0]], atol=1e-4)
    moved = on_template * [1.2, 0.9] + [-7, 4]  # a wider, shorter face, elsewhere in the crop
    warp = template_warp(moved.astype(np.float32), 100, 100)
    assert warp is not None
    mapped = np.hstack([moved, np.ones((5, 1))]) @ warp.T
    assert np.allclose(mapped, on_template, atol=1e-3)


def test_a_shape_out_of_order_or_too_far_from_the_template_is_refused() -> None:
    upside_down = TEMPLATE[:, ::-1] * 100
    assert template_warp(upside_down.astype(np.float32), 100, 100) is None
    tiny = TEMPLATE * 30 + 35  # the eyes 8 px apart in 100: a zoom of 3.3
    assert template_warp(tiny.astype(np.float32), 100, 100) is None
    swapped = (TEMPLATE * 100)[[1, 0, 2, 4, 3]]  # left and right exchanged: a mirror, not a warp
    assert template_warp(swapped.astype(np.float32), 100, 100) is None


@needs_dlib
@pytest.mark.parametrize("seed", [1, 4])
def test_an_aligned_face_has_its_features_on_the_template(seed: int) -> None:
    rgb = synthetic_face(seed)
    shift = np.float32([[1.15, 0, -14], [0, 1.0, 9]])  # stretched sideways and moved: another subject
    other = cv2.warpAffine(rgb, shift, rgb.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    target = TEMPLATE * 160
    before = np.abs(onset_five(other) - target).max()
    aligned = align_to_template([other, other], "landmarks", f"clip{seed}")
    after = np.abs(onset_five(aligned[0]) - target).max()
    assert before > 8 and after < 0.5 * before
    assert np.array_equal(aligned[0], aligned[1])  # one warp for every frame of the clip


def test_none_keeps_the_frames_and_an_unknown_mode_is_refused() -> None:
    frames = [np.zeros((8, 8, 3), np.uint8)]
    assert align_to_template(frames, "none", "c")[0] is frames[0]
    with pytest.raises(ValueError, match="unknown align"):
        align_to_template(frames, "mesh", "c")  # type: ignore[arg-type]


@needs_dlib
def test_a_face_without_sane_landmarks_keeps_its_crop_and_is_named_once() -> None:
    flat = [np.full((64, 64, 3), 128, np.uint8)] * 2
    with pytest.warns(AlignmentWarning, match="flatclip: no face or no sane landmarks"):
        out = align_to_template(flat, "landmarks", "flatclip")
    assert all(np.array_equal(a, b) for a, b in zip(out, flat, strict=True))


def test_landmarks_without_dlib_is_a_clear_setting_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepare, "landmarks_available", lambda: False)
    with pytest.raises(LandmarksMissing, match=r"pip install mer-contrast\[landmarks\]"):
        ClipConfig(align="landmarks")
    with pytest.raises(ValueError, match="unknown align"):
        ClipConfig(align="mesh")  # type: ignore[arg-type]


@needs_dlib
def test_prepare_aligns_before_the_flow_and_the_cache_tells_the_two_apart(tmp_path: Path) -> None:
    rgb = synthetic_face(2)
    other = cv2.warpAffine(rgb, np.float32([[1.15, 0, -14], [0, 1.0, 9]]), (160, 160))
    record = record_for(write_frames(tmp_path, [other, other]), cropped=True)
    cfg = ClipConfig(num_frames=2, image_size=40, flow=FlowConfig(method="dis"))
    plain, aligned = (prepare_clip(record, c) for c in (cfg, dataclasses.replace(cfg, align="landmarks")))
    assert plain["rgb"].shape == aligned["rgb"].shape and not np.array_equal(plain["rgb"], aligned["rgb"])
    assert cache_key(record, cfg) != cache_key(record, dataclasses.replace(cfg, align="landmarks"))
