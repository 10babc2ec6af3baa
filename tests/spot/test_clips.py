"""``mer-contrast predict FOLDER``: clip folders without a sheet, apex from motion, the per-clip table."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from mer_contrast.cli import bench as bench_tools
from mer_contrast.cli import bench_spot, predict_clips
from mer_contrast.cli import main as entry
from mer_contrast.clips.frames import list_frame_files
from mer_contrast.spot import clips
from mer_contrast.spot.source import FootageSource
from mer_contrast.spot.spotting import SpotConfig
from mer_contrast.synth.long_video import FRAMES_DIR, TRUTH_NAME, read_truth

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def clip_root(long_video: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """``root/s1/me<k>/``: each embedded micro-expression cut onset..offset, and its apex's index."""
    root = tmp_path_factory.mktemp("clips") / "my_clips"
    frames = list_frame_files(long_video / FRAMES_DIR)
    apexes = {}
    for k, event in enumerate(e for e in read_truth(long_video / TRUTH_NAME) if e.kind == "me"):
        folder = root / "s1" / f"me{k}"
        folder.mkdir(parents=True)
        for path in frames[event.onset : event.offset + 1]:
            shutil.copy(path, folder / path.name)
        apexes[f"s1/me{k}"] = event.apex - event.onset
    return root, apexes


def test_clip_folders_are_found_at_any_depth(clip_root: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    root, apexes = clip_root
    assert [f.relative_to(root).as_posix() for f in clips.clip_folders(root)] == sorted(apexes)
    assert clips.clip_folders(tmp_path) == []


def test_apex_is_estimated_from_motion(clip_root: tuple[Path, dict[str, int]]) -> None:
    root, apexes = clip_root
    for name, true_apex in apexes.items():
        source = FootageSource.open(root / name, 100.0)
        apex, motion = clips.estimate_apex(source, SpotConfig(), "detect")
        # the envelope rises from the onset: the clip's first frames are the least moved
        assert abs(apex - true_apex) <= 3, (name, apex, true_apex)
        assert motion > 0.1


def test_predict_folder_classifies_every_clip_and_reports_a_bad_one(
    clip_root: tuple[Path, dict[str, int]], tiny_ckpt: Path, tmp_path: Path, capsys
) -> None:
    root, apexes = clip_root
    work = tmp_path / "my_clips"
    shutil.copytree(root, work)
    (work / "s1" / "broken").mkdir()
    for name in ("img1.jpg", "img2.jpg"):
        (work / "s1" / "broken" / name).write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    argv = ["predict", str(work), "--ckpt_path", str(tiny_ckpt), "--fps", "100", "--out", str(tmp_path)]
    assert entry.main([*argv, "--json"]) == 0  # `predict FOLDER` routes here, not to LightningCLI
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    rows = document["clips"]
    assert [r["clip"] for r in rows] == sorted(apexes)
    assert all(r["class"] and 0 < r["probability"] <= 1 and len(r["probs"]) == 5 for r in rows)
    assert all(r["explanation"][0].startswith("AU") and r["start_frame"] == 0 for r in rows)
    assert all(r["end_frame"] == r["frames"] - 1 and r["apex_s"] == r["apex_frame"] / 100 for r in rows)
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("skipped clip s1/broken:") and "img1.jpg" in err[0]
    assert document["skipped"] == [err[0]]
    with (tmp_path / "my_clips_clips.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == clips.CLIP_COLUMNS and [r["clip"] for r in table] == sorted(apexes)
    assert " | " in table[0]["explanation"]


def test_without_checkpoint_it_lists_apexes_and_an_empty_folder_is_one_line(
    clip_root: tuple[Path, dict[str, int]], tmp_path: Path, capsys
) -> None:
    root, apexes = clip_root
    assert predict_clips.main([str(root), "--fps", "100", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("(no checkpoint)") == len(apexes) and "wrote" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert predict_clips.main([str(empty)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no clip folder with image frames" in err[0]


def test_spotting_subcommands_are_registered(capsys) -> None:
    assert {"predict-video", "predict-clips"} <= set(entry.TOOLS)
    assert "spot" in bench_tools.BENCHMARKS
    assert entry.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "predict-video" in text and "predict-clips" in text
    with pytest.raises(SystemExit) as stop:
        entry.main(["predict-clips", "--help"])
    assert stop.value.code == 0 and "folder of clip folders" in capsys.readouterr().out
    assert bench_tools.main(["--help"]) == 0 and "spot" in capsys.readouterr().out


def test_bench_measures_the_motion_apex_against_the_sheet(tmp_path: Path, capsys) -> None:
    from mer_contrast.synth import generate

    root = tmp_path / "casme2"
    generate("casme2", root, subjects=2, clips_per_subject=2, size=48, frames=(12, 16), seed=0)
    assert bench_spot.main(["--apex-of", "casme2", str(root), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["clips"] == 3 and 0 <= figures["median_frames"] <= 15  # one row has apex "/"
    assert bench_spot.main(["--apex-of", "casme2", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
