"""From a :class:`SampleRecord` to the arrays the model eats: sampled face crops and their flow.

``prepare_clip(record, cfg) -> {"rgb": uint8 (T, S, S, 3), "flow": float16 (T', C, S, S)}``

Steps: check the clip's files (missing/empty files and clips of fewer than 2 frames are a
:class:`ClipError` before any decoding), pick ``T`` indices (``sampling``), decode only those frames
(plus the apex for ``onset_apex`` flow), find one face box on the onset and cut it from every frame
(``face``), bring the crops to the flow resolution (``FlowConfig.size``, native by default),
register them to the first sampled frame (``register``), optionally warp them so the onset's landmarks
sit on a template face (``align``), compute the flow there and resize the *field* to ``S`` with its
vectors scaled (``flow``); the RGB frames are the same registered (and aligned) crops resized to
``S``. Flow is stored raw (pixels of the ``S`` image; strain values) as float16: about 3 significant
digits at half the disk and I/O; the DataModule normalises it at load time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mer_contrast.clips.align import ALIGN_MODES, AlignMode, LandmarksMissing, align_to_template
from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.face import CropMode, crop_box, face_box, resize_square, resolve_crop
from mer_contrast.clips.flow import FlowConfig, compute_flow
from mer_contrast.clips.frames import ClipSource
from mer_contrast.clips.landmarks import INSTALL_HINT, landmarks_available
from mer_contrast.clips.register import REGISTER_MODES, RegisterMode, register_to_onset
from mer_contrast.clips.sampling import Span, sample_indices
from mer_contrast.datasets.records import SampleRecord


@dataclass(frozen=True)
class ClipConfig:
    """Everything that decides how a record becomes tensors (and so the flow cache key).

    Args:
        num_frames: frames sampled per clip (T); flow has T-1 steps (1 for ``onset_apex`` pairs).
        image_size: side S of the square face image the model sees, in pixels.
        span: segment sampled: ``onset_apex``, ``onset_apex_offset`` or ``whole`` (see ``sampling``).
        crop: ``auto`` (database crop if the reader marked one, else detect), ``dataset``,
            ``detect`` or ``none`` (see ``face``).
        face_margin: fraction of the detected face side added on every side before squaring.
        register: align every frame to the first sampled one: ``none``, ``translation`` or
            ``euclidean`` (see ``register``).
        align: after registration, warp the clip so its onset's landmarks sit on a template face:
            ``none`` or ``landmarks`` (see ``align``; needs the ``landmarks`` extra).
        flow: optical flow method, resolution, pairs and channels.
    """

    num_frames: int = 8
    image_size: int = 112
    span: Span = "onset_apex"
    crop: CropMode = "auto"
    face_margin: float = 0.15
    register: RegisterMode = "none"
    align: AlignMode = "none"
    flow: FlowConfig = field(default_factory=FlowConfig)

    def __post_init__(self) -> None:
        if self.num_frames < 2:
            raise ValueError(f"num_frames must be at least 2 (flow needs a pair), got {self.num_frames}")
        if self.image_size < 8:
            raise ValueError(f"image_size must be at least 8 pixels, got {self.image_size}")
        if not 0.0 <= self.face_margin <= 1.0:
            raise ValueError(f"face_margin is a fraction of the face side in [0, 1], got {self.face_margin}")
        if self.span not in ("onset_apex", "onset_apex_offset", "whole"):
            raise ValueError(f"unknown span {self.span!r}; expected onset_apex, onset_apex_offset or whole")
        if self.crop not in ("auto", "dataset", "detect", "none"):
            raise ValueError(f"unknown crop {self.crop!r}; expected auto, dataset, detect or none")
        if self.register not in REGISTER_MODES:
            raise ValueError(
                f"unknown register {self.register!r}; expected one of {', '.join(REGISTER_MODES)}"
            )
        if self.align not in ALIGN_MODES:
            raise ValueError(f"unknown align {self.align!r}; expected one of {', '.join(ALIGN_MODES)}")
        if self.align == "landmarks" and not landmarks_available():
            raise LandmarksMissing(f"align: landmarks needs dlib's 68-point model: {INSTALL_HINT}")

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the arrays :func:`prepare_clip` returns."""
        t, s = self.num_frames, self.image_size
        return {"rgb": (t, s, s, 3), "flow": (self.flow.steps(t), self.flow.num_channels, s, s)}


