"""``mer-contrast fit --help`` from a cache: LightningCLI's help needs torch and Lightning loaded (5-15 s),
but its text changes only with the code it describes.

The key holds the Python, Lightning, jsonargparse and torch versions, the size and mtime of every
``mer_contrast`` source file, the terminal width, the command line and its ``--config`` files, so an
upgrade or an edit rebuilds the text. Entries live in ``$MER_CONTRAST_CACHE/help`` (else
``~/.cache/mer-contrast/help``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from mer_contrast.files import atomic_write, cache_root

__all__ = ["load", "save"]

DEPENDENCIES = ("lightning", "jsonargparse", "torch")


def _folder() -> Path:
    return cache_root() / "help"


def _key(argv: Sequence[str]) -> str:
    digest = hashlib.sha256()
    digest.update(repr((sys.version, list(argv), shutil.get_terminal_size().columns)).encode())
    for name in DEPENDENCIES:
        try:
            digest.update(f"{name}={metadata.version(name)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none;".encode())
    for arg in argv:  # the --config files: their values are the defaults the help shows
        if os.path.isfile(arg):
            digest.update(Path(arg).read_bytes())
    package = Path(__file__).resolve().parents[1]  # the whole package, not only cli/
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:24]


def load(argv: Sequence[str]) -> str | None:
    """The cached help text of ``argv`` (e.g. ``["fit", "--help"]``), or None."""
    try:
        return (_folder() / f"{_key(argv)}.txt").read_text(encoding="utf-8")
    except OSError:
        return None


def save(argv: Sequence[str], text: str) -> None:
    """Store ``text``; an unwritable cache only costs the next call its speed."""
    try:
        folder = _folder()
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(folder / f"{_key(argv)}.txt", "w") as handle:  # readers see all of it or none
            handle.write(text)
    except OSError:
        pass
