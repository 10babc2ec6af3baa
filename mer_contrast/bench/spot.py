"""``mer-contrast bench spot``: spotting F1 (MEGC, IoU >= 0.5), STRS F1 and frames/s on synthetic long videos.

The videos are rendered by :func:`~mer_contrast.synth.long_video.render_long_video`. Two generators:

* ``broad`` (the default, issue 26): each recording at 30, 90 or 200 fps (by seed), micro-expressions
  of 0.3-1.5 px at the spotter's crop, blinks that darken the eye, a macro-expression, a talking
  spell, head movements that shift and roll and stay, face geometries wider than the training
  faces' (:data:`BROAD`). The spotter's settings were chosen on :data:`BROAD_TUNING_SEEDS` alone;
  the untouched seeds (:data:`BROAD_SEEDS`) were never looked at while choosing. Both sets are run
  and printed side by side.
* ``narrow``: the first generator (one frame rate, ``--amplitude`` times the training clips'
  motion, blinks that only warp, the training faces; tuning seeds 1-3, bench seeds 100-104).

Scores are MEGC's (IoU >= 0.5, pooled over the videos, micro-expressions only), with the blink and
talk false positives (micro intervals that overlap one and match no micro-expression) and the
macro-expressions reported as micro counted apart. The amplitude printed is the micro-expressions'
largest displacement in the spotter's crop (its face detector's box on the neutral face, enlarged
by its margin, at 96 px). STRS (spot-then-recognize) needs ``--ckpt_path``. Runtime is the spotting
pass alone (decode, face, landmarks, registration, flow, extent), in frames per second on this CPU.

Example::

    mer-contrast bench spot                      # broad: tuning seeds and untouched seeds
    mer-contrast bench spot --generator narrow --seeds 100 101 102 103 104 --tuning-seeds
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Literal

from mer_contrast.spot.kinds import kind_of
from mer_contrast.spot.metrics import Score, iou, spotting_score, strs_score
from mer_contrast.spot.source import FootageSource, SpotError
from mer_contrast.spot.spotting import SpotConfig, spot
from mer_contrast.synth.long_video import VIDEO_NAME, Event, LongVideoOptions, render_long_video

if TYPE_CHECKING:
    from argparse import Namespace

HELP = "spotting F1 (IoU>=0.5), spot-then-recognize F1 and frames/s on synthetic long videos"
TUNING_SEEDS = (1, 2, 3)  # narrow: what the SpotConfig defaults were chosen on before issue 26
DEFAULT_SEEDS = (100, 101, 102, 103, 104)
BROAD_TUNING_SEEDS = tuple(range(1, 13))  # broad: the SpotConfig defaults were chosen on these alone
BROAD_SEEDS = (201, 202, 203, 204, 205, 206)  # broad: never used to choose anything
BROAD_FPS = (30.0, 90.0, 200.0)  # seed % 3 picks the frame rate
BROAD: dict[str, object] = {
    "seconds": 40.0, "micro_expressions": 4, "macro_expressions": 1, "blinks": 3, "head_moves": 2,
    "talks": 1, "amplitude_px": (0.3, 1.5), "blink_darkening": 0.3, "geometry": "broad", "head_roll": 4.0,
}  # fmt: skip


def bench(
    seeds: list[int],
    *,
    seconds: float,
    micro_expressions: int,
    size: int,
    layout: Literal["casme2", "samm", "mmew"],
    fps: float | None = None,
    ckpt: Path | None,
    folder: Path,
    cfg: SpotConfig | None = None,
    macro_expressions: int = 0,
    amplitude: float = 1.0,
    broad: dict[str, object] | None = None,
) -> dict[str, object]:
    """Render, spot (and classify) every seed's video; returns the figures and per-video counts.

    ``broad``: :class:`LongVideoOptions` fields of the broad generator (:data:`BROAD`); the frame rate
    then follows the seed (:data:`BROAD_FPS`) unless ``fps`` is given.
    """
    from mer_contrast.spot.classify import Classifier

    classifier = Classifier.load(ckpt) if ckpt is not None else None
    spotting, strs, macro = Score(0, 0, 0), Score(0, 0, 0), Score(0, 0, 0)
    macro_as_micro = blink_fp = talk_fp = 0
    amplitudes: list[float] = []
    frames = 0
    elapsed = 0.0
    videos = []
    for seed in seeds:
        out = folder / f"seed{seed}"
        if broad is None:
            options = LongVideoOptions(
                layout=layout, fps=fps, seconds=seconds, micro_expressions=micro_expressions, size=size,
                seed=seed, frames=False, macro_expressions=macro_expressions, amplitude=amplitude,
            )  # fmt: skip
        else:
            rate = fps or BROAD_FPS[seed % len(BROAD_FPS)]
            options = LongVideoOptions(layout=layout, fps=rate, size=size, seed=seed, frames=False, **broad)  # type: ignore[arg-type]
        events = render_long_video(out, options, overwrite=True)
        truth = [(e.onset, e.offset) for e in events if e.kind == "me"]
        emotions = [e.emotion.lower() for e in events if e.kind == "me"]
        source = FootageSource.open(out / VIDEO_NAME)
        start = time.perf_counter()
        result = spot(source, cfg)
        elapsed += time.perf_counter() - start
        frames += source.num_frames
        micro = [i for i in result.intervals if kind_of(i.onset, i.offset, source.fps) == "micro"]
        found = [(i.onset, i.offset) for i in micro]  # MEGC scores micro- and macro-expressions apart
        held = [(e.onset, e.offset) for e in events if e.kind == "macro"]
        macro += spotting_score([(i.onset, i.offset) for i in result.intervals if i not in micro], held)
        macro_as_micro += sum(any(iou(f, h) > 0 for f in found) for h in held)
        unmatched = [f for f in found if not any(iou(f, t) >= 0.5 for t in truth)]
        blink_fp += _overlapping(unmatched, events, "blink")
        talk_fp += _overlapping(unmatched, events, "talk")
        amplitudes += [e.amplitude_px for e in events if e.kind == "me"]
        one = spotting_score(found, truth)
        spotting += one
        video: dict[str, object] = {
            "seed": seed,
            "truth": len(truth),
            "tp": one.tp,
            "fp": one.fp,
            "fn": one.fn,
            "fps": source.fps,
        }
        if classifier is not None:
            classes = [
                row.get("class_name", "").lower() for row in classifier.classify(source, result.intervals)
            ]
            two = strs_score(found, classes, truth, emotions)
            strs += two
            video["strs_tp"] = two.tp
        videos.append(video)
    figures: dict[str, object] = {
        "videos": len(seeds),
        "seeds": seeds,
        "micro_expressions": spotting.tp + spotting.fn,
        "spotting_f1": round(spotting.f1, 3),
        "spotting": {"tp": spotting.tp, "fp": spotting.fp, "fn": spotting.fn},
        "strs_f1": round(strs.f1, 3) if classifier is not None else None,
        "macro_expressions": macro.tp + macro.fn,
        "macro": {"tp": macro.tp, "fp": macro.fp, "fn": macro.fn, "reported_as_micro": macro_as_micro},
        "blink_fp": blink_fp,
        "talk_fp": talk_fp,
        "amplitude_px": _spread(amplitudes),
        "frames_per_s": round(frames / elapsed, 1) if elapsed else None,
        "per_video": videos,
    }
    return figures


def _overlapping(found: list[tuple[int, int]], events: list[Event], kind: str) -> int:
    """How many of ``found`` overlap an event of ``kind``."""
    spans = [(e.onset, e.offset) for e in events if e.kind == kind]
    return sum(any(iou(f, s) > 0 for s in spans) for f in found)


def _spread(values: list[float]) -> dict[str, float] | None:
    """Median and range of the micro-expressions' amplitudes (pixels of the spotter's crop)."""
    if not values:
        return None
    return {"median": round(median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def apex_error(dataset: str, root: Path, crop: Literal["detect", "none"] = "none") -> dict[str, object]:
    """How far ``predict FOLDER``'s motion apex falls from the sheet's, over a database's clips."""
    import numpy as np

    from mer_contrast.datasets import read_dataset
    from mer_contrast.spot.clips import estimate_apex

    errors, fractions = [], []
    start = time.perf_counter()
    for record in read_dataset(dataset, root).records:
        numbers = tuple(record.frame_numbers)
        if not record.frames or record.apex is None or record.apex not in numbers[1:]:
            continue  # a video-backed record, or no usable apex on the sheet
        source = FootageSource.open(Path(record.frames[0]).parent)
        where = {path.name: index for index, path in enumerate(source.files)}
        true = where[Path(record.frames[numbers.index(record.apex)]).name]
        found, _ = estimate_apex(source, SpotConfig(), crop)
        errors.append(abs(found - true))
        fractions.append(abs(found - true) / max(1, source.num_frames - 1))
    if not errors:
        raise ValueError(f"{root}: no {dataset} clip with frames and a sheet apex")
    e = np.array(errors)
    return {
        "clips": len(errors),
        "median_frames": float(np.median(e)),
        "mean_frames": round(float(e.mean()), 2),
        "within_10_frames": round(float(np.mean(e <= 10)), 3),
        "mean_fraction_of_clip": round(float(np.mean(fractions)), 4),
        "seconds": round(time.perf_counter() - start, 1),
    }


