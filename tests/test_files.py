"""The cache root and the atomic write every writer of the package goes through."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mer_contrast.files import atomic_write, cache_root


def test_cache_root_defaults_to_the_home_cache_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MER_CONTRAST_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "mer-contrast"  # what it was before platformdirs


def test_cache_root_is_the_environment_variable_when_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MER_CONTRAST_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "mine"


def test_every_cache_is_below_the_one_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mer_contrast import help_cache
    from mer_contrast.datamodules.mer import MERDataModule
    from mer_contrast.models.text_tower import default_store_dir

    monkeypatch.setenv("MER_CONTRAST_CACHE", str(tmp_path))
    assert default_store_dir() == tmp_path / "text"
    help_cache.save(["fit", "--help"], "text")
    assert [p.parent for p in tmp_path.glob("help/*.txt")] == [tmp_path / "help"]
    assert MERDataModule(root=str(tmp_path / "data")).cache.root == tmp_path


def test_atomic_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "done.json"
    target.write_text("old")
    with atomic_write(target, "w") as handle:
        handle.write("new ünïcode")
        assert target.read_text() == "old"  # nothing is seen before the block ends
    assert target.read_text(encoding="utf-8") == "new ünïcode"
    with atomic_write(target) as handle:
        handle.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done.json"]


def test_atomic_write_failure_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "loso.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="half-way"), atomic_write(target, "w") as handle:
        handle.write("half")
        raise RuntimeError("half-way")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loso.json"]


def test_atomic_write_gives_the_permissions_of_a_plain_open(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.csv", "w") as handle:
            handle.write("x")
        (tmp_path / "b.csv").write_text("x")
    finally:
        os.umask(old)
    modes = {stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("a.csv", "b.csv")}
    assert modes == {0o644}


def test_atomic_write_into_a_missing_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "gone" / "x.txt", "w") as handle:
        handle.write("x")
