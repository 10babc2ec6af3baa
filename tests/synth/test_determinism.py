"""Same seed, same bytes (sheet, frames, manifest); another seed, another dataset."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mer_contrast.synth import TINY, SynthManifest, generate


def _hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_same_seed_same_bytes(tiny: dict[str, SynthManifest], tmp_path: Path, layout: str) -> None:
    again = generate(layout, tmp_path / layout, **TINY)  # the fixture used seed 0 as well
    first, second = _hashes(Path(tiny[layout].root)), _hashes(tmp_path / layout)
    assert first.keys() == second.keys()
    assert first == second
    assert again.clips == tiny[layout].clips


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_other_seed_other_dataset(tiny: dict[str, SynthManifest], tmp_path: Path, layout: str) -> None:
    other = generate(layout, tmp_path / layout, seed=1, **TINY)
    base = tiny[layout]
    assert other.clips != base.clips
    assert other.sheet_path.read_bytes() != base.sheet_path.read_bytes()
    # new identities and motion too: no frame file is shared between the two datasets
    base_frames = {h for name, h in _hashes(Path(base.root)).items() if name.endswith(".jpg")}
    other_frames = {h for name, h in _hashes(tmp_path / layout).items() if name.endswith(".jpg")}
    assert base_frames and not base_frames & other_frames
    assert other.face_ellipses != base.face_ellipses


def test_layouts_of_one_seed_are_independent(tiny: dict[str, SynthManifest]) -> None:
    assert tiny["casme2"].face_ellipses["01"] != tiny["mmew"].face_ellipses["1"]
