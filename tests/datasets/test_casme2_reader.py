"""CASME II reader on a tiny synthetic copy of the real layout."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from ds_builders import CASME2_ROWS, build_casme2

from mer_contrast.datasets import casme2, read_dataset
from mer_contrast.datasets.records import ActionUnit


def by_key(result):  # type: ignore[no-untyped-def]
    return {record.key: record for record in result.records}


def test_sheet_only_reads_every_row_without_frames(casme2_root: Path) -> None:
    result = casme2.read(sheet=casme2_root / "CASME2-coding-20140508.xlsx")
    records = by_key(result)
    assert len(records) == len(CASME2_ROWS)
    assert result.skipped == []
    first = records["sub01/EP02_01f"]  # Subject text "01" -> sub01
    assert (first.dataset, first.onset, first.apex, first.offset) == ("casme2", 8, 10, 12)
    assert first.aus == (ActionUnit(12),) and first.au_raw == "12"
    assert first.frames == () and first.frame_numbers == ()
    assert records["sub01/EP19_05f"].aus == (ActionUnit(4), ActionUnit(10, side="L"))
    unknown = records["sub02/EP03_02"]
    assert unknown.apex is None and unknown.aus == () and unknown.au_raw == "?"
    assert any("sub02/EP03_02" in message and "'/'" in message for message in result.warnings)
    assert (result.frames_found, result.frames_expected) == (0, 0)


def test_root_uses_cropped_frames_sorted_numerically(casme2_root: Path) -> None:
    result = read_dataset("casme2", root=casme2_root)
    first = by_key(result)["sub01/EP02_01f"]
    assert first.frame_numbers == (8, 9, 10, 11, 12)
    assert [path.name for path in first.frames] == [f"reg_img{n}.jpg" for n in range(8, 13)]  # .lnk ignored
    assert first.extra["cropped"] == "1"
    assert first.apex_index == 2
    assert len(result.records) == len(CASME2_ROWS)


def test_raw_frames_through_a_doubled_folder(casme2_root: Path) -> None:
    result = casme2.read(casme2_root, frames="raw")
    first = by_key(result)["sub01/EP02_01f"]
    assert first.frames[0].parent.parent.parent.name == "CASME2_RAW_selected"
    assert first.frames[0].parent.parent.parent.parent.name == "CASME2_RAW_selected"
    assert first.frames[0].name == "img8.jpg"
    assert "cropped" not in first.extra


def test_auto_falls_back_to_raw_when_no_cropped_folder(tmp_path: Path) -> None:
    root = build_casme2(tmp_path / "c2", cropped=False, doubled_raw=False)
    record = by_key(casme2.read(root))["sub01/EP02_01f"]
    assert record.frames[0].name == "img8.jpg"
    with pytest.raises(FileNotFoundError, match="Cropped"):
        casme2.read(root, frames="cropped")


def test_folder_sheet_mismatch_uses_intersection_and_warns(
    casme2_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mer_contrast.datasets"):
        result = casme2.read(casme2_root)
    records = by_key(result)
    assert records["sub03/EP09_06"].frame_numbers == (8, 9, 10)  # sheet 8-12, folder 8-10
    assert records["sub03/EP06_01"].frame_numbers == (56, 57, 58)  # no overlap: the folder's frames
    mismatch = [m for m in result.warnings if m.startswith("sub03/EP09_06")]
    assert len(mismatch) == 1 and "8-12" in mismatch[0] and "8-10" in mismatch[0]
    assert sum("sub03/EP09_06" in r.getMessage() for r in caplog.records) == 1
    assert any("no overlap" in m for m in result.warnings if m.startswith("sub03/EP06_01"))
    expected = sum(offset - onset + 1 for _, _, onset, _, offset, *_ in CASME2_ROWS)
    assert result.frames_expected == expected
    assert result.frames_found == sum(len(r.frames) for r in result.records)


def test_missing_and_empty_clip_folders_are_skipped(
    casme2_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.rmtree(casme2_root / "Cropped" / "sub01" / "EP19_05f")
    for frame in (casme2_root / "Cropped" / "sub02" / "EP01_11f").iterdir():
        frame.unlink()
    (casme2_root / "Cropped" / "sub02" / "EP01_11f" / "notes.txt").write_text("not a frame")
    with caplog.at_level(logging.WARNING, logger="mer_contrast.datasets"):
        result = casme2.read(casme2_root)
    reasons = {row.clip: row.reason for row in result.skipped}
    assert reasons["sub01/EP19_05f"].startswith("clip folder not found")
    assert reasons["sub02/EP01_11f"].startswith("clip folder has no image frames")
    assert len(result.records) == len(CASME2_ROWS) - 2
    skipped_lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped_lines) == 2 and all("\n" not in line for line in skipped_lines)


def test_sheet_version_choice(tmp_path: Path) -> None:
    root = build_casme2(tmp_path / "c2")
    build_casme2(tmp_path / "other", version="20190701", cropped=False, raw=False)
    shutil.copy(tmp_path / "other" / "CASME2-coding-20190701.xlsx", root)
    default = casme2.read(sheet=None, root=root)
    assert "objective_class" not in default.records[0].extra  # 20140508 preferred
    newer = casme2.read(root, sheet_version="20190701")
    assert newer.records[0].extra["objective_class"] == "7"
    (root / "CASME2-coding-20140508.xlsx").unlink()
    assert casme2.read(root).records[0].extra["objective_class"] == "7"  # the only sheet left


def test_unknown_reader_option_is_rejected(casme2_root: Path) -> None:
    with pytest.raises(ValueError, match="unknown reader option"):
        read_dataset("casme2", root=casme2_root, frame="raw")
