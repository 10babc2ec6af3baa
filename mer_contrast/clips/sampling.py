"""Temporal sampling: which ``num_frames`` of a clip's available frames (onset..offset) to use.

Indices come from linear interpolation over the chosen segment (``np.linspace``), rounded half up,
so the same record always gives the same frames:

* ``onset_apex``: onset .. apex (both included). The rising phase carries the expression.
* ``onset_apex_offset``: ``ceil(T/2)`` samples over onset .. apex and ``floor(T/2)`` over
  apex .. offset; the apex appears once (the second half starts just after it). With ``T = 2``
  this is onset, apex (as ``onset_apex``).
* ``whole``: onset .. offset evenly.

Choices:
* A missing or out-of-range apex falls back to the middle frame ``(n - 1) // 2``. For
  ``onset_apex`` an apex on the onset itself (an annotation slip, e.g. CASME II sub05/EP09_05f)
  would give a still clip, so it is also moved to the middle (at least frame 1).
* A segment with fewer frames than samples repeats frames (interpolation rounds several samples to
  one frame): the clip keeps ``T`` steps, and the repeated pairs simply have zero flow. A clip with
  fewer than 2 frames has no motion and is an error.
* :func:`jitter_indices` (training augmentation) shifts the whole index window by one random offset
  in ``[-max_shift, max_shift]``, clipped to the clip, so the spacing and order are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Span = Literal["onset_apex", "onset_apex_offset", "whole"]


def _interpolate(start: int, stop: int, count: int) -> list[int]:
    """``count`` indices from ``start`` to ``stop`` inclusive, evenly spaced, rounded half up."""
    if count <= 0:
        return []
    return [int(v) for v in np.floor(np.linspace(start, stop, count) + 0.5)]


def sample_indices(num_available: int, num_frames: int, span: Span, apex_index: int | None) -> list[int]:
    """Indices (into the clip's available frames, non-decreasing) of the ``num_frames`` to use.

    Args:
        num_available: frames in the clip (onset..offset), at least 2.
        num_frames: frames to sample (T), at least 2.
        span: the segment to sample, see the module docstring.
        apex_index: index of the apex among the available frames; None (or out of range) means the
            middle frame.

    Raises:
        ValueError: fewer than 2 available frames, ``num_frames < 2`` or an unknown span.
    """
    if num_available < 2:
        raise ValueError(f"a clip needs at least 2 frames for motion, this one has {num_available}")
    if num_frames < 2:
        raise ValueError(f"num_frames must be at least 2 (flow needs a pair), got {num_frames}")
    last = num_available - 1
    middle = last // 2
    apex = apex_index if apex_index is not None and 0 <= apex_index <= last else middle
    if span == "onset_apex":
        if apex == 0:
            apex = max(1, middle)
        return _interpolate(0, apex, num_frames)
    if span == "onset_apex_offset":
        if num_frames == 2:  # no room for the offset: keep the pair that carries the expression
            return [0, apex if apex > 0 else max(1, middle)]
        rising = (num_frames + 1) // 2
        falling = num_frames - rising
        return _interpolate(0, apex, rising) + _interpolate(apex, last, falling + 1)[1:]
    if span == "whole":
        return _interpolate(0, last, num_frames)
    raise ValueError(f"unknown span {span!r}; expected onset_apex, onset_apex_offset or whole")


def jitter_indices(
    indices: Sequence[int], num_available: int, max_shift: int, rng: np.random.Generator
) -> list[int]:
    """Shift all indices by one random offset in ``[-max_shift, max_shift]``, clipped to the clip.

    Order is kept (the result is non-decreasing when the input is). ``max_shift = 0`` is the identity.
    """
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    shift = int(rng.integers(-max_shift, max_shift + 1)) if max_shift else 0
    return [min(max(int(i) + shift, 0), num_available - 1) for i in indices]
