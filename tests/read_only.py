"""A folder that refuses writes, for tests that run as root (where ``chmod`` would not refuse them)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

#: ``os.open`` flags that write.
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT


def refuse_writes_in(
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int = errno.EROFS,
    reason: str = "Read-only file system",
) -> None:
    """Make ``os.open`` of a path below ``folder`` for writing raise ``PermissionError(code, reason)``."""
    real_open = os.open

    def refuse(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(str(folder)) and flags & WRITE_FLAGS:
            raise PermissionError(code, reason, str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
