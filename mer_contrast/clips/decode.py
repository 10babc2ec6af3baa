"""Decoding one image file with OpenCV while hearing what its JPEG decoder says.

OpenCV's JPEG decoder (libjpeg-turbo) does not fail on damaged data it can get past: it prints a
warning such as ``Corrupt JPEG data: 200 extraneous bytes before marker 0xd9`` or ``Corrupt JPEG
data: premature end of data segment`` to the process's standard error (file descriptor 2) and
returns an image with the damaged blocks made up. :func:`decode_image` decodes exactly as
``cv2.imdecode(..., IMREAD_COLOR)`` does (the pixels are the same) with descriptor 2 sent to a
private temporary file for the length of the call, and returns those lines as the decoder's
complaint. Whatever else reached descriptor 2 meanwhile (another thread's output) is written back to
it. A lock keeps two decodes of one process from swapping descriptors under each other; worker
processes each have their own capture file (in memory on Linux). Where descriptor 2 cannot be
redirected (closed) the image is decoded without listening. Cost: a few system calls, tens of
microseconds a frame against the milliseconds a frame's decode takes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading

import cv2
import numpy as np

#: Lines of libjpeg's warnings (jerror.h, JWRN_*) that mean the data is damaged.
CORRUPTION_MARKERS = (
    "Corrupt JPEG data",
    "Premature end of JPEG file",
    "Invalid SOS parameters",
    "Inconsistent progression sequence",
    "Application transferred too many scanlines",
)
_STDERR = 2
_lock = threading.Lock()
_scratch: dict[int, int] = {}  # pid -> descriptor of this process's capture file


def _capture_file() -> int:
    """This process's capture file, made once: in memory (Linux), else a temporary file deleted at once."""
    pid = os.getpid()
    fd = _scratch.get(pid)
    if fd is None:
        try:
            fd = os.memfd_create("mer-contrast-decode")  # no folder needed: a full $TMPDIR does not matter
        except (AttributeError, OSError):
            fd, path = tempfile.mkstemp(prefix="mer-contrast-decode-")
            os.unlink(path)
        _scratch[pid] = fd
    return fd


def decode_image(data: bytes, listen: bool = True) -> tuple[np.ndarray | None, str]:
    """``cv2.imdecode(data, IMREAD_COLOR)`` (BGR, or None) and the decoder's corruption warnings.

    Args:
        data: the file's bytes.
        listen: capture the decoder's warnings (JPEG); False decodes only.

    Returns:
        The image (None when OpenCV cannot decode it) and the corruption lines joined by ``"; "``
        (``""`` when the decoder said nothing of the kind).
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    if not listen:
        return cv2.imdecode(buffer, cv2.IMREAD_COLOR), ""
    with _lock:
        try:
            capture = _capture_file()
            os.ftruncate(capture, 0)
            os.lseek(capture, 0, os.SEEK_SET)
            saved = os.dup(_STDERR)
        except OSError:  # no descriptor 2, no temporary folder: decode without listening
            return cv2.imdecode(buffer, cv2.IMREAD_COLOR), ""
        try:
            os.dup2(capture, _STDERR)
            image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        finally:
            os.dup2(saved, _STDERR)
            os.close(saved)
        size = os.lseek(capture, 0, os.SEEK_CUR)
        heard = os.pread(capture, size, 0).decode("utf-8", "replace") if size else ""
    return image, _sort_out(heard)


def _sort_out(heard: str) -> str:
    """The corruption lines of ``heard``; other lines go back to standard error."""
    if not heard:
        return ""
    complaints: list[str] = []
    others: list[str] = []
    for line in heard.splitlines(keepends=True):
        (complaints if any(marker in line for marker in CORRUPTION_MARKERS) else others).append(line)
    if others:
        with contextlib.suppress(OSError):
            os.write(_STDERR, "".join(others).encode())
    return "; ".join(line.strip() for line in complaints)
