"""The footage of ``predict-video``: a video file or a folder of frames, read in chunks.

Only one chunk of decoded frames is held at a time, so memory does not grow with the video's length.
A video is counted by decord (its index gives the exact frame count and rate) but decoded by
OpenCV's sequential reader (:class:`SequentialVideo`): frames in order, one at a time, into the
chunk's array, with a seek only where a read starts elsewhere (an interval's window). decord's
``get_batch`` kept memory that grew with every frame decoded (1.5 GB after 6,000 640x480 frames
read 256 at a time, 0.4 GB read 32 at a time; OpenCV stays at 0.14 GB), so it only reads what
OpenCV cannot (a seek that lands elsewhere, a frame OpenCV cannot decode).

Every failure is a :class:`SpotError` whose text is one line naming the file and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.frames import IMAGE_EXTENSIONS, list_frame_files, read_image_frames
from mer_contrast.datasets.records import SampleRecord

DEFAULT_FOLDER_FPS = 200.0  # a frame folder has no frame rate: CASME II's and SAMM's camera
VIDEO_FIX = "check that it plays, or re-encode it (ffmpeg -i IN -c:v mjpeg -q:v 2 OUT.avi)"


class SpotError(Exception):
    """``predict-video`` cannot go on; ``str(err)`` is ``"<path>: <reason>"`` on one line."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = str(path), " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:160] if lines else type(err).__name__


@dataclass
class FootageSource:
    """A video or frame folder seen as ``num_frames`` RGB frames at ``fps``."""

    path: Path
    kind: Literal["video", "frames"]
    num_frames: int
    fps: float
    files: tuple[Path, ...] = ()
    _reader: Any = None

    @classmethod
    def open(cls, path: Path, fps: float | None = None) -> FootageSource:
        """Open ``path`` (video file or frame folder); ``fps`` overrides the container's rate."""
        path = Path(path)
        if not path.exists():
            raise SpotError(path, "no such file or folder: pass a video file or a folder of frames")
        if path.is_dir():
            try:
                files = list_frame_files(path)
            except ClipError as err:
                raise SpotError(
                    path, f"{err.reason} (expected {', '.join(sorted(IMAGE_EXTENSIONS))})"
                ) from None
            return cls(path, "frames", len(files), float(fps or DEFAULT_FOLDER_FPS), files)
        if path.stat().st_size == 0:
            raise SpotError(path, f"video file is empty (0 bytes): {VIDEO_FIX}")
        import decord  # slow to import; only videos need it

        try:
            reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
            count, rate = len(reader), float(reader.get_avg_fps())
        except Exception as err:  # decord raises DECORDError / RuntimeError with multi-line text
            raise SpotError(path, f"cannot open video ({_first_line(err)}): {VIDEO_FIX}") from None
        del reader  # counted; SequentialVideo decodes
        if count < 2:
            raise SpotError(path, f"video has {count} frame(s), at least 2 are needed: {VIDEO_FIX}")
        rate = float(fps or rate or DEFAULT_FOLDER_FPS)
        return cls(path, "video", count, rate, (), SequentialVideo(path, count))

    def read(self, start: int, stop: int) -> np.ndarray:
        """RGB uint8 frames ``start .. stop - 1`` as ``(n, H, W, 3)``."""
        try:
            if self.kind == "frames":
                return read_image_frames(self.files[start:stop])
            return self._reader.read(start, stop)  # type: ignore[no-any-return]
        except ClipError as err:
            raise SpotError(err.path, err.reason) from None
        except Exception as err:
            raise SpotError(
                self.path, f"cannot decode frames {start}..{stop - 1} ({_first_line(err)}): {VIDEO_FIX}"
            ) from None

    def chunks(self, size: int, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(first index, frames)`` of consecutive chunks of at most ``size`` frames."""
        stop = self.num_frames if stop is None else min(stop, self.num_frames)
        for first in range(max(start, 0), stop, size):
            yield first, self.read(first, min(first + size, stop))

    def record(self, name: str, onset: int, apex: int, offset: int) -> SampleRecord:
        """An interval as a clip record, so :func:`~mer_contrast.clips.prepare.prepare_clip` reads it."""
        numbers = tuple(range(onset, offset + 1))
        common: dict[str, Any] = dict(
            dataset="video", subject=self.path.stem, clip_id=name, onset=onset, apex=apex, offset=offset,
            aus=(), au_raw="", emotion="", frame_numbers=numbers,
        )  # fmt: skip
        if self.kind == "frames":
            return SampleRecord(**common, frames=self.files[onset : offset + 1])
        return SampleRecord(**common, video=self.path)


class SequentialVideo:
    """A video decoded in order by OpenCV, a few frames at a time (module docstring).

    :meth:`read` continues from where the last read stopped without seeking; a read that starts
    elsewhere seeks first. A seek that lands on another frame than asked, or a frame OpenCV cannot
    decode, is read by decord instead (exact, and only those frames).
    """

    def __init__(self, path: Path, num_frames: int) -> None:
        self.path, self.num_frames = Path(path), num_frames
        self.capture: Any = None
        self.position = -1  # the frame the next sequential read gives; -1: not known

    def read(self, start: int, stop: int) -> np.ndarray:
        """RGB uint8 frames ``start .. stop - 1`` as ``(n, H, W, 3)``."""
        import cv2

        if stop <= start:
            return np.empty((0, 0, 0, 3), np.uint8)
        if self.capture is None:
            self.capture = cv2.VideoCapture(str(self.path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])
            self.position = 0 if self.capture.isOpened() else -1
        if self.position != start and self.capture.isOpened():
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, start)
            landed = int(self.capture.get(cv2.CAP_PROP_POS_FRAMES))
            self.position = start if landed == start else -1
        frames: np.ndarray | None = None
        for offset in range(stop - start):
            index = start + offset
            bgr = self._next() if self.position == index else None
            if bgr is None:  # OpenCV cannot give this frame: decord decodes the rest of the read
                rest = self._decord(index, stop)
                frames = rest if frames is None else np.concatenate([frames[:offset], rest])
                break
            if frames is None:
                frames = np.empty((stop - start, *bgr.shape), np.uint8)
            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=frames[offset])
        assert frames is not None
        return frames

    def _next(self) -> np.ndarray | None:
        ok, bgr = self.capture.read()
        if not ok or bgr is None or bgr.ndim != 3:
            self.position = -1
            return None
        self.position += 1
        return bgr  # type: ignore[no-any-return]

    def _decord(self, start: int, stop: int) -> np.ndarray:
        import decord

        reader = decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=1)
        return np.ascontiguousarray(reader.get_batch(list(range(start, stop))).asnumpy(), np.uint8)
