"""The inputs of ``bench quality``: a dataset's clips under its protocol, the peers' classical flow and
mer-contrast's own prepared flow, all through the package's cache (each is computed once).

* Peers: onset->apex TV-L1 on the face crop resized to 128 px (u, v, strain), the 2014-era setting,
  also the source of STSTNet's 28x28 images (the field resized with its vectors scaled).
* Probe: the last flow step of mer-contrast's prepared clips under the data config being benchmarked
  (with the default ``onset`` pairs that step is onset -> apex), raw (pixels of the model image).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mer_contrast.clips.cache import cache_key
from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.face import resize_square
from mer_contrast.clips.flow import FlowConfig, resize_flow
from mer_contrast.clips.precompute import precompute
from mer_contrast.clips.prepare import ClipConfig
from mer_contrast.config_files import load_config
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


def data_init_args(configs: Sequence[str | Path], overrides: Sequence[str]) -> dict[str, Any]:
    """``data.init_args`` of LightningCLI YAML files (later files win) plus ``--data.init_args.X=V``."""
    merged: dict[str, Any] = {}
    for config in configs:
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: config file not found; pass a YAML such as configs/casme2.yaml")
        data = load_config(path).get("data") or {}  # `data: data/casme2.yaml` is read in place
        merged.update(copy.deepcopy(data.get("init_args") or {}))
    prefix = "--data.init_args."
    for override in overrides:
        if override.startswith(prefix) and "=" in override:
            name, value = override[len(prefix) :].split("=", 1)
            _set_dotted(merged, name, yaml.safe_load(value))
    return merged


def _set_dotted(args: dict[str, Any], name: str, value: Any) -> None:
    """``flow.method`` sets ``args["flow"]["method"]``, as LightningCLI reads the same override."""
    *groups, leaf = name.split(".")
    for group in groups:
        if not isinstance(args.get(group), dict):
            args[group] = {}
        args = args[group]
    args[leaf] = value


def datamodule(init_args: Mapping[str, Any]) -> MERDataModule:
    """The benchmarked data config as a DataModule (no test subject: every clip is served)."""
    args = {k: v for k, v in init_args.items() if k != "test_subject"}
    return MERDataModule(**args)


def prepared_probe_flows(dm: MERDataModule) -> tuple[Clips, list[np.ndarray]]:
    """Fill the cache for ``dm`` and return its clips with the last raw flow step ``(C, S, S)`` of each."""
    dm.prepare_data()
    dm.setup()
    keys, labels, subjects, flows = [], [], [], []
    for item in dm.items:
        arrays = dm.cache.get(item.cache_key)
        if arrays is None:
            continue
        keys.append(item.clip_id)
        labels.append(item.label)
        subjects.append(item.subject)
        flows.append(arrays["flow"][-1].astype(np.float32))
    return Clips(keys, labels, subjects), flows


def peer_flows(dm: MERDataModule, workers: int) -> dict[str, np.ndarray]:
    """Clip key -> onset->apex raw TV-L1 flow ``(3, 128, 128)`` (u, v, strain) on the 128 px face crop."""
    records = [record for record, _ in dm.labelled_records]
    precompute(records, PEER_CLIP, dm.cache, workers=workers)
    flows: dict[str, np.ndarray] = {}
    for record in records:
        try:
            arrays = dm.cache.get(cache_key(record, PEER_CLIP))
        except ClipError:
            continue
        if arrays is not None:
            flows[record.key] = arrays["flow"][0].astype(np.float32)
    return flows


def ststnet_image(flow: np.ndarray, size: int = STSTNET_SIZE) -> np.ndarray:
    """``(3, size, size)``: u, v (vectors scaled to the new size) and strain of a ``(3, H, W)`` flow."""
    uv = resize_flow(np.ascontiguousarray(flow[:2].transpose(1, 2, 0)), size).transpose(2, 0, 1)
    strain = resize_square(np.ascontiguousarray(flow[2]), size)
    return np.concatenate([uv, strain[None]], axis=0).astype(np.float32)
