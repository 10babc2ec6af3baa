"""``synth --from-sheet``: a twin rendered from a (fake) coding sheet reproduces its rows and frames."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from mer_contrast.cli.synth import main as synth_main
from mer_contrast.datasets import read_dataset
from mer_contrast.synth import sheets
from mer_contrast.synth.patterns import CASME2_CLASSES, parse_pattern
from mer_contrast.synth.render import subject_face
from mer_contrast.synth.sheet_twin import TwinOptions, _apex_field, plan_rows, render_from_sheet

# Subject, Filename, -, Onset, Apex, Offset, -, Action Units, Estimated Emotion (the real cell types)
ROWS: list[list[sheets.Cell]] = [
    ["01", "EP02_01f", None, 46, 52, 57, None, 12, "happiness"],
    ["01", "EP19_05f", None, 396, 401, 405, None, "4+L10", "disgust"],
    ["02", "EP05_03", None, 20, 24, 29, None, "?", "others"],
    ["02", "EP12_01f", None, 261, "/", 268, None, "R12", "happiness"],
    ["07", "EP06_01", None, 15, 60, 68, None, "31", "others"],  # folder holds 56-91 on the real disk
]
SMALL = TwinOptions(crop_sizes=(40, 48), raw=False)


@pytest.fixture(scope="module")
def sheet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sheet") / "CASME2-coding-20140508.xlsx"
    sheets.write_casme2(path, ROWS)
    return path


@pytest.fixture(scope="module")
def twin(sheet: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("twin") / "CASME2"
    render_from_sheet("casme2", sheet, out, options=SMALL)
    return out


def _digest(root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        sha.update(path.relative_to(root).as_posix().encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def test_the_twin_reads_back_as_the_sheet_rows(sheet: Path, twin: Path) -> None:
    expected = read_dataset("casme2", sheet=sheet, quiet=True).records
    got = read_dataset("casme2", root=twin, quiet=True).records
    fields = ("subject", "clip_id", "onset", "apex", "offset", "au_raw", "emotion")
    assert [tuple(getattr(r, f) for f in fields) for r in got] == [
        tuple(getattr(r, f) for f in fields) for r in expected
    ]
    by_key = {r.key: r for r in got}
    for record in expected:
        if record.key == "sub07/EP06_01":
            continue
        assert by_key[record.key].frame_numbers == tuple(range(record.onset, record.offset + 1))
    # the real folder of sub07/EP06_01 holds 56-91: the reader keeps the overlap with the sheet
    assert sorted(int(p.stem[7:]) for p in (twin / "Cropped/sub07/EP06_01").glob("*.jpg")) == list(
        range(56, 92)
    )
    assert by_key["sub07/EP06_01"].frame_numbers == tuple(range(56, 69))
    assert (twin / sheet.name).read_bytes() == sheet.read_bytes()  # the user's sheet, unchanged


def test_motion_follows_the_au_code(sheet: Path) -> None:
    plans = {
        p.record.key: p for p in plan_rows(list(read_dataset("casme2", sheet=sheet, quiet=True).records), 0)
    }
    assert [(t.number, t.side) for t in plans["sub01/EP19_05f"].motion_aus] == [(4, None), (10, "L")]
    unknown = plans["sub02/EP05_03"].motion_aus  # "?": a pattern of the row's emotion
    assert unknown in [parse_pattern(p) for p, _ in CASME2_CLASSES["others"][1]]
    assert plans["sub02/EP12_01f"].apex_index == (268 - 261) // 2  # apex "/": the middle frame
    face = subject_face(0, "casme2", 0, 64, raw=False)
    invisible = _apex_field(face, plans["sub07/EP06_01"].motion_aus, 2.0)  # AU31: no visible motion
    assert np.abs(invisible).max() == 0.0
    visible = _apex_field(face, plans["sub01/EP02_01f"].motion_aus, 1.7)
    assert np.hypot(visible[..., 0], visible[..., 1]).max() == pytest.approx(1.7, rel=1e-5)
    one_side = _apex_field(face, plans["sub02/EP12_01f"].motion_aus, 1.7)  # R12: the image's left half
    mid = round(face.geometry.cx)
    assert np.abs(one_side[:, mid + 2 :]).max() < 1e-3 < np.abs(one_side[:, : mid - 2]).max()


def test_draws_stay_in_their_ranges_and_motion_peaks_at_the_apex(twin: Path) -> None:
    from mer_contrast.synth.manifest import SynthManifest

    manifest = SynthManifest.load(twin / "manifest.json")
    assert len(manifest.clips) == len(ROWS) and set(manifest.draws) == {
        f"{c.subject}/{c.clip_id}" for c in manifest.clips
    }
    for draw in manifest.draws.values():
        assert SMALL.amplitudes[0] <= draw["amplitude"] <= SMALL.amplitudes[1]
    clip = next(c for c in manifest.clips if c.clip_id == "EP02_01f")
    assert clip.motion_apex == 52 and clip.aus == "12" and clip.motion_aus == "12"
    assert "folder_range:sub07/EP06_01" in manifest.quirks


def test_same_seed_same_bytes_other_seed_other_frames(sheet: Path, twin: Path, tmp_path: Path) -> None:
    again = render_from_sheet("casme2", sheet, tmp_path / "again", options=SMALL, workers=2)
    assert _digest(tmp_path / "again") == _digest(twin) and len(again.clips) == len(ROWS)
    other = TwinOptions(seed=1, crop_sizes=SMALL.crop_sizes, raw=False)
    render_from_sheet("casme2", sheet, tmp_path / "other", options=other, limit=2)
    first = "Cropped/sub01/EP02_01f/reg_img46.jpg"
    assert (tmp_path / "other" / first).read_bytes() != (twin / first).read_bytes()
    assert len(list((tmp_path / "other" / "Cropped").rglob("*.jpg"))) == 12 + 10  # --limit 2 rows


def test_raw_frames_hold_the_cropped_face(sheet: Path, tmp_path: Path) -> None:
    manifest = render_from_sheet(
        "casme2", sheet, tmp_path / "raw", options=TwinOptions(crop_sizes=(40, 40)), limit=1
    )
    x, y, w, h = manifest.face_boxes["01"]
    import cv2

    raw = cv2.imread(str(tmp_path / "raw/CASME2_RAW_selected/sub01/EP02_01f/img46.jpg"))
    crop = cv2.imread(str(tmp_path / "raw/Cropped/sub01/EP02_01f/reg_img46.jpg"))
    assert crop.shape[:2] == (40, 40) and raw.shape[0] > 40
    assert np.abs(raw[y : y + h, x : x + w].astype(int) - crop).mean() < 3  # JPEG twice


def test_cli_renders_and_reports_bad_input(
    sheet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--layout", "casme2", "--from-sheet", str(sheet), "--no-raw", "--crop-sizes", "40,44"]
    assert synth_main([*args, "--out", str(tmp_path / "cli"), "--limit", "1"]) == 0
    assert "rendered 1 rows of CASME2-coding-20140508.xlsx" in capsys.readouterr().out
    assert (
        synth_main(
            ["--layout", "casme2", "--from-sheet", str(tmp_path / "nope.xlsx"), "--out", str(tmp_path / "x")]
        )
        == 2
    )
    assert "nope.xlsx" in capsys.readouterr().err
    assert synth_main(["--layout", "mmew", "--from-sheet", str(sheet), "--out", str(tmp_path / "y")]) == 2
    assert "--layout casme2" in capsys.readouterr().err  # a CASME II sheet is refused as MMEW's
    with pytest.raises(SystemExit):
        synth_main([*args[:-1], "40", "--out", str(tmp_path / "z")])


def test_another_databases_sheet_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # MMEW's sheet has CASME II's column names and reads without error: only its clip names tell
    mmew = tmp_path / "MMEW_Micro_Exp.xlsx"
    sheets.write_mmew(mmew, [[1, "S01-01-001", 1, 3, 6, 12, "happiness", None]])
    args = ["--layout", "casme2", "--from-sheet", str(mmew), "--out", str(tmp_path / "o"), "--no-raw"]
    assert synth_main(args) == 2
    err = capsys.readouterr().err
    assert "MMEW_Micro_Exp.xlsx" in err and "CASME2-coding" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_subjects_face_does_not_depend_on_the_other_rows(twin: Path, tmp_path: Path) -> None:
    from mer_contrast.synth.manifest import SynthManifest

    only_sub02 = tmp_path / "CASME2-coding-20140508.xlsx"
    sheets.write_casme2(only_sub02, [row for row in ROWS if row[0] == "02"])
    alone = render_from_sheet("casme2", only_sub02, tmp_path / "o", options=SMALL)
    full = SynthManifest.load(twin / "manifest.json")
    # face box (placement and crop size) and oval come from the subject's number, not its position
    assert alone.face_boxes["02"] == full.face_boxes["02"]
    assert alone.face_ellipses["02"] == full.face_ellipses["02"]


def test_bad_limit_and_unofficial_sheet_name(sheet: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="limit"):
        render_from_sheet("casme2", sheet, tmp_path / "a", options=SMALL, limit=0)
    renamed = tmp_path / "my_codes.xlsx"
    renamed.write_bytes(sheet.read_bytes())
    manifest = render_from_sheet("casme2", renamed, tmp_path / "b", options=SMALL, limit=1)
    assert "sheet_name" in manifest.quirks and (tmp_path / "b" / "my_codes.xlsx").is_file()
    got = read_dataset("casme2", root=tmp_path / "b", sheet=tmp_path / "b" / "my_codes.xlsx", quiet=True)
    assert [r.key for r in got.records] == ["sub01/EP02_01f"]
