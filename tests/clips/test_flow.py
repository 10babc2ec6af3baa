"""Optical flow: shapes, pairs, sign and size of a known translation at every output size, strain,
normalisation and data-chosen bounds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from mer_contrast.clips.flow import (
    CHANNELS,
    MIN_BOUND,
    FlowConfig,
    FlowNorm,
    choose_bounds,
    compute_flow,
    flow_targets,
    normalise_flow,
    optical_strain,
    resize_flow,
)

from .helpers import moving_clip, shifted_pair, texture

METHODS = ["tvl1", "farneback", "dis"]
FAST_TVL1 = {"nscales": 3, "warps": 3, "outer_iterations": 5}  # enough for 32 px images


def config(method: str, **kwargs: object) -> FlowConfig:
    extra = FAST_TVL1 if method == "tvl1" else {}
    return FlowConfig(method=method, **{**extra, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("channels", "count"),
    [("uv", 2), ("uv_magnitude", 3), ("uv_strain", 3), ("uv_magnitude_strain", 4)],
)
def test_shapes_and_dtype(method: str, channels: str, count: int) -> None:
    frames = np.stack(moving_clip(4, size=32))
    flow = compute_flow(frames, config(method, channels=channels))
    assert flow.shape == (3, count, 32, 32) and flow.dtype == np.float32
    assert np.isfinite(flow).all() and FlowConfig(channels=channels).num_channels == count  # type: ignore[arg-type]
    one = compute_flow(frames, config(method, channels=channels, pairs="onset_apex"), apex=2)
    assert one.shape == (1, count, 32, 32)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("dx", "dy"), [(1, 0), (-2, 0), (0, 2)])
def test_known_translation_gives_right_sign_and_size(method: str, dx: int, dy: int) -> None:
    first, second = shifted_pair(32, dx, dy)
    flow = compute_flow(np.stack([first, second]), config(method))[0]  # raw: pixels
    u, v = (flow[c, 8:24, 8:24].mean() for c in (0, 1))
    assert u == pytest.approx(dx, abs=0.3) and v == pytest.approx(dy, abs=0.3)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("out_size", [16, 32, 64, 96])
def test_resized_flow_scales_its_vectors_to_the_output_size(method: str, out_size: int) -> None:
    first, second = shifted_pair(64, 2, -1)  # 2 px right, 1 px up at the 64 px flow resolution
    flow = compute_flow(np.stack([first, second]), config(method), out_size=out_size)[0]
    assert flow.shape[-2:] == (out_size, out_size)
    inner = slice(out_size // 4, 3 * out_size // 4)
    scale = out_size / 64
    assert flow[0, inner, inner].mean() == pytest.approx(2 * scale, abs=0.3 * scale + 0.02)
    assert flow[1, inner, inner].mean() == pytest.approx(-1 * scale, abs=0.3 * scale + 0.02)


def test_resize_flow_scales_each_axis_of_a_non_square_field() -> None:
    raw = np.zeros((40, 20, 2), np.float32)
    raw[..., 0], raw[..., 1] = 2.0, 4.0  # 2 px along x of a 20 px width, 4 px along y of 40 px
    out = resize_flow(raw, 10)
    assert out.shape == (10, 10, 2)
    np.testing.assert_allclose(out[..., 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(out[..., 1], 1.0, rtol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_pairs_consecutive_onset_and_onset_apex(method: str) -> None:
    frames = np.stack(moving_clip(4, size=32))  # +1 px per frame

    def mean_u(pairs: str, **kwargs: int) -> np.ndarray:
        flow = compute_flow(frames, config(method, pairs=pairs), **kwargs)
        return flow[:, 0, 8:24, 8:24].mean(axis=(1, 2))

    np.testing.assert_allclose(mean_u("consecutive"), [1, 1, 1], atol=0.3)
    np.testing.assert_allclose(mean_u("onset"), [1, 2, 3], atol=0.4)
    np.testing.assert_allclose(mean_u("onset_apex"), [3], atol=0.4)
    np.testing.assert_allclose(mean_u("onset_apex", apex=2), [2], atol=0.4)
    with pytest.raises(ValueError, match="apex position"):
        compute_flow(frames, config(method, pairs="onset_apex"), apex=0)


def test_flow_targets() -> None:
    assert flow_targets(4, "onset", 3) == [(0, 1), (0, 2), (0, 3)]
    assert flow_targets(4, "consecutive", 3) == [(0, 1), (1, 2), (2, 3)]
    assert flow_targets(4, "onset_apex", 2) == [(0, 2)]


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
    cfg = config(method, channels="uv_strain")
    first, second = shifted_pair(32, 1, 0)
    moved = compute_flow(np.stack([first, second]), cfg)
    assert moved[0, 2, 8:24, 8:24].mean() < 0.02  # rigid motion: ~0 strain
    assert moved[0, 0, 8:24, 8:24].mean() > 0.8  # while u shows it (1 px)
    base = texture(48)
    zoom = cv2.warpAffine(base, cv2.getRotationMatrix2D((24, 24), 0, 1.1), (48, 48))  # strain 0.1
    pair = np.stack([np.repeat(img[8:40, 8:40, None], 3, axis=2) for img in (base, zoom)])
    assert compute_flow(pair, cfg)[0, 2, 8:24, 8:24].mean() > 0.07
    # strain is computed at flow resolution: the same zoom read at half size keeps its strain
    assert compute_flow(pair, cfg, out_size=16)[0, 2, 4:12, 4:12].mean() > 0.07


def test_normalisation_clips_to_bounds_for_numpy_and_torch() -> None:
    raw = np.zeros((1, 4, 4, 4), np.float32)  # (T', C=u,v,magnitude,strain, H, W)
    raw[0, :, 0, 0] = (3.0, -4.0, 5.0, 0.5)  # beyond every bound
    raw[0, :, 1, 1] = (0.6, 0.8, 1.0, 0.05)
    out = normalise_flow(raw, "uv_magnitude_strain", bound=2.0, strain_bound=0.1)
    np.testing.assert_allclose(out[0, :, 0, 0], [1.0, -1.0, 1.0, 1.0])
    np.testing.assert_allclose(out[0, :, 1, 1], [0.3, 0.4, 0.5, 0.5], rtol=1e-6)
    assert raw[0, 0, 0, 0] == 3.0  # the input is not modified
    norm = FlowNorm("uv_magnitude_strain", 2.0, 0.1)
    np.testing.assert_allclose(norm(torch.from_numpy(raw)).numpy(), out)
    with pytest.raises(ValueError, match="bounds must be > 0"):
        normalise_flow(raw, "uv", bound=0.0, strain_bound=1.0)


@pytest.mark.parametrize("channels", ["uv", "uv_magnitude", "uv_strain", "uv_magnitude_strain"])
def test_flow_norm_on_tensors_gives_normalise_flows_numbers(channels: str) -> None:
    # A training item's path (float32 tensors, two operations) against the per-channel reference.
    count = len(CHANNELS[channels])
    raw = torch.from_numpy(np.random.default_rng(3).normal(0, 0.4, (2, count, 9, 7)).astype(np.float32))
    kept = raw.clone()
    norm = FlowNorm(channels, 0.23, 0.07)  # type: ignore[arg-type]
    assert torch.equal(norm(raw), normalise_flow(raw, channels, 0.23, 0.07))  # bit for bit
    assert torch.equal(raw, kept)  # the input is not modified
    with pytest.raises(ValueError, match="channels"):
        norm(raw[:, :1])
    with pytest.raises(ValueError, match="bounds must be > 0"):
        FlowNorm(channels, 0.0, 1.0)  # type: ignore[arg-type]


def test_choose_bounds_takes_a_high_percentile_of_the_motion() -> None:
    rng = np.random.default_rng(0)
    flows = [rng.normal(0, 0.5, (3, 3, 8, 8)).astype(np.float16) for _ in range(20)]
    for f in flows:
        f[:, 2] = np.abs(f[:, 2]) * 0.1
    bound, strain_bound = choose_bounds(flows, "uv_strain")
    assert bound == pytest.approx(0.5 * 2.576, rel=0.1)  # 99th percentile of |N(0, 0.5)|
    assert strain_bound == pytest.approx(0.1 * 0.5 * 2.576, rel=0.15)
    still = [np.zeros((1, 2, 4, 4), np.float16)]
    assert choose_bounds(still, "uv") == (MIN_BOUND, 1.0)


def test_config_validation_and_key_params() -> None:
    with pytest.raises(ValueError, match="unknown flow method"):
        FlowConfig(method="lucas")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown flow pairs"):
        FlowConfig(pairs="apex")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="flow size"):
        FlowConfig(size=4)
    params = FlowConfig(method="dis").key_params()
    assert params["preset"] == "medium" and "tau" not in params and "winsize" not in params
    assert {"tau", "size", "pairs", "channels"} <= set(FlowConfig().key_params())
    assert FlowConfig(pairs="onset_apex").steps(8) == 1 and FlowConfig().steps(8) == 7


def test_rejects_bad_frame_arrays() -> None:
    with pytest.raises(ValueError, match="expects RGB frames"):
        compute_flow(np.zeros((1, 8, 8, 3), np.uint8), FlowConfig())
    with pytest.raises(ValueError, match="expects RGB frames"):
        compute_flow(np.zeros((3, 8, 8), np.uint8), FlowConfig())
