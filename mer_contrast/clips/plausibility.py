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
drift, the nearer frame follows a blink or a cut). A frame with any block further than the limit
from all three references is implausible, and so is one where more than
:data:`MAX_SHIFTED_FRACTION` of the blocks (and more than :data:`MIN_SHIFTED_BLOCKS`) are off by
more than :data:`SHIFT_DIFFERENCE` (a flipped DC bit often shifts a band of blocks by less than the
limit). The limit is
:data:`MAX_BLOCK_DIFFERENCE` for a frame with a neighbour on each side,
:data:`MAX_EDGE_BLOCK_DIFFERENCE` for the first and last frame of the clip, whose two references
lie on one side: eyes that start to close in the last frame differ from both of them, where a frame
in the middle would have a later neighbour with closing eyes too.

Measured on the read-only real-layout twins (CASME II raw and cropped, SAMM, CASME3, MMEW and
MEGC2019 renders of twins and twins_v2: head drift, blinks, flicker, sensor noise, JPEG quality
80-95), every frame of 120 clips, 7,887 clean frames: no false alarm; the largest block difference of
an inner frame is 16, of a first or last frame 22 (45 once: a blink starting in the last frame of a
CASME3 folder), the largest shifted share 0.8%. Of 960 frames damaged by 3 random bit flips in the
scan, the decoder's warnings refuse 424; of the 536 that decode silently, this check refuses 266,
and 236 of the 242 that have more than 20 blocks off by more than 8 grey levels. Most of the rest
differ from their clean decode in no block by more than 8 grey levels on average. Cost: 0.1-0.5 ms a
frame of 170x170-335x251 and ~1.6 ms at 640x480 on one busy thread (about two of its decodes), plus
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
#: Grey levels (mean absolute difference over one 8x8 block) that no clean frame reaches (16 measured).
MAX_BLOCK_DIFFERENCE = 32.0
#: The same for the first and last frame of a clip (45 measured: a blink starting in the last frame).
MAX_EDGE_BLOCK_DIFFERENCE = 64.0
#: A band of blocks shifted by a flipped DC bit: more than this share of blocks differing by more than
#: SHIFT_DIFFERENCE grey levels (clean frames: at most 0.8% of their blocks measured).
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


def block_differences(frame: np.ndarray, references: Sequence[np.ndarray]) -> np.ndarray:
    """Per 8x8 block of ``frame``, the mean absolute difference to the closest reference (see module).

    ``references`` are the two neighbour frames, of ``frame``'s shape; their average is a third.
    Returns uint8 ``(H // 8, W // 8)`` (means rounded to whole grey levels); a partial block at the
    right or bottom edge is left out.
    """
    height, width = frame.shape[0] // BLOCK * BLOCK, frame.shape[1] // BLOCK * BLOCK
    candidates = list(references)
    if len(candidates) == 2:
        candidates.append(cv2.addWeighted(candidates[0], 0.5, candidates[1], 0.5, 0))
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
        problem = _implausibility(block_differences(frame, references), index, len(paths))
        if problem:
            names = " and ".join(paths[j].name for j in reference_indices(index, len(paths)))
            raise ClipError(
                paths[index],
                f"frame does not fit between its neighbours {names}: {problem} (JPEG data damaged without "
                f"a decoder warning, e.g. a flipped bit): {FIX_RESTORE}",
            )


def _implausibility(differences: np.ndarray, index: int, count: int) -> str:
    """What no clean frame shows in ``differences`` (see module), or ``""``."""
    limit = MAX_EDGE_BLOCK_DIFFERENCE if index in (0, count - 1) else MAX_BLOCK_DIFFERENCE
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
