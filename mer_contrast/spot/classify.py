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
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.face import CropMode
from mer_contrast.clips.flow import FlowConfig, FlowNorm, choose_bounds
from mer_contrast.clips.prepare import ClipConfig, prepare_clip
from mer_contrast.loggers import quiet
from mer_contrast.spot.source import FootageSource, SpotError
from mer_contrast.spot.spotting import Interval
from mer_contrast.trainers.checkpoint import KEY, CheckpointError, read_checkpoint


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
            flow=flow,
        )
        return cls(module, clip, (data.get("flow_bound"), data.get("strain_bound")))

    def prepare(self, source: FootageSource, intervals: list[Interval]) -> list[dict[str, np.ndarray]]:
        """The model's arrays of every interval (the clip pipeline, see the module docstring)."""
        return [self.prepare_one(source, f"me{i:03d}", interval) for i, interval in enumerate(intervals)]

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

    def classify(self, source: FootageSource, intervals: list[Interval]) -> list[dict[str, Any]]:
        """Per interval: ``class_name``, ``probability``, ``probs`` (by class) and ``explanation``."""
        if not intervals:
            return []
        clips = self.prepare(source, intervals)
        return self.classify_arrays(clips, [source.path.stem] * len(clips))

    @torch.no_grad()
    def classify_arrays(
        self, clips: list[dict[str, np.ndarray]], subjects: list[str]
    ) -> list[dict[str, Any]]:
        """Prepared clips (of :meth:`prepare` or ``prepare_clip``) to class rows, one flow norm for all."""
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
