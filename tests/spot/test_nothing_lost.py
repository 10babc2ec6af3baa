"""Nothing lost: short intervals, failing intervals, short recordings, flags, and the timeline's threshold."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_contrast.cli import predict_clips
from mer_contrast.cli import predict_video as cli
from mer_contrast.clips.frames import list_frame_files
from mer_contrast.spot import recording
from mer_contrast.spot.classify import Classifier, classification_span
from mer_contrast.spot.report import write_timeline
from mer_contrast.spot.source import FootageSource, SpotError
from mer_contrast.spot.spotting import Interval, SpotResult, spot
from mer_contrast.synth.long_video import FRAMES_DIR, TRUTH_NAME, VIDEO_NAME, read_truth

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def with_one_frame_interval(monkeypatch: pytest.MonkeyPatch, frame: int = 20) -> None:
    """The spotter as it is, plus a spotted interval one frame long (common at 30 fps)."""

    def spot_and_one_frame(source: FootageSource, cfg, progress=None) -> SpotResult:
        result = spot(source, cfg, progress)
        result.intervals.insert(0, Interval(frame, frame, frame, 1.0))
        return result

    monkeypatch.setattr(recording, "spot", spot_and_one_frame)


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_one_frame_interval_is_widened_and_classified(
    long_video: Path, tiny_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    with_one_frame_interval(monkeypatch)
    argv = [str(long_video / VIDEO_NAME), "--ckpt_path", str(tiny_ckpt), "--out", str(tmp_path)]
    rows = run_json(argv, capsys)["intervals"]
    assert len(rows) == 3 and all(r["class"] for r in rows)
    assert (rows[0]["start_frame"], rows[0]["end_frame"]) == (20, 20)  # the table keeps what was spotted
    assert rows[0]["flags"] == ["widened to frames 19-21 for classification (spotted: 1 frame(s))"]
    assert rows[1]["flags"] == [] and rows[2]["flags"] == []


def test_widening_stays_inside_the_recording() -> None:
    assert classification_span(Interval(0, 0, 0, 1.0), 100) == (0, 2)
    assert classification_span(Interval(99, 99, 99, 1.0), 100) == (97, 99)
    assert classification_span(Interval(5, 6, 9, 1.0), 100) == (5, 9)
    assert classification_span(Interval(0, 0, 0, 1.0), 2) == (0, 1)


def test_a_failing_interval_keeps_the_others(
    long_video: Path, tiny_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    prepare_one = Classifier.prepare_one

    def fail_on_the_second(self, source, name, interval, crop=None):
        if name == "me001":
            raise SpotError(source.path, "frames 10..20 cannot be decoded: re-encode it")
        return prepare_one(self, source, name, interval, crop)

    monkeypatch.setattr(Classifier, "prepare_one", fail_on_the_second)
    argv = [str(long_video / VIDEO_NAME), "--ckpt_path", str(tiny_ckpt), "--out", str(tmp_path)]
    rows = run_json(argv, capsys)["intervals"]
    assert len(rows) == 2 and rows[0]["class"] and rows[0]["probability"] > 0
    assert rows[1]["class"] == "" and rows[1]["probability"] is None
    assert rows[1]["flags"] == ["unclassified: frames 10..20 cannot be decoded: re-encode it"]
    with (tmp_path / "video_intervals.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert table[1]["flags"].startswith("unclassified: frames 10..20")


def test_the_spotting_table_is_written_before_classification(
    long_video: Path, tiny_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self, source, intervals):
        raise RuntimeError("the model crashed")

    monkeypatch.setattr(Classifier, "classify", broken)
    argv = [str(long_video / VIDEO_NAME), "--ckpt_path", str(tiny_ckpt), "--out", str(tmp_path)]
    with pytest.raises(RuntimeError):
        cli.main(argv)
    with (tmp_path / "video_intervals.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 2 and all(row["class"] == "" for row in table)
    assert json.loads((tmp_path / "video_intervals.json").read_text())["intervals"][0]["apex_frame"]
    assert (tmp_path / "video_timeline.png").is_file()


def test_a_recording_too_short_to_spot_says_so(still_video: Path, tmp_path: Path, capsys) -> None:
    short = tmp_path / "short"
    short.mkdir()
    for path in list_frame_files(still_video / FRAMES_DIR)[:20]:
        shutil.copy(path, short / path.name)
    assert cli.main([str(short), "--fps", "100", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "too short to spot: 20 frames at 100 fps" in out and "at least 31 frames" in out
    assert "nan" not in out
    document = json.loads((tmp_path / "short_intervals.json").read_text())
    assert document["threshold"] is None and document["note"].startswith("too short to spot")


def test_an_undefined_curve_says_why_instead_of_nan() -> None:
    from mer_contrast.spot.report import summary

    curve = np.full(300, np.nan, np.float32)  # long enough, but every frame next to a restart
    result = SpotResult(curve, float("nan"), float("nan"), [], 100.0, (0, 0, 10, 10))
    line = summary(result)
    assert "nan" not in line and "undefined" in line
    assert "threshold 0.050 px" in summary(replace(result, threshold=0.05))


def red_pixels(path: Path) -> int:
    image = cv2.imread(str(path))  # BGR; the threshold line is #cc3333
    return int(np.sum((np.abs(image.astype(int) - [51, 51, 204]).sum(axis=2)) < 60))


def test_the_timeline_shows_a_threshold_above_the_curve(tmp_path: Path) -> None:
    curve = np.abs(np.sin(np.linspace(0, 6, 300))).astype(np.float32) * 0.1
    low = SpotResult(curve, 0.05, 0.02, [], 100.0, (0, 0, 10, 10))
    write_timeline(tmp_path / "low.png", low, [], "low")
    write_timeline(tmp_path / "high.png", replace(low, threshold=0.3), [], "high")
    assert red_pixels(tmp_path / "low.png") > 200
    assert red_pixels(tmp_path / "high.png") > 200  # the legend alone is under 60


def test_predict_folder_flags_no_face_and_no_motion(
    long_video: Path, still_video: Path, tmp_path: Path, capsys
) -> None:
    root = tmp_path / "clips"
    frames = list_frame_files(long_video / FRAMES_DIR)
    event = next(e for e in read_truth(long_video / TRUTH_NAME) if e.kind == "me")
    for name, chosen in (
        ("s1/me", frames[event.onset : event.offset + 1]),
        ("s1/still", list_frame_files(still_video / FRAMES_DIR)[:40]),
    ):
        (root / name).mkdir(parents=True)
        for path in chosen:
            shutil.copy(path, root / name / path.name)
    wall = root / "s1" / "wall"
    wall.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        cv2.imwrite(str(wall / f"img{i:03d}.jpg"), rng.integers(100, 140, (60, 80, 3), dtype=np.uint8))
    assert predict_clips.main([str(root), "--fps", "100", "--out", str(tmp_path), "--json"]) == 0
    rows = {row["clip"]: row for row in json.loads(capsys.readouterr().out)["clips"]}
    assert rows["s1/me"]["flags"] == []
    assert [f.split(":")[0] for f in rows["s1/still"]["flags"]] == ["no motion"]
    assert rows["s1/wall"]["flags"][0].startswith("no face found")
    with (tmp_path / "clips_clips.csv").open() as handle:
        table = {row["clip"]: row for row in csv.DictReader(handle)}
    assert table["s1/still"]["flags"].startswith("no motion") and table["s1/me"]["flags"] == ""
