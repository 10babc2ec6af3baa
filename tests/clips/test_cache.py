"""Cache keys, atomic writes and damaged-entry detection."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_contrast.clips import cache as cache_module
from mer_contrast.clips.cache import ClipCache, cache_key
from mer_contrast.clips.errors import ClipError, EnvironmentFault
from mer_contrast.clips.flow import FlowConfig
from mer_contrast.clips.prepare import ClipConfig

from .helpers import moving_clip, record_for, write_frames, write_video

BASE = ClipConfig(num_frames=4, image_size=16, flow=FlowConfig(method="tvl1"))


def entry(t: int = 4, s: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "rgb": rng.integers(0, 255, (t, s, s, 3), dtype=np.uint8),
        "flow": rng.uniform(-1, 1, (t - 1, 2, s, s)).astype(np.float16),
    }


@pytest.fixture
def frames_record(tmp_path: Path):
    return record_for(write_frames(tmp_path / "clip", moving_clip(10, size=16)), apex=5, cropped=False)


CHANGES = [
    {"num_frames": 5},
    {"image_size": 24},
    {"span": "whole"},
    {"crop": "dataset"},
    {"face_margin": 0.3},
    {"flow": FlowConfig(method="farneback")},
    {"register": "translation"},
    {"register": "euclidean"},
    {"align": "landmarks"},
    {"flow": FlowConfig(pairs="consecutive")},
    {"flow": FlowConfig(pairs="onset_apex")},
    {"flow": FlowConfig(channels="uv_strain")},
    {"flow": FlowConfig(channels="uv_magnitude_strain")},
    {"flow": FlowConfig(size=64)},
    {"flow": FlowConfig(size=128)},
    *(
        {"flow": FlowConfig(**{name: value})}
        for name, value in [
            ("tau", 0.2),
            ("lambda_", 0.1),
            ("theta", 0.4),
            ("nscales", 4),
            ("warps", 3),
            ("epsilon", 0.02),
            ("inner_iterations", 20),
            ("outer_iterations", 5),
            ("scale_step", 0.7),
            ("median_filtering", 3),
        ]
    ),
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())[:40])
def test_key_changes_with_every_setting(frames_record, change: dict) -> None:
    assert cache_key(frames_record, BASE) != cache_key(frames_record, dataclasses.replace(BASE, **change))


def test_key_is_stable_and_ignores_other_methods_parameters(frames_record) -> None:
    assert cache_key(frames_record, BASE) == cache_key(
        frames_record,
        ClipConfig(
            **dataclasses.asdict(BASE) | {"flow": FlowConfig(method="tvl1", winsize=31, preset="fast")}
        ),
    )
    dis = dataclasses.replace(BASE, flow=FlowConfig(method="dis"))
    assert cache_key(frames_record, dis) != cache_key(
        frames_record, dataclasses.replace(dis, flow=FlowConfig(method="dis", preset="fast"))
    )
    # margin only matters when a face is detected; auto on cropped frames == dataset
    cropped = dataclasses.replace(frames_record, extra={"cropped": "1"})
    assert cache_key(cropped, BASE) == cache_key(
        cropped, dataclasses.replace(BASE, face_margin=0.4, crop="dataset")
    )


def test_key_changes_with_apex_and_frame_files(frames_record) -> None:
    before = cache_key(frames_record, BASE)
    assert cache_key(dataclasses.replace(frames_record, apex=8), BASE) != before
    path = frames_record.frames[3]
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched
    touched = cache_key(frames_record, BASE)
    assert touched != before
    path.write_bytes(path.read_bytes() + b"\0")  # rewritten (size changes)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert cache_key(frames_record, BASE) != touched
    fewer = dataclasses.replace(frames_record, frames=frames_record.frames[:-1], frame_numbers=())
    assert cache_key(fewer, BASE) != before


def test_key_of_video_record_depends_on_frames_used(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.avi", moving_clip(10, size=32))
    a = cache_key(record_for(video=video, onset=0, offset=5), BASE)
    assert a != cache_key(record_for(video=video, onset=1, offset=6), BASE)
    assert a == cache_key(record_for(video=video, onset=0, offset=5), BASE)


def test_key_of_broken_record_is_a_clip_error(tmp_path: Path) -> None:
    (present,) = write_frames(tmp_path, moving_clip(1, size=8))
    with pytest.raises(ClipError, match=r"nothere\.png: frame file not found"):
        cache_key(record_for((present, tmp_path / "nothere.png")), BASE)


def test_put_get_roundtrip_is_atomic(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "cache")
    arrays = entry()
    path = cache.put("k" * 64, arrays)
    assert path.name == "k" * 64 + ".npz" and "k" * 64 in cache
    assert [p.name for p in cache.root.iterdir()] == [path.name]  # no temporary left behind
    got = cache.get("k" * 64, {"rgb": (4, 8, 8, 3), "flow": (3, 2, 8, 8)})
    assert got is not None and set(got) == {"rgb", "flow"}
    np.testing.assert_array_equal(got["flow"], arrays["flow"])
    assert cache.get("missing") is None


def test_failed_write_leaves_neither_entry_nor_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ClipCache(tmp_path)
    cache.put("a" * 64, entry(seed=1))
    good = cache.path("a" * 64).read_bytes()

    def crash(handle, **arrays) -> None:
        handle.write(b"PK\x03\x04partial")
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.np, "savez", crash)
    with pytest.raises(EnvironmentFault, match=r"cannot write to the flow cache \(disk full\)"):
        cache.put("a" * 64, entry(seed=2))
    assert cache.path("a" * 64).read_bytes() == good  # old entry untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a" * 64 + ".npz"]


def test_put_rejects_bad_arrays(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    with pytest.raises(ValueError, match="flow must be float16"):
        cache.put("x", {"rgb": entry()["rgb"], "flow": entry()["flow"].astype(np.float32)})
    with pytest.raises(ValueError, match="arrays"):
        cache.put("x", {"rgb": entry()["rgb"]})


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the rgb payload: the zip's CRC-32 no longer matches
    path.write_bytes(bytes(data))


def _renamed(path: Path) -> None:
    ClipCache(path.parent).put("other", entry())
    os.replace(path.parent / "other.npz", path)


def _wrong_shapes(path: Path) -> None:
    np.savez(path, rgb=np.zeros((4, 8, 8, 3), np.uint8), flow=np.zeros((2, 2, 8, 8), np.float16))


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00" * 100)


@pytest.mark.parametrize("damage", [_truncate, _flip_byte, _wrong_shapes, _garbage, _renamed])
def test_damaged_entry_is_detected_and_deleted(tmp_path: Path, damage, caplog) -> None:
    cache = ClipCache(tmp_path)
    path = cache.put("d" * 64, entry())
    damage(path)
    assert cache.get("d" * 64) is None
    assert not path.exists() and "damaged flow cache entry" in caplog.text


def test_validate_off_still_catches_unloadable_entries_and_wrong_shapes(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path, validate=False)
    path = cache.put("e" * 64, entry())
    _renamed(path)
    assert cache.get("e" * 64) is not None  # structure and stored key not checked
    assert cache.get("e" * 64, {"rgb": (8, 8, 8, 3)}) is None and not path.exists()
    path = cache.put("e" * 64, entry())
    _flip_byte(path)
    assert cache.get("e" * 64) is None and not path.exists()


def test_damaged_entry_replaced_meanwhile_is_not_deleted(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    path = cache.put("f" * 64, entry(seed=1))
    old_inode = path.stat().st_ino
    cache.put("f" * 64, entry(seed=2))  # a writer replaced it after a reader found it damaged
    cache._discard(path, old_inode, "simulated damage")
    assert cache.get("f" * 64) is not None


def test_memory_cache_reads_each_entry_once_and_follows_rewrites(tmp_path: Path) -> None:
    from mer_contrast.clips.cache import clear_memory

    writer = ClipCache(tmp_path)
    writer.put("k" * 64, entry(seed=1))
    first = ClipCache(tmp_path, memory=True).get("k" * 64)
    assert first is not None
    (tmp_path / f"{'k' * 64}.npz").unlink()  # a second cache object of the folder still has it
    again = ClipCache(tmp_path, memory=True).get("k" * 64)
    assert again is first
    assert ClipCache(tmp_path).get("k" * 64) is None  # without memory, the disk decides
    writer.put("k" * 64, entry(seed=2))  # a new entry replaces the remembered one
    fresh = ClipCache(tmp_path, memory=True).get("k" * 64)
    assert fresh is not None and not np.array_equal(fresh["rgb"], first["rgb"])
    # shapes are still checked on a remembered entry
    assert ClipCache(tmp_path, memory=True).get("k" * 64, {"rgb": (9, 9, 9, 3)}) is None
    clear_memory()


def test_an_entry_of_an_earlier_format_is_recomputed_not_reused(tmp_path: Path, monkeypatch) -> None:
    """A clip cached by version 2 (frames not checked) from a damaged JPEG fails now; it is not served."""
    from mer_contrast.clips.precompute import precompute

    from .test_frames import _damaged_jpeg

    paths = write_frames(tmp_path / "clip", moving_clip(6, size=32), ext=".jpg")
    record = record_for(paths, apex=3, cropped=False)
    cfg = dataclasses.replace(BASE, flow=FlowConfig(method="farneback"))
    cache = ClipCache(tmp_path / "cache")
    _damaged_jpeg(paths[1])

    def unchecked(data: bytes, listen: bool = True) -> tuple[np.ndarray | None, str]:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), ""

    with monkeypatch.context() as old:  # the earlier version: its key, and a decoder that checked nothing
        old.setattr(cache_module, "CACHE_FORMAT_VERSION", 2)
        old.setattr("mer_contrast.clips.frames.decode_image", unchecked)
        old.setattr("mer_contrast.clips.frames.check_plausible", lambda *args: None)
        assert precompute([record], cfg, cache, workers=0, progress=False).computed == 1
        assert cache.get(cache_key(record, cfg)) is not None
    assert cache_module.CACHE_FORMAT_VERSION == 4
    assert cache.get(cache_key(record, cfg)) is None  # today's key does not find the old entry
    report = precompute([record], cfg, cache, workers=0, progress=False)
    assert report.cached == 0 and report.computed == 0
    assert len(report.failed) == 1 and "JPEG data is damaged" in report.failed[0][1]
