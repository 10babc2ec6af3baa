"""The inputs of ``bench quality``: a dataset's clips under its protocol, the peers' classical flow and
mer-contrast's own prepared flow, all through the package's cache (each is computed once).

* Peers: onset->apex TV-L1 on the face crop resized to 128 px (u, v, strain), the 2014-era setting,
  also the source of STSTNet's 28x28 images (the field resized with its vectors scaled).
* Probe: the last flow step of mer-contrast's prepared clips under the data config being benchmarked
  (with the default ``onset`` pairs that step is onset -> apex), raw (pixels of the model image).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mer_contrast.clips.face import resize_square
from mer_contrast.clips.flow import FlowConfig, resize_flow
from mer_contrast.clips.prepare import ClipConfig
from mer_contrast.datamodules.mer import MERDataModule

PEER_CLIP = ClipConfig(
    num_frames=2,
    image_size=128,
    span="onset_apex",
    crop="auto",
    register="none",
    flow=FlowConfig(method="tvl1", pairs="onset_apex", channels="uv_strain", size=128),
)
STSTNET_SIZE = 28


@dataclass
class Clips:
    """Per clip: key (``subject/clip_id``), label and subject, in one order shared by every row."""

    keys: list[str]
    labels: list[int]
    subjects: list[str]


def datamodule(configs: Sequence[str | Path], overrides: Sequence[str]) -> MERDataModule:
    """The benchmarked data config as a DataModule, parsed and checked by the data-only LightningCLI with
    the rest of the config (no test subject: every clip is served)."""
    from mer_contrast.loso.runner import build_fold_cli

    args = [*(arg for config in configs for arg in ("--config", str(config))), *overrides]
    datamodule = build_fold_cli([*args, "--data.init_args.test_subject=null"], data_only=True).datamodule
    if not isinstance(datamodule, MERDataModule):
        raise ValueError(f"data: {type(datamodule).__name__}: bench quality reads an MERDataModule's clips")
    return datamodule


def prepared_probe_flows(dm: MERDataModule) -> tuple[Clips, list[np.ndarray]]:
    """Fill the cache for ``dm`` and return its clips with the last raw flow step ``(C, S, S)`` of each."""
    keys, labels, subjects, flows = [], [], [], []
    for clip in dm.cached_clips():
        keys.append(clip.key)
        labels.append(clip.label)
        subjects.append(clip.subject)
        flows.append(clip.arrays["flow"][-1].astype(np.float32))
    return Clips(keys, labels, subjects), flows


def peer_flows(dm: MERDataModule, workers: int) -> dict[str, np.ndarray]:
    """Clip key -> onset->apex raw TV-L1 flow ``(3, 128, 128)`` (u, v, strain) on the 128 px face crop."""
    clips = dm.cached_clips(PEER_CLIP, workers)
    return {clip.key: clip.arrays["flow"][0].astype(np.float32) for clip in clips}


def ststnet_image(flow: np.ndarray, size: int = STSTNET_SIZE) -> np.ndarray:
    """``(3, size, size)``: u, v (vectors scaled to the new size) and strain of a ``(3, H, W)`` flow."""
    uv = resize_flow(np.ascontiguousarray(flow[:2].transpose(1, 2, 0)), size).transpose(2, 0, 1)
    strain = resize_square(np.ascontiguousarray(flow[2]), size)
    return np.concatenate([uv, strain[None]], axis=0).astype(np.float32)
