"""Where the package keeps its files, and how it writes them so no reader sees half a file.

* :func:`cache_root`: the one folder of everything the package caches (prepared clips, sentence
  embeddings, ``fit --help`` text): ``$MER_CONTRAST_CACHE`` when set, else the user cache folder that
  ``platformdirs`` names for ``mer-contrast`` (on Linux ``$XDG_CACHE_HOME/mer-contrast``, which is
  ``~/.cache/mer-contrast`` unless ``XDG_CACHE_HOME`` is set).
* :func:`atomic_write`: a file is written under a temporary name in its own folder and moved over the
  target with ``os.replace``, so a reader (or a run resumed after a crash) finds the old file or the
  whole new one, never a half-written one. The temporary file gets the permissions a plain ``open``
  would give (the umask's), and is deleted when the write fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import platformdirs

__all__ = ["APP_NAME", "CACHE_ENV", "atomic_write", "cache_root"]

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
