"""Registration to the onset: a synthetic global shift (and rotation) is removed, local motion kept."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mer_contrast.clips.flow import FlowConfig, compute_flow
from mer_contrast.clips.register import estimate_shift, register_to_onset

from .helpers import texture


def _scene(size: int = 96, seed: int = 0) -> np.ndarray:
    return np.repeat(texture(size, seed)[..., None], 3, axis=2)


def _warp(image: np.ndarray, dx: float, dy: float, angle: float = 0.0) -> np.ndarray:
    """Content moved by (dx, dy) pixels and rotated by ``angle`` degrees about the centre."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    matrix[:, 2] += (dx, dy)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize(("dx", "dy"), [(1.5, 0.0), (-0.7, 1.2), (2.3, -1.8)])
def test_estimate_shift_finds_a_sub_pixel_translation(dx: float, dy: float) -> None:
    onset = _scene()
    found = estimate_shift(onset, _warp(onset, dx, dy))
    assert found == pytest.approx((dx, dy), abs=0.1)


@pytest.mark.parametrize("mode", ["translation", "euclidean"])
def test_registration_removes_a_global_shift(mode: str) -> None:
    onset = _scene()
    drifted = [_warp(onset, 0.8 * t, -0.5 * t) for t in range(1, 4)]
    aligned = register_to_onset([onset, *drifted], mode)  # type: ignore[arg-type]
    inner = slice(16, 80)
    before = np.abs(drifted[-1].astype(float) - onset)[inner, inner].mean()
    after = np.abs(aligned[-1].astype(float) - onset)[inner, inner].mean()
    assert after < 0.25 * before
    flow = compute_flow(np.stack(aligned), FlowConfig(method="dis"))
    assert np.abs(flow[-1, :2, inner, inner]).mean() < 0.15  # px: the drift is gone from the flow
    assert aligned[0] is onset and all(a.shape == onset.shape and a.dtype == onset.dtype for a in aligned)


def test_euclidean_registration_also_removes_a_small_rotation() -> None:
    onset = _scene()
    turned = _warp(onset, 1.0, 0.5, angle=1.5)
    inner = slice(20, 76)
    shift_only = register_to_onset([onset, turned], "translation")[1]
    rigid = register_to_onset([onset, turned], "euclidean")[1]
    error = [np.abs(img.astype(float) - onset)[inner, inner].mean() for img in (shift_only, rigid)]
    assert error[1] < 0.6 * error[0]


def test_registration_keeps_local_motion() -> None:
    onset = _scene()
    moved = onset.copy()
    moved[40:56, 40:56] = _warp(onset, 2.0, 0.0)[40:56, 40:56]  # a local 2 px "AU" motion
    moved = _warp(moved, 1.0, 1.0)  # plus a global drift
    aligned = register_to_onset([onset, moved], "translation")
    flow = compute_flow(np.stack(aligned), FlowConfig(method="dis"))[0]
    assert flow[0, 44:52, 44:52].mean() > 1.0  # the local motion survives
    assert np.abs(flow[0, 10:30, 10:30]).mean() < 0.3  # the background is still


def test_none_and_unknown_modes() -> None:
    frames = [_scene(), _warp(_scene(), 1, 1)]
    assert all(a is b for a, b in zip(register_to_onset(frames, "none"), frames, strict=True))
    with pytest.raises(ValueError, match="unknown register mode"):
        register_to_onset(frames, "affine")  # type: ignore[arg-type]
