"""Cell-level checks of the workbooks against the real sheets' format (dataset notes §1.3, §2.3, §3.1)."""

from __future__ import annotations

import openpyxl
import pytest

from mer_contrast.synth import SynthManifest


def _sheet(manifest: SynthManifest, name: str | None = None) -> openpyxl.worksheet.worksheet.Worksheet:
    workbook = openpyxl.load_workbook(manifest.sheet_path)
    return workbook[name] if name else workbook.worksheets[0]


def test_casme2_workbook_shape(tiny: dict[str, SynthManifest]) -> None:
    workbook = openpyxl.load_workbook(tiny["casme2"].sheet_path)
    assert workbook.sheetnames == ["Sheet1", "Sheet2", "Sheet3"]
    assert workbook["Sheet2"].max_row == 1 and workbook["Sheet2"]["A1"].value is None
    ws = workbook["Sheet1"]
    header = [cell.value for cell in ws[1]]
    assert header == [
        "Subject",
        "Filename",
        None,
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        None,
        "Action Units",
        "Estimated Emotion",
    ]
    assert ws.max_row == 1 + len(tiny["casme2"].clips) and ws.max_column == 9


def test_casme2_cell_types(tiny: dict[str, SynthManifest]) -> None:
    manifest = tiny["casme2"]
    ws = _sheet(manifest, "Sheet1")
    for clip in manifest.clips:
        subject = ws.cell(clip.row, 1)
        assert subject.value == clip.subject and subject.data_type == "s" and subject.number_format == "@"
        assert len(subject.value) == 2 and subject.value.isdigit()
        assert ws.cell(clip.row, 3).value is None and ws.cell(clip.row, 7).value is None
        assert isinstance(ws.cell(clip.row, 4).value, int) and isinstance(ws.cell(clip.row, 6).value, int)
        aus = ws.cell(clip.row, 8).value
        if clip.aus.isdigit():
            assert isinstance(aus, int) and aus == int(clip.aus)
        else:
            assert isinstance(aus, str) and aus == clip.aus
        assert ws.cell(clip.row, 9).value == clip.emotion == clip.emotion.lower()


def test_casme2_planted_quirks(tiny: dict[str, SynthManifest]) -> None:
    manifest = tiny["casme2"]
    ws = _sheet(manifest, "Sheet1")
    apex = [ws.cell(row, 5).value for row in range(2, ws.max_row + 1)]
    aus = [ws.cell(row, 8).value for row in range(2, ws.max_row + 1)]
    assert apex.count("/") == 1 and ws.cell(2 + apex.index("/"), 5).data_type == "s"
    assert sum(isinstance(value, int) for value in apex) == len(apex) - 1
    assert aus.count("?") == 1
    slash = next(c for c in manifest.clips if c.apex is None)
    assert manifest.quirks["apex_slash"] == f"{slash.subject}/{slash.clip_id}"
    unknown = next(c for c in manifest.clips if c.aus == "?")
    assert unknown.motion_aus != "?"  # the clip still moves; only the code is unknown
    short = next(c for c in manifest.clips if c.cropped_range != c.frame_range)
    assert manifest.quirks["cropped_short"] == f"{short.subject}/{short.clip_id}"
    assert short.cropped_range is not None and short.cropped_range[1] < short.offset
    assert short.cropped_range[0] == short.onset


def test_casme2_mixes_int_and_text_aus(twelve: dict[str, SynthManifest]) -> None:
    ws = _sheet(twelve["casme2"], "Sheet1")
    kinds = {type(ws.cell(row, 8).value) for row in range(2, ws.max_row + 1)}
    assert kinds == {int, str}


def test_casme2_emotions_and_one_rare_row(twelve: dict[str, SynthManifest]) -> None:
    counts = twelve["casme2"].class_counts
    main = {"happiness", "disgust", "repression", "surprise", "others"}
    assert main <= set(counts)
    rare = {name: count for name, count in counts.items() if name not in main}
    assert len(rare) == 1 and set(rare) <= {"fear", "sadness"} and sum(rare.values()) == 1
    assert max(counts, key=lambda name: counts[name]) in {"others", "disgust"}


def test_casme2_no_rare_row_below_twelve_clips(tiny: dict[str, SynthManifest]) -> None:
    assert set(tiny["casme2"].class_counts) <= {"happiness", "disgust", "repression", "surprise", "others"}


