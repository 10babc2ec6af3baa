"""Peak memory of ``mer-contrast predict-video`` against the recording's length (issue 28).

    python scripts/predict_video_memory.py --frames 1000 6000          # 640x480 MJPEG in a temp folder
    python scripts/predict_video_memory.py --frames 1000 6000 --ckpt runs/fold/last.ckpt --work /tmp/v

For each length it renders a synthetic recording (:mod:`mer_contrast.synth.long_video`: a 360 px
face on a 640x480 canvas at 200 fps, one micro-expression per 1,000 frames, Motion-JPEG), runs
``python -m mer_contrast predict-video`` on it in a child process with one thread and prints the
child's own peak resident memory (``os.wait4``'s ``ru_maxrss``). The figure should not grow with
the length: only one chunk of frames is decoded at a time.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mer_contrast.synth.long_video import VIDEO_NAME, LongVideoOptions, render_long_video

FACE_SIZE = 360  # the long video's canvas is 4/3 of the face: 640x480
FPS = 200.0


def render(folder: Path, frames: int) -> Path:
    """A ``frames``-frame 640x480 MJPEG recording in ``folder`` (kept: rendering is the slow part)."""
    video = folder / f"{frames}" / VIDEO_NAME
    if not video.is_file():
        options = LongVideoOptions(
            seconds=frames / FPS, fps=FPS, size=FACE_SIZE, frames=False,
            micro_expressions=max(1, frames // 1000), blinks=1, head_moves=1,
        )  # fmt: skip
        render_long_video(video.parent, options, overwrite=True)
    return video


def peak_rss_mb(video: Path, out: Path, ckpt: Path | None) -> tuple[float, float]:
    """Peak resident memory (MB) and wall seconds of one ``predict-video`` child on ``video``."""
    argv = [sys.executable, "-m", "mer_contrast", "predict-video", str(video), "--out", str(out)]
    argv.append("--no-progress")
    if ckpt is not None:
        argv += ["--ckpt_path", str(ckpt)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENCV_FFMPEG_THREADS": "1"}
    start = time.perf_counter()
    pid = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL).pid
    _, status, usage = os.wait4(pid, 0)  # this child's own rusage, not the maximum over all children
    if status != 0:
        raise SystemExit(f"predict-video failed on {video} (status {status}); run it by hand to see why")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[1000, 6000], help="recording lengths")
    parser.add_argument("--ckpt", type=Path, default=None, help="also classify with this checkpoint")
    parser.add_argument("--work", type=Path, default=None, help="where the videos go (default: a temp dir)")
    args = parser.parse_args(argv)
    if min(args.frames) < 500:
        parser.error("--frames: at least 500 frames per recording (a micro-expression, a blink, a head move)")
    with tempfile.TemporaryDirectory(prefix="mer_video_memory_") as temp:
        work = args.work or Path(temp)
        print(f"{'frames':>7} {'peak MB':>8} {'seconds':>8}")
        for frames in args.frames:
            video = render(work, frames)
            peak, seconds = peak_rss_mb(video, video.parent / "out", args.ckpt)
            print(f"{frames:>7} {peak:>8.0f} {seconds:>8.1f}", flush=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script itself peaked at {own:.0f} MB while rendering)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
