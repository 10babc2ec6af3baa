"""Typed records shared by every reader, the clip pipeline and the DataModule.

A reader turns one database's annotation sheet (and, optionally, its frame folders) into a
:class:`ReadResult`: the usable :class:`SampleRecord` s plus every row it skipped and why. Nothing
here knows about a particular database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Side = Literal["L", "R"]
DatasetName = Literal["casme2", "mmew", "samm", "casme3", "megc2019", "smic"]
_NUMBERS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[list[str | int], str]:
    """Sort key of the names of subjects, clips and folders: numbers by value, the rest ignoring case.

    ``sub2`` < ``sub10``, ``spNO.9`` < ``spNO.10``, ``006`` < ``037``, ``S2`` < ``s10``; names equal but
    for zero padding or case are ordered by their exact text (``s01`` < ``s1``, ``S1`` < ``s1``), so the
    order never depends on the order the names came in.
    """
    parts = _NUMBERS.split(name)  # text, number, text, ...: a number is always at an odd index
    return [int(part) if index % 2 else part.lower() for index, part in enumerate(parts)], name


@dataclass(frozen=True)
class ActionUnit:
    """One FACS action unit as coded in a sheet, e.g. ``L12`` or ``4B`` or ``A14``.

    Attributes:
        number: FACS AU number (12 for "lip corner puller").
        side: "L"/"R" for a unilateral AU, None when bilateral or unstated.
        intensity: FACS intensity letter "A" (trace) .. "E" (maximum), None when not coded.
        modifier: other coded qualifier: "A" asymmetric (SAMM), "T"/"B" top/bottom lip, else None.
        uncertain: True for alternatives coded with "or" / "/" (SAMM), or "?" continuation marks.
    """

    number: int
    side: Side | None = None
    intensity: str | None = None
    modifier: str | None = None
    uncertain: bool = False


@dataclass(frozen=True)
class SampleRecord:
    """One micro-expression clip as annotated, independent of the database it came from.

    ``frames`` are the image files of the clip in temporal order (onset..offset as found on disk),
    empty when the sheet was read without its frames. ``video`` is set instead for video-file
    datasets. Frame numbers in ``onset``/``apex``/``offset`` are the sheet's own numbering.
    """

    dataset: str
    subject: str
    clip_id: str
    onset: int
    apex: int | None
    offset: int
    aus: tuple[ActionUnit, ...]
    au_raw: str
    emotion: str
    frames: tuple[Path, ...] = ()
    frame_numbers: tuple[int, ...] = ()
    video: Path | None = None
    row: int = -1
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        """Stable unique id of the clip inside its dataset: ``subject/clip_id``."""
        return f"{self.subject}/{self.clip_id}"

    @property
    def frame_paths(self) -> tuple[Path, ...]:
        """``frames`` as Paths: a frame given as a string is converted, a Path is not parsed again."""
        return tuple(p if isinstance(p, Path) else Path(p) for p in self.frames)

    @property
    def apex_index(self) -> int:
        """Index into ``frames`` of the apex; the middle frame when the apex is missing or invalid."""
        numbers = self.frame_numbers or tuple(range(self.onset, self.offset + 1))
        if self.apex is not None and self.apex in numbers:
            return numbers.index(self.apex)
        return (len(numbers) - 1) // 2


@dataclass(frozen=True)
class SkippedRow:
    """A sheet row that produced no sample, with a one-line human reason."""

    row: int
    reason: str
    clip: str = ""


@dataclass
class ReadResult:
    """What a reader returns: usable records, skipped rows, and frame bookkeeping."""

    records: list[SampleRecord]
    skipped: list[SkippedRow] = field(default_factory=list)
    frames_found: int = 0
    frames_expected: int = 0
    warnings: list[str] = field(default_factory=list)
