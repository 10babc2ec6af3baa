"""Temporal sampling: spans, apex fallbacks, short clips and jitter."""

from __future__ import annotations

import numpy as np
import pytest

from mer_contrast.clips.sampling import jitter_indices, sample_indices


def test_onset_apex_spans_onset_to_apex() -> None:
    assert sample_indices(60, 8, "onset_apex", 21) == [0, 3, 6, 9, 12, 15, 18, 21]


def test_onset_apex_offset_puts_apex_once_and_splits_samples() -> None:
    indices = sample_indices(41, 8, "onset_apex_offset", 10)
    assert indices == [0, 3, 7, 10, 18, 25, 33, 40]
    assert indices.count(10) == 1
    assert sample_indices(41, 2, "onset_apex_offset", 10) == [0, 10]
    assert sample_indices(41, 3, "onset_apex_offset", 10) == [0, 10, 40]
    odd = sample_indices(41, 7, "onset_apex_offset", 10)
    assert odd[:4] == [0, 3, 7, 10] and odd[-1] == 40 and len(odd) == 7


def test_whole_spans_every_frame() -> None:
    assert sample_indices(15, 8, "whole", 3) == [0, 2, 4, 6, 8, 10, 12, 14]
    assert sample_indices(8, 8, "whole", None) == list(range(8))


@pytest.mark.parametrize("apex", [None, -1, 99])
def test_missing_or_invalid_apex_uses_middle_frame(apex: int | None) -> None:
    assert sample_indices(21, 5, "onset_apex", apex) == [0, 3, 5, 8, 10]  # halves round up
    assert sample_indices(21, 5, "onset_apex_offset", apex)[2] == 10


def test_apex_on_onset_is_moved_for_onset_apex_only() -> None:
    assert sample_indices(11, 3, "onset_apex", 0) == [0, 3, 5]
    assert sample_indices(11, 4, "onset_apex_offset", 0) == [0, 0, 5, 10]


def test_short_clip_repeats_frames_by_interpolation() -> None:
    assert sample_indices(3, 8, "whole", None) == [0, 0, 1, 1, 1, 1, 2, 2]
    two = sample_indices(2, 8, "onset_apex", None)
    assert two[0] == 0 and two[-1] == 1 and len(two) == 8 and two == sorted(two)


@pytest.mark.parametrize("span", ["onset_apex", "onset_apex_offset", "whole"])
def test_indices_are_in_range_and_ordered(span: str) -> None:
    for available in (2, 3, 7, 50):
        for apex in (None, 0, available // 3, available - 1):
            indices = sample_indices(available, 8, span, apex)  # type: ignore[arg-type]
            assert len(indices) == 8 and indices == sorted(indices)
            assert 0 == indices[0] and max(indices) <= available - 1


def test_too_few_frames_or_samples_raise() -> None:
    with pytest.raises(ValueError, match="at least 2 frames"):
        sample_indices(1, 8, "whole", None)
    with pytest.raises(ValueError, match="num_frames must be at least 2"):
        sample_indices(10, 1, "whole", None)
    with pytest.raises(ValueError, match="unknown span"):
        sample_indices(10, 4, "apex_only", None)  # type: ignore[arg-type]


def test_jitter_shifts_window_within_bounds() -> None:
    base = [0, 3, 6, 9]
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(50):
        out = jitter_indices(base, 12, 2, rng)
        shift = {o - b for o, b in zip(out, base, strict=True) if 0 < o < 11}
        assert len(shift) <= 1 and out == sorted(out)
        assert all(0 <= o <= 11 for o in out)
        seen.add(out[-1] - 9)
    assert seen == {-2, -1, 0, 1, 2}
    assert jitter_indices(base, 12, 0, rng) == base
    assert jitter_indices([9, 10, 11], 12, 3, np.random.default_rng(1))[-1] <= 11
    with pytest.raises(ValueError):
        jitter_indices(base, 12, -1, rng)
