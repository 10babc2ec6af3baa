"""``predict-video`` holds a chunk of frames, not the recording, and decodes a video in order.

The peak memory itself (640x480, 1,000 and 6,000 frames) is measured by
``scripts/predict_video_memory.py``; here the frames alive at once are counted, which does not
depend on the machine.
"""

from __future__ import annotations

import weakref
from pathlib import Path

import decord
import numpy as np
import pytest

from mer_contrast.spot.source import FootageSource, SequentialVideo
from mer_contrast.spot.spotting import SpotConfig, spot
from mer_contrast.synth.long_video import VIDEO_NAME


class LiveFrames:
    """Counts the decoded frames still referenced, and the most at any time."""

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0

    def track(self, frames: np.ndarray) -> np.ndarray:
        self.live += len(frames)
        self.peak = max(self.peak, self.live)
        weakref.finalize(frames, self._release, len(frames))
        return frames

    def _release(self, count: int) -> None:
        self.live -= count


@pytest.mark.parametrize("name", [VIDEO_NAME, "frames"])
def test_spotting_holds_a_chunk_of_frames_not_the_recording(
    long_video: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = LiveFrames()
    read = FootageSource.read
    monkeypatch.setattr(FootageSource, "read", lambda self, a, b: counter.track(read(self, a, b)))
    source = FootageSource.open(long_video / name)
    assert source.num_frames == 400
    result = spot(source)
    assert result.intervals  # the whole spotting ran: curve, extents, held expressions
    assert counter.peak <= 2 * SpotConfig().chunk + 1 < source.num_frames // 4
    assert counter.live == 0


def test_a_chunk_of_640x480_frames_is_small() -> None:
    assert SpotConfig().chunk * 640 * 480 * 3 <= 32 * 2**20  # 1,000 or 6,000 frames: the same chunks


def test_sequential_reads_give_decords_frames_with_and_without_a_seek(long_video: Path) -> None:
    path = long_video / VIDEO_NAME
    reference = decord.VideoReader(str(path), num_threads=1)
    video = SequentialVideo(path, len(reference))
    for start, stop in [(0, 5), (5, 9), (300, 304), (100, 101), (396, 400)]:  # on, seek, back, end
        expected = reference.get_batch(list(range(start, stop))).asnumpy()
        np.testing.assert_array_equal(video.read(start, stop), expected)
    assert video.read(7, 7).shape[0] == 0


class BrokenCapture:
    """An OpenCV capture that opened but decodes nothing and cannot seek."""

    def isOpened(self) -> bool:
        return True

    def read(self) -> tuple[bool, None]:
        return False, None

    def set(self, _prop: int, _value: float) -> bool:
        return False

    def get(self, _prop: int) -> float:
        return -1.0


def test_frames_opencv_cannot_give_are_read_by_decord(long_video: Path) -> None:
    path = long_video / VIDEO_NAME
    reference = decord.VideoReader(str(path), num_threads=1)
    video = SequentialVideo(path, len(reference))
    head = video.read(0, 3)  # OpenCV gives these
    video.capture = BrokenCapture()
    np.testing.assert_array_equal(video.read(3, 6), reference.get_batch([3, 4, 5]).asnumpy())
    np.testing.assert_array_equal(video.read(0, 3), head)
