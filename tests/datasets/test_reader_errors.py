"""Bad input for every reader: missing data, missing columns, bad rows, strict mode."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from ds_builders import edit_sheet

from mer_contrast.datasets import READERS, SHEETLESS, read_dataset
from mer_contrast.datasets.errors import (
    DatasetNotFoundError,
    DatasetStrictError,
    SheetFileError,
    SheetFormatError,
)
from mer_contrast.synth.sheets import CASME2_HEADER

SHEET_NAMES = {
    "casme2": "CASME2-coding-20140508.xlsx",
    "mmew": "MMEW_Micro_Exp.xlsx",
    "samm": "SAMM_Micro_FACS_Codes_v2.xlsx",
    "casme3": "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
}
#: (column to delete, emotion column) per sheet-based reader.
COLUMNS = {
    "casme2": ("OnsetFrame", "Estimated Emotion"),
    "mmew": ("ApexFrame", "Estimated Emotion"),
    "samm": ("Action Units", "Estimated Emotion"),
    "casme3": ("Offset", "emotion"),
}


def set_cell(rows: list[list[object]], header: int, column: str, value: object) -> None:
    rows[header + 1][rows[header].index(column)] = value


@pytest.mark.parametrize("name", sorted(READERS))
def test_missing_root_names_folder_and_licence(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="licence-gated") as info:
        read_dataset(name, root=tmp_path / "nowhere")
    assert "nowhere" in str(info.value) and isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize("name", sorted(set(READERS) - SHEETLESS))  # SMIC: test_smic_reader.py
def test_missing_sheet_in_root_and_missing_sheet_file(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"annotation sheet|ground-truth CSV") as info:
        read_dataset(name, root=tmp_path)
    assert "never downloaded" in str(info.value)
    with pytest.raises(DatasetNotFoundError, match=r"missing\.xlsx"):
        read_dataset(name, sheet=tmp_path / "missing.xlsx")
    with pytest.raises(DatasetNotFoundError):
        read_dataset(name)


@pytest.mark.parametrize("name", sorted(SHEET_NAMES))
def test_missing_column_names_column_and_file(name: str, builders: dict, tmp_path: Path) -> None:
    root = builders[name](tmp_path / name)
    column = COLUMNS[name][0]
    edit_sheet(
        root / SHEET_NAMES[name], lambda rows, h: rows[h].__setitem__(rows[h].index(column), "renamed")
    )
    with pytest.raises(SheetFormatError, match=column) as info:
        read_dataset(name, root=root)
    assert SHEET_NAMES[name] in str(info.value) and info.value.column == column


@pytest.mark.parametrize("name", sorted(SHEET_NAMES))
def test_unknown_emotion_skipped_with_one_warning_then_strict_raises(
    name: str, builders: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = builders[name](tmp_path / name)
    sheet = root / SHEET_NAMES[name]
    clean = read_dataset(name, sheet=sheet)
    edit_sheet(sheet, lambda rows, h: set_cell(rows, h, COLUMNS[name][1], "Bewilderment"))
    with caplog.at_level(logging.WARNING, logger="mer_contrast.datasets"):
        result = read_dataset(name, root=root)
    assert len(result.records) == len(clean.records) - 1
    bad = [row for row in result.skipped if "emotion" in row.reason]
    assert len(bad) == 1 and bad[0].reason == "unknown emotion 'Bewilderment'"
    assert sum("Bewilderment" in record.getMessage() for record in caplog.records) == 1
    with pytest.raises(DatasetStrictError, match="Bewilderment"):
        read_dataset(name, root=root, strict=True)


@pytest.mark.parametrize("name", sorted(SHEET_NAMES))
def test_bad_au_and_bad_frame_numbers_are_skipped(name: str, builders: dict, tmp_path: Path) -> None:
    root = builders[name](tmp_path / name)
    sheet = root / SHEET_NAMES[name]
    clean = read_dataset(name, sheet=sheet)
    au_column = "AU" if name == "casme3" else "Action Units"
    onset_column = {"casme2": "OnsetFrame", "mmew": "OnsetFrame", "samm": "Onset Frame", "casme3": "Onset"}[
        name
    ]

    def edit(rows: list[list[object]], header: int) -> None:
        rows[header + 1][rows[header].index(au_column)] = "12X"
        rows[header + 2][rows[header].index(onset_column)] = "n/a"

    edit_sheet(sheet, edit)
    result = read_dataset(name, sheet=sheet)
    assert len(result.records) == len(clean.records) - 2
    reasons = [row.reason for row in result.skipped]
    assert any("cannot parse action units '12X'" in reason for reason in reasons)
    assert any("not frame numbers" in reason for reason in reasons)


def test_strict_raises_on_missing_clip_folder(casme2_root: Path) -> None:
    import shutil

    shutil.rmtree(casme2_root / "Cropped" / "sub04")
    with pytest.raises(DatasetStrictError, match="clip folder not found"):
        read_dataset("casme2", root=casme2_root, strict=True)


def test_unsupported_sheet_type(tmp_path: Path) -> None:
    sheet = tmp_path / "CASME2_label_Ver_2.xls"
    sheet.write_bytes(b"old excel")
    with pytest.raises(SheetFormatError, match=r"\.xlsx or \.csv"):
        read_dataset("casme2", sheet=sheet)


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'smic-vis'"):
        read_dataset("smic-vis")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty (0 bytes), not an Excel workbook: save the annotation sheet again from Excel"),
        (b"Subject,Filename\n01,EP02_01f\n", "is not an Excel workbook (an .xlsx is a zip archive; this is "
         "text"),
        (bytes(range(256)) * 4, "is not an Excel workbook (an .xlsx is a zip archive; this is 1024 bytes of"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "is not an Excel workbook: it is an old Excel"),
    ],
    ids=["empty", "csv_text", "binary", "old_xls"],
)  # fmt: skip
def test_a_file_that_is_no_workbook_says_so_first(content: bytes, reason: str, tmp_path: Path) -> None:
    sheet = tmp_path / "CASME2-coding-20140508.xlsx"
    sheet.write_bytes(content)
    with pytest.raises(SheetFileError) as info:
        read_dataset("casme2", sheet=sheet)
    message = str(info.value)
    assert message.startswith(f"{sheet}: {reason}"), message
    assert "required column" not in message and "\n" not in message


@pytest.mark.parametrize(("separator", "name"), [(";", "';'"), ("\t", "tabs")])
def test_a_csv_separated_otherwise_gets_a_hint(separator: str, name: str, tmp_path: Path) -> None:
    sheet = tmp_path / "casme2.csv"
    header = [name for name in CASME2_HEADER if name is not None]
    row = ["01", "EP02_01f", "46", "59", "86", "12", "happiness"]
    sheet.write_text("\n".join(separator.join(cells) for cells in (header, row)) + "\n")
    with pytest.raises(SheetFileError) as info:
        read_dataset("casme2", sheet=sheet)
    assert str(info.value).startswith(f"{sheet}: looks separated by {name}, not commas")
    assert str(info.value).endswith("export it again as comma-separated CSV, or save it as .xlsx")
    sheet.write_text("Name,Other\nx,y\n")  # a comma CSV without the column: the column is named
    with pytest.raises(SheetFormatError, match="required column 'Subject' not found"):
        read_dataset("casme2", sheet=sheet)
