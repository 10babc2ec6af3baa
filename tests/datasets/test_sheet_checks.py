"""Data that used to be read in silence: duplicate rows, another database's sheet, odd AU cells."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from ds_builders import (
    CASME2_ROWS,
    CASME3_C_ROWS,
    MEGC_ROWS,
    MMEW_HEADER,
    MMEW_ROWS,
    build_casme2,
    build_casme3,
    build_mmew,
    build_samm,
    edit_sheet,
    write_csv,
    write_xlsx,
)

from mer_contrast.cli.inspect_data import main
from mer_contrast.datasets import read_dataset
from mer_contrast.datasets._kinds import KINDS
from mer_contrast.datasets.errors import DatasetStrictError, DuplicateClipError, WrongSheetError
from mer_contrast.datasets.inspection import summarize

CASME2_SHEET = "CASME2-coding-20140508.xlsx"
SAMM_SHEET = "SAMM_Micro_FACS_Codes_v2.xlsx"
AU_COLUMNS = {"casme2": "Action Units", "mmew": "Action Units", "samm": "Action Units", "casme3": "AU"}
SHEETS = {
    "casme2": CASME2_SHEET,
    "mmew": "MMEW_Micro_Exp.xlsx",
    "samm": SAMM_SHEET,
    "casme3": "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
}
BUILDERS = {"casme2": build_casme2, "mmew": build_mmew, "samm": build_samm, "casme3": build_casme3}


def duplicate_row(source: int, *, emotion: str | None = None, onset: object = None) -> Any:
    """Sheet edit appending a copy of data row ``source`` (0-based), optionally changed."""

    def edit(rows: list[list[object]], header: int) -> None:
        copy = list(rows[header + 1 + source])
        if emotion is not None:
            copy[rows[header].index("Estimated Emotion")] = emotion
        if onset is not None:
            copy[rows[header].index("OnsetFrame")] = onset
        rows.append(copy)

    return edit


# ----------------------------------------------------------------------------------------------- duplicates
def test_identical_duplicate_row_is_reported_and_the_clip_read_once(
    casme2_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edit_sheet(casme2_root / CASME2_SHEET, duplicate_row(0))
    duplicate = len(CASME2_ROWS) + 2  # spreadsheet row of the appended copy (header is row 1)
    with caplog.at_level(logging.WARNING, logger="mer_contrast.datasets"):
        result = read_dataset("casme2", root=casme2_root)
    assert [r.key for r in result.records].count("sub01/EP02_01f") == 1
    [skipped] = [row for row in result.skipped if row.row == duplicate]
    assert skipped.reason == f"duplicate of row 2 (same clip, same cells): delete row {duplicate}"
    assert skipped.clip == "sub01/EP02_01f"
    [message] = [r.getMessage() for r in caplog.records if "duplicate" in r.getMessage()]
    assert CASME2_SHEET in message and f"row {duplicate}" in message and "\n" not in message
    with pytest.raises(DatasetStrictError, match="duplicate of row 2"):
        read_dataset("casme2", root=casme2_root, strict=True)


def test_same_clip_with_other_cells_keeps_the_first_row(casme2_root: Path) -> None:
    edit_sheet(casme2_root / CASME2_SHEET, duplicate_row(0, onset=9))
    result = read_dataset("casme2", sheet=casme2_root / CASME2_SHEET)
    [record] = [r for r in result.records if r.key == "sub01/EP02_01f"]
    assert (record.row, record.onset) == (2, 8)
    [skipped] = result.skipped
    assert skipped.reason.startswith("clip already annotated in row 2, with a different onset '8' vs '9'")
    assert skipped.reason.endswith(f"kept row 2; delete or fix row {skipped.row}")


def test_same_clip_with_two_labels_is_an_error_naming_both_rows(casme2_root: Path) -> None:
    edit_sheet(casme2_root / CASME2_SHEET, duplicate_row(0, emotion="disgust"))
    with pytest.raises(DuplicateClipError) as info:
        read_dataset("casme2", root=casme2_root)
    message = str(info.value)
    assert message.startswith(f"{casme2_root / CASME2_SHEET}: rows 2 and {len(CASME2_ROWS) + 2} ")
    assert "sub01/EP02_01f" in message and "'happiness' and 'disgust'" in message
    assert "delete the wrong row" in message and "\n" not in message
    assert main(["--dataset", "casme2", "--root", str(casme2_root)]) == 2  # one line, no traceback


def test_casme3_repeated_me_does_not_shift_clip_ids(casme3_root: Path) -> None:
    sheet = casme3_root / SHEETS["casme3"]
    edit_sheet(sheet, lambda rows, header: rows.insert(header + 2, list(rows[header + 1])))
    result = read_dataset("casme3", sheet=sheet)
    assert [r.key for r in result.records] == ["spNO.1/a", "spNO.1/a_2", "spNO.1/b", "spNO.2/d"]
    assert any(row.row == 3 and "duplicate of row 2" in row.reason for row in result.skipped)


def test_megc_same_video_with_two_classes_is_an_error(tmp_path: Path) -> None:
    sheet = write_csv(tmp_path / "combined_3class_gt.csv", [*MEGC_ROWS, ("casme2", "sub01", "EP02_01f", 2)])
    with pytest.raises(
        DuplicateClipError, match=rf"rows 1 and {len(MEGC_ROWS) + 1} .*'positive' and 'surprise'"
    ):
        read_dataset("megc2019", sheet=sheet)


# ----------------------------------------------------------------------------------------------- wrong sheet
def other_sheets(root: Path) -> dict[str, Path]:
    """One sheet of every kind, built synthetically."""
    bob_header = ("subject", "filename", "onset", "apex", "offset", "emotion", "action_units", "gender")
    bob_rows = [(s, c, on, ap, off, emo, au, "F") for s, c, on, ap, off, au, emo, _ in CASME2_ROWS]
    return {
        "casme2": build_casme2(root / "c2") / CASME2_SHEET,
        "casme2-bob": write_csv(root / "annotations.csv", [bob_header, *bob_rows]),
        "mmew": build_mmew(root / "mm") / "MMEW_Micro_Exp.xlsx",
        "mmew-csv": build_mmew(root / "mmcsv", csv_sheet=True) / "MMEW_Micro_Exp.csv",
        "samm": build_samm(root / "sa") / SAMM_SHEET,
        "casme3-A": build_casme3(root / "c3") / SHEETS["casme3"],
        "casme3-C": write_xlsx(root / "CAS(ME)3_part_C_ME.xlsx", CASME3_C_ROWS, title="mockCrimeME"),
        "megc2019": write_csv(root / "combined_3class_gt.csv", MEGC_ROWS, crlf=True),
    }


#: (reader, options) -> the sheet kinds it reads.
READERS = {
    ("casme2", ""): {"casme2", "casme2-bob"},
    ("mmew", ""): {"mmew", "mmew-csv"},
    ("samm", ""): {"samm"},
    ("casme3", "A"): {"casme3-A"},
    ("casme3", "C"): {"casme3-C"},
    ("megc2019", ""): {"megc2019"},
}


@pytest.mark.parametrize(("reader", "part"), sorted(READERS))
def test_another_databases_sheet_is_refused_saying_what_it_looks_like(
    reader: str, part: str, tmp_path: Path
) -> None:
    options = {"part": part} if part else {}
    for name, sheet in other_sheets(tmp_path).items():
        if name in READERS[(reader, part)]:
            assert read_dataset(reader, sheet=sheet, quiet=True, **options).records
            continue
        kind = KINDS[name.removesuffix("-csv")]
        with pytest.raises(WrongSheetError) as info:
            read_dataset(reader, sheet=sheet, **options)
        message = str(info.value)
        assert message.startswith(f"{sheet}: this looks like {kind.title} (")
        assert message.endswith(f"read it with {kind.read_as} instead") and "\n" not in message
        assert info.value.looks_like == kind.key


def test_mmew_sheet_without_remarks_is_told_by_its_clip_names(tmp_path: Path) -> None:
    sheet = write_xlsx(tmp_path / "MMEW_Micro_Exp.xlsx", [MMEW_HEADER[:-1], *(r[:-1] for r in MMEW_ROWS)])
    with pytest.raises(WrongSheetError, match=r"MMEW .*its Filename values look like 'S01-01-001'"):
        read_dataset("casme2", sheet=sheet)
    assert len(read_dataset("mmew", sheet=sheet).records) == len(MMEW_ROWS)


def test_inspect_prints_the_wrong_sheet_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = build_samm(tmp_path / "SAMM") / SAMM_SHEET
    assert main(["--dataset", "casme2", "--sheet", str(sheet)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "looks like the SAMM coding sheet" in err and "dataset 'samm'" in err


# ----------------------------------------------------------------------------------------------- AU cells
@pytest.mark.parametrize("name", sorted(SHEETS))
def test_empty_and_malformed_au_cells_are_reported_and_kept(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = BUILDERS[name](tmp_path / name)
    sheet = root / SHEETS[name]
    clean = read_dataset(name, sheet=sheet, quiet=True)

    def edit(rows: list[list[object]], header: int) -> None:
        rows[header + 1][rows[header].index(AU_COLUMNS[name])] = None
        rows[header + 2][rows[header].index(AU_COLUMNS[name])] = "4++"

    edit_sheet(sheet, edit)
    first = clean.records[0].row  # spreadsheet row of the first data row
    with caplog.at_level(logging.WARNING, logger="mer_contrast.datasets"):
        result = read_dataset(name, sheet=sheet)
    assert len(result.records) == len(clean.records) and result.skipped == clean.skipped
    assert result.records[0].aus == () and [au.number for au in result.records[1].aus] == [4]
    empty = f"{sheet.name} row {first}: AU cell is empty, the clip is kept with no action units"
    malformed = f"{sheet.name} row {first + 1}: AU cell '4++' has an empty term, read as '4': fix the cell"
    notes = [m for m in result.warnings if "AU cell" in m]
    assert len(notes) == 2 and empty in notes[0] and malformed in notes[1]
    logged = [r.getMessage() for r in caplog.records if "AU cell" in r.getMessage()]
    assert len(logged) == 2 and all("\n" not in m for m in logged)
    summary = summarize(name, sheet=sheet)
    assert sum("AU cell" in m for m in summary["warnings"]) == 2  # what `inspect` prints


def test_documented_au_quirks_stay_silent(tmp_path: Path) -> None:
    sheet = write_xlsx(tmp_path / "CAS(ME)3_part_C_ME.xlsx", CASME3_C_ROWS, title="mockCrimeME")
    assert read_dataset("casme3", sheet=sheet, part="C").warnings == []  # trailing comma, '，', '13?'
    samm = build_samm(tmp_path / "SAMM") / SAMM_SHEET  # ref(10), soft focus, 'or', A1B ...
    assert not any("AU cell" in m for m in read_dataset("samm", sheet=samm).warnings)
    casme2 = build_casme2(tmp_path / "CASME2") / CASME2_SHEET  # '?', R/L prefixes, int cells
    assert not any("AU cell" in m for m in read_dataset("casme2", sheet=casme2).warnings)


def test_reader_and_kind_check_find_the_same_header_row() -> None:
    from ds_builders import SAMM_HEADER, SAMM_ROWS, samm_preamble

    from mer_contrast.datasets._kinds import identify
    from mer_contrast.datasets._table import HEADER_SCAN_ROWS, header_row, split_table

    rows = [*samm_preamble(), SAMM_HEADER, *SAMM_ROWS]
    assert header_row(rows, ["Subject"]) == 13  # below SAMM's 13-row preamble
    assert header_row(rows, ["SUB JECT"]) == 13  # first cells compare like column names
    table = split_table(Path("samm.xlsx"), [rows])
    assert table.header == list(SAMM_HEADER) and table.rows[0] == (15, SAMM_ROWS[0])
    found = identify(rows)
    assert found is not None and found[0].key == "samm"
    too_deep = [()] * HEADER_SCAN_ROWS + [SAMM_HEADER, *SAMM_ROWS]
    assert header_row(too_deep, ["Subject"]) is None and identify(too_deep) is None
