"""Frame decoding: RGB order, grayscale, video, folder listing and bad files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.frames import (
    ClipSource,
    list_frame_files,
    read_image,
    read_image_frames,
    read_video_frames,
)

from .helpers import drawn_face, record_for, write_frames, write_video


def test_read_image_returns_rgb_order(tmp_path: Path) -> None:
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200  # red
    rgb[..., 2] = 30  # a little blue
    rgb[7, 7] = 0  # one dark pixel: a frame of one flat colour is refused as implausible
    (path,) = write_frames(tmp_path, [rgb])
    out = read_image(path)
    assert out.dtype == np.uint8 and out.shape == (8, 8, 3)
    np.testing.assert_array_equal(out[0, 0], [200, 0, 30])


def test_grayscale_frames_become_three_equal_channels(tmp_path: Path) -> None:
    gray_rgb = np.repeat(np.arange(64, dtype=np.uint8).reshape(8, 8, 1) * 3, 3, axis=2)
    paths = write_frames(tmp_path, [gray_rgb, gray_rgb], ext=".png", gray=True)
    assert cv2.imread(str(paths[0]), cv2.IMREAD_UNCHANGED).ndim == 2  # really stored as grey
    out = read_image_frames(paths)
    assert out.shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 0], gray_rgb[None, ..., 0].repeat(2, axis=0))


def test_odd_sized_frame_is_resized_to_the_first(tmp_path: Path) -> None:
    paths = write_frames(tmp_path, [drawn_face(10)[:, :10].repeat(2, axis=1)[:, :12], drawn_face(24)[2:22]])
    assert read_image_frames(paths).shape == (2, 10, 12, 3)


def test_list_frame_files_sorts_numerically_and_skips_non_images(tmp_path: Path) -> None:
    for number in (10, 9, 100):
        cv2.imwrite(str(tmp_path / f"reg_img{number}.jpg"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "Desktop - Shortcut.lnk").write_bytes(b"x")
    assert [p.name for p in list_frame_files(tmp_path)] == ["reg_img9.jpg", "reg_img10.jpg", "reg_img100.jpg"]


def test_empty_clip_folder_is_a_clip_error(tmp_path: Path) -> None:
    folder = tmp_path / "sub01" / "EP01_01"
    folder.mkdir(parents=True)
    with pytest.raises(ClipError, match="EP01_01: clip folder holds no image files"):
        list_frame_files(folder)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty \\(0 bytes\\)"),
        (b"this is not a jpeg at all" * 10, "cannot decode image"),
    ],
)
def test_bad_jpeg_names_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "img1.jpg"
    path.write_bytes(content + (b"\xff\xd9" if content else b""))
    with pytest.raises(ClipError, match=message) as info:
        read_image(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_jpeg_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "img1.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(drawn_face(64), cv2.COLOR_RGB2BGR))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ClipError, match="truncated"):
        read_image(path)


@pytest.mark.parametrize("gray", [False, True])
def test_jpeg_cut_mid_stream_is_a_bad_clip_not_a_grey_frame(tmp_path: Path, gray: bool) -> None:
    # Truncated, then closed with an end-of-image marker (as a broken copy or recovery tool leaves it):
    # libjpeg prints "premature end of data segment" and OpenCV returns the image with grey blocks.
    path = tmp_path / "img1.jpg"
    face = cv2.cvtColor(drawn_face(128), cv2.COLOR_RGB2GRAY if gray else cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(path), face)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"\xff\xd9")
    assert cv2.imread(str(path)) is not None  # what a plain reader would train on
    with pytest.raises(ClipError, match="JPEG data ends early") as info:
        read_image(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_jpeg_with_mid_grey_elsewhere_is_fine(tmp_path: Path) -> None:
    image = drawn_face(64)
    image[:8, :8] = 128  # flat grey away from the last block is ordinary content
    (path,) = write_frames(tmp_path, [image], ext=".jpg")
    assert read_image(path).shape == (64, 64, 3)


def test_jpeg_with_trailing_bytes_after_end_marker_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "img1.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(drawn_face(32), cv2.COLOR_RGB2BGR))
    path.write_bytes(path.read_bytes() + b"\x00" * 4096)  # padding some tools append
    assert read_image(path).shape == (32, 32, 3)


def test_missing_frame_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match=r"img7\.png: frame file not found"):
        read_image(tmp_path / "img7.png")


def test_video_frames_are_rgb_and_only_requested(tmp_path: Path) -> None:
    frames = [drawn_face(64, seed=i) for i in range(6)]
    frames[3][:16, :16] = (255, 0, 0)
    video = write_video(tmp_path / "clip.avi", frames)
    out = read_video_frames(video, [0, 3, 5])
    assert out.shape == (3, 64, 64, 3) and out.dtype == np.uint8
    red = out[1, 4:12, 4:12].reshape(-1, 3).mean(axis=0)
    assert red[0] > 200 and red[1] < 40 and red[2] < 40  # MJPG is lossy, but red stays red
    assert np.abs(out[2].astype(int) - frames[5]).mean() < 8


def test_unreadable_and_short_videos_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00garbage" * 64)
    with pytest.raises(ClipError, match=r"broken\.mp4: cannot open video"):
        read_video_frames(bad, [0])
    video = write_video(tmp_path / "short.avi", [drawn_face(32, seed=i) for i in range(3)])
    with pytest.raises(ClipError, match="video has 3 frames but the clip needs frame index 3"):
        read_video_frames(video, [0, 3])


def test_clip_source_from_video_record_uses_frame_base(tmp_path: Path) -> None:
    frames = [np.full((32, 32, 3), 20 * i, np.uint8) for i in range(8)]
    video = write_video(tmp_path / "v.avi", frames)
    zero_based = ClipSource.from_record(record_for(video=video, onset=2, offset=5))
    assert zero_based.video_indices == (2, 3, 4, 5) and zero_based.num_available == 4
    one_based = ClipSource.from_record(record_for(video=video, onset=2, offset=5, extra={"frame_base": "1"}))
    assert one_based.video_indices == (1, 2, 3, 4)
    decoded = one_based.read([0, 3])
    assert abs(int(decoded[0].mean()) - 20) <= 3 and abs(int(decoded[3].mean()) - 80) <= 3


def test_clip_source_reads_each_needed_frame_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = write_frames(
        tmp_path, [np.full((4, 4, 3), i, np.uint8) + np.eye(4, dtype=np.uint8)[..., None] for i in range(10)]
    )
    opened: list[Path] = []
    original = read_image

    def spy(path: Path) -> np.ndarray:
        opened.append(path)
        return original(path)

    monkeypatch.setattr("mer_contrast.clips.frames.read_image", spy)
    decoded = ClipSource(name="c", frames=paths).read([0, 4, 4, 9])
    assert sorted(decoded) == [0, 4, 9] and [p.name for p in opened] == ["img1.png", "img5.png", "img10.png"]


def _damaged_jpeg(path: Path, seed: int = 0) -> Path:
    """A JPEG with 200 bytes of its scan overwritten (libjpeg: "extraneous bytes"; OpenCV decodes it)."""
    cv2.imwrite(str(path), cv2.cvtColor(drawn_face(128), cv2.COLOR_RGB2BGR))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200] = np.random.default_rng(seed).integers(0, 255, 200, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def test_jpeg_damaged_mid_scan_is_refused_with_the_decoders_words(tmp_path: Path) -> None:
    path = _damaged_jpeg(tmp_path / "reg_img5.jpg")
    assert cv2.imread(str(path)) is not None  # what a plain reader would train on
    with pytest.raises(ClipError, match="JPEG data is damaged \\(libjpeg: Corrupt JPEG data") as info:
        read_image(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
    assert "restore it from the dataset archive" in str(info.value)


def test_other_output_on_stderr_during_a_decode_is_passed_on(capfd: pytest.CaptureFixture[str]) -> None:
    from mer_contrast.clips.decode import _sort_out

    assert _sort_out("progress 3/10\nCorrupt JPEG data: bad Huffman code\n") == (
        "Corrupt JPEG data: bad Huffman code"
    )
    assert capfd.readouterr().err == "progress 3/10\n"


@pytest.mark.parametrize(("ext", "gray"), [(".jpg", False), (".jpg", True), (".png", False), (".bmp", True)])
def test_good_frames_decode_to_the_same_pixels_as_opencv(tmp_path: Path, ext: str, gray: bool) -> None:
    (path,) = write_frames(tmp_path, [drawn_face(96, seed=3)], ext=ext, gray=gray)
    plain = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    checked = read_image(path)
    assert checked.dtype == plain.dtype and checked.tobytes() == plain.tobytes()


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_a_frame_of_one_flat_colour_is_refused(tmp_path: Path, ext: str) -> None:
    (path,) = write_frames(tmp_path, [np.zeros((48, 64, 3), np.uint8)], ext=ext)
    with pytest.raises(ClipError, match="one flat colour \\(every pixel 0,0,0\\)"):
        read_image(path)


def test_two_files_with_one_frame_number_are_an_error_naming_both(tmp_path: Path) -> None:
    for name in ("reg_img91.jpg", "reg_img92.jpg", "reg_img92.png"):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(drawn_face(16), cv2.COLOR_RGB2BGR))
    with pytest.raises(ClipError, match=r"reg_img92\.jpg and reg_img92\.png have one frame number \(92\)"):
        list_frame_files(tmp_path)
