"""The mirror image of a clip: what the training's horizontal flip shows the model, also used at test time.

A face and its mirror image show the same expression, so training flips clips at random
(``augmentation.flip_prob``), and a recognizer can average a clip's features with its mirror's at test
time (``test_time_flip``). Mirroring flips the frames and the flow along x and negates the flow's u
channel (channel 0 of every flow channel set: a mirrored motion moves the other way along x); v,
magnitude and strain are unchanged by a mirror. The mirror image of a clip coded ``L12`` (the subject's
left lip corner) shows ``R12``: :func:`mirror_aus` swaps the sides and the AUs that name a direction,
so that a flipped training clip's FACS sentence describes what the flipped clip shows
(``augmentation.mirror_sides``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch

from mer_contrast.datasets.records import ActionUnit, Side

#: FACS AUs whose mirror image is another AU: head turn (51/52) and tilt (55/56), eyes turn (61/62),
#: left and right.
MIRRORED_AU_NUMBERS = {51: 52, 52: 51, 55: 56, 56: 55, 61: 62, 62: 61}

#: Where the channels sit counted from the end: ``(..., C, H, W)``, a clip ``(T, C, H, W)`` or a batch
#: ``(B, T, C, H, W)``.
CHANNEL_DIM = -3


def mirror_flow(flow: torch.Tensor) -> torch.Tensor:
    """A new tensor: ``flow`` (``(..., C, H, W)``, u in channel 0) flipped along x, its u negated."""
    mirrored = flow.flip(-1)
    mirrored.select(CHANNEL_DIM, 0).neg_()
    return mirrored


def mirror_clip(
    rgb: torch.Tensor | None, flow: torch.Tensor | None
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The mirror image of a clip or a batch of clips (either input may be None: a stream left out)."""
    return (
        None if rgb is None else rgb.flip(-1),
        None if flow is None else mirror_flow(flow),
    )


def mirror_aus(aus: Sequence[ActionUnit]) -> tuple[ActionUnit, ...]:
    """The AU codes of a clip's mirror image: ``L`` and ``R`` swapped, left/right AUs exchanged
    (:data:`MIRRORED_AU_NUMBERS`); bilateral AUs, order and qualifiers unchanged."""
    other_side: dict[str, Side] = {"L": "R", "R": "L"}
    return tuple(
        replace(
            au,
            number=MIRRORED_AU_NUMBERS.get(au.number, au.number),
            side=other_side[au.side] if au.side else None,
        )
        for au in aus
    )
