"""MMEW and SAMM readers on tiny synthetic copies of the real layouts."""

from __future__ import annotations

from pathlib import Path

from ds_builders import MMEW_ROWS, SAMM_ROWS, build_mmew, build_samm

from mer_contrast.datasets import mmew, read_dataset, samm
from mer_contrast.datasets.records import ActionUnit


def test_mmew_sheet_only_subjects_from_clip_names(mmew_root: Path) -> None:
    result = mmew.read(sheet=mmew_root / "MMEW_Micro_Exp.xlsx")
    keys = [record.key for record in result.records]
    assert keys == [f"S0{subject}/{clip}" for subject, clip, *_ in MMEW_ROWS]
    first = result.records[0]
    assert (first.onset, first.apex, first.offset, first.emotion) == (1, 3, 5, "happiness")
    assert result.records[2].aus == (ActionUnit(12, side="L"),)
    assert all(record.frames == () for record in result.records)


def test_mmew_frames_both_layouts_and_repression_folder(mmew_root: Path) -> None:
    result = read_dataset("mmew", root=mmew_root)
    assert result.skipped == []
    records = {record.clip_id: record for record in result.records}
    others = records["S01-04-001"]
    assert others.emotion == "others" and others.frames[0].parent.parent.name == "repression"
    nested = records["S02-02-001"]
    assert nested.frames[0].parent.parent.parent.name == "S02"
    assert records["S01-01-001"].frame_numbers == (1, 2, 3, 4, 5)
    assert all(record.extra["cropped"] == "1" for record in result.records)
    assert result.frames_found == result.frames_expected == sum(int(str(row[4])) for row in MMEW_ROWS)


def test_mmew_csv_export(tmp_path: Path) -> None:
    root = build_mmew(tmp_path / "mmew", csv_sheet=True)
    from_root = mmew.read(root)
    from_sheet = mmew.read(sheet=root / "MMEW_Micro_Exp.csv")
    assert [r.key for r in from_root.records] == [r.key for r in from_sheet.records]
    assert len(from_root.records) == len(MMEW_ROWS) and from_root.records[0].frames


def test_samm_preamble_and_frame_names(samm_root: Path) -> None:
    result = samm.read(samm_root)
    records = {record.key: record for record in result.records}
    assert len(records) == len(SAMM_ROWS) and result.skipped == []
    first = records["006/006_1_2"]
    assert first.row == 15  # 13 preamble rows + header
    assert (first.onset, first.apex, first.offset, first.emotion) == (5562, 5564, 5566, "anger")
    assert [path.name for path in first.frames] == [
        "006_05562.jpg",
        "006_05563.jpg",
        "006_05564.jpg",
        "006_05565.jpg",
        "006_05566.jpg",
    ]
    assert first.frame_numbers == (5562, 5563, 5564, 5565, 5566)
    assert first.extra["grayscale"] == "1" and first.extra["objective_class"] == "3"
    assert records["006/006_1_3"].aus == (ActionUnit(4),)  # int AU cell
    assert all(au.uncertain for au in records["007/007_7_1"].aus)


def test_samm_apex_outside_clip_becomes_none_with_warning(samm_root: Path) -> None:
    result = samm.read(sheet=samm_root / "SAMM_Micro_FACS_Codes_v2.xlsx")
    record = next(r for r in result.records if r.clip_id == "028_4_1")
    assert record.apex is None
    assert record.apex_index == 1  # middle of 1071..1074
    assert [m for m in result.warnings if m.startswith("028/028_4_1") and "1143" in m]


def test_samm_without_preamble_and_flat_frames(tmp_path: Path) -> None:
    root = build_samm(tmp_path / "samm", preamble=False, nested=False)
    result = samm.read(root)
    assert len(result.records) == len(SAMM_ROWS)
    assert result.records[0].row == 2
    assert result.records[0].frames[0].parent.parent.parent == root