def apex_position(record: SampleRecord, num_available: int) -> int | None:
    """Index of the apex among the clip's available frames, or None when unknown or not on disk."""
    if record.apex is None:
        return None
    numbers = tuple(record.frame_numbers) or tuple(range(record.onset, record.offset + 1))
    if len(numbers) != num_available or record.apex not in numbers:
        return None  # numbering does not match the frames found: let sampling use the middle
    return numbers.index(record.apex)


def clip_indices(record: SampleRecord, cfg: ClipConfig, source: ClipSource) -> list[int]:
    """The deterministic sampled indices of a record (the ones the cache stores)."""
    num = source.num_available
    if num < 2:
        source.check()  # raises the ClipError that names the clip's files
    return sample_indices(num, cfg.num_frames, cfg.span, apex_position(record, num))


def apex_index(record: SampleRecord, source: ClipSource) -> int:
    """The frame ``onset_apex`` flow goes to: the apex, else the middle (never the onset itself)."""
    num = source.num_available
    return sample_indices(num, 2, "onset_apex", apex_position(record, num))[1]


def prepare_clip(
    record: SampleRecord, cfg: ClipConfig, *, indices: Sequence[int] | None = None
) -> dict[str, np.ndarray]:
    """Sample, crop, register and compute flow for one clip.

    Args:
        record: the clip (frames or video).
        cfg: the clip configuration.
        indices: frame indices to use instead of the deterministic sampling (e.g. from
            ``sampling.jitter_indices``); the flow cache only holds the deterministic ones.

    Returns:
        ``{"rgb": uint8 (T, S, S, 3), "flow": float16 (T', C, S, S)}`` (flow raw, see ``flow``).

    Raises:
        ClipError: missing/empty/corrupt frames, unreadable video, fewer than 2 frames.
    """
    source = ClipSource.from_record(record)
    source.check()
    if indices is None:
        chosen = clip_indices(record, cfg, source)
    else:
        chosen = [int(i) for i in indices]
        if len(chosen) != cfg.num_frames or min(chosen) < 0 or max(chosen) >= source.num_available:
            raise ValueError(
                f"{record.key}: indices must be {cfg.num_frames} values in 0..{source.num_available - 1}"
            )
    one_pair = cfg.flow.pairs == "onset_apex"
    apex = apex_index(record, source) if one_pair else None
    mode = resolve_crop(cfg.crop, record.extra)
    order = list(dict.fromkeys([*chosen, *([apex] if apex is not None else [])]))  # first = reference
    needed = set(order) | ({0} if mode == "detect" else set())
    decoded = source.read(sorted(needed))
    box = face_box(decoded[0], mode, cfg.face_margin, record.key) if mode == "detect" else None
    work = [crop_box(decoded[i], box) for i in order]
    if cfg.flow.size is not None:
        work = [resize_square(frame, cfg.flow.size) for frame in work]
    try:
        aligned = align_to_template(register_to_onset(work, cfg.register), cfg.align, record.key)
        registered = dict(zip(order, aligned, strict=True))
        if apex is not None:
            flow_frames = [registered[chosen[0]], registered[apex]]
        else:
            flow_frames = [registered[i] for i in chosen]
        flow = compute_flow(flow_frames, cfg.flow, cfg.image_size)
    except Exception as err:  # cv2.error etc.: name the clip, keep the message short
        raise ClipError(source.location, f"optical flow failed ({type(err).__name__}: {err})") from err
    rgb = np.stack([resize_square(registered[i], cfg.image_size) for i in chosen])
    return {"rgb": rgb, "flow": flow.astype(np.float16)}