def run(args: Namespace) -> int:
    """``bench spot`` with its parsed options; exit 0, or 2 for an unusable checkpoint or folder."""
    if args.apex_of is not None:
        try:
            result = apex_error(args.apex_of[0], Path(args.apex_of[1]))
        except (SpotError, ValueError, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(json.dumps(result) if args.json else (
            f"apex from motion vs sheet: {result['clips']} clips, |error| median {result['median_frames']:g} "
            f"frames, mean {result['mean_frames']}, within 10 frames {result['within_10_frames']:.0%}, "
            f"{result['seconds']} s"
        ))  # fmt: skip
        return 0
    broad = args.generator == "broad"
    seeds = args.seeds if args.seeds is not None else list(BROAD_SEEDS if broad else DEFAULT_SEEDS)
    tuning = args.tuning_seeds
    if tuning is None:
        tuning = list(BROAD_TUNING_SEEDS if broad else TUNING_SEEDS)
    preset = dict(BROAD) if broad else None
    if preset is not None:
        given = {
            "seconds": args.seconds, "micro_expressions": args.micro_expressions,
            "macro_expressions": args.macro_expressions,
            "amplitude_px": tuple(args.amplitude_px) if args.amplitude_px else None,
        }  # fmt: skip
        preset.update({key: value for key, value in given.items() if value is not None})
    report: dict[str, object] = {"generator": args.generator, "settings": preset}
    try:
        with tempfile.TemporaryDirectory(prefix="spot_bench_") as temp:
            work = args.work or Path(temp)
            for name, chosen in (("tuning", tuning), ("untouched", seeds)):
                report[name] = None if not chosen else bench(
                    chosen, seconds=args.seconds or 10.0, micro_expressions=args.micro_expressions or 4,
                    size=args.size, layout=args.layout, fps=args.fps, ckpt=args.ckpt_path,
                    folder=work / name, macro_expressions=args.macro_expressions or 0,
                    amplitude=args.amplitude, broad=preset,
                )  # fmt: skip
    except (SpotError, ValueError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"spot: generator {args.generator}" + (f" {_settings(preset, args.fps)}" if preset else ""))
    for name in ("tuning", "untouched"):
        figures = report[name]
        if isinstance(figures, dict):
            print(_line(name, figures))
    return 0


def _settings(preset: dict[str, object], fps: float | None) -> str:
    amplitude = preset["amplitude_px"]
    assert isinstance(amplitude, tuple)
    low, high = amplitude
    rate = "30/90/200 fps by seed" if fps is None else f"{fps:g} fps"
    return (
        f"({preset['seconds']:g} s at {rate}, {preset['micro_expressions']} micro "
        f"({low:g}-{high:g} px at the spotter's crop), {preset['macro_expressions']} macro, "
        f"{preset['blinks']} darkening blinks, {preset['talks']} talk, {preset['head_moves']} head moves "
        f"with roll, broad geometry)"
    )


def _line(name: str, figures: dict[str, object]) -> str:
    s, m, amp = figures["spotting"], figures["macro"], figures["amplitude_px"]
    assert isinstance(s, dict) and isinstance(m, dict)
    strs = figures["strs_f1"]
    seeds = figures["seeds"]
    assert isinstance(seeds, list)
    amplitude = (
        f"amplitude median {amp['median']:g} px ({amp['min']:g}-{amp['max']:g}) at the spotter's crop; "
        if isinstance(amp, dict)
        else ""
    )
    return (
        f"  {name} seeds {' '.join(map(str, seeds))}: {figures['micro_expressions']} micro-expressions, "
        f"{amplitude}F1 {figures['spotting_f1']:.3f} (TP {s['tp']} FP {s['fp']} FN {s['fn']}, IoU>=0.5, "
        f"pooled); blink FP {figures['blink_fp']}, talk FP {figures['talk_fp']}; "
        f"macro {figures['macro_expressions']}: TP {m['tp']} FN {m['fn']}, "
        f"{m['reported_as_micro']} reported as micro; "
        f"STRS F1 {'n/a (no --ckpt_path)' if strs is None else f'{strs:.3f}'}; "
        f"{figures['frames_per_s']} frames/s (CPU)"
    )
