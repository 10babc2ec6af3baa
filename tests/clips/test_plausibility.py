"""The neighbour check: a frame damaged without a decoder warning is refused; clean clips pass."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mer_contrast.clips.decode import decode_image
from mer_contrast.clips.errors import ClipError
from mer_contrast.clips.frames import ClipSource, read_image
from mer_contrast.clips.plausibility import (
    MAX_BLOCK_DIFFERENCE,
    SHIFT_DIFFERENCE,
    block_differences,
    reference_indices,
)

from .helpers import drawn_face, flip_scan_bits, lively_clip, write_frames

SILENT_FLIP_SEED = 12  # 3 bits of frame img6.jpg's scan that libjpeg decodes without a word


def _silently_damaged_clip(folder: Path) -> tuple[Path, ...]:
    paths = write_frames(folder, lively_clip(12, seed=0, blink=(4, 7)), ext=".jpg")
    flip_scan_bits(paths[5], 3, SILENT_FLIP_SEED)
    return paths


def test_a_bit_flipped_frame_the_decoder_is_silent_about_is_refused_by_name(tmp_path: Path) -> None:
    paths = _silently_damaged_clip(tmp_path / "EP01_01")
    image, complaint = decode_image(paths[5].read_bytes())
    assert image is not None and complaint == ""  # the decoder says nothing ...
    read_image(paths[5])  # ... and the single-frame checks pass it
    with pytest.raises(ClipError) as info:
        ClipSource("sub01/EP01_01", frames=paths).read([0, 5, 11])
    message = str(info.value)
    assert message.startswith(f"{paths[5]}: frame does not fit between its neighbours img5.jpg and img7.jpg")
    assert "restore it from the dataset archive" in message and "\n" not in message


def test_a_damaged_frame_is_found_when_only_its_neighbour_is_used(tmp_path: Path) -> None:
    """The used frame img5.jpg is fine; its damaged neighbour does not make it implausible."""
    paths = _silently_damaged_clip(tmp_path / "EP01_01")
    assert set(ClipSource("c", frames=paths).read([4])) == {4}


@pytest.mark.parametrize("seed", range(6))
def test_clean_clips_with_drift_blinks_and_noise_pass(tmp_path: Path, seed: int) -> None:
    blink = (3, 3 + seed) if seed else None
    paths = write_frames(tmp_path, lively_clip(10, seed=seed, blink=blink), ext=".jpg")
    frames = ClipSource("c", frames=paths).read(range(10))
    assert len(frames) == 10


def test_a_two_frame_clip_is_not_compared(tmp_path: Path) -> None:
    """Each frame's only neighbour is the other: a difference cannot say which one is damaged."""
    paths = write_frames(tmp_path, [drawn_face(64, seed=1), 255 - drawn_face(64, seed=2)], ext=".jpg")
    assert set(ClipSource("c", frames=paths).read([0, 1])) == {0, 1}
    three = write_frames(tmp_path / "three", [drawn_face(64, seed=1)] * 2 + [255 - drawn_face(64, seed=2)])
    expected = "img3.png: frame does not fit between its neighbours img2.png and img1.png"
    with pytest.raises(ClipError, match=re.escape(expected)):
        ClipSource("c", frames=three).read([2])


def test_reference_indices_are_the_two_nearest_frames() -> None:
    assert reference_indices(0, 5) == (1, 2)
    assert reference_indices(2, 5) == (1, 3)
    assert reference_indices(4, 5) == (3, 2)
    with pytest.raises(ValueError, match="at least 3 frames"):
        reference_indices(0, 2)


def test_block_differences_follow_drift_through_the_average() -> None:
    ramp = np.tile(np.arange(0, 160, 2, dtype=np.uint8), (16, 1))[..., None].repeat(3, axis=2)
    before, after = ramp, ramp + 40
    middle = ramp + 20  # halfway: the average fits it
    assert block_differences(middle, [before, after]).max() <= 1
    # the first frame of a clip: its two references lie on one side, extrapolated from
    assert block_differences(before, [middle, after], outside=True).max() <= 1
    assert block_differences(before, [middle, after]).max() >= 20
    garbled = middle.copy()
    garbled[8:16, 16:24] += 90  # values 52..66 there: no overflow
    differences = block_differences(garbled, [before, after])
    assert differences.shape == (2, 10) and differences[1, 2] > MAX_BLOCK_DIFFERENCE
    assert np.delete(differences.ravel(), 12).max() <= 1


def test_a_blink_starting_in_the_last_frame_passes(tmp_path: Path) -> None:
    """The last frame's references are both earlier: eyes closing there differ from both."""
    frames = lively_clip(8, seed=1, blink=(7, 8))
    differences = block_differences(frames[7], [frames[6], frames[5]], outside=True)
    assert differences.max() > 2 * SHIFT_DIFFERENCE and (differences > SHIFT_DIFFERENCE).sum() >= 3
    paths = write_frames(tmp_path, frames, ext=".jpg")
    assert set(ClipSource("c", frames=paths).read([0, 7])) == {0, 7}


def test_neighbours_are_decoded_once_and_only_when_not_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_frames(tmp_path, lively_clip(8, seed=2), ext=".jpg")
    opened: list[str] = []

    def spy(path: Path) -> np.ndarray:
        opened.append(path.name)
        return read_image(path)

    monkeypatch.setattr("mer_contrast.clips.frames.read_image", spy)
    assert set(ClipSource("c", frames=paths).read([2, 3])) == {2, 3}
    assert opened == ["img3.jpg", "img4.jpg", "img2.jpg", "img5.jpg"]


def test_a_band_of_blocks_shifted_below_the_block_limit_is_refused(tmp_path: Path) -> None:
    """A flipped DC bit often moves every later block by a few grey levels: below 32, but many blocks."""
    frames = lively_clip(5, seed=3)
    shifted = frames[2].astype(int)
    shifted[48:] += 20  # the bottom half, as from a flipped bit in the middle of the scan
    frames[2] = np.clip(shifted, 0, 255).astype(np.uint8)
    paths = write_frames(tmp_path, frames)  # PNG: exactly these pixels
    with pytest.raises(
        ClipError, match=r"img3\.png: .* of its 144 8x8 blocks differ by more than 12 grey levels"
    ):
        ClipSource("c", frames=paths).read([2])
