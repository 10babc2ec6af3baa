"""precompute: parallel filling, second run from cache, failures collected or raised."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mer_contrast.clips import face
from mer_contrast.clips.cache import ClipCache, cache_key
from mer_contrast.clips.flow import FlowConfig
from mer_contrast.clips.precompute import PrecomputeError, precompute
from mer_contrast.clips.prepare import ClipConfig, prepare_clip
from mer_contrast.datasets.records import SampleRecord

from .helpers import drawn_face, moving_clip, record_for, write_frames, write_video

CFG = ClipConfig(
    num_frames=3, image_size=32, span="whole", flow=FlowConfig(nscales=3, warps=3, outer_iterations=5)
)


def good_records(root: Path, count: int) -> list[SampleRecord]:
    return [
        record_for(write_frames(root / f"EP0{i}", moving_clip(5, size=32, seed=i)), clip_id=f"EP0{i}")
        for i in range(count)
    ]


def bad_records(root: Path) -> dict[str, SampleRecord]:
    zero = write_frames(root / "zero", moving_clip(3, size=32), ext=".jpg")
    zero[1].write_bytes(b"")
    corrupt = write_frames(root / "corrupt", moving_clip(3, size=32), ext=".jpg")
    corrupt[2].write_bytes(b"\xff\xd8garbage\xff\xd9")
    damaged = write_frames(root / "damaged", [drawn_face(128, seed=i) for i in range(3)], ext=".jpg")
    data = bytearray(damaged[1].read_bytes())  # 200 bytes of the scan overwritten: OpenCV still decodes it
    data[len(data) // 2 : len(data) // 2 + 200] = (
        np.random.default_rng(0).integers(0, 255, 200, np.uint8).tobytes()
    )
    damaged[1].write_bytes(bytes(data))
    single = write_frames(root / "single", moving_clip(1, size=32))
    video = root / "broken.avi"
    video.write_bytes(b"RIFF....AVI garbage" * 20)
    return {
        "zero": record_for(zero, clip_id="zero"),
        "corrupt": record_for(corrupt, clip_id="corrupt"),
        "damaged": record_for(damaged, clip_id="damaged"),
        "single": record_for(single, clip_id="single"),
        "empty": record_for((), clip_id="empty"),
        "video": record_for(video=video, onset=0, offset=3, clip_id="video"),
    }


def test_parallel_run_then_all_cached(tmp_path: Path) -> None:
    records = good_records(tmp_path / "data", 3)
    cache = ClipCache(tmp_path / "cache")
    first = precompute(records, CFG, cache, workers=2, progress=False)
    assert (first.computed, first.cached, first.failed) == (3, 0, [])
    entry = cache.get(cache_key(records[1], CFG), CFG.shapes())
    assert entry is not None
    expected = prepare_clip(records[1], CFG)
    np.testing.assert_array_equal(entry["rgb"], expected["rgb"])
    np.testing.assert_allclose(entry["flow"], expected["flow"], atol=1e-3)  # TV-L1 is deterministic
    second = precompute(records, CFG, cache, workers=2, progress=False)
    assert (second.computed, second.cached, second.failed) == (0, 3, [])
    assert "0 computed, 3 cached, 0 failed" in str(second)


def test_failures_are_collected_in_process_and_damaged_entries_recomputed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = good_records(tmp_path / "data", 1)
    bad = bad_records(tmp_path / "bad")
    cache = ClipCache(tmp_path / "cache")
    report = precompute([*good, *bad.values(), good[0]], CFG, cache, workers=0, progress=False)
    assert report.computed == 1 and report.cached == 1  # the duplicate record shares the entry
    reasons = dict(report.failed)
    assert set(reasons) == {f"sub01/{name}" for name in bad}
    assert "img2.jpg: frame file is empty" in reasons["sub01/zero"]
    assert "img3.jpg: cannot decode image" in reasons["sub01/corrupt"]
    assert "img2.jpg: JPEG data is damaged (libjpeg: Corrupt JPEG data" in reasons["sub01/damaged"]
    assert "has 1 frame(s)" in reasons["sub01/single"]
    assert "no frame files and no video" in reasons["sub01/empty"]
    assert "broken.avi: cannot open video" in reasons["sub01/video"]
    assert all("\n" not in reason for reason in reasons.values())

    cache.path(cache_key(good[0], CFG)).write_bytes(b"PK\x03\x04 truncated")
    again = precompute(good, CFG, cache, workers=0, progress=True)
    assert (again.computed, again.cached) == (1, 0)
    assert "optical flow (tvl1)" in capsys.readouterr().err  # the progress bar (plain when not a TTY)


def test_no_face_fallback_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(face, "_warned_clips", set())  # earlier tests may have warned for this clip
    record = good_records(tmp_path / "data", 1)[0]
    cfg = dataclasses.replace(CFG, crop="detect")  # a texture has no face
    report = precompute([record], cfg, ClipCache(tmp_path / "cache"), workers=0, progress=False)
    assert report.computed == 1 and len(report.warnings) == 1
    assert "sub01/EP00: no face found" in report.warnings[0] and "no face found" in caplog.text


def test_failures_in_workers_and_strict(tmp_path: Path) -> None:
    frames = moving_clip(4, size=32)
    video = write_video(tmp_path / "ok.avi", frames)
    records = [
        record_for(video=video, onset=0, offset=3, clip_id="video_ok"),
        record_for(video=video, onset=2, offset=9, clip_id="video_short"),  # needs frames 2..9 of 4
        bad_records(tmp_path / "bad")["corrupt"],
    ]
    cache = ClipCache(tmp_path / "cache")
    report = precompute(records, CFG, cache, workers=2, progress=False)
    assert report.computed == 1
    assert [clip for clip, _ in sorted(report.failed)] == ["sub01/corrupt", "sub01/video_short"]
    assert "video has 4 frames" in dict(report.failed)["sub01/video_short"]
    with pytest.raises(PrecomputeError, match="2 clip\\(s\\) could not be prepared") as info:
        precompute(records, CFG, cache, workers=0, progress=False, strict=True)
    assert "sub01/corrupt" in str(info.value) and info.value.report.cached == 1
