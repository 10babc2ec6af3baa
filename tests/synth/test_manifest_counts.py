"""The manifest says exactly what is on disk and in the sheet."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from mer_contrast.synth import MANIFEST_NAME, SynthManifest

SUBJECT_COLUMN, EMOTION_COLUMN = 1, {"casme2": 9, "mmew": 7, "samm": 10}
FIRST_ROW = {"casme2": 2, "mmew": 2, "samm": 15}


def _numbers(folder: Path) -> list[int]:
    return sorted(int(re.search(r"(\d+)$", p.stem).group(1)) for p in folder.iterdir() if p.suffix == ".jpg")  # type: ignore[union-attr]


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_frames_on_disk_match_manifest(twelve: dict[str, SynthManifest], layout: str) -> None:
    manifest = twelve[layout]
    root = Path(manifest.root)
    for clip in manifest.clips:
        first, last = clip.frame_range
        assert _numbers(root / clip.frame_folder) == list(range(first, last + 1))
        assert clip.frame_range == (clip.onset, clip.offset)
        assert clip.onset <= clip.motion_apex <= clip.offset
        if clip.cropped_folder is not None:
            assert clip.cropped_range is not None
            assert _numbers(root / clip.cropped_folder) == list(
                range(clip.cropped_range[0], clip.cropped_range[1] + 1)
            )
    jpgs = sum(1 for _ in root.rglob("*.jpg"))
    expected = sum(c.frames for c in manifest.clips)
    if layout == "casme2":
        expected += sum(
            c.cropped_range[1] - c.cropped_range[0] + 1 for c in manifest.clips if c.cropped_range
        )
    assert jpgs == expected  # no stray or missing frames anywhere


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_counts_match_sheet(twelve: dict[str, SynthManifest], layout: str) -> None:
    manifest = twelve[layout]
    ws = openpyxl.load_workbook(manifest.sheet_path).worksheets[0]
    rows = range(FIRST_ROW[layout], ws.max_row + 1)
    emotions = Counter(ws.cell(r, EMOTION_COLUMN[layout]).value for r in rows)
    subjects = Counter(str(ws.cell(r, SUBJECT_COLUMN).value) for r in rows)
    assert dict(emotions) == manifest.class_counts
    assert dict(subjects) == manifest.subject_counts
    assert sum(manifest.class_counts.values()) == len(manifest.clips) == 12
    assert set(manifest.subject_counts.values()) == {4}


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_manifest_json_round_trip(tiny: dict[str, SynthManifest], layout: str) -> None:
    manifest = tiny[layout]
    loaded = SynthManifest.load(Path(manifest.root) / MANIFEST_NAME)
    assert loaded.clips == manifest.clips
    assert loaded.quirks == manifest.quirks
    assert loaded.face_boxes == manifest.face_boxes and loaded.face_ellipses == manifest.face_ellipses
    assert loaded.class_counts == manifest.class_counts
    assert Path(loaded.root) == Path(manifest.root).resolve()
    text = (Path(manifest.root) / MANIFEST_NAME).read_text()
    assert str(Path(manifest.root)) not in text  # no absolute paths: the dataset can move


def test_bad_manifest_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_NAME
    path.write_text("{}")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        SynthManifest.load(path)
