"""Optical flow: shapes, channels, sign and size of a known translation, strain, normalisation."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from mer_contrast.clips.flow import FlowConfig, compute_flow, flow_channels, optical_strain

from .helpers import moving_clip, shifted_pair, texture

METHODS = ["tvl1", "farneback", "dis"]
FAST_TVL1 = {"nscales": 3, "warps": 3, "outer_iterations": 5}  # enough for 32 px images


def config(method: str, **kwargs: object) -> FlowConfig:
    extra = FAST_TVL1 if method == "tvl1" else {}
    return FlowConfig(method=method, **{**extra, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("channels", "count"), [("uv", 2), ("uv_magnitude", 3), ("uv_strain", 3)])
def test_shapes_and_dtype(method: str, channels: str, count: int) -> None:
    frames = np.stack(moving_clip(4, size=32))
    flow = compute_flow(frames, config(method, channels=channels))
    assert flow.shape == (3, count, 32, 32) and flow.dtype == np.float32
    assert np.all(np.abs(flow) <= 1.0) and np.isfinite(flow).all()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("dx", "dy"), [(1, 0), (-2, 0), (0, 2)])
def test_known_translation_gives_right_sign_and_size(method: str, dx: int, dy: int) -> None:
    first, second = shifted_pair(32, dx, dy)
    cfg = config(method, bound=4.0)
    flow = compute_flow(np.stack([first, second]), cfg)[0] * cfg.bound  # back to pixels
    u, v = (flow[c, 8:24, 8:24].mean() for c in (0, 1))
    assert u == pytest.approx(dx, abs=0.3) and v == pytest.approx(dy, abs=0.3)


@pytest.mark.parametrize("method", METHODS)
def test_pairs_consecutive_vs_onset(method: str) -> None:
    frames = np.stack(moving_clip(4, size=32))  # +1 px per frame
    cfg = config(method, bound=4.0)
    consecutive = compute_flow(frames, cfg)[:, 0, 8:24, 8:24].mean(axis=(1, 2)) * 4.0
    onset = (
        compute_flow(frames, dataclasses.replace(cfg, pairs="onset"))[:, 0, 8:24, 8:24].mean(axis=(1, 2))
        * 4.0
    )
    np.testing.assert_allclose(consecutive, [1, 1, 1], atol=0.3)
    np.testing.assert_allclose(onset, [1, 2, 3], atol=0.4)


def test_strain_is_zero_for_translation_and_positive_for_stretch() -> None:
    ys, xs = np.mgrid[0:16, 0:16].astype(np.float32)
    translation = np.stack([np.full_like(xs, 1.5), np.full_like(xs, -0.5)], axis=-1)
    assert np.abs(optical_strain(translation)).max() == 0.0
    stretch = np.stack([0.05 * xs, np.zeros_like(ys)], axis=-1)  # du/dx = 0.05 everywhere
    np.testing.assert_allclose(optical_strain(stretch), 0.05, rtol=1e-5)
    shear = np.stack([0.1 * ys, np.zeros_like(xs)], axis=-1)  # exy = 0.05 -> sqrt(2) * 0.05
    np.testing.assert_allclose(optical_strain(shear), np.sqrt(2) * 0.05, rtol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_strain_channel_separates_translation_from_zoom(method: str) -> None:
    cfg = config(method, channels="uv_strain")  # strain_bound 0.2 maps to 1.0
    first, second = shifted_pair(32, 1, 0)
    moved = compute_flow(np.stack([first, second]), cfg)
    assert moved[0, 2, 8:24, 8:24].mean() < 0.1  # rigid motion: ~0 strain
    assert moved[0, 0, 8:24, 8:24].mean() > 0.4  # while u shows it (1 px / bound 2)
    base = texture(48)
    zoom = cv2.warpAffine(base, cv2.getRotationMatrix2D((24, 24), 0, 1.1), (48, 48))  # strain 0.1
    pair = np.stack([np.repeat(img[8:40, 8:40, None], 3, axis=2) for img in (base, zoom)])
    assert compute_flow(pair, cfg)[0, 2, 8:24, 8:24].mean() > 0.35


def test_normalisation_clips_to_bound_and_magnitude_channel() -> None:
    raw = np.zeros((4, 4, 2), np.float32)
    raw[0, 0] = (3.0, -4.0)  # beyond bound 2 in both
    raw[1, 1] = (0.6, 0.8)  # magnitude 1
    out = flow_channels(raw, FlowConfig(channels="uv_magnitude", bound=2.0))
    np.testing.assert_allclose(out[:, 0, 0], [1.0, -1.0, 1.0])
    np.testing.assert_allclose(out[:, 1, 1], [0.3, 0.4, 0.5], rtol=1e-6)


def test_config_validation_and_key_params() -> None:
    with pytest.raises(ValueError, match="unknown flow method"):
        FlowConfig(method="lucas")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bound"):
        FlowConfig(bound=0.0)
    params = FlowConfig(method="dis").key_params()
    assert params["preset"] == "medium" and "tau" not in params and "winsize" not in params
    assert "tau" in FlowConfig().key_params() and FlowConfig(channels="uv_strain").num_channels == 3


def test_rejects_bad_frame_arrays() -> None:
    with pytest.raises(ValueError, match="expects RGB frames"):
        compute_flow(np.zeros((1, 8, 8, 3), np.uint8), FlowConfig())
    with pytest.raises(ValueError, match="expects RGB frames"):
        compute_flow(np.zeros((3, 8, 8), np.uint8), FlowConfig())
