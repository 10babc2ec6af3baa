"""Class allocation, AU patterns and AU text per layout."""

from __future__ import annotations

import numpy as np
import pytest

from mer_contrast.synth import generate
from mer_contrast.synth.motion import AUToken
from mer_contrast.synth.patterns import MAIN_CLASSES, allocate, format_aus, parse_pattern, plan_clips


def test_allocate_sums_and_covers() -> None:
    shares = {"others": 0.4, "disgust": 0.25, "happiness": 0.13, "repression": 0.11, "surprise": 0.11}
    counts = allocate(shares, 96)
    assert sum(counts.values()) == 96 and set(counts) == set(shares)
    assert counts["others"] > counts["disgust"] > counts["happiness"]
    assert allocate(shares, 3) == {"others": 1, "disgust": 1, "happiness": 1}


def test_parse_pattern() -> None:
    assert parse_pattern("4+L10") == (AUToken(4), AUToken(10, "L"))
    with pytest.raises(ValueError, match="bad AU pattern"):
        parse_pattern("4+X10")


def test_format_aus_per_layout() -> None:
    tokens = (AUToken(4), AUToken(10, "L"))
    assert format_aus(tokens, "casme2") == "4+L10"
    assert format_aus(tokens, "mmew", suffix_sides=True) == "4+10L"
    samm = (AUToken(4, intensity="B"), AUToken(12, asymmetric=True), AUToken(14, "R", "C"))
    assert format_aus(samm, "samm") == "4B+A12+R14C"


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_patterns_parse(layout: str) -> None:
    for _, patterns in MAIN_CLASSES[layout].values():
        for pattern, _ in patterns:
            assert parse_pattern(pattern)


def test_plan_is_balanced_like_the_real_data() -> None:
    plans = plan_clips("casme2", 8, 12, (10, 30), np.random.default_rng(0))
    flat = [clip for subject in plans for clip in subject]
    assert [len(subject) for subject in plans] == [12] * 8
    counts: dict[str, int] = {}
    for clip in flat:
        counts[clip.emotion] = counts.get(clip.emotion, 0) + 1
        assert 10 <= clip.length <= 30 and 0 < clip.apex_index < clip.length - 1
    assert max(counts, key=lambda k: counts[k]) == "others"
    # happiness clips mostly carry AU12, disgust mostly AU4: the task is learnable
    happy = [c for c in flat if c.emotion == "happiness"]
    assert sum(any(t.number == 12 for t in c.tokens) for c in happy) > len(happy) / 2
    disgust = [c for c in flat if c.emotion == "disgust"]
    assert all(any(t.number == 4 for t in c.tokens) for c in disgust)
    # ...but not trivial: AU4 alone is coded in more than one class
    alone4 = {c.emotion for c in flat if [t.number for t in c.tokens] == [4]}
    assert len(alone4) >= 2


def test_unknown_layout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown layout"):
        generate("smic", tmp_path / "x")  # type: ignore[arg-type]
