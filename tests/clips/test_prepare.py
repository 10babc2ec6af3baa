"""prepare_clip: output contract, crop modes, video records and input validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.flow import FlowConfig
from mer_contrast.clips.prepare import ClipConfig, apex_position, prepare_clip

from .helpers import moving_clip, record_for, write_frames, write_video

FAST = FlowConfig(method="farneback")


def test_output_contract_and_sampled_frames(tmp_path: Path) -> None:
    frames = moving_clip(10, size=24)
    record = record_for(write_frames(tmp_path, frames), onset=46, apex=52)
    cfg = ClipConfig(num_frames=4, image_size=24, span="onset_apex", flow=FAST)
    out = prepare_clip(record, cfg)
    assert set(out) == {"rgb", "flow"}
    assert out["rgb"].dtype == np.uint8 and out["rgb"].shape == (4, 24, 24, 3) == cfg.shapes()["rgb"]
    assert out["flow"].dtype == np.float16 and out["flow"].shape == (3, 2, 24, 24) == cfg.shapes()["flow"]
    for k, index in enumerate([0, 2, 4, 6]):  # apex 52 is index 6 of 46..55
        np.testing.assert_array_equal(out["rgb"][k], frames[index])
    assert out["flow"][:, 0, 6:18, 6:18].mean() > 0.5  # texture drifts right 2 px per sample step


def test_dataset_crop_resizes_the_whole_frame(tmp_path: Path) -> None:
    frame = np.zeros((40, 20, 3), np.uint8)
    frame[:20] = 255  # top half white: survives a whole-frame resize, not a centre crop
    record = record_for(write_frames(tmp_path, [frame, frame]), cropped=True)
    out = prepare_clip(record, ClipConfig(num_frames=2, image_size=10, crop="auto", flow=FAST))
    assert out["rgb"][0, :4].min() == 255 and out["rgb"][0, 6:].max() == 0


def test_grayscale_frames_and_explicit_indices(tmp_path: Path) -> None:
    frames = moving_clip(6, size=16)
    record = record_for(write_frames(tmp_path, frames, gray=True))
    out = prepare_clip(record, ClipConfig(num_frames=3, image_size=16, flow=FAST), indices=[1, 3, 5])
    np.testing.assert_array_equal(out["rgb"][1], frames[3])
    with pytest.raises(ValueError, match="indices must be 3 values"):
        prepare_clip(record, ClipConfig(num_frames=3, image_size=16, flow=FAST), indices=[1, 9, 2])


def test_video_record(tmp_path: Path) -> None:
    frames = moving_clip(12, size=32)
    video = write_video(tmp_path / "clip.avi", frames)
    record = record_for(video=video, onset=2, apex=None, offset=9)
    out = prepare_clip(record, ClipConfig(num_frames=4, image_size=32, span="whole", flow=FAST))
    assert out["rgb"].shape == (4, 32, 32, 3)
    assert np.abs(out["rgb"][0].astype(int) - frames[2]).mean() < 8  # onset 2 = video frame 2


def test_apex_position_matches_numbering_or_falls_back() -> None:
    paths = tuple(Path(f"img{i}.jpg") for i in range(46, 56))
    assert apex_position(record_for(paths, onset=46, apex=59), 10) is None  # apex not on disk
    assert apex_position(record_for(paths, onset=46, apex=50), 10) == 4
    assert apex_position(record_for(paths, onset=46, apex=None), 10) is None


def test_missing_frame_is_reported_before_decoding(tmp_path: Path) -> None:
    paths = write_frames(tmp_path, moving_clip(4, size=16))
    paths[2].unlink()
    with pytest.raises(ClipError, match=r"img3\.png: frame file not found"):
        prepare_clip(record_for(paths), ClipConfig(num_frames=2, image_size=16, flow=FAST))


def test_single_frame_and_empty_clip_are_errors(tmp_path: Path) -> None:
    paths = write_frames(tmp_path / "EP05_01", moving_clip(1, size=16))
    with pytest.raises(ClipError, match="EP05_01: clip sub01/EP01_01 has 1 frame"):
        prepare_clip(record_for(paths), ClipConfig(flow=FAST))
    with pytest.raises(ClipError, match="clip has no frame files and no video"):
        prepare_clip(record_for(()), ClipConfig(flow=FAST))


def test_zero_byte_and_corrupt_frames_name_the_file(tmp_path: Path) -> None:
    paths = write_frames(tmp_path, moving_clip(4, size=16), ext=".jpg")
    paths[1].write_bytes(b"")
    with pytest.raises(ClipError, match=r"img2\.jpg: frame file is empty"):
        prepare_clip(record_for(paths), ClipConfig(num_frames=4, image_size=16, flow=FAST))
    paths[1].write_bytes(b"\xff\xd8 not really a jpeg \xff\xd9")
    with pytest.raises(ClipError, match=r"img2\.jpg: cannot decode image"):
        prepare_clip(record_for(paths), ClipConfig(num_frames=4, span="whole", image_size=16, flow=FAST))


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="num_frames"):
        ClipConfig(num_frames=1)
    with pytest.raises(ValueError, match="face_margin"):
        ClipConfig(face_margin=-0.1)
    with pytest.raises(ValueError, match="unknown span"):
        ClipConfig(span="apex")  # type: ignore[arg-type]
