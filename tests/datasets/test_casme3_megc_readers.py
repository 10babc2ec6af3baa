"""CAS(ME)^3 and MEGC2019 readers on tiny synthetic copies of the real layouts."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from ds_builders import CASME3_C_ROWS, MEGC_ROWS, build_megc, build_smic, write_xlsx

from mer_contrast.datasets import apply_protocol, casme3, megc2019, read_dataset
from mer_contrast.datasets.errors import DatasetStrictError
from mer_contrast.datasets.records import ActionUnit


def test_casme3_sheet_only_unique_clip_ids_and_text_cells(casme3_root: Path) -> None:
    result = casme3.read(sheet=casme3_root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    keys = [record.key for record in result.records]
    assert keys == ["spNO.1/a", "spNO.1/a_2", "spNO.1/b", "spNO.2/d"]
    first = result.records[0]
    assert (first.onset, first.apex, first.offset) == (10, 12, 14)  # text cells -> ints
    assert result.records[2].emotion == "others"  # "Others" normalised
    assert result.records[3].aus == (ActionUnit(23, modifier="B"),)
    [skipped] = result.skipped
    assert skipped.clip == "spNO.2/c" and skipped.reason == "offset 29 is before onset 30"
    assert first.extra["video_letter"] == "a"


def test_casme3_cuts_clips_from_whole_videos(casme3_root: Path) -> None:
    result = casme3.read(casme3_root)
    records = {record.key: record for record in result.records}
    assert records["spNO.1/a"].frame_numbers == (10, 11, 12, 13, 14)
    assert records["spNO.1/a_2"].frame_numbers == (20, 21, 22, 23)
    assert records["spNO.1/a"].frames[0].parent.name == "color"
    assert records["spNO.2/d"].frame_numbers == (3, 4, 6)  # frame 5 dropped on disk
    assert any(m.startswith("spNO.2/d") and "no file for frame 5:" in m for m in result.warnings)
    assert (result.frames_found, result.frames_expected) == (5 + 4 + 4 + 3, 5 + 4 + 4 + 4)


def test_casme3_clip_outside_video_is_skipped(casme3_root: Path) -> None:
    for frame in (casme3_root / "part_A" / "spNO.1" / "b" / "color").iterdir():
        if int(frame.stem) <= 8:
            frame.unlink()
    result = casme3.read(casme3_root)
    assert {row.clip: row.reason for row in result.skipped}["spNO.1/b"].startswith("no frame of 5-8")


def test_casme3_part_c_sheet(tmp_path: Path) -> None:
    sheet = write_xlsx(tmp_path / "CAS(ME)3_part_C_ME.xlsx", CASME3_C_ROWS, title="mockCrimeME")
    result = read_dataset("casme3", sheet=sheet, part="C")
    assert [r.key for r in result.records] == ["sub01/1", "sub01/2", "sub02/1", "sub02/2"]
    assert result.records[1].aus == (ActionUnit(4), ActionUnit(11))
    assert all(r.apex is None for r in result.records) and result.warnings == []


def test_megc_sheet_only_labels_and_unique_subjects(megc_root: Path) -> None:
    raw = (megc_root / "combined_3class_gt.csv").read_bytes()
    assert b"\r\n" in raw and not raw.startswith(b"database")
    result = megc2019.read(sheet=megc_root / "combined_3class_gt.csv")
    assert len(result.records) == len(MEGC_ROWS) and result.skipped == []
    subjects = [record.subject for record in result.records]
    assert subjects[0] == "casme2/sub01" and "samm/006" in subjects and "smic/s01" in subjects
    first = result.records[0]
    assert (first.dataset, first.emotion, first.onset, first.offset, first.aus, first.frames) == (
        "casme2",
        "positive",
        0,
        0,
        (),
        (),
    )
    assert [r.emotion for r in result.records if r.dataset == "samm"] == ["negative", "positive", "surprise"]


def test_megc_root_joins_to_source_readers(megc_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mer_contrast.datasets"):
        result = megc2019.read(megc_root)
    records = {record.key: record for record in result.records}
    assert set(records) == {
        "casme2/sub01/EP02_01f",
        "casme2/sub01/EP19_05f",
        "casme2/sub02/EP01_11f",
        "samm/006/006_1_2",
        "samm/007/007_7_1",
        "samm/028/028_4_1",
    }
    joined = records["casme2/sub01/EP02_01f"]
    assert (joined.dataset, joined.emotion, joined.onset, joined.offset) == ("casme2", "positive", 8, 12)
    assert joined.extra["source_emotion"] == "happiness" and len(joined.frames) == 5
    assert records["samm/006/006_1_2"].frames[0].name == "006_05562.jpg"
    assert any(m.startswith("samm/028/028_4_1") and "apex" in m for m in result.warnings)
    reasons = {row.clip: row.reason for row in result.skipped}
    assert reasons["casme2/sub09/EP99_01"] == "CASME II: not in the CASME II sheet"
    assert reasons["smic/s01/s01_ne_01"] == reasons["smic/s02/s02_po_01"]
    assert reasons["smic/s01/s01_ne_01"] == (
        f"database folder SMIC/ not found in {megc_root}: put SMIC-HS in {megc_root / 'SMIC'} "
        f"({megc2019.SMIC_LAYOUT}) to join its rows"
    )
    smic_lines = [r.getMessage() for r in caplog.records if "SMIC" in r.getMessage()]
    assert len(smic_lines) == 1 and "2 rows skipped" in smic_lines[0]
    assert result.frames_found == sum(len(r.frames) for r in result.records)


def test_megc_missing_database_folder_skips_its_rows(tmp_path: Path) -> None:
    root = build_megc(tmp_path / "megc", with_samm=False)
    result = megc2019.read(root)
    assert {r.dataset for r in result.records} == {"casme2"}
    reasons = [row.reason for row in result.skipped if row.clip.startswith("samm/")]
    assert len(reasons) == 3 and all("SAMM/ not found" in reason for reason in reasons)
    with pytest.raises(DatasetStrictError, match="sub09"):
        megc2019.read(root, strict=True)


def test_megc_propagates_source_skip_reason(megc_root: Path) -> None:
    shutil.rmtree(megc_root / "CASME2" / "Cropped" / "sub01" / "EP19_05f")
    result = megc2019.read(megc_root)
    reason = {row.clip: row.reason for row in result.skipped}["casme2/sub01/EP19_05f"]
    assert reason.startswith("CASME II: clip folder not found")


def test_megc_bad_rows_are_skipped(tmp_path: Path) -> None:
    sheet = tmp_path / "combined_3class_gt.csv"
    sheet.write_bytes(b"casme2,sub01,EP02_01f,1\r\nsmic,s01\r\nfoo,1,x,0\r\nsamm,6,006_1_2,5\r\n\r\n")
    result = megc2019.read(sheet=sheet)
    assert len(result.records) == 1
    assert [row.row for row in result.skipped] == [2, 3, 4]
    assert "unknown database 'foo'" in result.skipped[1].reason
    assert "unknown class '5'" in result.skipped[2].reason


#: Ground truth with SMIC rows, as written in combined_3class_gt.csv (``s01``, ``s01_ne_01``), plus
#: CASME II and SAMM rows of the other builders.
MEGC_WITH_SMIC = [
    ("casme2", "sub01", "EP02_01f", 1),
    ("samm", "6", "006_1_2", 0),
    ("smic", "s01", "s01_ne_01", 0),
    ("smic", "s01", "s01_ne_02", 0),
    ("smic", "s02", "s02_po_01", 1),
    ("smic", "s12", "s12_sur_05", 2),
    ("smic", "s03", "s03_sur_01", 2),  # a single frame on disk: skipped with the SMIC reason
    ("smic", "s05", "s05_ne_01", 0),  # no such folder
]


@pytest.mark.parametrize(("layout", "padded"), [("cropped", False), ("hs", True), ("both", False)])
def test_megc_joins_smic_rows_to_the_smic_reader(tmp_path: Path, layout: str, padded: bool) -> None:
    root = build_megc(tmp_path / "megc", rows=MEGC_WITH_SMIC)
    build_smic(root / "SMIC", layout=layout, padded=padded)
    result = megc2019.read(root, quiet=True)
    records = {record.key: record for record in result.records}
    assert list(records) == [
        "casme2/sub01/EP02_01f",
        "samm/006/006_1_2",
        "smic/s01/s01_ne_01",
        "smic/s01/s01_ne_02",
        "smic/s02/s02_po_01",
        "smic/s12/s12_sur_05",
    ]
    joined = records["smic/s01/s01_ne_01"]
    assert (joined.dataset, joined.subject, joined.clip_id, joined.emotion) == (
        "smic",
        "smic/s01",
        "s01_ne_01",
        "negative",
    )
    assert (joined.onset, joined.apex, joined.offset, joined.aus) == (106718, None, 106722, ())
    assert joined.frame_numbers == (106718, 106719, 106720, 106721, 106722)
    folder = joined.frames[0].parent
    assert folder.name == ("s01_ne_01" if padded else "s1_ne_01") and folder.parent.name == "negative"
    if layout == "both":
        assert "SMIC_all_cropped" in str(folder)
    assert joined.extra["source_emotion"] == "negative" and joined.extra["source_row"] == "1"
    assert joined.row == 3
    assert records["smic/s12/s12_sur_05"].emotion == "surprise"
    reasons = {row.clip: row.reason for row in result.skipped}
    assert set(reasons) == {"smic/s03/s03_sur_01", "smic/s05/s05_ne_01"}
    assert reasons["smic/s03/s03_sur_01"].startswith(
        "SMIC: clip folder has fewer than two frames (1 found): "
    )
    assert reasons["smic/s05/s05_ne_01"] == (
        "SMIC: not in the SMIC-HS tree (no folder s5_ne_01 or s05_ne_01 under HS/<subject>/micro/<emotion>/)"
    )
    subjects = {record.subject for record in result.records}
    assert subjects == {"casme2/sub01", "samm/006", "smic/s01", "smic/s02", "smic/s12"}
    labelled, dropped = apply_protocol(result, "megc2019-3class")
    assert [label for _, label in labelled] == [1, 0, 0, 0, 1, 2] and dropped == []
    assert result.frames_found == sum(len(r.frames) for r in result.records)


def test_megc_unpadded_smic_ids_in_the_ground_truth_are_normalised(tmp_path: Path) -> None:
    root = build_megc(tmp_path / "megc", rows=[("smic", "s1", "s1_ne_01", 0), ("SMIC", "2", "s2_po_01", 1)])
    build_smic(root / "SMIC")
    keys = [record.key for record in megc2019.read(root, quiet=True).records]
    assert keys == ["smic/s01/s01_ne_01", "smic/s02/s02_po_01"]


def test_megc_inspect_with_smic_counts_three_databases(tmp_path: Path) -> None:
    from mer_contrast.datasets.inspection import kept_line, summarize

    root = build_megc(tmp_path / "megc", rows=MEGC_WITH_SMIC, with_smic=True)
    summary = summarize("megc2019", root=root)
    assert summary["total"] == 6 and summary["subjects"] == 5
    assert summary["per_class"] == {"negative": 3, "positive": 2, "surprise": 1}
    line = kept_line(summary)
    assert line.startswith("megc2019: 6 clips kept, 2 dropped (")
    assert "1 SMIC clip folder has fewer than two frames" in line and "1 SMIC not in the SMIC-HS tree" in line
