"""Finding a clip's frames on disk and reconciling them with the sheet's onset..offset.

The sheets are only a hint (CASME II has clips whose folder holds other frame numbers than the sheet
says, §1.6 of the dataset notes), so a clip folder is listed, non-images are ignored (a stray
``Desktop - Shortcut.lnk``), frame numbers are read from the end of each file stem and sorted
numerically, and the result is intersected with the sheet range.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from mer_contrast.datasets._report import Report
from mer_contrast.datasets.records import SampleRecord

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def list_frames(folder: Path) -> list[tuple[int, Path]]:
    """``(frame_number, path)`` of the images in ``folder``, sorted by number (``img9`` < ``img10``)."""
    frames: list[tuple[int, Path]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            path = Path(entry.path)
            if path.suffix.lower() not in IMAGE_SUFFIXES or not entry.is_file():
                continue
            match = _TRAILING_NUMBER.search(path.stem)
            if match:
                frames.append((int(match.group(1)), path))
    frames.sort(key=lambda item: item[0])
    return frames


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
        sheet_range = f"{record.onset}-{record.offset}"
        if self.whole_video:
            if not chosen:
                report.skip(record.row, f"no frame of {sheet_range} in {folder}", record.key)
                return None
            if len(chosen) != expected:
                report.warn(
                    f"{expected - len(chosen)} of the frames {sheet_range} are missing in {folder}",
                    record.key,
                )
        elif not chosen:
            chosen = listing
            report.warn(
                f"sheet frames {sheet_range}, folder frames {_span(numbers)}: no overlap, "
                "using the folder's frames",
                record.key,
            )
        elif len(chosen) != len(listing) or len(chosen) != expected:
            kept = [n for n, _ in chosen]
            report.warn(
                f"sheet frames {sheet_range}, folder frames {_span(numbers)}: "
                f"using {_span(kept)} ({len(kept)} frames)",
                record.key,
            )
        report.frames_found += len(chosen)
        return replace(
            record,
            frames=tuple(path for _, path in chosen),
            frame_numbers=tuple(number for number, _ in chosen),
        )
