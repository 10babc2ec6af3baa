"""The files and folders of each layout have the real databases' exact names (dataset notes §1-3)."""

from __future__ import annotations

import re

import cv2
import pytest

from mer_contrast.synth import MANIFEST_NAME, SynthManifest

from .conftest import root_of


def test_casme2_tree(tiny: dict[str, SynthManifest]) -> None:
    manifest = tiny["casme2"]
    root = root_of(manifest)
    assert (root / "CASME2-coding-20140508.xlsx").is_file()
    assert (root / MANIFEST_NAME).is_file()
    assert sorted(p.name for p in (root / "CASME2_RAW_selected").iterdir()) == ["sub01", "sub02"]
    for clip in manifest.clips:
        assert re.fullmatch(r"EP\d\d_\d\df?", clip.clip_id)
        raw = root / f"CASME2_RAW_selected/sub{clip.subject}/{clip.clip_id}"
        cropped = root / f"Cropped/sub{clip.subject}/{clip.clip_id}"
        assert raw.as_posix().endswith(clip.frame_folder)
        assert cropped.as_posix().endswith(str(clip.cropped_folder))
        assert clip.onset > 1  # original frame numbers, not 1..n
        assert (raw / f"img{clip.onset}.jpg").is_file() and (raw / f"img{clip.offset}.jpg").is_file()
        assert (cropped / f"reg_img{clip.onset}.jpg").is_file()
    ids = [(clip.subject, clip.clip_id) for clip in manifest.clips]
    assert len(set(ids)) == len(ids)


def test_casme2_raw_frames_are_larger_than_crops(tiny: dict[str, SynthManifest]) -> None:
    manifest = tiny["casme2"]
    clip = manifest.clips[0]
    raw = cv2.imread(
        str(root_of(manifest) / clip.frame_folder / f"img{clip.onset}.jpg"), cv2.IMREAD_UNCHANGED
    )
    crop = cv2.imread(
        str(root_of(manifest) / str(clip.cropped_folder) / f"reg_img{clip.onset}.jpg"), cv2.IMREAD_UNCHANGED
    )
    assert crop.shape == (manifest.size, manifest.size, 3)
    assert raw.shape == (manifest.frame_size[1], manifest.frame_size[0], 3)
    assert raw.shape[0] > crop.shape[0] and raw.shape[1] > raw.shape[0]
    x, y, w, h = manifest.face_boxes[clip.subject]
    assert 0 <= x and x + w <= raw.shape[1] and 0 <= y and y + h <= raw.shape[0]
    # the crop is the face box of the raw frame (up to JPEG differences)
    assert abs(raw[y : y + h, x : x + w].astype(float) - crop.astype(float)).mean() < 4


def test_casme2_stray_shortcut(tiny: dict[str, SynthManifest]) -> None:
    manifest = tiny["casme2"]
    stray = root_of(manifest) / "Cropped" / "sub01" / "Desktop - Shortcut.lnk"
    assert stray.is_file()
    assert manifest.quirks["stray_file"] == "Cropped/sub01/Desktop - Shortcut.lnk"


def test_mmew_tree(tiny: dict[str, SynthManifest]) -> None:
    manifest = tiny["mmew"]
    root = root_of(manifest)
    assert (root / "MMEW_Micro_Exp.xlsx").is_file()
    index = {"happiness": 1, "surprise": 2, "disgust": 3, "others": 4, "fear": 5, "sadness": 6, "anger": 7}
    for clip in manifest.clips:
        match = re.fullmatch(r"S(\d\d)-(\d\d)-(\d\d\d)", clip.clip_id)
        assert match and int(match.group(1)) == int(clip.subject)
        assert int(match.group(2)) == index[clip.emotion]
        folder = "repression" if clip.emotion == "others" else clip.emotion
        assert clip.frame_folder == f"Micro_Expression/{folder}/{clip.clip_id}"
        names = {p.name for p in (root / clip.frame_folder).iterdir()}
        assert names == {f"{n}.jpg" for n in range(1, clip.offset + 1)}
    assert not (root / "Micro_Expression" / "others").exists()


def test_mmew_others_live_in_repression_folder(twelve: dict[str, SynthManifest]) -> None:
    manifest = twelve["mmew"]
    others = [clip for clip in manifest.clips if clip.emotion == "others"]
    assert others, "the 12-clip MMEW fixture should hold an 'others' clip"
    assert all(clip.frame_folder.startswith("Micro_Expression/repression/") for clip in others)
    assert manifest.quirks["others_in_repression_folder"] == "Micro_Expression/repression"


def test_samm_tree_and_grayscale(tiny: dict[str, SynthManifest]) -> None:
    manifest = tiny["samm"]
    root = root_of(manifest)
    assert (root / "SAMM_Micro_FACS_Codes_v2.xlsx").is_file()
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["006", "007"]
    for clip in manifest.clips:
        assert re.fullmatch(rf"{clip.subject}_\d_\d+", clip.clip_id)
        folder = root / clip.subject / clip.clip_id
        assert clip.frame_folder == f"{clip.subject}/{clip.clip_id}"
        names = sorted(p.name for p in folder.iterdir())
        assert names == [f"{clip.subject}_{n:05d}.jpg" for n in range(clip.onset, clip.offset + 1)]
        assert clip.onset >= 500
    clip = manifest.clips[0]
    first = root / clip.frame_folder / f"{clip.subject}_{clip.onset:05d}.jpg"
    image = cv2.imread(str(first), cv2.IMREAD_UNCHANGED)
    assert image.ndim == 2  # single-channel JPEG, like the grayscale SAMM release
    assert manifest.grayscale


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_manifest_is_outside_frame_folders(tiny: dict[str, SynthManifest], layout: str) -> None:
    manifest = tiny[layout]
    for clip in manifest.clips:
        assert not (root_of(manifest) / clip.frame_folder / MANIFEST_NAME).exists()
