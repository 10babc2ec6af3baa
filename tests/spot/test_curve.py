"""The spotter's curve arithmetic: smoothing width, runs above the threshold, apexes."""

from __future__ import annotations

import numpy as np
import pytest

from mer_contrast.spot.curve import find_apexes, smooth
from mer_contrast.spot.spotting import SpotConfig


@pytest.mark.parametrize(("fps", "frames"), [(25.0, 2), (29.97, 2), (30.0, 2), (90.0, 4), (200.0, 10)])
def test_smoothing_is_smooth_s_and_at_least_two_frames(fps: float, frames: int) -> None:
    """0.05 s is 1.4985 frames at 29.97 fps: rounded, the NTSC rate of most real footage was not
    smoothed at all while 30 fps got 2 frames."""
    assert SpotConfig().smoothing(fps) == frames
    assert SpotConfig(smooth_frames=1).smoothing(29.97) == 1


def test_two_frame_smoothing_halves_a_lone_spike() -> None:
    curve = np.full(40, 0.05, np.float32)
    curve[20] = 0.15
    assert smooth(curve, SpotConfig().smoothing(29.97)).max() == pytest.approx(0.10)


def _curve_with_a_spike_and_a_bump() -> np.ndarray:
    curve = 0.05 + 0.002 * np.sin(np.arange(200, dtype=np.float32))  # a quiet baseline
    curve[50] = 0.3  # one frame above the threshold
    curve[120:124] = [0.2, 0.3, 0.25, 0.2]  # four frames above it
    return curve.astype(np.float32)


def test_every_run_above_the_threshold_is_an_apex_by_default() -> None:
    apexes, threshold, _ = find_apexes(_curve_with_a_spike_and_a_bump(), SpotConfig(), 30.0)
    assert apexes == [50, 121]
    assert threshold == pytest.approx(0.1)  # min_motion: the baseline's spread is tiny


def test_min_run_s_drops_runs_shorter_than_it() -> None:
    cfg = SpotConfig(min_run_s=0.067)  # 2 frames at 30 fps
    apexes, _, _ = find_apexes(_curve_with_a_spike_and_a_bump(), cfg, 30.0)
    assert apexes == [121]
    apexes, _, _ = find_apexes(_curve_with_a_spike_and_a_bump(), SpotConfig(min_run_s=0.2), 30.0)
    assert apexes == []  # 6 frames: the bump is too short as well
