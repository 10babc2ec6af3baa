"""Frames and apex cells that used to be taken in silence: two files of one number, holes, lost apexes."""

from __future__ import annotations

from pathlib import Path

from ds_builders import edit_sheet

from mer_contrast.datasets import casme2, read_dataset
from mer_contrast.datasets.inspection import summarize
from mer_contrast.synth.sheets import CASME2_HEADER

SHEET = "CASME2-coding-20140508.xlsx"
APEX = 4  # column of ApexFrame in the synthetic CASME II sheet
FIRST = "sub01/EP02_01f"  # sheet frames 8-12, apex 10, spreadsheet row 2


def _set_apex(root: Path, value: object) -> None:
    def edit(rows: list[list[object]], header: int) -> None:
        rows[header + 1][APEX] = value

    edit_sheet(root / SHEET, edit)


def _warnings_of(root: Path, clip: str) -> list[str]:
    return [message for message in casme2.read(root, quiet=True).warnings if message.startswith(clip)]


def test_two_files_with_one_frame_number_skip_the_clip_naming_both(casme2_root: Path) -> None:
    folder = casme2_root / "Cropped" / "sub01" / "EP02_01f"
    (folder / "reg_img10.png").write_bytes(b"")
    result = read_dataset("casme2", root=casme2_root, quiet=True)
    assert FIRST not in {record.key for record in result.records}  # not 6 frames from 5
    [skipped] = [row for row in result.skipped if row.clip == FIRST]
    assert "reg_img10.jpg and reg_img10.png" in skipped.reason and "one frame number (10)" in skipped.reason
    assert skipped.row == 2


def test_a_hole_inside_a_clip_is_reported_once_with_its_own_range(casme2_root: Path) -> None:
    (casme2_root / "Cropped" / "sub01" / "EP02_01f" / "reg_img9.jpg").unlink()
    messages = [m for m in _warnings_of(casme2_root, FIRST) if "sheet frames" in m]
    assert len(messages) == 1
    assert "sheet frames 8-12: no file for frame 9: using 8-12 (4 frames)" in messages[0]


def test_a_missing_apex_file_is_a_named_warning_saying_which_frame_is_used(casme2_root: Path) -> None:
    (casme2_root / "Cropped" / "sub01" / "EP02_01f" / "reg_img10.jpg").unlink()
    summary = summarize("casme2", root=casme2_root)
    [apex] = [m for m in summary["warnings"] if m.startswith(FIRST) and "apex" in m]  # reaches inspect
    assert f"{SHEET} row 2: apex frame 10 has no file (the clip's frames are 8-9, 11-12)" in apex
    assert "the middle frame 9 is used as the apex" in apex


def test_an_empty_apex_cell_is_said(casme2_root: Path) -> None:
    _set_apex(casme2_root, None)
    [apex] = [m for m in _warnings_of(casme2_root, FIRST) if "apex" in m]
    assert f"{SHEET} row 2: apex cell is empty" in apex and "the middle frame 10 is used" in apex


def test_a_formula_apex_cell_is_said(casme2_root: Path) -> None:
    _set_apex(casme2_root, "=D2+2")  # openpyxl saves no value for it: read back, the cell is blank
    [apex] = [m for m in _warnings_of(casme2_root, FIRST) if "apex" in m]
    assert "apex cell is empty (or a formula with no saved value)" in apex and "row 2" in apex


def test_a_formula_apex_in_a_csv_export_is_named(tmp_path: Path) -> None:
    header = [name for name in CASME2_HEADER if name]  # the named columns, as a CSV export has them
    sheet = tmp_path / "casme2.csv"
    sheet.write_text(",".join(header) + "\n01,EP02_01f,8,=D2+2,12,12,happiness\n")
    [apex] = casme2.read(sheet=sheet, quiet=True).warnings
    assert "row 2: apex cell holds the formula '=D2+2', not a frame number" in apex


def test_number_ranges() -> None:
    from mer_contrast.datasets._frames import number_ranges

    assert number_ranges([3, 4, 5, 9, 11, 12]) == "3-5, 9, 11-12" and number_ranges([]) == ""
