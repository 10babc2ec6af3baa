"""The clip cache: prepared clips (RGB frames and their flow) stored once on disk as ``.npz``, keyed
by everything they depend on.

* :func:`cache_key`: sha256 over the clip's files (path, size, mtime), the sampled indices, crop,
  size, registration, flow parameters (method, resolution, pairs, channels, the apex frame of an
  ``onset_apex`` pair), the OpenCV version and :data:`CACHE_FORMAT_VERSION`. Touching a frame or
  changing any setting gives a new key; stale entries are simply never read again.
* :class:`ClipCache`: one uncompressed ``<key>.npz`` per clip (fast to load), written to a temporary
  file in the same folder and moved into place with ``os.replace``, so readers never see half an
  entry. Damage is caught on :meth:`ClipCache.get`: the zip container stores a CRC-32 of every
  array, which ``zipfile`` verifies while numpy reads it, so truncated or bit-flipped entries fail
  to load; with ``validate=True`` the arrays' names, dtypes and shapes and the key stored inside the
  entry are checked too. A damaged entry is deleted and ``get`` returns None, so it is recomputed.
* :func:`~mer_contrast.clips.precompute.precompute` (which imports this module, never the reverse)
  fills the cache in parallel worker processes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

from mer_contrast.clips.errors import EnvironmentFault
from mer_contrast.clips.face import resolve_crop
from mer_contrast.clips.frames import ClipSource
from mer_contrast.clips.prepare import ClipConfig, apex_index, clip_indices
from mer_contrast.datasets.records import SampleRecord
from mer_contrast.files import atomic_write

CACHE_FORMAT_VERSION = 4  # bump when prepare_clip's output changes for the same inputs
# 2: flow at its own resolution, registration, raw (unnormalised) flow, onset_apex pairs
# 3: frames are checked as they are decoded (a JPEG that libjpeg warns about, one cut short and filled
#    grey, a frame of one flat colour: the clip fails). An entry cached before from such a frame would
#    still be served without decoding anything, so every clip is decoded (and checked) again.
# 4: frames are compared with their neighbours (clips.plausibility): a clip with a frame damaged
#    without a decoder warning fails now, and its old entry must not be served. Good clips' arrays
#    are unchanged.
ENTRY_KEYS = ("rgb", "flow")
_KEY = "__key__"  # the entry's own key, stored inside it: catches renamed or mixed-up files
_log = logging.getLogger(__name__)
CACHE_FIX = "set data.init_args.cache_dir (or MER_CONTRAST_CACHE) to a writable folder with free space"


def write_fault(root: Path | str, err: OSError) -> EnvironmentFault:
    """The one-line error for a cache folder that cannot be written (``err`` from the write)."""
    reason = err.strerror or str(err)
    if err.errno == errno.ENOSPC:
        fix = f"free space on that disk, or {CACHE_FIX}"
    else:
        fix = CACHE_FIX
    return EnvironmentFault(f"{root}: cannot write to the flow cache ({reason}); {fix}")


def cache_key(record: SampleRecord, cfg: ClipConfig) -> str:
    """Hex sha256 identifying the prepared arrays of ``record`` under ``cfg``.

    Raises:
        ClipError: a frame/video file is missing or empty, or the clip has fewer than 2 frames.
    """
    source = ClipSource.from_record(record)
    files = source.check()
    crop = resolve_crop(cfg.crop, record.extra)
    payload = {
        "format": CACHE_FORMAT_VERSION,
        "opencv": cv2.__version__,
        "files": files,
        "video_indices": list(source.video_indices),
        "indices": clip_indices(record, cfg, source),
        "num_frames": cfg.num_frames,
        "span": cfg.span,
        "image_size": cfg.image_size,
        "crop": crop,
        "face_margin": cfg.face_margin if crop == "detect" else None,
        "register": cfg.register,
        "flow": cfg.flow.key_params(),
        "flow_apex": apex_index(record, source) if cfg.flow.pairs == "onset_apex" else None,
    }
    if cfg.align != "none":  # added later: the keys of every cache made without it stay valid
        payload["align"] = cfg.align
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_entry(arrays: Mapping[str, np.ndarray]) -> str:
    """Why ``arrays`` is not a valid cache entry, or ``""`` when it is."""
    if set(arrays) != set(ENTRY_KEYS):
        return f"arrays {sorted(arrays)} instead of {list(ENTRY_KEYS)}"
    rgb, flow = arrays["rgb"], arrays["flow"]
    if rgb.dtype != np.uint8 or rgb.ndim != 4 or rgb.shape[-1] != 3:
        return f"rgb must be uint8 (T, H, W, 3), got {rgb.dtype} {rgb.shape}"
    if flow.dtype != np.float16 or flow.ndim != 4:
        return f"flow must be float16 (T-1, C, H, W), got {flow.dtype} {flow.shape}"
    if flow.shape[0] not in (1, rgb.shape[0] - 1) or flow.shape[2:] != rgb.shape[1:3]:
        return f"flow {flow.shape} does not match rgb {rgb.shape}"
    return ""


_MEMORY: dict[str, dict[str, np.ndarray]] = {}  # entry file -> arrays, for caches with memory=True


def _shapes_match(arrays: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]] | None) -> bool:
    return all(name in arrays and tuple(arrays[name].shape) == tuple(s) for name, s in (shapes or {}).items())


def clear_memory() -> None:
    """Forget the entries kept in memory (``ClipCache(memory=True)``)."""
    _MEMORY.clear()


class ClipCache:
    """A folder of prepared clips (``rgb`` frames and ``flow``), ``<root>/<key>.npz``.

    Args:
        root: cache folder (created if needed).
        validate: check each entry's arrays (names, dtypes, consistent shapes) and stored key on
            :meth:`get`; loading, with its CRC-32 check, and the ``shapes`` given to ``get`` are
            always checked.
        memory: keep every entry read in this process's memory (shared by all ``ClipCache`` objects
            of the same folder), so the folds of a LOSO run read each clip from disk once. Callers
            must not modify the arrays ``get`` returns.
    """

    def __init__(self, root: Path | str, validate: bool = True, memory: bool = False) -> None:
        self.root = Path(root)
        self.validate = validate
        self.memory = memory
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise EnvironmentFault(
                f"{self.root}: cannot create the clip cache folder ({err.strerror or err}); {CACHE_FIX}"
            ) from err

    def check_writable(self) -> None:
        """Write and remove a small file, so a read-only or full folder stops a run before any work.

        Raises:
            EnvironmentFault: the folder cannot be written (read-only, no permission, no space).
        """
        try:
            fd, probe = tempfile.mkstemp(dir=self.root, prefix=".write-check-", suffix=".tmp")
            try:
                os.write(fd, b"\0" * 4096)  # a full disk often lets an empty file through
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as err:
            raise write_fault(self.root, err) from err

    def path(self, key: str) -> Path:
        """File of an entry (it may not exist)."""
        return self.root / f"{key}.npz"

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.path(key).is_file()

    def get(
        self, key: str, shapes: Mapping[str, tuple[int, ...]] | None = None
    ) -> dict[str, np.ndarray] | None:
        """The entry's arrays, or None when absent or damaged (a damaged entry is deleted).

        Args:
            key: from :func:`cache_key`.
            shapes: expected shapes (``ClipConfig.shapes()``), checked when given.
        """
        path = self.path(key)
        remembered = _MEMORY.get(str(path)) if self.memory else None
        if remembered is not None and _shapes_match(remembered, shapes):
            return remembered
        stored = self._read(path, key, shapes)
        if stored is not None and self.memory:
            _MEMORY[str(path)] = stored
        return stored

    def _read(
        self, path: Path, key: str, shapes: Mapping[str, tuple[int, ...]] | None
    ) -> dict[str, np.ndarray] | None:
        try:
            handle = open(path, "rb")  # closed below; its inode guards the delete
        except FileNotFoundError:
            return None
        with handle:
            inode = os.fstat(handle.fileno()).st_ino
            try:
                with np.load(handle, allow_pickle=False) as npz:
                    stored = {name: npz[name] for name in npz.files}
            except Exception as err:  # truncated zip, bad CRC, bad header, ...: the entry is unusable
                self._discard(path, inode, f"cannot load ({type(err).__name__}: {err})")
                return None
        stored_key = stored.pop(_KEY, None)
        problem = ""
        if self.validate:
            problem = check_entry(stored)
            if not problem and (stored_key is None or str(stored_key) != key):
                problem = "the key stored in the entry does not match its file name"
        if not problem and not _shapes_match(stored, shapes):
            problem = f"arrays are not of shapes {dict(shapes or {})}"
        if problem:
            self._discard(path, inode, problem)
            return None
        return stored

    def put(self, key: str, arrays: Mapping[str, np.ndarray]) -> Path:
        """Store an entry atomically (temporary file in the cache folder, then ``os.replace``).

        Raises:
            ValueError: ``arrays`` are not ``{"rgb": uint8 (T,H,W,3), "flow": float16 (T-1,C,H,W)}``.
            EnvironmentFault: the entry cannot be written (read-only folder, disk full, ...).
        """
        problem = check_entry(arrays)
        if problem:
            raise ValueError(f"not a valid cache entry: {problem}")
        payload = {name: np.ascontiguousarray(arrays[name]) for name in ENTRY_KEYS}
        payload[_KEY] = np.array(key)
        final = self.path(key)
        _MEMORY.pop(str(final), None)
        try:
            with atomic_write(final) as handle:
                np.savez(handle, **payload)  # type: ignore[arg-type]
        except OSError as err:  # disk full, folder gone read-only: no later clip can be stored
            raise write_fault(self.root, err) from err
        return final

    def remove_stale_temp(self, max_age_s: float = 3600.0) -> int:
        """Delete temporary files left by interrupted writers; returns how many were removed."""
        removed, now = 0, time.time()
        for tmp in self.root.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if now - tmp.stat().st_mtime > max_age_s:
                    tmp.unlink()
                    removed += 1
        return removed

    def _discard(self, path: Path, inode: int, reason: str) -> None:
        _log.warning("%s: damaged flow cache entry (%s); deleted, it will be recomputed", path, reason)
        with contextlib.suppress(OSError):
            if path.stat().st_ino == inode:  # not replaced by a fresh entry meanwhile
                path.unlink()


FlowCache = ClipCache  # its name before 0.2 (it always held the RGB frames too); kept for old imports
