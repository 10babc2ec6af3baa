"""The files the package reads and writes: config files, its cache, and writes no reader sees half of.

* :func:`load_config`, :func:`config_texts`, :func:`section_file`, :func:`find_config`: config files
  whose sections are files of their own (``model: model/compact3d.yaml``), read as jsonargparse reads
  them (a section path is relative to the folder of the config that names it), and the shipped configs.
  The package's own readers (the pre-check of keys, the LOSO config hash, ``MERContrastModule.from_config``)
  follow those references through here. This module imports only ``yaml`` and ``platformdirs``, so the
  early checks stay fast.

* :func:`cache_root`: the one folder of everything the package caches (prepared clips, sentence
  embeddings, ``fit --help`` text): ``$MER_CONTRAST_CACHE`` when set, else the user cache folder that
  ``platformdirs`` names for ``mer-contrast`` (on Linux ``$XDG_CACHE_HOME/mer-contrast``, which is
  ``~/.cache/mer-contrast`` unless ``XDG_CACHE_HOME`` is set).
* :func:`atomic_write`: a file is written under a temporary name in its own folder and moved over the
  target with ``os.replace``, so a reader (or a run resumed after a crash) finds the old file or the
  whole new one, never a half-written one. The temporary file gets the permissions a plain ``open``
  would give (the umask's), and is deleted when the write fails.
* :func:`folder_lock`: one process at a time writes a run folder (``loso --out``, ``report``, ``bench
  suite --out``). The lock is ``filelock``'s (an OS lock, released on every exit, even a crash); its
  companion file ``<lock>.owner`` says who holds it (pid, host, start time, command), so a second run
  fails at once with :class:`FolderBusy` naming them. A folder that is a file or cannot be written is
  :class:`FolderUnusable`, one line naming it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shlex
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import platformdirs
import yaml

__all__ = [
    "APP_NAME",
    "CACHE_ENV",
    "LOCK_FILE",
    "SECTIONS",
    "FolderBusy",
    "FolderUnusable",
    "atomic_write",
    "cache_root",
    "config_texts",
    "find_config",
    "folder_lock",
    "load_config",
    "lock_holder",
    "running_command",
    "section_file",
    "unusable_folder",
]

APP_NAME = "mer-contrast"
CACHE_ENV = "MER_CONTRAST_CACHE"
TEMP_SUFFIX = ".tmp"


def cache_root() -> Path:
    """``$MER_CONTRAST_CACHE``, else the user cache folder of ``mer-contrast`` (``~/.cache/mer-contrast``)."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured)
    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: Literal["wb", "w"] = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` (``.<name>.<pid>.<random>.tmp``); replace ``path`` by it
    when the ``with`` block ends without an error, else delete it and let the error through.

    ``mode="w"`` writes UTF-8 text. Raises OSError when the folder cannot be written.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, mode, encoding="utf-8" if mode == "w" else None) as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


LOCK_FILE = ".lock"
OWNER_SUFFIX = ".owner"


class FolderBusy(RuntimeError):
    """Another process holds a folder's lock; ``str(err)`` is one line naming it and what to do."""


class FolderUnusable(ValueError):
    """An output folder that is a file or cannot be written; ``str(err)`` is one line naming it."""


def running_command() -> str:
    """This process's command line as it was typed (``mer-contrast loso --config ...``)."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return shlex.join([APP_NAME if program in ("__main__.py", APP_NAME) else program, *sys.argv[1:]])


def lock_holder(lock_path: Path | str) -> str:
    """Who holds ``lock_path``, from its companion file: pid, host, start time and command."""
    owner_path = Path(f"{lock_path}{OWNER_SUFFIX}")
    try:
        owner = json.loads(owner_path.read_text())
        return f"pid {owner['pid']} on {owner['host']} (started {owner['started']}: {owner['command']})"
    except (OSError, ValueError, KeyError, TypeError):
        return f"another process (it has not written {owner_path.name} yet)"


def unusable_folder(folder: Path, error: OSError, fix: str = "") -> FolderUnusable:
    """The one-line error of a folder that ``error`` stopped from being made or written."""
    what = (
        "is a file, not a folder"
        if isinstance(error, (FileExistsError, NotADirectoryError))
        else (f"cannot be written ({error.strerror or error})")
    )
    return FolderUnusable(f"{folder}: {what}" + (f"; {fix}" if fix else ""))


@contextlib.contextmanager
def folder_lock(
    folder: Path | str,
    *,
    lock_name: str = LOCK_FILE,
    busy_fix: str = "wait for it to end (or stop it), or use another folder",
    unusable_fix: str = "use a folder you can write to",
    command: str | None = None,
) -> Iterator[Path]:
    """Hold ``folder/lock_name`` (the folder is created when missing) for the ``with`` block.

    Fails at once, never waits: :class:`FolderBusy` (``"<folder> is in use by pid ... ; <busy_fix>"``)
    when another process holds it, :class:`FolderUnusable` (``"<folder>: is a file ...; <unusable_fix>"``)
    when the folder is a file or cannot be written. The companion file ``<lock>.owner`` records this
    process (``command``: default, the command line) while it holds the lock. Yields the lock's path.
    """
    import filelock

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise unusable_folder(folder, err, unusable_fix) from None
    lock_path = folder / lock_name
    lock = filelock.FileLock(lock_path, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise FolderBusy(f"{folder} is in use by {lock_holder(lock_path)}; {busy_fix}") from None
    except OSError as err:
        raise unusable_folder(folder, err, unusable_fix) from None
    owner_path = Path(f"{lock_path}{OWNER_SUFFIX}")
    try:
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "command": command or running_command(),
        }
        try:
            with atomic_write(owner_path, "w") as handle:
                handle.write(json.dumps(owner) + "\n")
        except OSError as err:
            raise unusable_folder(folder, err, unusable_fix) from None
        yield lock_path
    finally:
        with contextlib.suppress(OSError):
            owner_path.unlink()  # before the lock is let go: the next holder writes its own
        lock.release()


SECTIONS = ("trainer", "model", "data")


def find_config(name: str) -> Path:
    """A shipped config by name (``demo.yaml``, ``model/compact3d.yaml``): the copy a wheel installs as
    package data (``mer_contrast/configs``, from the repository's ``configs/``), else ``configs/<name>``
    of the source checkout (an editable install has no packaged copy)."""
    from importlib import resources

    shipped = Path(str(resources.files("mer_contrast") / "configs" / name))
    checkout = Path(__file__).resolve().parents[1] / "configs" / name
    for candidate in (shipped, checkout):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"configs/{name} not found: not packaged with mer_contrast nor in a source checkout; pass --config"
    )


def section_file(value: Any, config: str | Path) -> Path | None:
    """The file a section names (``model: model/x.yaml``), relative to ``config``'s folder; else None."""
    if not isinstance(value, str) or not value.endswith((".yaml", ".yml")):
        return None
    path = Path(config).parent / value
    return path if path.is_file() else None


def load_config(path: str | Path) -> dict[str, Any]:
    """A config file's YAML mapping with every section that names a file replaced by that file's content."""
    path = Path(path)
    document = yaml.safe_load(path.read_text()) or {}
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a YAML mapping of keys, got {type(document).__name__}")
    for key in SECTIONS:
        part = section_file(document.get(key), path)
        if part is not None:
            document[key] = yaml.safe_load(part.read_text()) or {}
    return document


def config_texts(path: str | Path, ignore: tuple[str, ...] = ()) -> list[str]:
    """The text of a config file and of each section file it names (what a run's result depends on).

    A file holding one of the ``ignore`` keys is represented by its mapping without them (sorted YAML),
    so editing those keys does not change the texts; any other file by its text as written.
    """
    path = Path(path)
    text = path.read_text()
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        return [text]
    if any(key in document for key in ignore):
        text = yaml.safe_dump({k: v for k, v in document.items() if k not in ignore}, sort_keys=True)
    return [text, *(part.read_text() for key in SECTIONS if (part := section_file(document.get(key), path)))]
