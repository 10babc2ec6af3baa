"""SMIC-HS reader on tiny synthetic copies of the released folder layout (labels from folders)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ds_builders import SMIC_CLIPS, build_casme2, build_smic, make_frames

from mer_contrast.cli.inspect_data import main
from mer_contrast.datasets import READERS, SHEETLESS, apply_protocol, read_dataset, smic
from mer_contrast.datasets.errors import DatasetNotFoundError, DatasetStrictError, WrongSheetError
from mer_contrast.datasets.inspection import summarize
from mer_contrast.datasets.protocols import DEFAULT_PROTOCOL, get_protocol

KEYS = ["s01/s01_ne_01", "s01/s01_ne_02", "s02/s02_po_01", "s12/s12_sur_05"]


def test_reads_clips_from_folders_with_normalised_ids(smic_root: Path) -> None:
    result = read_dataset("smic", root=smic_root)
    assert [record.key for record in result.records] == KEYS
    assert [record.emotion for record in result.records] == ["negative", "negative", "positive", "surprise"]
    first = result.records[0]
    assert (first.dataset, first.subject, first.clip_id) == ("smic", "s01", "s01_ne_01")
    assert (first.onset, first.apex, first.offset) == (106718, None, 106722)
    assert (first.aus, first.au_raw) == ((), "")
    assert first.frames[0] == smic_root / "SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image106718.bmp"
    assert len(first.frames) == 5  # Thumbs.db ignored
    assert (
        first.extra["cropped"] == "1" and first.extra["fps"] == "100" and first.extra["folder"] == "s1_ne_01"
    )
    assert first.apex_index == 2  # no apex: the middle frame
    assert [record.row for record in result.records] == [1, 2, 3, 5]
    assert (result.frames_found, result.frames_expected) == (5 + 4 + 4 + 3, 5 + 4 + 4 + 3)
    assert result.warnings == []


def test_frames_sorted_numerically(smic_root: Path) -> None:
    record = {r.key: r for r in smic.read(smic_root).records}["s01/s01_ne_02"]
    assert record.frame_numbers == (8, 9, 10, 11)
    assert [path.name for path in record.frames] == [f"reg_image{n}.bmp" for n in (8, 9, 10, 11)]
    assert (record.onset, record.offset) == (8, 11)


def test_single_frame_clip_is_skipped_with_reason(smic_root: Path) -> None:
    result = smic.read(smic_root, quiet=True)
    [skipped] = result.skipped
    assert (skipped.row, skipped.clip) == (4, "s03/s03_sur_01")
    assert skipped.reason.startswith("clip folder has fewer than two frames (1 found): ")
    assert skipped.reason.endswith(str(Path("HS/s3/micro/surprise/s3_sur_01")))
    with pytest.raises(DatasetStrictError, match="s03/s03_sur_01"):
        smic.read(smic_root, strict=True)


def test_non_micro_is_ignored(smic_root: Path) -> None:
    result = smic.read(smic_root, quiet=True)
    keys = {record.key for record in result.records} | {row.clip for row in result.skipped}
    assert not any("s04" in key or "po_09" in key for key in keys)
    assert len(keys) == len(SMIC_CLIPS)


@pytest.mark.parametrize(
    ("layout", "padded", "below", "cropped"),
    [
        ("cropped", False, "", True),  # root holds SMIC_all_cropped/
        ("raw", True, "", False),  # root holds SMIC_all_raw/, zero-padded s01 folders
        ("hs", False, "", True),  # root holds HS/ (reg_image frames: cropped)
        ("hs", True, "HS", True),  # root is HS itself
        ("cropped", False, "SMIC_all_cropped", True),  # root is the release folder holding HS/
        ("raw", False, "SMIC_all_raw/HS", False),
    ],
)
def test_layout_variants_give_the_same_records(
    tmp_path: Path, layout: str, padded: bool, below: str, cropped: bool
) -> None:
    root = build_smic(tmp_path / "SMIC", layout=layout, padded=padded)
    result = smic.read(root / below if below else root, quiet=True)
    assert [record.key for record in result.records] == KEYS
    assert all((record.extra.get("cropped") == "1") is cropped for record in result.records)
    expected_name = "s01" if padded else "s1"
    assert result.records[0].frames[0].parent.parent.parent.parent.name == expected_name


def test_cropped_preferred_when_both_exist_and_frames_option(tmp_path: Path) -> None:
    root = build_smic(tmp_path / "SMIC", layout="both")
    assert "SMIC_all_cropped" in str(smic.read(root, quiet=True).records[0].frames[0])
    raw = smic.read(root, frames="raw", quiet=True).records[0]
    assert raw.frames[0].name == "image106718.bmp" and "cropped" not in raw.extra
    only_raw = build_smic(tmp_path / "raw_only", layout="raw")
    with pytest.raises(DatasetNotFoundError, match="SMIC_all_cropped/HS/"):
        smic.read(only_raw, frames="cropped")
    with pytest.raises(ValueError, match="frames must be"):
        smic.read(root, frames="gray")  # type: ignore[arg-type]


def test_ids_normalised() -> None:
    assert [smic.subject_id(s) for s in ("s1", "S01", "s12", "7", "x")] == ["s01", "s01", "s12", "s07", "x"]
    assert smic.clip_id("s1_ne_01") == "s01_ne_01" and smic.clip_id("s12_sur_05") == "s12_sur_05"
    assert smic.clip_id("odd") == "odd"


def test_duplicate_padded_and_unpadded_folder_skipped(smic_root: Path) -> None:
    hs = smic_root / "SMIC_all_cropped" / "HS"
    make_frames(hs / "s01" / "micro" / "positive" / "s01_po_01", range(1, 4), "reg_image{}.bmp")
    make_frames(hs / "s02" / "micro" / "positive" / "s02_po_01", range(1, 4), "reg_image{}.bmp")
    result = smic.read(smic_root, quiet=True)
    assert "s01/s01_po_01" in {record.key for record in result.records}
    duplicates = [row for row in result.skipped if row.clip == "s02/s02_po_01"]
    assert len(duplicates) == 1 and duplicates[0].reason.startswith("same clip as ")


def test_unknown_emotion_folder_and_mislabelled_clip(smic_root: Path) -> None:
    hs = smic_root / "SMIC_all_cropped" / "HS"
    make_frames(hs / "s2" / "micro" / "happy" / "s2_ha_01", range(1, 4), "reg_image{}.bmp")
    (hs / "s2" / "micro" / "surprise").mkdir()
    shutil.move(hs / "s2" / "micro" / "positive" / "s2_po_01", hs / "s2" / "micro" / "surprise" / "s2_po_01")
    result = smic.read(smic_root, quiet=True)
    reasons = {row.clip: row.reason for row in result.skipped}
    assert reasons["s02/s02_ha_01"].startswith("unknown emotion folder 'happy'")
    moved = {r.key: r for r in result.records}["s02/s02_po_01"]
    assert moved.emotion == "surprise"
    assert result.warnings == [
        "s02/s02_po_01: the clip name says positive but it lies in surprise/; using surprise"
    ]


def test_sheet_argument_and_missing_tree_are_one_line_errors(tmp_path: Path, smic_root: Path) -> None:
    with pytest.raises(ValueError, match=r"sheet=.*not used.*no annotation sheet") as info:
        read_dataset("smic", root=smic_root, sheet=tmp_path / "labels.xlsx")
    assert "\n" not in str(info.value)
    with pytest.raises(DatasetNotFoundError, match=r"HS/ \(or SMIC_all_cropped/HS/") as missing:
        read_dataset("smic", root=tmp_path)
    assert "licence-gated" in str(missing.value) and "\n" not in str(missing.value)
    with pytest.raises(DatasetNotFoundError, match="root folder"):
        read_dataset("smic")
    empty = tmp_path / "empty" / "HS"
    (empty / "s1" / "non_micro").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match=r"clip folders <subject>/micro/<emotion>/<clip>/"):
        read_dataset("smic", root=empty.parent)


def test_another_databases_folder_is_named(tmp_path: Path) -> None:
    root = build_casme2(tmp_path / "CASME2")
    with pytest.raises(WrongSheetError, match=r"CASME2-coding-20140508\.xlsx.*dataset 'casme2'") as info:
        read_dataset("smic", root=root)
    assert info.value.looks_like == "casme2"


def test_registry_and_three_class_protocol(smic_root: Path) -> None:
    assert READERS["smic"] is smic.read and "smic" in SHEETLESS
    assert DEFAULT_PROTOCOL["smic"] == "smic-3class"
    protocol = get_protocol("smic-3class")
    assert protocol.classes == ("negative", "positive", "surprise") and protocol.dataset == "smic"
    labelled, dropped = apply_protocol(smic.read(smic_root, quiet=True), protocol)
    assert [(record.key, label) for record, label in labelled] == list(zip(KEYS, [0, 0, 1, 2], strict=True))
    assert dropped == []


def test_inspect_summary_and_tables(
    smic_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps titles at a narrow terminal
    summary = summarize("smic", root=smic_root)
    assert summary["protocol"] == "smic-3class" and summary["total"] == 4
    assert summary["per_class"] == {"negative": 2, "positive": 1, "surprise": 1}
    assert summary["per_subject"] == {"s01": 2, "s02": 1, "s12": 1} and summary["rows"] == 5
    assert [(item["stage"], item["clip"]) for item in summary["skipped"]] == [("reader", "s03/s03_sur_01")]

    assert main(["--dataset", "smic", "--root", str(smic_root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["per_class"] == summary["per_class"]
    assert main(["--dataset", "smic", "--root", str(smic_root)]) == 0
    out = capsys.readouterr().out
    assert "smic under smic-3class: 4 samples" in out  # the title wraps at the table width
    assert "Frames: 16 found, 16 expected by the clips' first..last frame numbers" in out
    assert "Clip folders: 5 read, 1 skipped" in out


@pytest.mark.parametrize("argv", [["--sheet", "labels.csv"], []])
def test_inspect_without_root_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dataset", "smic", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and lines[0].startswith("error:")
    assert "sheet" in lines[0]
