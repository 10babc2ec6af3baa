"""A synthetic long recording: a neutral face for N seconds with K micro-expressions at known frames.

``render_long_video(out, LongVideoOptions(...))`` writes, into ``out``:

* ``video.avi`` (Motion-JPEG at quality 95: sub-pixel motion survives, decord reads it),
* ``frames/img00000.jpg`` ... (the same frames as JPEG files, for the frame-folder input),
* ``ground_truth.csv``: one row per event, ``kind`` ``me`` (micro-expression), ``blink`` or ``head``
  (head movement), with its onset, apex and offset (0-based frame indices, also in seconds), emotion
  and AU code,
* ``long_video.json``: the options, the frame rate and the face box, for the record.

The micro-expressions are planned and drawn as the training clips of ``mer-contrast synth`` are:
classes and AU patterns from :func:`~mer_contrast.synth.patterns.plan_clips` (the layout's shares),
the displacement field of :func:`~mer_contrast.synth.motion.au_field` at ``BASE_AMPLITUDE`` scaled to
the face size times the clip's gain, and the raised-cosine :func:`~mer_contrast.synth.motion.envelope`.
Durations follow real micro-expressions (``ME_SECONDS``: 0.2-0.5 s, onset to offset). Optional
macro-expressions (``macro_expressions``, kind ``macro``): the same AU patterns at ``MACRO_GAIN``
times the amplitude, held for ``MACRO_SECONDS`` (1.5-2.5 s, a 0.3 s raised-cosine rise and fall);
with none (the default) every recording is the one drawn before they existed. Distractors:
blinks (both upper lids close and reopen, 100-200 ms, as in ``sheet_twin``) and head movements (a
smooth translation of a few pixels over 0.3-0.8 s; the head stays where it moved to), plus a slow
jitter and sensor noise on every frame. Events never overlap, so the ground truth is unambiguous.

The broad recordings of ``bench spot`` add (:mod:`mer_contrast.synth.long_video_broad`, each off by
default): amplitudes stated in the spotter's crop (``amplitude_px``, written per event in the
ground truth's ``amplitude_px`` column), blinks that darken the eye, other face geometries, head
movements that also roll and stay rolled, and talking (kind ``talk``).
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from mer_contrast.synth.long_video_broad import (
    TALK_SECONDS,
    crop_scale,
    eye_darkening,
    long_video_face,
    peak_px,
    roll_field,
    scaled_to,
    talk_field,
    talk_weights,
)
from mer_contrast.synth.motion import (
    BASE_AMPLITUDE,
    JITTER_PX,
    NOISE_STD,
    AUToken,
    au_field,
    envelope,
    jitter,
)
from mer_contrast.synth.patterns import Layout, format_aus, plan_clips
from mer_contrast.synth.render import JPEG_QUALITY, stream, write_jpeg
from mer_contrast.synth.sheet_twin import BLINK_DEPTH

FRAME_RATES: dict[str, float] = {"casme2": 200.0, "samm": 200.0, "mmew": 90.0}  # the databases' cameras
ME_SECONDS = (0.2, 0.5)  # onset to offset of a micro-expression
BLINK_SECONDS = (0.1, 0.2)
HEAD_SECONDS = (0.3, 0.8)
MACRO_SECONDS = (1.5, 2.5)  # onset to offset of a macro-expression (MEGC: longer than 0.5 s)
MACRO_RAMP_SECONDS = 0.3
MACRO_GAIN = 3.0
HEAD_PX = (2.0, 6.0)  # size of one head movement for a 128-pixel face box
GAP_SECONDS = 0.3  # still time between two events
LONG = 11  # random-stream purpose of this module (render.py uses 0..3, sheet_twin 7)
VIDEO_NAME, FRAMES_DIR, TRUTH_NAME, INFO_NAME = "video.avi", "frames", "ground_truth.csv", "long_video.json"
TRUTH_COLUMNS = (
    "kind", "onset", "apex", "offset", "onset_s", "apex_s", "offset_s", "emotion", "aus", "amplitude_px",
)  # fmt: skip


@dataclass(frozen=True)
class LongVideoOptions:
    """What :func:`render_long_video` draws.

    Args:
        layout: whose classes and frame rate: ``casme2``, ``samm`` (200 fps) or ``mmew`` (90 fps).
        seconds: length of the recording.
        micro_expressions: K micro-expressions embedded at random, non-overlapping times.
        blinks: number of blinks (distractors).
        head_moves: number of head movements (distractors).
        macro_expressions: number of macro-expressions (held 1.5-2.5 s).
        amplitude: scale of the micro-expressions' displacement (1: the training clips' amplitude).
            0.3 is about the ratio of the CASME II twin's median motion in the spotter's 96 px crop
            to this generator's (0.75 / 2.4 px, as measured for issue 26).
        size: face box side in pixels (the canvas is 4/3 taller, 4:3 wide).
        fps: frame rate; None = the layout's database.
        seed: same seed, same frames.
        frames: also write every frame as a JPEG file (``frames/``).
        amplitude_px: (low, high): each micro-expression's largest displacement in the spotter's
            96 px crop, drawn uniformly (replaces ``amplitude``); None: ``amplitude`` as before.
        blink_darkening: the eyes' grey drops by up to this fraction at a blink's closure.
        geometry: ``broad`` draws face proportions from wider ranges than the training faces.
        head_roll: each head movement also rolls by up to this many degrees, and stays rolled.
        talks: number of talking spells (1-2 s of mouth motion, distractors).
    """

    layout: Layout = "casme2"
    seconds: float = 10.0
    micro_expressions: int = 4
    blinks: int = 3
    head_moves: int = 2
    size: int = 96
    macro_expressions: int = 0
    amplitude: float = 1.0
    fps: float | None = None
    seed: int = 0
    frames: bool = True
    amplitude_px: tuple[float, float] | None = None
    blink_darkening: float = 0.0
    geometry: Literal["default", "broad"] = "default"
    head_roll: float = 0.0
    talks: int = 0

    @property
    def rate(self) -> float:
        """Frames per second of the recording."""
        return float(self.fps) if self.fps else FRAME_RATES[self.layout]

    def __post_init__(self) -> None:
        if self.layout not in FRAME_RATES:
            raise ValueError(
                f"synth --long-video: unknown layout {self.layout!r}; expected casme2, samm or mmew"
            )
        if not 32 <= self.size <= 512:
            raise ValueError(f"synth --long-video: size must be 32..512 pixels, got {self.size}")
        if (
            self.rate < 10
            or self.seconds <= 0
            or min(self.micro_expressions, self.blinks, self.head_moves, self.macro_expressions, self.talks)
            < 0
            or self.amplitude <= 0
            or (self.amplitude_px is not None and not 0 < self.amplitude_px[0] <= self.amplitude_px[1])
            or not 0 <= self.blink_darkening < 1
        ):
            raise ValueError(
                "synth --long-video: needs fps >= 10, seconds > 0, counts >= 0 and amplitude > 0"
            )


@dataclass(frozen=True)
class Event:
    """One embedded event in frame indices (0-based, offset included)."""

    kind: str  # "me", "blink", "head", "macro" or "talk"
    onset: int
    apex: int
    offset: int
    emotion: str = ""
    aus: str = ""
    amplitude_px: float = 0.0  # largest displacement in the spotter's crop (micro-expressions)


def _place(lengths: list[int], total: int, gap: int, rng: np.random.Generator) -> list[int]:
    """Start frames of non-overlapping events of ``lengths`` in ``[gap, total - gap)``, in random order."""
    free = total - 2 * gap - sum(lengths) - gap * max(len(lengths) - 1, 0)
    if free < 0:
        need = (sum(lengths) + gap * (len(lengths) + 1)) / total
        raise ValueError(
            f"synth --long-video: {len(lengths)} events do not fit without overlap; give about "
            f"{need:.1f}x more --seconds or fewer events"
        )
    order = rng.permutation(len(lengths))
    cuts = np.sort(rng.integers(0, free + 1, len(lengths)))  # spare frames spread before each event
    starts, cursor = [0] * len(lengths), gap
    for slot, index in enumerate(order):
        spare = int(cuts[slot] - (cuts[slot - 1] if slot else 0))
        starts[int(index)] = cursor + spare
        cursor += spare + lengths[int(index)] + gap
    return starts


def plan_events(options: LongVideoOptions) -> tuple[int, list[Event], list]:
    """Frame count, every event in time order, and the micro-expressions' clip plans (same order)."""
    rate, total = options.rate, round(options.seconds * options.rate)
    rng = stream(options.seed, options.layout, LONG, 0)
    me_frames = (max(4, round(ME_SECONDS[0] * rate)), max(5, round(ME_SECONDS[1] * rate)))
    plans = [
        p
        for per in plan_clips(options.layout, 1, max(options.micro_expressions, 1), me_frames, rng)
        for p in per
    ]
    plans = plans[: options.micro_expressions]
    blink = [
        int(rng.integers(round(BLINK_SECONDS[0] * rate), round(BLINK_SECONDS[1] * rate) + 1))
        for _ in range(options.blinks)
    ]
    head = [
        int(rng.integers(round(HEAD_SECONDS[0] * rate), round(HEAD_SECONDS[1] * rate) + 1))
        for _ in range(options.head_moves)
    ]
    lengths = [p.length for p in plans] + [max(b, 3) for b in blink] + [max(h, 3) for h in head]
    macros = []
    if options.macro_expressions:  # drawn only when asked: recordings without them stay as they were
        macro_frames = (round(MACRO_SECONDS[0] * rate), round(MACRO_SECONDS[1] * rate))
        macros = [
            p
            for per in plan_clips(options.layout, 1, options.macro_expressions, macro_frames, rng)
            for p in per
        ][: options.macro_expressions]
        lengths += [p.length for p in macros]
    first_talk = len(lengths)
    if options.talks:
        talk_range = (round(TALK_SECONDS[0] * rate), round(TALK_SECONDS[1] * rate))
        lengths += [int(rng.integers(talk_range[0], talk_range[1] + 1)) for _ in range(options.talks)]
    starts = _place(lengths, total, round(GAP_SECONDS * rate), rng)
    first_macro = first_talk - len(macros)
    events: list[tuple[Event, object]] = []
    for i, start in enumerate(starts):
        length = lengths[i]
        if i >= first_talk:
            events.append((Event("talk", start, start + length // 2, start + length - 1), None))
        elif i < len(plans) or i >= first_macro:
            plan = plans[i] if i < len(plans) else macros[i - first_macro]
            kind = "me" if i < len(plans) else "macro"
            text = format_aus(plan.tokens, options.layout)
            apex = start + (plan.apex_index if kind == "me" else length // 2)
            events.append((Event(kind, start, apex, start + length - 1, plan.emotion, text), plan))
        else:
            kind = "blink" if i < len(plans) + len(blink) else "head"
            events.append((Event(kind, start, start + length // 2, start + length - 1), None))
    events.sort(key=lambda item: item[0].onset)
    return total, [e for e, _ in events], [p for _, p in events]


def _head_path(total: int, events: list[Event], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Per-frame head translation (total, 2): eased steps at the head events, plus slow jitter."""
    path = np.zeros((total, 2), np.float32)
    for event in (e for e in events if e.kind == "head"):
        angle, size = rng.uniform(0, 2 * np.pi), rng.uniform(*HEAD_PX) * scale
        step = size * np.array([np.cos(angle), np.sin(angle)], np.float32)
        t = np.arange(total, dtype=np.float32)
        progress = np.clip((t - event.onset) / max(event.offset - event.onset, 1), 0.0, 1.0)
        path += np.outer(0.5 - 0.5 * np.cos(np.pi * progress), step)
    return path + jitter(total, JITTER_PX * scale, rng)


def render_long_video(out: Path, options: LongVideoOptions, *, overwrite: bool = False) -> list[Event]:
    """Write the recording, its frames and ground truth into ``out`` (see the module docstring)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (overwrite and (out / TRUTH_NAME).is_file()):
            raise FileExistsError(
                f"synth --long-video: {out} is not empty; pass a new or empty folder "
                "(or --overwrite over an earlier long video)"
            )
        shutil.rmtree(out)
    total, events, plans = plan_events(options)
    face = long_video_face(options.seed, options.layout, options.size, options.geometry == "broad")
    scale = options.size / 128
    shape = face.neutral.shape[:2]
    weights = np.zeros((len(events), total), np.float32)
    fields = []
    broad = stream(options.seed, options.layout, LONG, 2)  # draws of the broad parts only
    spotter = crop_scale(face) if options.amplitude_px is not None else 96 / (options.size * 1.2)
    darkening = eye_darkening(face.geometry, shape, options.blink_darkening)[..., None]
    for k, (event, plan) in enumerate(zip(events, plans, strict=True)):
        length = event.offset - event.onset + 1
        if event.kind == "me":
            amplitude = BASE_AMPLITUDE * scale * plan.gain * options.amplitude
            field = au_field(plan.tokens, face.geometry, shape, amplitude)
            if options.amplitude_px is not None:
                field = scaled_to(field, float(broad.uniform(*options.amplitude_px)), spotter)
            events[k] = Event(**{**asdict(event), "amplitude_px": round(peak_px(field, spotter), 3)})
            weights[k, event.onset : event.offset + 1] = envelope(length, event.apex - event.onset)
        elif event.kind == "talk":
            field = talk_field(face.geometry, shape, options.size)
            weights[k, event.onset : event.offset + 1] = talk_weights(length, options.rate, broad)
        elif event.kind == "macro":
            field = au_field(
                plan.tokens, face.geometry, shape, BASE_AMPLITUDE * scale * plan.gain * MACRO_GAIN
            )
            weights[k, event.onset : event.offset + 1] = held(
                length, round(MACRO_RAMP_SECONDS * options.rate)
            )
        elif event.kind == "blink":
            field = au_field((AUToken(43),), face.geometry, shape, BLINK_DEPTH * options.size)
            steps = np.arange(length)
            weights[k, event.onset : event.offset + 1] = np.sin(np.pi * (steps + 0.5) / length) ** 2
        elif options.head_roll:  # the head path carries the shift; the roll stays after the move
            degrees = float(broad.uniform(-options.head_roll, options.head_roll))
            field = roll_field(face.geometry, shape, degrees)
            steps = np.arange(total, dtype=np.float32)
            progress = np.clip((steps - event.onset) / max(event.offset - event.onset, 1), 0.0, 1.0)
            weights[k] = 0.5 - 0.5 * np.cos(np.pi * progress)
        else:
            field = np.zeros((*shape, 2), np.float32)  # the head path carries it
        fields.append(field)
    blinks = [k for k, e in enumerate(events) if e.kind == "blink"] if options.blink_darkening else []
    rng = stream(options.seed, options.layout, LONG, 1)
    shifts = _head_path(total, events, scale, rng)
    (out / FRAMES_DIR).mkdir(parents=True, exist_ok=True) if options.frames else out.mkdir(
        parents=True, exist_ok=True
    )
    width, height = face.frame_size
    writer = cv2.VideoWriter(
        str(out / VIDEO_NAME), cv2.VideoWriter.fourcc(*"MJPG"), options.rate, (width, height)
    )
    if not writer.isOpened():
        raise OSError(f"{out / VIDEO_NAME}: OpenCV cannot write Motion-JPEG video; reinstall opencv")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, JPEG_QUALITY)
    grid_y, grid_x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    try:
        for t in range(total):
            dx = np.full(shape, shifts[t, 0], np.float32)
            dy = np.full(shape, shifts[t, 1], np.float32)
            for active in np.flatnonzero(weights[:, t]).tolist():
                dx += weights[active, t] * fields[active][..., 0]
                dy += weights[active, t] * fields[active][..., 1]
            closed = sum(float(weights[b, t]) for b in blinks)
            source = face.neutral * (1.0 - closed * darkening) if closed else face.neutral
            frame = cv2.remap(
                source, grid_x - dx, grid_y - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            frame = frame + NOISE_STD * rng.standard_normal(frame.shape, dtype=np.float32)
            image = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
            writer.write(image)
            if options.frames:
                write_jpeg(out / FRAMES_DIR / f"img{t:05d}.jpg", image)
    finally:
        writer.release()
    write_truth(out / TRUTH_NAME, events, options.rate)
    info = {**asdict(options), "fps": options.rate, "num_frames": total, "face_box": list(face.box)}
    (out / INFO_NAME).write_text(json.dumps(info, indent=1) + "\n")
    return events


def held(length: int, ramp: int) -> np.ndarray:
    """A macro-expression's weight per frame: raised-cosine rise over ``ramp`` frames, hold, fall."""
    t = np.arange(length, dtype=np.float64)
    ramp = max(1, min(ramp, length // 2))
    edge = np.minimum(t + 0.5, length - 0.5 - t) / ramp
    return (np.sin(0.5 * np.pi * np.clip(edge, 0.0, 1.0)) ** 2).astype(np.float32)


def write_truth(path: Path, events: list[Event], fps: float) -> None:
    """The ground-truth CSV (:data:`TRUTH_COLUMNS`)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRUTH_COLUMNS)
        for e in events:
            times = [round(v / fps, 4) for v in (e.onset, e.apex, e.offset)]
            writer.writerow([e.kind, e.onset, e.apex, e.offset, *times, e.emotion, e.aus, e.amplitude_px])


def read_truth(path: Path) -> list[Event]:
    """Events of a ground-truth CSV written by :func:`write_truth`."""
    with Path(path).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Event(
            r["kind"],
            int(r["onset"]),
            int(r["apex"]),
            int(r["offset"]),
            r["emotion"],
            r["aus"],
            float(r.get("amplitude_px") or 0.0),
        )
        for r in rows
    ]
