"""The one public way to read a datamodule's clips from its cache: :meth:`MERDataModule.cached_clips`.

Readers other than the training loop (``bench quality``'s peers and probe) use it instead of the
module's internals (its items, cache and records).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mer_contrast.clips.cache import cache_key
from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.precompute import precompute
from mer_contrast.clips.prepare import ClipConfig

if TYPE_CHECKING:
    from mer_contrast.datamodules.mer import MERDataModule

__all__ = ["CachedClip", "cached_clips"]


class CachedClip(NamedTuple):
    """One clip as the cache holds it: ``key`` is ``subject/clip_id``, ``arrays`` its ``rgb`` and ``flow``."""

    key: str
    label: int
    subject: str
    arrays: dict[str, np.ndarray]


def cached_clips(
    dm: MERDataModule, clip_config: ClipConfig | None = None, workers: int = 0
) -> Iterator[CachedClip]:
    """Every usable clip of ``dm``, read from its cache.

    With no ``clip_config``: the clips the module serves, prepared as the model sees them (the cache
    is filled and the module set up first, as Lightning would). With one (a peer's setting): every
    labelled clip under it, computed into the same cache with ``workers`` processes; a clip that
    cannot be prepared is left out.
    """
    if clip_config is None:
        dm.prepare_data()
        dm.setup()
        entries = [(item.clip_id, item.label, item.subject, item.cache_key) for item in dm.items]
    else:
        records = dm.labelled_records
        precompute([record for record, _ in records], clip_config, dm.cache, workers=workers)
        entries = [(r.key, label, r.subject, cache_key(r, clip_config)) for r, label in records]
    for key, label, subject, entry in entries:
        try:
            arrays = dm.cache.get(entry)
        except ClipError:
            continue
        if arrays is not None:
            yield CachedClip(key, label, subject, arrays)
