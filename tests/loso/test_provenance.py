"""A run is tied to its data: a relabelled clip or changed frames are never pooled with older folds."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import openpyxl
import pytest

from mer_contrast.cli import loso as loso_cli
from mer_contrast.datamodules import MERDataModule
from mer_contrast.loso import report
from mer_contrast.loso.provenance import DATA_KEY, data_fingerprint, find_conflicts
from mer_contrast.loso.store import fold_dir, read_predictions, write_json

from .helpers import CONF, overrides
from .test_report import _write_fold

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SHEET = "CASME2-coding-20140508.xlsx"
EMOTION = 8  # column of "Estimated Emotion" in the synthetic sheet


def relabel(root: Path, clip: str, emotion: str) -> None:
    """Write another emotion into the sheet row of ``clip`` (what a corrected annotation does)."""
    workbook = openpyxl.load_workbook(root / SHEET)
    sheet = workbook.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        if row[1].value == clip:
            row[EMOTION].value = emotion
    workbook.save(root / SHEET)


def fingerprint(root: Path, tmp_path: Path) -> str | None:
    return data_fingerprint(MERDataModule(root=str(root), cache_dir=str(tmp_path / "cache")))


def test_the_fingerprint_follows_labels_and_frames_not_the_folder(casme2_root: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(casme2_root, data)  # copy2 keeps sizes and modification times
    first = fingerprint(data, tmp_path)
    assert first is not None and first == fingerprint(casme2_root, tmp_path)  # moved, not changed
    relabel(data, "EP19_03f", "disgust")
    relabelled = fingerprint(data, tmp_path)
    assert relabelled != first
    frame = next((data / "Cropped" / "sub02" / "EP18_01f").glob("*.jpg"))
    os.utime(frame, ns=(frame.stat().st_atime_ns, frame.stat().st_mtime_ns + 10**9))  # re-extracted
    assert fingerprint(data, tmp_path) not in (first, relabelled)
    assert data_fingerprint(object()) is None  # a datamodule without labelled_records: not checked


def test_report_never_pools_a_fold_made_on_other_data_and_notes_unknown_ones(tmp_path: Path) -> None:
    for subject, labels in (("s1", [0, 1, 2]), ("s2", [0, 0, 1]), ("s3", [1, 2, 2])):
        _write_fold(tmp_path, 0, subject, labels, labels, labels)
    for subject, data_hash in (("s1", "aaaa"), ("s2", "bbbb")):  # s3: a fold of an older version
        path = fold_dir(tmp_path, 0, subject) / "done.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), DATA_KEY: data_hash}))
    meta = {"classes": ["negative", "positive", "surprise"], "folds": ["s1", "s2", "s3"], "seeds": [0]}
    write_json(tmp_path / "loso.json", {**meta, "config_hash": "x", DATA_KEY: "aaaa"})
    summary = report.summarize(tmp_path)
    assert summary["missing"] == ["seed0/s2"] and not summary["complete"]
    [excluded] = summary["excluded"]
    assert excluded.startswith("seed0/s2: made on other data") and "--force" in excluded
    assert summary["data_unknown"] == ["seed0/s3"] and summary["honest"]["pooled"]["n"] == 6
    markdown = report.render_markdown(summary)
    [note] = [line for line in markdown.splitlines() if line.startswith("**Data not recorded**")]
    assert "1 finished fold(s) (seed0/s3) were made before runs recorded their data" in note
    conflicts = find_conflicts(tmp_path, "x", "aaaa")
    assert (conflicts.other_config, conflicts.other_data, conflicts.unknown_data) == (
        [],
        ["seed0/s2"],
        ["seed0/s3"],
    )


def test_a_relabelled_clip_after_a_fold_is_refused_then_redone_with_force(
    casme2_root: Path, base_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(casme2_root, data)
    out = tmp_path / "run"
    argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(out), "--folds", "sub01", "--no-report"]
    rest = [*overrides(base_args), f"--data.init_args.root={data}", "--trainer.max_epochs=1"]
    assert loso_cli.main([*argv, "--", *rest]) == 0
    done = json.loads((fold_dir(out, 0, "sub01") / "done.json").read_text())
    assert done[DATA_KEY] == json.loads((out / "loso.json").read_text())[DATA_KEY] is not None

    relabel(data, "EP19_03f", "disgust")  # a clip of the finished fold's test subject
    capsys.readouterr()
    assert loso_cli.main([*argv, "--", *rest]) == 2
    [err] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert "1 finished fold(s) (seed0/sub01) made on other data" in err and "--force" in err

    assert loso_cli.main([*argv, "--force", "--", *rest]) == 0
    rows = {
        row["clip_id"]: row for row in read_predictions(fold_dir(out, 0, "sub01") / "predictions_honest.csv")
    }
    assert rows["sub01/EP19_03f"]["label"] == 1  # disgust in casme2-5class, no longer happiness (0)
    summary = report.summarize(out)
    assert summary["complete"] and summary["excluded"] == [] and summary["data_unknown"] == []
