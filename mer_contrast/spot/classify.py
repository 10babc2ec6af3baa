"""Classifying spotted intervals with a trained checkpoint, video only, as ``mer-contrast predict`` does.

The clip settings come from the checkpoint: those ``mer-contrast fit`` records (image size, frames,
span, registration, flow method, pairs, channels, class names) and the datamodule's saved arguments
(flow size and parameters, flow bounds). Each interval becomes a
:class:`~mer_contrast.datasets.records.SampleRecord` over the recording's frames and goes through
:func:`~mer_contrast.clips.prepare.prepare_clip` with that :class:`~mer_contrast.clips.prepare.ClipConfig`,
so it is sampled, face-cropped (``detect``: a recording is not a database crop), registered and given
flow exactly as a training clip; then :meth:`MERContrastModule.predict_step` gives the class, the
probabilities and the nearest FACS descriptions.

Flow bounds: when training chose them from its clips they are not in the checkpoint; they are then
chosen the same way (:func:`~mer_contrast.clips.flow.choose_bounds`) from the video's spotted clips.

Nothing is lost: an interval shorter than :data:`MIN_CLASSIFY_FRAMES` (one frame is common at 30 fps)
is widened around its apex for classification, and an interval that still cannot be prepared or
classified gets a row with no class and its reason in ``flags``; the other intervals are classified.
An interval whose first frame shows no face (the clip pipeline then cuts a centred square) is
classified and flagged.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.face import CropMode, NoFaceFoundWarning, largest_face
from mer_contrast.clips.flow import FlowConfig, FlowNorm, choose_bounds
from mer_contrast.clips.prepare import ClipConfig, prepare_clip
from mer_contrast.loggers import quiet
from mer_contrast.spot.report import NO_FACE
from mer_contrast.spot.source import FootageSource, SpotError
from mer_contrast.spot.spotting import Interval
from mer_contrast.trainers.checkpoint import KEY, CheckpointError, read_checkpoint

MIN_CLASSIFY_FRAMES = 3  # the clip pipeline needs 2 frames; 3 keep the apex off the onset


def classification_span(
    interval: Interval, num_frames: int, least: int = MIN_CLASSIFY_FRAMES
) -> tuple[int, int]:
    """Onset and offset to classify: the interval widened to ``least`` frames (inside the recording)."""
    onset, offset = interval.onset, interval.offset
    while offset - onset + 1 < least and (onset > 0 or offset < num_frames - 1):
        onset = max(0, onset - 1)
        if offset - onset + 1 < least:
            offset = min(num_frames - 1, offset + 1)
    return onset, offset


def _reason(err: BaseException) -> str:
    if isinstance(err, SpotError):
        return err.reason
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0][:160]}" if lines else type(err).__name__


@dataclass
class Prepared:
    """One interval ready for the model (``arrays``), or not (None), with what the table must say of it."""

    arrays: dict[str, np.ndarray] | None
    flags: list[str] = field(default_factory=list)


@dataclass
class Classifier:
    """A loaded module with the clip configuration and flow bounds its checkpoint implies."""

    module: Any
    clip: ClipConfig
    bounds: tuple[float | None, float | None]

    @classmethod
    def load(cls, path: Path) -> Classifier:
        """Load ``path`` (one-line :class:`SpotError` for anything unusable)."""
        with quiet.quiet_run():  # no "Loading weights" bar nor Lightning chatter for a checkpoint load
            from mer_contrast.trainers import MERContrastModule

            quiet.attach()
            try:
                checkpoint = read_checkpoint(path)
                module = MERContrastModule.load_from_checkpoint(path, map_location="cpu")
            except (CheckpointError, TypeError) as err:
                raise SpotError(path, str(err).removeprefix(f"{path}: ")) from None
        module.eval()
        settings = (checkpoint.get(KEY) or {}).get("clip_settings") or {}
        data = dict(checkpoint.get("datamodule_hyper_parameters") or {})

        def get(name: str, default: Any) -> Any:
            return settings.get(name, data.get(name, default))

        if isinstance(data.get("flow"), dict):  # the data's `flow:` group
            flow = FlowConfig(**data["flow"])
        else:  # a checkpoint from before the group: flat flow_* arguments
            flow = FlowConfig(
                method=get("flow_method", "tvl1"),
                pairs=get("flow_pairs", "onset"),
                channels=get("flow_channels", "uv"),
                size=data.get("flow_size"),
                **(data.get("flow_params") or {}),
            )
        clip = ClipConfig(
            num_frames=int(get("num_frames", 8)),
            image_size=int(get("image_size", 112)),
            span=get("span", "onset_apex"),
            crop="detect",
            register=get("register", "translation"),
            align=get("align", "none"),
            flow=flow,
        )
        return cls(module, clip, (data.get("flow_bound"), data.get("strain_bound")))

    def prepare_one(
        self, source: FootageSource, name: str, interval: Interval, crop: CropMode | None = None
    ) -> dict[str, np.ndarray]:
        """One interval's arrays; ``crop`` overrides the checkpoint's ``detect`` (face crops already)."""
        record = source.record(name, interval.onset, interval.apex, interval.offset)
        try:
            return prepare_clip(record, self.clip if crop is None else replace(self.clip, crop=crop))
        except ClipError as err:
            raise SpotError(err.path, err.reason) from None

    def norm(self, clips: list[dict[str, np.ndarray]]) -> FlowNorm:
        """The checkpoint's flow bounds, else bounds chosen from these clips as training did."""
        bound, strain = self.bounds
        channels = self.clip.flow.channels
        if bound is None or (strain is None and "strain" in channels):
            chosen = choose_bounds([c["flow"].astype(np.float32) for c in clips], channels)
            bound = chosen[0] if bound is None else bound
            strain = chosen[1] if strain is None else strain
        return FlowNorm(channels, float(bound), float(strain or 1.0))

    def prepare_safely(
        self, source: FootageSource, name: str, interval: Interval, crop: CropMode | None = None,
        *, check_face: bool = False,
    ) -> Prepared:  # fmt: skip
        """:meth:`prepare_one` on the interval widened to :data:`MIN_CLASSIFY_FRAMES`; failures are flags."""
        flags = []
        onset, offset = classification_span(interval, source.num_frames)
        if (onset, offset) != (interval.onset, interval.offset):
            frames = interval.offset - interval.onset + 1
            flags.append(
                f"widened to frames {onset}-{offset} for classification (spotted: {frames} frame(s))"
            )
        try:
            if check_face and largest_face(source.read(onset, onset + 1)[0]) is None:
                flags.append(NO_FACE)
            with warnings.catch_warnings():  # the flag says it, in the table
                warnings.simplefilter("ignore", NoFaceFoundWarning)
                arrays = self.prepare_one(source, name, replace(interval, onset=onset, offset=offset), crop)
        except Exception as err:  # one interval's failure must not lose the others
            return Prepared(None, [*flags, f"unclassified: {_reason(err)}"])
        return Prepared(arrays, flags)

    def classify(self, source: FootageSource, intervals: list[Interval]) -> list[dict[str, Any]]:
        """Per interval: ``class_name``, ``probability``, ``probs`` (by class), ``explanation`` and
        ``flags``; an interval that could not be classified has ``flags`` only (module docstring)."""
        prepared = [
            self.prepare_safely(source, f"me{i:03d}", interval, check_face=True)
            for i, interval in enumerate(intervals)
        ]
        return self.classify_prepared(prepared, [source.path.stem] * len(prepared))

    def classify_prepared(self, prepared: list[Prepared], subjects: list[str]) -> list[dict[str, Any]]:
        """Rows of :meth:`classify` for prepared intervals; one flow norm over those that have arrays."""
        ready = [i for i, p in enumerate(prepared) if p.arrays is not None]
        rows: list[dict[str, Any]] = [{"flags": list(p.flags)} for p in prepared]
        if not ready:
            return rows
        clips = [arrays for p in prepared if (arrays := p.arrays) is not None]
        try:
            labels = self.classify_arrays(clips, [subjects[i] for i in ready])
        except Exception as err:  # the model failed on the batch: every interval says why
            return [{"flags": [*r["flags"], f"unclassified: {_reason(err)}"]} if i in ready else r
                    for i, r in enumerate(rows)]  # fmt: skip
        for i, label in zip(ready, labels, strict=True):
            rows[i] = {**label, "flags": rows[i]["flags"]}
        return rows

    @torch.no_grad()
    def classify_arrays(
        self, clips: list[dict[str, np.ndarray]], subjects: list[str]
    ) -> list[dict[str, Any]]:
        """Prepared clips (of :meth:`prepare_one` or ``prepare_clip``) to class rows, one flow norm."""
        if not clips:
            return []
        norm = self.norm(clips)
        with quiet.quiet_run():  # the explanation may build the text tower: no "Loading weights" bar
            quiet.attach()
            return [
                self._classify_one(arrays, subject, index, norm)
                for index, (arrays, subject) in enumerate(zip(clips, subjects, strict=True))
            ]

    def _classify_one(
        self, arrays: dict[str, np.ndarray], subject: str, index: int, norm: FlowNorm
    ) -> dict[str, Any]:
        rgb = torch.from_numpy(arrays["rgb"][: self.clip.num_frames]).permute(0, 3, 1, 2).float().div(255.0)
        flow = norm(torch.from_numpy(arrays["flow"].astype(np.float32)))
        batch = {"rgb": rgb[None], "flow": flow[None], "subject": [subject], "clip_id": [f"me{index:03d}"]}
        row = self.module.predict_step(batch, index)[0]
        names = self.module.model.class_names
        return {
            "class_name": row["class_name"],
            "probability": float(row["probs"][row["pred"]]),
            "probs": {name: round(float(p), 4) for name, p in zip(names, row["probs"], strict=True)},
            "explanation": list(row["explanation"]),
        }
