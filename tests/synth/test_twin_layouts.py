"""Twins of SAMM, MMEW, CAS(ME)^3, SMIC-HS and the MEGC2019 composite, read back by the real readers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import pytest

from mer_contrast.cli.synth import main as synth_main
from mer_contrast.datasets import READERS, read_dataset
from mer_contrast.synth import sheets
from mer_contrast.synth.manifest import SynthManifest
from mer_contrast.synth.motion import AUToken
from mer_contrast.synth.sheet_twin import TwinOptions, render_from_sheet
from mer_contrast.synth.twin_layouts import PROFILES
from mer_contrast.synth.twin_smic import smic_au_table

SMALL = TwinOptions(crop_sizes=(40, 48))
HAS_SMIC = "smic" in READERS
needs_smic = pytest.mark.skipif(not HAS_SMIC, reason="the SMIC-HS reader is not there yet")

# Subject, Filename, Inducement, Onset, Apex, Offset, Duration, Micro, Action Units, Emotion, Objective, Notes
SAMM_ROWS: list[list[sheets.Cell]] = [
    ["006", "006_1_2", 1, 5562, 5565, 5569, None, "Micro - 1/2", "4+7", "Anger", 3, None],
    ["006", "006_1_3", 1, 3912, 3948, 3916, None, "Micro - 1/2", "R12", "Happiness", 1, None],  # bad apex
    ["011", "011_2_1", 2, 20, 22, 26, None, "Micro - 1/2", "1+2", "Surprise", 6, None],
]
# Subject, Filename, Onset, Apex, Offset, Action Units, Estimated Emotion, remarks
MMEW_ROWS: list[list[sheets.Cell]] = [
    [1, "S01-01-001", 1, 3, 6, "6+12", "happiness", None],
    [1, "S01-04-001", 1, 2, 5, 4, "others", None],
    [2, "S02-02-001", 1, 3, 4, "1+2", "surprise", None],
]
# Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion (all text in the real sheet)
CASME3_ROWS: list[list[sheets.Cell]] = [
    ["spNO.1", "a", 355, 357, 360, "5", "II", "others"],
    ["spNO.1", "a", 500, 502, 504, "4+7", "I", "disgust"],  # second ME of video a -> clip a_2
    ["spNO.3", "b", 10, 11, 14, "12", "I", "happy"],
]
# Subject, Filename, -, Onset, Apex, Offset, -, Action Units, Estimated Emotion
CASME2_ROWS: list[list[sheets.Cell]] = [
    ["01", "EP02_01f", None, 46, 48, 50, None, 12, "happiness"],
    ["01", "EP19_05f", None, 396, 398, 400, None, "4+L10", "disgust"],
    ["02", "EP11_01", None, 10, 12, 14, None, "1+2", "surprise"],
]
MEGC_ROWS = [
    ("casme2", "sub01", "EP02_01f", 1),
    ("casme2", "sub02", "EP11_01", 2),
    ("samm", "6", "006_1_2", 0),
    ("smic", "s01", "s01_ne_01", 0),
    ("smic", "s01", "s01_po_01", 1),
    ("smic", "s12", "s12_sur_01", 2),
]


def _digest(root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        sha.update(path.relative_to(root).as_posix().encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with every tiny sheet under its official name (the composite's csv among them)."""
    folder = tmp_path_factory.mktemp("sheets")
    sheets.write_samm(folder / "SAMM_Micro_FACS_Codes_v2.xlsx", SAMM_ROWS)
    sheets.write_mmew(folder / "MMEW_Micro_Exp.xlsx", MMEW_ROWS)
    sheets.write_casme3(folder / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", CASME3_ROWS)
    sheets.write_casme2(folder / "CASME2-coding-20140508.xlsx", CASME2_ROWS)
    sheets.write_megc2019(folder / "combined_3class_gt.csv", MEGC_ROWS)
    return folder


def test_samm_twin_grayscale_frames_in_the_released_layout(data: Path, tmp_path: Path) -> None:
    sheet = data / "SAMM_Micro_FACS_Codes_v2.xlsx"
    manifest = render_from_sheet("samm", sheet, tmp_path / "samm", options=SMALL)
    got = read_dataset("samm", root=tmp_path / "samm", quiet=True)
    assert not got.skipped
    assert [(r.subject, r.clip_id, r.emotion, r.au_raw) for r in got.records] == [
        ("006", "006_1_2", "anger", "4+7"),
        ("006", "006_1_3", "happiness", "R12"),
        ("011", "011_2_1", "surprise", "1+2"),
    ]
    for record in got.records:
        assert record.frame_numbers == tuple(range(record.onset, record.offset + 1))
    assert (tmp_path / "samm/006/006_1_2/006_05562.jpg").is_file()
    assert (tmp_path / "samm/011/011_2_1/011_00020.jpg").is_file()  # 5-digit frame numbers
    frame = cv2.imread(str(tmp_path / "samm/006/006_1_2/006_05562.jpg"), cv2.IMREAD_UNCHANGED)
    _, _, w, h = manifest.face_boxes["006"]
    assert frame.ndim == 2 and frame.shape[0] > h and 40 <= w <= 48  # uncropped grayscale canvas
    assert (tmp_path / "samm" / sheet.name).read_bytes() == sheet.read_bytes()  # 13-row preamble kept
    assert manifest.grayscale and manifest.fps == 200
    bad = next(c for c in manifest.clips if c.clip_id == "006_1_3")
    assert bad.apex is None and bad.motion_apex == 3914  # apex outside the clip: the middle frame


def test_mmew_twin_231px_crops_and_others_in_repression(data: Path, tmp_path: Path) -> None:
    manifest = render_from_sheet("mmew", data / "MMEW_Micro_Exp.xlsx", tmp_path / "mmew")  # own sizes
    got = read_dataset("mmew", root=tmp_path / "mmew", quiet=True)
    assert not got.skipped
    assert [(r.subject, r.clip_id, r.emotion) for r in got.records] == [
        ("S01", "S01-01-001", "happiness"),
        ("S01", "S01-04-001", "others"),
        ("S02", "S02-02-001", "surprise"),
    ]
    assert [r.frame_numbers for r in got.records] == [tuple(range(1, 7)), tuple(range(1, 6)), (1, 2, 3, 4)]
    root = tmp_path / "mmew/Micro_Expression"
    assert sorted(p.name for p in root.iterdir()) == ["happiness", "repression", "surprise"]
    assert (root / "repression/S01-04-001/5.jpg").is_file()
    assert cv2.imread(str(root / "happiness/S01-01-001/1.jpg")).shape == (231, 231, 3)
    assert manifest.face_boxes["S01"] == (0, 0, 231, 231) and manifest.fps == 90
    assert manifest.frame_size == (231, 231) and not manifest.grayscale


def test_casme3_twin_cuts_mes_from_whole_video_folders(data: Path, tmp_path: Path) -> None:
    sheet = data / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
    manifest = render_from_sheet("casme3", sheet, tmp_path / "c3", options=SMALL)
    got = read_dataset("casme3", root=tmp_path / "c3", quiet=True)
    assert not got.skipped and not got.warnings
    assert [(r.subject, r.clip_id, r.emotion, r.onset, r.offset) for r in got.records] == [
        ("spNO.1", "a", "others", 355, 360),
        ("spNO.1", "a_2", "disgust", 500, 504),
        ("spNO.3", "b", "happy", 10, 14),
    ]
    for record in got.records:
        assert record.frame_numbers == tuple(range(record.onset, record.offset + 1))
    frame = cv2.imread(str(tmp_path / "c3/part_A/spNO.1/a/color/355.jpg"))
    assert frame.ndim == 3 and frame.shape[0] > manifest.face_boxes["spNO.1"][3]  # raw colour canvas
    assert manifest.fps == 30 and manifest.clips[1].frame_folder == "part_A/spNO.1/a/color"


@pytest.fixture(scope="module")
def smic_twin(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("smic") / "smic"
    render_from_sheet("smic", data / "combined_3class_gt.csv", out, options=TwinOptions(crop_sizes=(40, 44)))
    return out


def test_smic_twin_writes_the_release_tree(smic_twin: Path) -> None:
    hs = smic_twin / "SMIC_all_cropped/HS"
    assert sorted(p.name for p in hs.iterdir()) == ["s1", "s12"]  # unpadded, as released
    clips = sorted(p.relative_to(hs).as_posix() for p in hs.glob("*/micro/*/*"))
    assert clips == [
        "s1/micro/negative/s1_ne_01",
        "s1/micro/positive/s1_po_01",
        "s12/micro/surprise/s12_sur_01",
    ]
    manifest = SynthManifest.load(smic_twin / "manifest.json")
    assert manifest.fps == 100 and "CASME2-coding-20140508.xlsx" in manifest.quirks["smic_aus"]
    for clip in manifest.clips:
        files = sorted((smic_twin / clip.frame_folder).iterdir())
        assert all(f.suffix == ".bmp" and f.name.startswith("reg_image") for f in files)
        assert 11 <= len(files) == clip.frames <= 50 and clip.frame_range[0] >= 10_000
        position = (clip.motion_apex - clip.frame_range[0]) / (clip.frames - 1)
        assert 0.35 - 0.05 <= position <= 0.65 + 0.05 and clip.apex is None and clip.aus == ""
        image = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
        assert image.ndim == 3 and 40 <= image.shape[0] == image.shape[1] <= 44


@needs_smic
def test_smic_twin_reads_back(smic_twin: Path) -> None:
    got = read_dataset("smic", root=smic_twin, quiet=True)
    assert [(r.subject, r.clip_id, r.emotion) for r in got.records] == [
        ("s01", "s01_ne_01", "negative"),
        ("s01", "s01_po_01", "positive"),
        ("s12", "s12_sur_01", "surprise"),
    ]


def test_smic_aus_come_from_the_sheets_beside_the_csv(data: Path, tmp_path: Path) -> None:
    table, source = smic_au_table(data)
    assert "CASME2-coding-20140508.xlsx" in source and "SAMM_Micro_FACS_Codes_v2.xlsx" in source
    # positive: CASME II happiness "12" and SAMM Happiness "R12"; surprise: "1+2" twice
    assert sorted(str(p) for p, _ in table["positive"]) == sorted(
        [str((AUToken(12),)), str((AUToken(12, "R"),))]
    )
    assert table["surprise"] == [((AUToken(1), AUToken(2)), 2.0)]
    fallback, why = smic_au_table(tmp_path)  # no sheets: the tables of synth/patterns.py
    assert "patterns.py" in why and all(fallback[c] for c in ("negative", "positive", "surprise"))


def test_composite_has_all_three_parts(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "megc"
    manifest = render_from_sheet("megc2019", data / "combined_3class_gt.csv", out, options=SMALL)
    assert (out / "combined_3class_gt.csv").read_bytes() == (data / "combined_3class_gt.csv").read_bytes()
    assert manifest.parts == {"casme2": "CASME2", "samm": "SAMM", "smic": "SMIC"}
    for part in ("CASME2", "SAMM", "SMIC"):
        assert (out / part / "manifest.json").is_file()
    assert not (out / "CASME2/Cropped/sub01/EP19_05f").exists()  # only the rows the csv names
    assert (out / "SMIC/SMIC_all_cropped/HS/s12/micro/surprise/s12_sur_01").is_dir()
    assert [(c.subject, c.clip_id, c.emotion) for c in manifest.clips] == [
        ("casme2/sub01", "EP02_01f", "positive"),
        ("casme2/sub02", "EP11_01", "surprise"),
        ("samm/006", "006_1_2", "negative"),
        ("smic/s01", "s01_ne_01", "negative"),
        ("smic/s01", "s01_po_01", "positive"),
        ("smic/s12", "s12_sur_01", "surprise"),
    ]
    # each part's clip is the standalone twin's clip (same draws, same bytes)
    render_from_sheet("casme2", data / "CASME2-coding-20140508.xlsx", tmp_path / "c2", options=SMALL)
    frame = "Cropped/sub02/EP11_01/reg_img12.jpg"
    assert (out / "CASME2" / frame).read_bytes() == (tmp_path / "c2" / frame).read_bytes()
    got = read_dataset("megc2019", root=out, quiet=True)
    expected = 6 if HAS_SMIC else 3
    assert len(got.records) == expected and all(r.frames for r in got.records)
    if HAS_SMIC:
        assert len({r.subject for r in got.records}) == 5


def test_composite_names_the_missing_sheet(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "combined_3class_gt.csv").write_bytes((data / "combined_3class_gt.csv").read_bytes())
    (alone / "CASME2-coding-20140508.xlsx").write_bytes((data / "CASME2-coding-20140508.xlsx").read_bytes())
    args = ["--layout", "megc2019", "--from-sheet", str(alone / "combined_3class_gt.csv")]
    assert synth_main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "SAMM_Micro_FACS_Codes_v2.xlsx" in err and "\n" not in err
    assert not (tmp_path / "o").exists()  # refused before writing anything


@pytest.mark.parametrize(
    ("layout", "sheet", "right"),
    [
        ("mmew", "SAMM_Micro_FACS_Codes_v2.xlsx", "samm"),
        ("samm", "MMEW_Micro_Exp.xlsx", "mmew"),
        ("casme2", "MMEW_Micro_Exp.xlsx", "mmew"),
        ("casme3", "CASME2-coding-20140508.xlsx", "casme2"),
        ("samm", "combined_3class_gt.csv", "megc2019"),
    ],
)
def test_another_databases_sheet_is_refused_in_one_line(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str, sheet: str, right: str
) -> None:
    args = ["--layout", layout, "--from-sheet", str(data / sheet), "--out", str(tmp_path / "o")]
    assert synth_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and sheet in err and f"--layout {right}" in err, err


def test_twin_only_layouts_need_a_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for layout in ("casme3", "smic", "megc2019"):
        with pytest.raises(SystemExit) as exit_status:
            synth_main(["--layout", layout, "--out", str(tmp_path / layout)])
        err = capsys.readouterr().err.strip()
        assert exit_status.value.code == 2
        assert "--from-sheet" in err and "\n" not in err


def test_same_seed_same_bytes(data: Path, smic_twin: Path, tmp_path: Path) -> None:
    sheet = data / "SAMM_Micro_FACS_Codes_v2.xlsx"
    render_from_sheet("samm", sheet, tmp_path / "a", options=SMALL)
    render_from_sheet("samm", sheet, tmp_path / "b", options=SMALL, workers=2)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    other = TwinOptions(seed=1, crop_sizes=(40, 44))
    render_from_sheet(
        "smic", data / "combined_3class_gt.csv", tmp_path / "s", options=TwinOptions(crop_sizes=(40, 44))
    )
    render_from_sheet("smic", data / "combined_3class_gt.csv", tmp_path / "t", options=other)
    assert _digest(tmp_path / "s") == _digest(smic_twin) != _digest(tmp_path / "t")


def test_profiles_and_cli_defaults(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert {name: (p.fps, p.grayscale, p.raw) for name, p in PROFILES.items()} == {
        "casme2": (200, False, True),
        "samm": (200, True, True),
        "mmew": (90, False, False),
        "casme3": (30, False, True),
        "smic": (100, False, False),
    }
    args = ["--layout", "samm", "--from-sheet", str(data / "SAMM_Micro_FACS_Codes_v2.xlsx"), "--limit", "1"]
    assert synth_main([*args, "--out", str(tmp_path / "cli"), "--no-raw"]) == 0
    assert "rendered 1 rows" in capsys.readouterr().out
    manifest = SynthManifest.load(tmp_path / "cli/manifest.json")
    assert 180 <= manifest.size <= 260 and manifest.frame_size == (
        manifest.size,
        manifest.size,
    )  # SAMM's sizes
