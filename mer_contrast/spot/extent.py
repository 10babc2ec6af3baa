"""Where a spotted apex's expression starts and ends, and held expressions joined (steps 4 and 5 of
:mod:`mer_contrast.spot.spotting`, whose module docstring documents them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mer_contrast.clips.flow import flow_pair
from mer_contrast.clips.register import register_to_onset
from mer_contrast.spot.kinds import held_groups
from mer_contrast.spot.source import FootageSource
from mer_contrast.spot.tracking import FaceFollower

if TYPE_CHECKING:
    from mer_contrast.spot.spotting import FaceTrack, SpotConfig


@dataclass(frozen=True)
class Interval:
    """One spotted candidate, in 0-based frame indices (offset included)."""

    onset: int
    apex: int
    offset: int
    score: float  # the curve at the apex, pixels


def interval_extent(
    source: FootageSource, cfg: SpotConfig, track: FaceTrack, apex: int, follower: FaceFollower | None = None
) -> tuple[int, int]:
    """Onset and offset around ``apex`` from the apex-referenced displacement (module docstring, 4).

    With a follower the window is read with the apex's box and registered to the apex's crop.
    """
    k = cfg.frames(cfg.window_s, source.fps)
    reach = cfg.frames(cfg.max_s, source.fps, least=k + 1)
    start, stop = max(0, apex - reach), min(source.num_frames, apex + reach + 1)
    at = apex - start
    if follower is None:
        crops = [c for _, frames in source.chunks(cfg.chunk, start, stop) for c in track.crops(frames)]
    else:
        track.box = follower.box_at(apex)
        grey = [track.grey(f) for _, frames in source.chunks(cfg.chunk, start, stop) for f in frames]
        crops = register_to_onset([grey[at], *grey], "translation")[1:]
    before = crops[max(0, at - k)]
    after = crops[min(len(crops) - 1, at + k)]
    contrast = np.linalg.norm(
        track.cell_means(flow_pair(crops[at], before, cfg.flow))
        + track.cell_means(flow_pair(crops[at], after, cfg.flow)),
        axis=1,
    )
    strongest = np.argsort(contrast)[-max(1, round(cfg.top_fraction * len(track.cells))) :]
    shift = np.array(
        [track.cell_means(flow_pair(crops[at], c, cfg.flow))[strongest] for c in crops]
    )  # (frames, cells, 2)
    far = np.abs(np.arange(len(crops)) - at) >= reach // 2
    neutral = np.median(shift[far] if far.any() else shift, axis=0)  # the face away from the apex
    norm = max(float((neutral**2).sum()), 1e-6)
    strength = 1.0 - (shift * neutral).sum(axis=(1, 2)) / norm  # 1 at the apex, 0 when neutral
    onset = at
    while onset > 0 and strength[onset - 1] >= cfg.level:
        onset -= 1
    offset = at
    while offset < len(crops) - 1 and strength[offset + 1] >= cfg.level:
        offset += 1
    return start + onset, start + offset


def face_moved(
    source: FootageSource,
    cfg: SpotConfig,
    track: FaceTrack,
    follower: FaceFollower | None,
    before: int,
    at: int,
) -> float:
    """How far the face at ``at`` is from the face at ``before`` (pixels, strongest cells, registered)."""
    if follower is not None:
        track.box = follower.box_at(before)
    first, second = (track.grey(source.read(i, i + 1)[0]) for i in (before, at))
    second = register_to_onset([first, second], "translation")[1]
    magnitude = np.linalg.norm(track.cell_means(flow_pair(first, second, cfg.flow)), axis=1)
    return float(np.sort(magnitude)[-max(1, round(cfg.top_fraction * len(track.cells))) :].mean())


def merge_held(
    source: FootageSource, cfg: SpotConfig, track: FaceTrack, follower: FaceFollower | None,
    intervals: list[Interval],
) -> list[Interval]:  # fmt: skip
    """Consecutive intervals between which the face stayed moved, as one (a held expression).

    Held: the face halfway between them is away both from the face before the first one and from the
    face after the next one (a held expression's rise and fall; not the fall of one and the rise of
    the next, nor a pose that changed for good).
    """
    k = cfg.frames(cfg.window_s, source.fps)
    restarts = follower.restarts if follower is not None else []

    offsets = {i.onset: i.offset for i in intervals}
    longest_hold = cfg.frames(cfg.held_gap_s, source.fps)

    def still_moved(onset: int, between: int, next_onset: int) -> bool:
        last_offset = max(o for start, o in offsets.items() if start < next_onset)
        if next_onset - last_offset > longest_hold:
            return False  # too long apart for one expression's rise and fall
        before, after = max(0, onset - k), min(source.num_frames - 1, offsets[next_onset] + k)
        if any(before < r <= after for r in restarts):
            return False  # a new reference or box in between: the faces are not comparable
        return all(  # held: away from the face before the first rise and from the face after the fall
            face_moved(source, cfg, track, follower, end, between) >= cfg.held_motion
            for end in (before, after)
        )

    spans = [(i.onset, i.apex, i.offset) for i in intervals]
    merged = []
    for group in held_groups(spans, source.fps, still_moved):
        parts = [intervals[i] for i in group]
        strongest = max(parts, key=lambda part: part.score)
        merged.append(Interval(parts[0].onset, strongest.apex, max(p.offset for p in parts), strongest.score))
    return merged


def join_close(intervals: list[Interval], gap: int, least: int = 3) -> list[Interval]:
    """Runs of ``least`` or more intervals, each less than ``gap`` frames from the next, as one.

    Talking or chewing shows as a burst of short candidates a syllable apart; joined, the burst is as
    long as the activity and counts as a macro-expression. Two close candidates stay apart: a
    micro-expression next to a macro-expression's rise is not a burst.
    """
    runs: list[list[Interval]] = []
    for interval in intervals:
        if runs and interval.onset - runs[-1][-1].offset < gap:
            runs[-1].append(interval)
        else:
            runs.append([interval])
    joined: list[Interval] = []
    for run in runs:
        if len(run) < least:
            joined.extend(run)
            continue
        strongest = max(run, key=lambda part: part.score)
        joined.append(Interval(run[0].onset, strongest.apex, max(p.offset for p in run), strongest.score))
    return joined
