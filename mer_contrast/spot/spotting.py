"""Spotting micro-expressions in a long recording: a flow feature-difference curve and a robust threshold.

The method (documented with its parameters in ``docs/spotting.md``) follows the feature-difference
(FD) analysis of the MEGC spotting baselines (Moilanen et al., ICPR 2014; Li et al., MEGC 2019),
with optical flow in place of LBP histograms:

1. **Face**: one box from the Haar cascade of :mod:`mer_contrast.clips.face` on the first frame that
   shows a face, enlarged by ``margin`` and squared; every frame's box region is resized to ``size``
   pixels (grey) and registered (``translation``) so head movements do not read as expressions.
   ``follow: renew`` (:mod:`mer_contrast.spot.tracking`): to a reference renewed when it stops
   fitting (a pose change) and once more after the head settled, with the box re-detected every
   ``redetect_s``; the curve restarts after each renewal. ``follow: first``: every crop registered
   to the first one by :func:`~mer_contrast.clips.register.register_to_onset`, one box.
2. **Motion**: flow from frame ``t - k`` to ``t`` (``k`` = ``window_s`` seconds; DIS through
   :func:`~mer_contrast.clips.flow.flow_pair`), averaged in each region of the face
   (``regions: landmarks``: eleven boxes on brows, eyes, cheeks, nose, mouth corners and chin placed
   by dlib's 68 landmarks on each reference crop, :mod:`mer_contrast.spot.regions`; the same boxes on
   a mean face without dlib, or with ``template``; ``grid``: the cells of a ``grid`` x ``grid`` grid
   without the crop's border nor the eye band, ``eye_band`` of the face box height, as before).
   The FD contrast of frame ``t`` is ``|b(t + k) - b(t)| / 2`` per region, ``b(t)`` being the
   region's mean flow ``t - k -> t``: the face at ``t`` against both neighbours ``k`` away. Steady
   motion cancels; a rise and return (onset -> apex -> offset) peaks at the apex. **Blinks**: the
   eyes' grey change from their recent look (a closing lid darkens the eye) marks blink frames
   (``eye_z``, ``eye_min``); the contrast of a frame whose flow pairs touch one leaves the eye,
   brow and cheek regions out. The curve is the mean of the ``top_fraction`` strongest regions (a
   micro-expression moves a few), smoothed over ``smooth_s`` (at least ``smooth_frames``).
3. **Threshold** relative to the video's own baseline: ``median + z * 1.4826 * MAD`` of the curve,
   and at least ``min_motion`` pixels. Each run above it (of at least ``min_run_s``; default: any)
   gives one apex (its maximum); apexes closer than ``min_gap_s`` are merged (the stronger is
   kept). A span where the curve stays above the threshold (dips of at most ``bridge_s`` bridged)
   for longer than ``sustained_s`` plus ``window_s`` either side (longer than one micro-expression
   can lift it: talking, a macro-expression) is one interval, its apexes without an extent of their
   own (:func:`~mer_contrast.spot.curve.sustained`).
4. **Extent**: around each apex the frames are read again and flow is taken from the apex to every
   frame within ``max_s``; on the apex's strongest cells the displacement ``D(t)`` grows from 0 (the
   apex) to the neutral level (its median over the frames at least ``max_s / 2`` from the apex);
   projected on that level it gives the expression's strength, 1 at the apex and 0 when neutral.
   Onset and offset are the last frames either side whose strength is still ``level`` or more.
5. **Held expressions**: runs of three or more intervals each less than ``join_gap_s`` from the
   next (bursts: talking, chewing), and consecutive intervals at most ``held_gap_s`` apart
   between which the face stayed away from its earlier pose (``held_motion``), are joined
   (:mod:`mer_contrast.spot.kinds`); an interval shorter than ``min_s`` is dropped, one longer than
   0.5 s is a macro-expression.

Memory is one chunk of frames plus ``k + 1`` crops, and per frame the regions' contrasts and the eye
state (about 50 bytes a frame: 6 MB for 10 minutes at 200 fps).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from mer_contrast.clips.face import crop_box, largest_face, resize_square, square_box
from mer_contrast.clips.flow import FlowConfig, flow_pair
from mer_contrast.clips.register import BORDER_FRACTION, register_to_onset
from mer_contrast.spot.curve import delayed, find_apexes, mean_frame, smooth, strongest_mean, sustained
from mer_contrast.spot.extent import Interval, interval_extent, join_close, merge_held
from mer_contrast.spot.regions import (
    NEAR_EYES,
    TEMPLATE_REGIONS,
    EyeState,
    eye_zones,
    place_regions,
    region_centres,
    to_slices,
    without_head_motion,
)
from mer_contrast.spot.source import FootageSource, SpotError
from mer_contrast.spot.tracking import FaceFollower, RenewingReference

Progress = Callable[[int], None]  # called with the number of frames just processed


@dataclass(frozen=True)
class SpotConfig:
    """Parameters of the spotter (see the module docstring); the defaults are the documented ones."""

    size: int = 96
    margin: float = 0.1
    window_s: float = 0.15
    blur: float = 1.0
    average_s: float = 0.025
    grid: int = 6
    eye_band: tuple[float, float] = (0.25, 0.52)
    regions: Literal["landmarks", "template", "grid"] = "landmarks"
    eye_z: float = 5.0
    eye_min: float = 1.0
    eye_memory_s: float = 1.0
    head_motion: Literal["similarity", "none"] = "similarity"
    top_fraction: float = 0.25
    smooth_s: float = 0.05
    smooth_frames: int = 2  # at least: 0.05 s is 1 frame at 29.97 fps (no smoothing), 2 at 30 fps
    z: float = 3.0
    min_motion: float = 0.1
    min_run_s: float = 0.0
    min_gap_s: float = 0.25
    bridge_s: float = 0.1
    sustained_s: float = 0.5
    min_s: float = 0.15
    join_gap_s: float = 0.3
    max_s: float = 0.5
    level: float = 0.1
    chunk: int = 32  # frames decoded at a time (30 MB of 640x480)
    face_tries: int = 10
    follow: Literal["renew", "first"] = "renew"
    renew_fit: float = 0.95
    settle_s: float = 0.5
    held_motion: float = 0.25
    held_gap_s: float = 2.0
    redetect_s: float = 0.5
    redetect_move: float = 0.1
    flow: FlowConfig = field(default_factory=lambda: FlowConfig(method="farneback"))

    def frames(self, seconds: float, fps: float, least: int = 1) -> int:
        """A duration in frames at ``fps`` (at least ``least``)."""
        return max(least, round(seconds * fps))

    def smoothing(self, fps: float) -> int:
        """Frames of the curve's moving mean: ``smooth_s``, at least ``smooth_frames``."""
        return self.frames(self.smooth_s, fps, least=self.smooth_frames)


