"""Errors of the clip pipeline.

Every failure to turn a record into tensors is a :class:`ClipError` that names the offending file
(or clip) and says how to fix it, in one line, so a precompute over hundreds of clips can list its
failures without tracebacks.
"""

from __future__ import annotations

import warnings
from pathlib import Path


class ClipError(Exception):
    """A clip cannot be prepared; ``str(err)`` is ``"<path>: <reason>"`` on one line.

    Args:
        path: the file, folder or clip key at fault.
        reason: what is wrong and how to fix it.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(str(reason).split())  # one line, whatever the source message held
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self) -> tuple[type[ClipError], tuple[str, str]]:
        # Keep (path, reason) when the error crosses a process boundary (ProcessPoolExecutor).
        return (type(self), (self.path, self.reason))


class EnvironmentFault(RuntimeError):
    """The machine, not the data, stops the run: one line naming the place and the fix.

    A cache folder that cannot be created or written, a full disk, worker processes that died. Unlike
    a :class:`ClipError` it is never collected per clip: every later clip would fail the same way, and
    training on what is left would hide the fault behind a message about missing subjects.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def find_fault(error: BaseException | None) -> EnvironmentFault | None:
    """The :class:`EnvironmentFault` behind ``error``, if any.

    jsonargparse wraps what a constructor raises (a datamodule whose cache folder cannot be made) in
    its own errors; the fault is then in the chain of causes, where this finds it.
    """
    found = find_cause(error, (EnvironmentFault,))
    return found if isinstance(found, EnvironmentFault) else None


def find_cause(error: BaseException | None, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of one of ``kinds`` in ``error``'s chain of causes (``error`` included)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kinds):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def warn_once(seen: set[str], clip_name: str, message: str, category: type[Warning]) -> None:
    """Warn ``"<clip_name>: <message>"`` the first time ``clip_name`` is not in ``seen`` (then add it):
    a clip prepared again (each fold, each cache fill) is named once per process."""
    if clip_name in seen:
        return
    seen.add(clip_name)
    warnings.warn(f"{clip_name}: {message}", category, stacklevel=3)
