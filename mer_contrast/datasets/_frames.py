"""Finding a clip's frames on disk and reconciling them with the sheet's onset..offset.

The sheets are only a hint (CASME II has clips whose folder holds other frame numbers than the sheet
says, §1.6 of the dataset notes), so a clip folder is listed, non-images are ignored (a stray
``Desktop - Shortcut.lnk``), frame numbers are read from the end of each file stem and sorted
numerically, and the result is intersected with the sheet range. Two files with one frame number
(``reg_img92.jpg`` and ``reg_img92.png``) make the clip unusable: which one is the frame cannot be
guessed. This module is the one definition of what a frame file is (:data:`IMAGE_SUFFIXES`,
:func:`frame_number`); the clip pipeline (``clips.frames``) uses it too.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import replace
from pathlib import Path

from mer_contrast.datasets._report import Report
from mer_contrast.datasets.records import SampleRecord

#: File suffixes (lower case) of frame images.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def is_frame_file(path: Path) -> bool:
    """True when ``path``'s suffix is one of :data:`IMAGE_SUFFIXES` (any case); the file is not read."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def frame_number(path: Path) -> int | None:
    """The frame number at the end of the file stem (``reg_img92.jpg`` -> 92), or None without one."""
    match = _TRAILING_NUMBER.search(path.stem)
    return int(match.group(1)) if match else None


def list_frames(folder: Path) -> list[tuple[int, Path]]:
    """``(frame_number, path)`` of the images in ``folder``, sorted by number (``img9`` < ``img10``).

    Files of one number keep name order; :func:`frame_collision` tells whether there are any.
    """
    frames: list[tuple[int, Path]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            path = Path(entry.path)
            if not is_frame_file(path) or not entry.is_file():
                continue
            number = frame_number(path)
            if number is not None:
                frames.append((number, path))
    frames.sort(key=lambda item: (item[0], item[1].name))
    return frames


def frame_collision(listing: list[tuple[int, Path]]) -> str:
    """Why a sorted :func:`list_frames` listing is not one file per frame number, or ``""`` when it is."""
    for (number, first), (other, second) in itertools.pairwise(listing):
        if number == other:
            return (
                f"{first.name} and {second.name} in {first.parent} have one frame number ({number}): "
                "delete or rename one of them"
            )
    return ""


def number_ranges(numbers: list[int]) -> str:
    """Sorted frame numbers as ranges: ``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    parts: list[str] = []
    start = previous = None
    for number in numbers:
        if start is not None and previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}-{previous}")
        start = previous = number
    if start is not None:
        parts.append(f"{start}" if start == previous else f"{start}-{previous}")
    return ", ".join(parts)


def undouble(folder: Path) -> Path:
    """``X/X`` -> the inner ``X`` (archives often unzip into a doubled folder)."""
    inner = folder / folder.name
    while inner.is_dir():
        folder, inner = inner, inner / folder.name
    return folder


def child_dir(folder: Path, name: str) -> Path | None:
    """``folder/name``, matched case-insensitively (``CASME2`` vs ``casme2``); None when absent."""
    if (folder / name).is_dir():
        return folder / name
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.is_dir() and child.name.lower() == name.lower():
                return child
    return None


def _span(numbers: list[int]) -> str:
    return f"{numbers[0]}-{numbers[-1]}" if numbers else "none"


class FrameAttacher:
    """Attaches frames to records, caching folder listings (CAS(ME)^3 cuts many clips from one video)."""

    def __init__(self, report: Report, *, whole_video: bool = False) -> None:
        self.report = report
        self.whole_video = whole_video
        self._listings: dict[Path, list[tuple[int, Path]]] = {}

    def attach(self, record: SampleRecord, folder: Path | None, tried: str = "") -> SampleRecord | None:
        """Record with ``frames``/``frame_numbers`` filled, or None (row skipped) when there are none.

        ``whole_video=False``: the folder is the clip; frames outside the sheet range are dropped with a
        warning, and if none are left the folder's frames are used as they are. ``whole_video=True``:
        the folder is a whole video and the clip is cut from it; no frame in range skips the row.
        """
        report = self.report
        expected = record.offset - record.onset + 1
        report.frames_expected += expected
        if folder is None or not folder.is_dir():
            report.skip(record.row, f"clip folder not found: {tried or folder}", record.key)
            return None
        listing = self._listings.get(folder)
        if listing is None:
            listing = self._listings[folder] = list_frames(folder)
        if not listing:
            report.skip(record.row, f"clip folder has no image frames: {folder}", record.key)
            return None
        numbers = [number for number, _ in listing]
        chosen = [(n, p) for n, p in listing if record.onset <= n <= record.offset]
        collision = frame_collision(chosen if self.whole_video else listing)
        if collision:
            report.skip(record.row, collision, record.key)
            return None
        sheet_range = f"{record.onset}-{record.offset}"
        overlap = bool(chosen)
        if self.whole_video:
            if not chosen:
                report.skip(record.row, f"no frame of {sheet_range} in {folder}", record.key)
                return None
        elif not chosen:
            chosen = listing
            report.warn(
                f"sheet frames {sheet_range}, folder frames {_span(numbers)}: no overlap, "
                "using the folder's frames",
                record.key,
            )
        kept = [n for n, _ in chosen]
        if overlap:  # name the frames of the sheet range that have no file, and those left out
            present = set(kept)
            holes = [n for n in range(record.onset, record.offset + 1) if n not in present]
            outside = len(listing) - len(chosen) if not self.whole_video else 0
            if holes or outside:
                parts = [f"sheet frames {sheet_range}"]
                if holes:
                    parts.append(f"no file for frame {number_ranges(holes)}")
                if outside:
                    parts.append(f"folder frames {_span(numbers)}")
                report.warn(f"{': '.join(parts)}: using {_span(kept)} ({len(kept)} frames)", record.key)
        self._check_apex(record, kept)
        report.frames_found += len(chosen)
        return replace(
            record,
            frames=tuple(path for _, path in chosen),
            frame_numbers=tuple(number for number, _ in chosen),
        )

    def _check_apex(self, record: SampleRecord, kept: list[int]) -> None:
        """Warn (sheet row, clip, what is used instead) when the sheet's apex frame has no file."""
        if record.apex is None or record.apex in kept or not kept:
            return
        middle = kept[(len(kept) - 1) // 2]
        self.report.warn_row(
            record.row,
            f"apex frame {record.apex} has no file (the clip's frames are {number_ranges(kept)}): the middle "
            f"frame {middle} is used as the apex; restore the frame file or correct the apex",
            record.key,
        )
