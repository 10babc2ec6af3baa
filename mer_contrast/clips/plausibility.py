"""A cheap plausibility check of a clip's decoded frames against their neighbours in the clip.

A bit flipped in a JPEG's entropy-coded data often decodes without any warning of the decoder
(measured: 3 random flips in the scan of the twin datasets' frames, about 6 of 10 damaged frames
decode silently), yet it garbles the 8x8 block it lands in, and a flipped DC bit shifts the
brightness or colour of every later block of that component. Consecutive frames of a
micro-expression recording are nearly identical, so such a frame stands out against its
neighbours while a clean frame does not.

The statistic: for every 8x8 block of the frame (the JPEG block grid), the mean absolute difference
to a reference frame, the largest over the colour channels; the reference is, per block, whichever
of the two nearest other frames of the clip, or their average, is closest (the average follows head
drift, the nearer frame follows a blink or a cut; for the first and last frame, whose two nearest
frames lie on one side, the extrapolation from them takes the average's place). A frame with any
block further than :data:`MAX_BLOCK_DIFFERENCE` from all three references is implausible, and so is
one where more than :data:`MAX_SHIFTED_FRACTION` of the blocks (and more than
:data:`MIN_SHIFTED_BLOCKS`) are off by more than :data:`SHIFT_DIFFERENCE` (a flipped DC bit often
shifts a band of blocks by less than the limit). The limit is high because a blink at 30 fps can
close the eyes in one frame only: that frame differs from both neighbours.

Measured on the read-only real-layout twins (CASME II raw and cropped, SAMM, CASME3, MMEW and
MEGC2019 renders of twins and twins_v2: head drift, blinks, flicker, sensor noise, JPEG quality
75-95), every frame of two draws of 120 clips, 15,326 clean frames: no false alarm. The largest
block difference of a clean frame is 17, except blinks in CASME3's 30 fps clips: 39 in the one
closed-eye frame of a 3-frame blink, 45 in a last frame whose eyes start to close; the largest
shifted share is 0.9%. Of 1,920 frames damaged by 3 random bit flips in the scan, the decoder's
warnings refuse 833; of the 1,087 that decode silently this check refuses 475, and 452 of the 476
with more than 20 blocks off their clean decode by more than 8 grey levels. Most of the rest differ
from their clean decode in no block by more than 8 grey levels on average. Cost: 0.1-0.5 ms a frame
of 170x170-385x289 and ~1.6 ms at 640x480 on one busy thread (about two of its decodes), plus
decoding the neighbours that sampling did not pick.

A clip of 2 frames is not checked this way: each frame's only neighbour is the other, and a
difference between the two cannot say which one is damaged (the decoder's own checks still apply).
A clip of 1 frame is refused anyway (optical flow needs 2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from mer_contrast.clips.errors import ClipError

FIX_RESTORE = "restore it from the dataset archive"  # the fix of every damaged frame (clips.frames)
BLOCK = 8  # the JPEG block: damage from a flipped bit is confined to whole blocks
#: Grey levels (mean absolute difference over one 8x8 block) that no clean frame reaches (45 measured).
MAX_BLOCK_DIFFERENCE = 64.0
#: A band of blocks shifted by a flipped DC bit: more than this share of blocks differing by more than
#: SHIFT_DIFFERENCE grey levels (clean frames: at most 0.9% of their blocks measured).
#: ... and more than MIN_SHIFTED_BLOCKS of them: in a small frame a few blocks are an eye, not a band.
SHIFT_DIFFERENCE = 12.0
MAX_SHIFTED_FRACTION = 0.02
MIN_SHIFTED_BLOCKS = 16
MIN_FRAMES = 3  # below this a frame has no second neighbour to arbitrate between the two


def reference_indices(index: int, count: int) -> tuple[int, int]:
    """The two nearest other frames of a clip of ``count`` frames (the earlier one first on a tie)."""
    if count < MIN_FRAMES:
        raise ValueError(f"a plausibility check needs at least {MIN_FRAMES} frames, got {count}")
    others = sorted((j for j in range(count) if j != index), key=lambda j: (abs(j - index), j))
    first, second = others[:2]
    return first, second


def block_differences(
    frame: np.ndarray, references: Sequence[np.ndarray], *, outside: bool = False
) -> np.ndarray:
    """Per 8x8 block of ``frame``, the mean absolute difference to the closest reference (see module).

    ``references`` are the two neighbour frames, of ``frame``'s shape, the nearer first; a third is
    their average, or with ``outside`` (both lie on one side: the first or last frame) the
    extrapolation ``2 * nearer - farther``, which follows steady drift the same way. Returns uint8
    ``(H // 8, W // 8)`` (means rounded to whole grey levels); a partial block at the
    right or bottom edge is left out.
    """
    height, width = frame.shape[0] // BLOCK * BLOCK, frame.shape[1] // BLOCK * BLOCK
    candidates = list(references)
    if len(candidates) == 2:
        weights = (2.0, -1.0) if outside else (0.5, 0.5)
        candidates.append(cv2.addWeighted(candidates[0], weights[0], candidates[1], weights[1], 0))
    best: np.ndarray | None = None
    for reference in candidates:
        diff = cv2.absdiff(frame[:height, :width], reference[:height, :width])  # uint8: 2.5x faster
        means = cv2.resize(diff, (width // BLOCK, height // BLOCK), interpolation=cv2.INTER_AREA)
        per_block = means.max(axis=2) if means.ndim == 3 else means
        best = per_block if best is None else np.minimum(best, per_block)
    assert best is not None
    return best


def check_plausible(
    paths: Sequence[Path],
    decoded: Mapping[int, np.ndarray],
    read_neighbour: Callable[[int], np.ndarray],
) -> None:
    """Refuse a decoded frame that does not fit between its two nearest frames of the clip.

    Args:
        paths: every frame file of the clip in temporal order (for names and the count).
        decoded: the frames the clip uses, ``{index: RGB (H, W, 3)}``.
        read_neighbour: decodes frame ``index`` of the clip (with the decoder's checks) when it is
            not among ``decoded``.

    Raises:
        ClipError: a frame (named) differs from its neighbours as no clean frame does.
    """
    if len(paths) < MIN_FRAMES:
        return
    cache = dict(decoded)
    for index in sorted(decoded):
        frame = decoded[index]
        if min(frame.shape[:2]) < BLOCK:
            continue  # smaller than one block: nothing to compare
        references = []
        for other in reference_indices(index, len(paths)):
            if other not in cache:
                cache[other] = read_neighbour(other)
            reference = cache[other]
            if reference.shape != frame.shape:
                reference = cv2.resize(reference, frame.shape[1::-1], interpolation=cv2.INTER_AREA)
            references.append(reference)
        edge = index in (0, len(paths) - 1)
        problem = _implausibility(block_differences(frame, references, outside=edge))
        if problem:
            names = " and ".join(paths[j].name for j in reference_indices(index, len(paths)))
            raise ClipError(
                paths[index],
                f"frame does not fit between its neighbours {names}: {problem} (JPEG data damaged without "
                f"a decoder warning, e.g. a flipped bit): {FIX_RESTORE}",
            )


def _implausibility(differences: np.ndarray) -> str:
    """What no clean frame shows in ``differences`` (see module), or ``""``."""
    limit = MAX_BLOCK_DIFFERENCE
    worst = float(differences.max())
    if worst > limit:
        row, col = np.unravel_index(int(differences.argmax()), differences.shape)
        return (
            f"the 8x8 block at x={col * BLOCK}, y={row * BLOCK} differs by {worst:.0f} grey levels on "
            f"average (no clean frame exceeds {limit:.0f})"
        )
    shifted = int((differences > SHIFT_DIFFERENCE).sum())
    if shifted > max(MAX_SHIFTED_FRACTION * differences.size, MIN_SHIFTED_BLOCKS):
        return (
            f"{shifted} of its {differences.size} 8x8 blocks differ by more than {SHIFT_DIFFERENCE:.0f} "
            f"grey levels on average (no clean frame has more than {MAX_SHIFTED_FRACTION:.0%})"
        )
    return ""