@dataclass
class SpotResult:
    """What the spotter found: the curve (NaN where undefined), its threshold and the intervals."""

    curve: np.ndarray
    threshold: float
    baseline: float
    intervals: list[Interval]
    fps: float
    box: tuple[int, int, int, int]
    note: str = ""  # why nothing could be spotted, when the recording itself is the reason
    boxes: list[tuple[int, tuple[int, int, int, int]]] = field(default_factory=list)  # (from frame, box)
    restarts: list[int] = field(default_factory=list)  # where the curve restarted (follow: renew)


class FaceTrack:
    """The face crop of every frame, registered to the first one (the clip pipeline's steps)."""

    def __init__(
        self, source: FootageSource, cfg: SpotConfig, box: tuple[int, int, int, int] | None = None
    ) -> None:
        self.cfg = cfg
        self.box = box if box is not None else self._find_box(source)  # given: a clip's own box
        self.reference: np.ndarray | None = None
        side, border = cfg.size, round(cfg.size * BORDER_FRACTION)
        self.eyes = eye_zones(
            {name: to_slices(rect, side, border) for name, rect in TEMPLATE_REGIONS.items()}
        )
        self.placements: list[tuple[int, list[tuple[slice, slice]], list[tuple[slice, slice]]]] = []
        self.landmarks_placed = 0  # how many placements dlib's landmarks made (the rest: the template)
        if cfg.regions == "grid":
            mask = np.zeros((side, side), bool)
            mask[border : side - border, border : side - border] = True
            face_top, face_side = cfg.margin / (1 + 2 * cfg.margin), 1 / (1 + 2 * cfg.margin)
            top, bottom = (round(side * (face_top + face_side * f)) for f in cfg.eye_band)
            mask[top:bottom] = False
            edges = np.linspace(0, side, cfg.grid + 1).round().astype(int)
            self.cells = [
                (slice(edges[i], edges[i + 1]), slice(edges[j], edges[j + 1]))
                for i in range(cfg.grid)
                for j in range(cfg.grid)
                if mask[edges[i] : edges[i + 1], edges[j] : edges[j + 1]].mean() > 0.5
            ]
            self.masks = [mask[cell] for cell in self.cells]
            self.near_eyes = np.zeros(len(self.cells), bool)  # the eye band is cut already
        else:
            self._use({name: to_slices(rect, side, border) for name, rect in TEMPLATE_REGIONS.items()})
            self.near_eyes = np.array([name in NEAR_EYES for name in TEMPLATE_REGIONS])

    def _use(self, boxes: dict[str, tuple[slice, slice]]) -> None:
        self.cells = list(boxes.values())
        self.masks = [np.ones((c[0].stop - c[0].start, c[1].stop - c[1].start), bool) for c in self.cells]
        self.eyes = eye_zones(boxes)

    def place(self, index: int, crop: np.ndarray) -> None:
        """The regions placed on a reference ``crop`` (landmarks, else the template), from frame ``index``."""
        if self.cfg.regions != "grid":
            inner = self.cfg.margin / (1 + 2 * self.cfg.margin)
            rects, found = place_regions(crop, inner, self.cfg.regions == "landmarks")
            self.landmarks_placed += found
            border = round(self.cfg.size * BORDER_FRACTION)
            self._use({name: to_slices(rect, self.cfg.size, border) for name, rect in rects.items()})
        self.placements.append((index, self.cells, self.eyes))

    def restore(self, index: int) -> None:
        """The regions frame ``index`` was measured with (after :meth:`place` calls)."""
        if self.cfg.regions == "grid":  # the grid's cells never move
            return
        for start, cells, eyes in self.placements:
            if start <= index:
                self.cells, self.eyes = cells, eyes
        self.masks = [np.ones((c[0].stop - c[0].start, c[1].stop - c[1].start), bool) for c in self.cells]

    def _find_box(self, source: FootageSource) -> tuple[int, int, int, int]:
        step = max(1, source.num_frames // self.cfg.face_tries)
        for index in range(0, source.num_frames, step)[: self.cfg.face_tries]:
            frame = source.read(index, index + 1)[0]
            face = largest_face(frame)
            if face is not None:
                return square_box(face, self.cfg.margin, *frame.shape[:2])
        raise SpotError(
            source.path,
            f"no face found on {min(self.cfg.face_tries, source.num_frames)} frames spread over the "
            "recording (OpenCV's frontal-face detector): film the face frontally and well lit",
        )

    def grey(self, frame: np.ndarray) -> np.ndarray:
        """The ``size`` x ``size`` grey, blurred crop of an RGB frame (not registered)."""
        grey = cv2.cvtColor(resize_square(crop_box(frame, self.box), self.cfg.size), cv2.COLOR_RGB2GRAY)
        if self.cfg.blur > 0:  # sensor noise otherwise reads as sub-pixel flow everywhere
            grey = cv2.GaussianBlur(grey, (0, 0), self.cfg.blur)
        return grey

    def crops(self, frames: np.ndarray) -> list[np.ndarray]:
        """Grey crops of RGB frames registered to the track's first crop."""
        grey = [self.grey(f) for f in frames]
        if self.reference is None:
            self.reference = grey[0]
        return register_to_onset([self.reference, *grey], "translation")[1:]

    def raw_means(self, flow: np.ndarray) -> np.ndarray:
        """Mean flow ``(cells, 2)`` of each region, over its unmasked pixels."""
        return np.array([flow[cell][m].mean(axis=0) for cell, m in zip(self.cells, self.masks, strict=True)])

    def local(
        self, means: np.ndarray, placement: int | None = None, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        """Region means less the head's motion (``head_motion``); ``placement``: of those regions."""
        if self.cfg.head_motion == "none":
            return means
        cells = self.cells if placement is None else self.placements[placement][1]
        drop = max(1, round(self.cfg.top_fraction * len(self.cells)))
        return without_head_motion(means, region_centres(cells, self.cfg.size), drop, exclude)

    def cell_means(self, flow: np.ndarray) -> np.ndarray:
        """Mean flow ``(cells, 2)`` of each region less the head's motion (the current regions)."""
        return self.local(self.raw_means(flow))


def _crops(
    source: FootageSource, track: FaceTrack, cfg: SpotConfig, follower: FaceFollower | None,
    progress: Progress | None,
) -> Iterator[tuple[int, np.ndarray, bool]]:  # fmt: skip
    """``(frame index, registered grey crop, the curve restarts here)`` of every frame, a chunk in memory.

    ``follow: first``: every crop registered to the first one, one box. ``follow: renew`` (with a
    follower): the reference is renewed when it stops fitting (a pose change), the box when a
    re-detection finds the face moved; the curve restarts after either.
    """
    reference = RenewingReference(cfg.renew_fit, cfg.frames(cfg.settle_s, source.fps))
    for first, frames in source.chunks(cfg.chunk):
        if follower is None:
            for offset, crop in enumerate(track.crops(frames)):
                yield first + offset, crop, False
        else:
            for offset, frame in enumerate(frames):
                index = first + offset
                crop, renewed = reference.align(track.grey(frame))
                if follower.update(index, frame, now=renewed):
                    track.box = follower.box
                    crop = track.grey(frame)
                    reference.renew(crop, settle=True)  # the head moved: renew again once it rests
                    renewed = True
                if renewed:
                    follower.restarts.append(index)
                yield index, crop, renewed
        if progress is not None:
            progress(len(frames))


def motion_curve(
    source: FootageSource,
    cfg: SpotConfig,
    track: FaceTrack,
    progress: Progress | None = None,
    follower: FaceFollower | None = None,
) -> np.ndarray:
    """The FD curve (``num_frames``,) in pixels, NaN within ``k`` frames of either end or a restart.

    The pass keeps each frame's raw region flows ``b`` (from ``k`` frames before) and eye state; the
    blink frames are known once the whole recording was seen, and only then is the head's motion
    removed (fitted without the regions near the eyes where a blink touches the pair) and the
    contrast taken.
    """
    k = cfg.frames(cfg.window_s, source.fps)
    m = cfg.frames(cfg.average_s, source.fps)
    raw = np.full((source.num_frames, len(track.cells), 2), np.nan, np.float32)
    placement = np.zeros(source.num_frames, np.int32)  # which placement of the regions each frame used
    eyes = EyeState(source.num_frames, cfg.frames(cfg.eye_memory_s, source.fps))
    recent: deque[np.ndarray] = deque(maxlen=m)
    crops: deque[np.ndarray] = deque(maxlen=k + 1)
    for index, crop, restart in _crops(source, track, cfg, follower, progress):
        if restart or eyes.recent is None:  # a new reference or box: no pair may straddle it
            recent.clear()
            crops.clear()
            track.place(index, crop)
            eyes.restart(crop, track.eyes)
        eyes.measure(index, crop)
        placement[index] = len(track.placements) - 1
        recent.append(crop.astype(np.float32))
        crops.append(mean_frame(recent))  # centred on index - (m - 1) / 2
        if len(crops) == k + 1:
            raw[index] = track.raw_means(flow_pair(crops[0], crops[-1], cfg.flow))  # b(index)
    blink = eyes.blinks(cfg.eye_z, cfg.eye_min)
    window = np.convolve(blink.astype(float), np.ones(m), mode="full")[: len(blink)] > 0  # (j - m, j]
    pair = window | delayed(window, k)  # b(j) reads the frames up to j - k and j
    local = raw.copy()
    for j in np.flatnonzero(~np.isnan(raw[:, 0, 0])).tolist():
        local[j] = track.local(raw[j], int(placement[j]), track.near_eyes if pair[j] else None)
    contrasts = np.full((source.num_frames, len(track.cells)), np.nan, np.float32)
    shift = k + (m - 1) // 2  # the contrast b(i) - b(i - k) belongs to frame i - shift
    if source.num_frames > shift:
        late = np.linalg.norm(local - delayed(local, k), axis=2) / 2  # NaN across a restart or an end
        late[(pair | delayed(pair, k))[:, None] & track.near_eyes[None, :]] = np.nan
        contrasts[: source.num_frames - shift] = late[shift:]
    return strongest_mean(contrasts, max(1, round(cfg.top_fraction * len(track.cells))))


def spot(
    source: FootageSource, cfg: SpotConfig | None = None, progress: Progress | None = None
) -> SpotResult:
    """Spot micro-expression intervals in ``source`` (see the module docstring)."""
    cfg = cfg or SpotConfig()
    track = FaceTrack(source, cfg)
    box = track.box
    k = cfg.frames(cfg.window_s, source.fps)
    if source.num_frames < 2 * k + 1:  # no frame has both neighbours k away: the curve is undefined
        note = (
            f"too short to spot: {source.num_frames} frames at {source.fps:g} fps; the spotter compares "
            f"each frame with its neighbours {cfg.window_s:g} s ({k} frames) either side and needs at "
            f"least {2 * k + 1} frames ({(2 * k + 1) / source.fps:.2f} s)"
        )
        curve = np.full(source.num_frames, np.nan, np.float32)
        return SpotResult(curve, float("nan"), float("nan"), [], source.fps, box, note, [(0, box)])
    follower = None
    if cfg.follow == "renew":
        every = cfg.frames(cfg.redetect_s, source.fps)
        follower = FaceFollower(box, every, cfg.redetect_move, cfg.margin)
    curve = motion_curve(source, cfg, track, progress, follower)
    curve = smooth(curve, cfg.smoothing(source.fps))
    apexes, threshold, baseline = find_apexes(curve, cfg, source.fps)
    # a micro-expression lifts the curve for at most its own length plus the window either side
    longest = cfg.frames(cfg.sustained_s + 2 * cfg.window_s, source.fps)
    bridge = cfg.frames(cfg.bridge_s, source.fps, least=0)
    apexes, activities = sustained(apexes, curve, threshold, bridge, longest)
    intervals = []
    for apex in apexes:
        track.restore(apex)
        onset, offset = interval_extent(source, cfg, track, apex, follower)
        intervals.append(Interval(onset, apex, offset, float(curve[apex])))
    intervals = join_close(intervals, cfg.frames(cfg.join_gap_s, source.fps))
    intervals = merge_held(source, cfg, track, follower, intervals)
    shortest = cfg.min_s * source.fps
    intervals = [i for i in intervals if i.offset - i.onset + 1 >= shortest]
    intervals += [Interval(first, apex, last, float(curve[apex])) for first, apex, last in activities]
    intervals.sort(key=lambda interval: interval.onset)
    boxes = follower.changes if follower is not None else [(0, box)]
    restarts = follower.restarts if follower is not None else []
    return SpotResult(curve, threshold, baseline, intervals, source.fps, box, "", boxes, restarts)