def test_mmew_sheet(twelve: dict[str, SynthManifest]) -> None:
    manifest = twelve["mmew"]
    ws = _sheet(manifest)
    assert [cell.value for cell in ws[1]] == [
        "Subject",
        "Filename",
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        "Action Units",
        "Estimated Emotion",
        "remarks",
    ]
    for clip in manifest.clips:
        assert ws.cell(clip.row, 1).value == int(clip.subject)  # a number, not text
        assert ws.cell(clip.row, 2).value == clip.clip_id
        assert ws.cell(clip.row, 3).value == 1
        assert ws.cell(clip.row, 5).value == clip.offset
        assert str(ws.cell(clip.row, 6).value) == clip.aus
        assert ws.cell(clip.row, 7).value == clip.emotion
        assert ws.cell(clip.row, 8).value is None
    names = [(int(ws.cell(r, 1).value), ws.cell(r, 2).value) for r in range(2, ws.max_row + 1)]
    assert names == sorted(names)  # sorted by subject, then Filename, like the real sheet


def test_mmew_suffix_side_au(twelve: dict[str, SynthManifest]) -> None:
    manifest = twelve["mmew"]
    key = manifest.quirks["suffix_side_au"]
    clip = next(c for c in manifest.clips if f"{c.subject}/{c.clip_id}" == key)
    assert any(token[-1] in "LR" and token[:-1].isdigit() for token in clip.aus.split("+"))


def test_samm_preamble_and_header(tiny: dict[str, SynthManifest]) -> None:
    manifest = tiny["samm"]
    workbook = openpyxl.load_workbook(manifest.sheet_path)
    assert workbook.sheetnames == ["MICRO_ONLY"]
    ws = workbook["MICRO_ONLY"]
    first_cells = [ws.cell(row, 1).value for row in range(1, 15)]
    assert first_cells.index("Subject") == 13  # header in row 14, 13 preamble rows above
    assert first_cells[0] == "SAMM Dataset - Master FACS Codes"
    assert first_cells[5] == "Symbol Key:" and first_cells[6] == '"/" = or'
    assert first_cells[11].startswith('"A2" = Asymmetric AU 2')
    assert [cell.value for cell in ws[14]] == [
        "Subject",
        "Filename",
        "Inducement Code",
        "Onset Frame",
        "Apex Frame",
        "Offset Frame",
        "Duration",
        "Micro",
        "Action Units",
        "Estimated Emotion",
        "Objective Classes",
        "Notes",
    ]


def test_samm_rows(tiny: dict[str, SynthManifest]) -> None:
    manifest = tiny["samm"]
    ws = _sheet(manifest, "MICRO_ONLY")
    for clip in manifest.clips:
        row = clip.row
        subject = ws.cell(row, 1)
        assert subject.value == clip.subject and subject.data_type == "s" and subject.number_format == "@"
        assert ws.cell(row, 2).value == clip.clip_id
        assert isinstance(ws.cell(row, 3).value, int)
        assert ws.cell(row, 4).value == clip.onset and ws.cell(row, 6).value == clip.offset
        assert ws.cell(row, 7).value == f"=SUM(F{row}-D{row})+1"
        assert ws.cell(row, 8).value == "Micro - 1/2"
        assert str(ws.cell(row, 9).value) == clip.aus
        assert ws.cell(row, 10).value == clip.emotion and clip.emotion[0].isupper()
        assert 1 <= ws.cell(row, 11).value <= 7


def test_samm_bad_apex_from_eight_clips(twelve: dict[str, SynthManifest]) -> None:
    manifest = twelve["samm"]
    key = manifest.quirks["apex_outside_clip"]
    clip = next(c for c in manifest.clips if f"{c.subject}/{c.clip_id}" == key)
    assert clip.apex is not None and not clip.onset <= clip.apex <= clip.offset
    assert clip.onset <= clip.motion_apex <= clip.offset


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_sheet_rows_match_manifest(twelve: dict[str, SynthManifest], layout: str) -> None:
    manifest = twelve[layout]
    ws = _sheet(manifest)
    columns = {"casme2": (2, 4, 6), "mmew": (2, 3, 5), "samm": (2, 4, 6)}[layout]
    for clip in manifest.clips:
        assert [ws.cell(clip.row, c).value for c in columns] == [clip.clip_id, clip.onset, clip.offset]
    data_rows = ws.max_row - (14 if layout == "samm" else 1)
    assert data_rows == len(manifest.clips)
