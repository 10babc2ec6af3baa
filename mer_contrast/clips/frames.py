"""Reading clip frames from image folders and video files, always as RGB ``uint8`` ``(T, H, W, 3)``.

A :class:`ClipSource` is the record's frames seen as one indexable sequence ("available frames",
onset..offset). Sampling picks indices into it, and :meth:`ClipSource.read` decodes only those.

Conventions:
* Image folders: files are decoded with OpenCV (BGR -> RGB). Grayscale images (SAMM) come back with
  the grey value in all three channels. A JPEG with no end-of-image marker after its last
  start-of-scan is treated as truncated, and one whose last 8x8 block decodes as exact mid-grey
  (128, 128, 128) as cut short mid-stream: OpenCV does not fail on either, libjpeg only prints
  "Corrupt JPEG data: premature end of data segment" and fills the missing blocks grey. Any other
  corruption warning of the decoder ("extraneous bytes", "bad Huffman code"; heard by ``decode``)
  is an error too, and so is a frame of one flat colour (a blanked frame), and one that does not
  fit between its neighbours in the clip (``plausibility``: damage the decoder did not notice): the
  clip is a bad clip, left out by the flow precompute with the file named. Good frames decode exactly as
  ``cv2.imdecode`` does.
* Frames of one clip that differ in size are resized to the size of the first frame read (the onset
  frame in practice), so one face box fits all of them.
* Video files are read with decord. The record's frame numbers (``frame_numbers``, else
  ``onset..offset``) index the video from 0 unless the reader sets ``extra["frame_base"] = "1"``
  (sheets that count video frames from 1).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mer_contrast.clips.decode import decode_image
from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.plausibility import FIX_RESTORE, check_plausible
from mer_contrast.datasets._frames import IMAGE_SUFFIXES, frame_number, is_frame_file
from mer_contrast.datasets.records import SampleRecord

IMAGE_EXTENSIONS = IMAGE_SUFFIXES  # the one set of frame suffixes (datasets._frames), by its older name
_JPEG_EOI = b"\xff\xd9"  # end of image; entropy-coded data never contains it
_JPEG_SOS = b"\xff\xda"  # start of scan: the last one is followed by the image data, then EOI
# libjpeg decodes every block after a premature end with zero coefficients: exactly (128, 128, 128).
# A camera frame never has a noiseless 8x8 block of that one value, so the last block tells.
_GREY_FILL = 128
_GREY_PIXEL = bytes((_GREY_FILL,) * 3)  # one BGR pixel of it (IMREAD_COLOR always gives 3 channels)
_BLOCK = 8


def list_frame_files(folder: Path) -> tuple[Path, ...]:
    """Image files of one clip folder in temporal order (numeric sort on the stem's trailing digits).

    Files without a number come first, in name order.

    Raises:
        ClipError: the folder is missing or holds no image file, or two files have one frame number.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ClipError(folder, "clip folder not found: check the dataset root path")
    files = [p for p in folder.iterdir() if is_frame_file(p) and p.is_file()]
    if not files:
        raise ClipError(folder, "clip folder holds no image files: re-extract this clip from the dataset")
    numbered = sorted(((frame_number(p), p.name, p) for p in files), key=_file_order)
    for (number, first, _), (other, second, _) in itertools.pairwise(numbered):
        if number is not None and number == other:
            raise ClipError(
                folder, f"{first} and {second} have one frame number ({number}): delete or rename one of them"
            )
    return tuple(path for _, _, path in numbered)


def _file_order(item: tuple[int | None, str, Path]) -> tuple[int, str]:
    return (-1 if item[0] is None else item[0], item[1])


def read_image(path: Path) -> np.ndarray:
    """Decode one frame file to RGB ``uint8`` ``(H, W, 3)``; grayscale is replicated to 3 channels.

    Raises:
        ClipError: missing, empty, truncated, undecodable or damaged file (a decoder warning), or a
            frame of one flat colour.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ClipError(path, "frame file not found: re-read the dataset or restore the file") from None
    except OSError as err:
        raise ClipError(path, f"cannot read frame file ({err.strerror}): check permissions") from None
    if not data:
        raise ClipError(path, f"frame file is empty (0 bytes): {FIX_RESTORE}")
    jpeg = path.suffix.lower() in (".jpg", ".jpeg")
    if jpeg and _lacks_end_marker(data):
        raise ClipError(path, f"JPEG is truncated (no end-of-image marker): {FIX_RESTORE}")
    bgr, complaint = decode_image(data, listen=jpeg)
    if bgr is None:
        raise ClipError(path, f"cannot decode image (corrupt or not an image): {FIX_RESTORE}")
    if jpeg and _ends_in_grey_fill(bgr):
        raise ClipError(
            path,
            "JPEG data ends early (corrupt mid-stream; libjpeg: premature end of data segment), its last "
            f"blocks decode as flat grey: {FIX_RESTORE}",
        )
    if complaint:
        raise ClipError(path, f"JPEG data is damaged (libjpeg: {complaint[:200]}): {FIX_RESTORE}")
    if _is_flat(bgr):
        value = ",".join(str(int(v)) for v in bgr[0, 0])
        raise ClipError(
            path, f"frame is one flat colour (every pixel {value}), not a camera image: {FIX_RESTORE}"
        )
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _lacks_end_marker(data: bytes) -> bool:
    """True when no EOI follows the last start-of-scan (the file was cut short)."""
    if data.endswith(_JPEG_EOI):
        return False  # the common case, without searching (~0.1 us instead of ~10 us for 5 kB)
    return data.find(_JPEG_EOI, max(data.rfind(_JPEG_SOS), 0)) < 0


def _ends_in_grey_fill(bgr: np.ndarray) -> bool:
    """True when the bottom-right 8x8 block is exactly libjpeg's fill value (see ``_GREY_FILL``)."""
    if bgr[-1, -1].tobytes() != _GREY_PIXEL:
        return False  # the common case, decided by one pixel (~0.5 us instead of ~5 us for the block)
    return bool((bgr[-_BLOCK:, -_BLOCK:] == _GREY_FILL).all())


def _is_flat(bgr: np.ndarray) -> bool:
    """True when every pixel has one value (a blanked frame); decided on a sparse grid in most cases."""
    first = bgr[0, 0]
    if not (bgr[::16, ::16] == first).all():
        return False  # the common case: ~5 us for a 640x480 frame instead of ~300 us for all of it
    return bool((bgr == first).all())


def read_image_frames(paths: Sequence[Path]) -> np.ndarray:
    """Decode image files to RGB ``uint8`` ``(T, H, W, 3)``, resizing odd-sized frames to the first."""
    frames: list[np.ndarray] = []
    for path in paths:
        rgb = read_image(path)
        if frames and rgb.shape != frames[0].shape:
            height, width = frames[0].shape[:2]
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        frames.append(rgb)
    if not frames:
        raise ValueError("read_image_frames needs at least one path")
    return np.stack(frames)


def read_video_frames(path: Path, indices: Sequence[int]) -> np.ndarray:
    """Decode the given 0-based frame indices of a video file to RGB ``uint8`` ``(T, H, W, 3)``.

    Raises:
        ClipError: the video is missing, empty, unreadable, or shorter than an index asks.
    """
    import decord  # imported here: only video datasets need it, and it is slow to import

    path = Path(path)
    _check_file(path, "video")
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
        count = len(reader)
    except Exception as err:  # decord raises its own DECORDError or RuntimeError
        raise ClipError(
            path, f"cannot open video ({_first_line(err)}): check that it plays, or re-extract it"
        ) from None
    wanted = [int(i) for i in indices]
    bad = [i for i in wanted if not 0 <= i < count]
    if bad:
        raise ClipError(
            path,
            f"video has {count} frames but the clip needs frame index {bad[0]}: check the record's "
            "onset/offset/frame_numbers and extra['frame_base']",
        )
    try:
        batch = reader.get_batch(wanted).asnumpy()
    except Exception as err:
        raise ClipError(
            path, f"cannot decode video frames ({_first_line(err)}): re-extract the video"
        ) from None
    return np.ascontiguousarray(batch, dtype=np.uint8)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def _check_file(path: Path, what: str) -> os.stat_result:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ClipError(path, f"{what} file not found: re-read the dataset or restore the file") from None
    except OSError as err:
        raise ClipError(path, f"cannot access {what} file ({err.strerror}): check permissions") from None
    if info.st_size == 0:
        raise ClipError(path, f"{what} file is empty (0 bytes): {FIX_RESTORE}")
    return info


@dataclass(frozen=True)
class ClipSource:
    """The frames of one record as a sequence of ``num_available`` frames (onset..offset).

    Attributes:
        name: the clip key, used in messages.
        frames: image paths in temporal order (image-folder datasets).
        video: the video file (video datasets), with ``video_indices`` its 0-based frame indices.
    """

    name: str
    frames: tuple[Path, ...] = ()
    video: Path | None = None
    video_indices: tuple[int, ...] = ()

    @classmethod
    def from_record(cls, record: SampleRecord) -> ClipSource:
        """The record's frames, or its video segment; raises ClipError when it has neither."""
        if record.frames:
            # not Path(path) on each: parsing them again was half of a cache key's time
            return cls(name=record.key, frames=record.frame_paths)
        if record.video is not None:
            numbers = record.frame_numbers or tuple(range(record.onset, record.offset + 1))
            base = _frame_base(record)
            return cls(
                name=record.key, video=Path(record.video), video_indices=tuple(n - base for n in numbers)
            )
        folder = record.extra.get("folder") or record.extra.get("frames_dir") or record.key
        raise ClipError(
            folder,
            "clip has no frame files and no video (empty folder, or the sheet was read without "
            "frames): pass the dataset root when reading it",
        )

    @property
    def num_available(self) -> int:
        """How many frames the clip has (onset..offset)."""
        return len(self.frames) if self.frames else len(self.video_indices)

    @property
    def location(self) -> str:
        """Where the clip lives, for messages: its first frame's folder or its video file."""
        return str(self.frames[0].parent) if self.frames else str(self.video)

    def check(self) -> list[tuple[str, int, int]]:
        """Stat every file of the clip; returns ``(path, size, mtime_ns)`` rows (the cache fingerprint).

        Raises:
            ClipError: a file is missing or empty, or the clip has fewer than 2 frames.
        """
        if self.num_available < 2:
            raise ClipError(
                self.location,
                f"clip {self.name} has {self.num_available} frame(s), at least 2 are needed for "
                "optical flow: check its onset/offset or drop it",
            )
        paths = self.frames if self.frames else (self.video,)
        rows = []
        for path in paths:
            assert path is not None
            info = _check_file(path, "frame" if self.frames else "video")
            rows.append((str(path.absolute()), info.st_size, info.st_mtime_ns))
        return rows

    def read(self, indices: Sequence[int]) -> dict[int, np.ndarray]:
        """Decode the frames at the given indices (each once); returns ``{index: RGB (H, W, 3)}``.

        Image frames are checked against their two nearest frames of the clip as well
        (:mod:`~mer_contrast.clips.plausibility`, decoding those neighbours when they are not asked
        for); video frames are not.

        Raises:
            ClipError: a frame (or a neighbour it is compared with) is damaged or implausible.
        """
        unique = sorted(set(int(i) for i in indices))
        if not unique:
            return {}
        if unique[0] < 0 or unique[-1] >= self.num_available:
            raise IndexError(f"{self.name}: frame index out of range 0..{self.num_available - 1}")
        if self.frames:
            stack = read_image_frames([self.frames[i] for i in unique])
            decoded = {index: stack[k] for k, index in enumerate(unique)}
            check_plausible(self.frames, decoded, lambda other: read_image(self.frames[other]))
            return decoded
        else:
            assert self.video is not None
            stack = read_video_frames(self.video, [self.video_indices[i] for i in unique])
        return {index: stack[k] for k, index in enumerate(unique)}


def _frame_base(record: SampleRecord) -> int:
    raw = record.extra.get("frame_base", "0")
    if raw not in ("0", "1"):
        raise ClipError(record.key, f"extra['frame_base'] must be '0' or '1', got {raw!r}: fix the reader")
    return int(raw)
