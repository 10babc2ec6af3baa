"""The clip pipeline: a :class:`~mer_contrast.datasets.records.SampleRecord` -> sampled, face-cropped
RGB frames and normalised optical flow, cached on disk.

Modules: ``frames`` (decoding), ``face`` (crop), ``sampling`` (temporal indices), ``flow`` (optical
flow), ``prepare`` (one clip), ``cache`` (keys and storage), ``precompute`` (parallel filling),
``mirror`` (a clip's mirror image: frames, flow and AU codes, for the training flip).
Its benchmark is :mod:`mer_contrast.bench.flow` (``mer-contrast bench flow``).
"""

from mer_contrast.clips.cache import CACHE_FORMAT_VERSION, ClipCache, cache_key
from mer_contrast.clips.errors import ClipError, EnvironmentFault
from mer_contrast.clips.face import CropMode, NoFaceFoundWarning
from mer_contrast.clips.flow import FlowConfig, compute_flow
from mer_contrast.clips.precompute import PrecomputeError, PrecomputeReport, precompute
from mer_contrast.clips.prepare import ClipConfig, prepare_clip
from mer_contrast.clips.sampling import Span, jitter_indices, sample_indices

__all__ = [
    "CACHE_FORMAT_VERSION",
    "ClipCache",
    "ClipConfig",
    "ClipError",
    "CropMode",
    "EnvironmentFault",
    "FlowConfig",
    "NoFaceFoundWarning",
    "PrecomputeError",
    "PrecomputeReport",
    "Span",
    "cache_key",
    "compute_flow",
    "jitter_indices",
    "precompute",
    "prepare_clip",
    "sample_indices",
]
