"""prepare_clip: output contract, crop modes, flow resolution and pairs, registration, video records
and input validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.flow import FlowConfig
from mer_contrast.clips.prepare import ClipConfig, apex_position, prepare_clip

from .helpers import moving_clip, record_for, texture, write_frames, write_video

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


def _drifting_texture(num: int, size: int, step_x: float, step_y: float = 0.0) -> list[np.ndarray]:
    """``num`` RGB frames of a texture whose content moves by (step_x, step_y) px per frame."""
    pad = int(np.ceil(max(abs(step_x), abs(step_y)) * num)) + 4
    base = texture(size + 2 * pad)
    frames = []
    for t in range(num):
        matrix = np.array([[1, 0, step_x * t - pad], [0, 1, step_y * t - pad]], np.float32)
        moved = cv2.warpAffine(base, matrix, (size, size), flags=cv2.INTER_LINEAR)
        frames.append(np.repeat(moved[..., None], 3, axis=2))
    return frames


@pytest.mark.parametrize("image_size", [16, 32, 64])
def test_flow_at_native_resolution_is_resized_with_scaled_vectors(tmp_path: Path, image_size: int) -> None:
    record = record_for(write_frames(tmp_path, _drifting_texture(5, 64, 0.5)), apex=5)  # 0.5 px/frame
    cfg = ClipConfig(num_frames=5, image_size=image_size, span="onset_apex", flow=FlowConfig(method="dis"))
    flow = prepare_clip(record, cfg)["flow"].astype(np.float32)
    assert flow.shape == (4, 2, image_size, image_size)
    inner = slice(image_size // 4, 3 * image_size // 4)
    scale = image_size / 64
    u = flow[:, 0, inner, inner].mean(axis=(1, 2))
    np.testing.assert_allclose(u, np.array([0.5, 1.0, 1.5, 2.0]) * scale, atol=0.15 * scale + 0.02)


def test_flow_size_sets_the_resolution_flow_is_computed_at(tmp_path: Path) -> None:
    record = record_for(write_frames(tmp_path, _drifting_texture(3, 64, 0.5)), apex=3)
    base = ClipConfig(num_frames=3, image_size=16, flow=FlowConfig(method="dis"))
    native = prepare_clip(record, base)["flow"].astype(np.float32)
    at_16 = prepare_clip(record, dataclasses.replace(base, flow=FlowConfig(method="dis", size=16)))["flow"]
    # At 16 px the 0.5 px step is 0.125 px: the solver loses most of it; at 64 px it is kept.
    assert native[-1, 0, 4:12, 4:12].mean() == pytest.approx(0.25, abs=0.05)
    assert np.abs(at_16.astype(np.float32)[-1, 0, 4:12, 4:12].mean() - 0.25) > np.abs(
        native[-1, 0, 4:12, 4:12].mean() - 0.25
    )


def test_onset_apex_pair_goes_to_the_apex(tmp_path: Path) -> None:
    record = record_for(write_frames(tmp_path, _drifting_texture(9, 32, 0.5)), onset=10, apex=14)
    cfg = ClipConfig(
        num_frames=4, image_size=32, span="whole", flow=FlowConfig(method="dis", pairs="onset_apex")
    )
    flow = prepare_clip(record, cfg)["flow"].astype(np.float32)
    assert flow.shape == (1, 2, 32, 32) == cfg.shapes()["flow"]
    assert flow[0, 0, 8:24, 8:24].mean() == pytest.approx(2.0, abs=0.3)  # apex 14 = 4 frames later


def test_registration_in_prepare_removes_head_drift(tmp_path: Path) -> None:
    record = record_for(write_frames(tmp_path, _drifting_texture(5, 48, 0.6, -0.4)), apex=5)
    cfg = ClipConfig(num_frames=5, image_size=48, flow=FlowConfig(method="dis"))
    drifting = prepare_clip(record, cfg)["flow"].astype(np.float32)
    registered = prepare_clip(record, dataclasses.replace(cfg, register="translation"))["flow"]
    inner = slice(12, 36)
    assert np.abs(drifting[-1, :2, inner, inner]).mean() > 1.5
    assert np.abs(registered.astype(np.float32)[-1, :2, inner, inner]).mean() < 0.2


def test_non_square_dataset_crop_scales_each_axis(tmp_path: Path) -> None:
    frames = [f[:, 8:40] for f in _drifting_texture(2, 48, 1.0, 1.0)]  # 48 high, 32 wide; 1 px each way
    record = record_for(write_frames(tmp_path, frames), cropped=True)
    cfg = ClipConfig(num_frames=2, image_size=16, flow=FlowConfig(method="dis"))
    flow = prepare_clip(record, cfg)["flow"].astype(np.float32)
    assert flow[0, 0, 4:12, 4:12].mean() == pytest.approx(16 / 32, abs=0.1)
    assert flow[0, 1, 4:12, 4:12].mean() == pytest.approx(16 / 48, abs=0.1)


def test_checking_frames_leaves_the_prepared_arrays_of_good_frames_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The decoder's warnings are heard, but a good frame is decoded as plain OpenCV decodes it: the
    # cached arrays, and so a trained model's predictions, stay byte for byte what they were.
    record = record_for(write_frames(tmp_path, moving_clip(6, size=48), ext=".jpg"))
    cfg = ClipConfig(num_frames=4, image_size=32, flow=FAST)
    checked = prepare_clip(record, cfg)

    def plain(data: bytes, listen: bool = True) -> tuple[np.ndarray | None, str]:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), ""

    monkeypatch.setattr("mer_contrast.clips.frames.decode_image", plain)
    unchecked = prepare_clip(record, cfg)
    assert checked.keys() == unchecked.keys()
    assert all(checked[name].tobytes() == unchecked[name].tobytes() for name in checked)
