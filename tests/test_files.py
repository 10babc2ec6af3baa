"""The cache root, the atomic write every writer of the package goes through, and the folder lock."""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import time
from pathlib import Path

import pytest
from lock_holder import hold_in_another_process
from read_only import refuse_writes_in

from mer_contrast.files import LOCK_FILE, FolderBusy, FolderUnusable, atomic_write, cache_root, folder_lock


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
    from mer_contrast.cli import help_cache
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


def test_a_held_folder_is_refused_at_once_naming_its_holder(tmp_path: Path) -> None:
    holder = hold_in_another_process(tmp_path / "run", f"mer-contrast loso --out {tmp_path / 'run'}")
    try:
        started = time.monotonic()
        with (
            pytest.raises(FolderBusy) as refused,
            folder_lock(tmp_path / "run", busy_fix="pass another --out"),
        ):
            pass
        assert time.monotonic() - started < 1.0
        line = str(refused.value)
        assert line.startswith(f"{tmp_path / 'run'} is in use by pid {holder.pid} on {socket.gethostname()}")
        assert f"mer-contrast loso --out {tmp_path / 'run'}" in line and "UTC" in line
        assert line.endswith("; pass another --out") and "\n" not in line
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(tmp_path / "run"):  # a killed holder's lock is free again
        owner = json.loads((tmp_path / "run" / f"{LOCK_FILE}.owner").read_text())
        assert owner["pid"] == os.getpid()


def test_the_lock_is_let_go_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), folder_lock(tmp_path):
        raise RuntimeError("boom")
    assert not (tmp_path / f"{LOCK_FILE}.owner").exists()
    with folder_lock(tmp_path):
        pass


def test_a_file_or_an_unwritable_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(FolderUnusable, match=r"file: is a file, not a folder; pass another --out$"):
        with folder_lock(tmp_path / "file", unusable_fix="pass another --out"):
            pass
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    refuse_writes_in(read_only, monkeypatch, errno.EACCES, "Permission denied")
    with pytest.raises(FolderUnusable, match=r"read_only: cannot be written \(Permission denied\)$"):
        with folder_lock(read_only, unusable_fix=""):
            pass
