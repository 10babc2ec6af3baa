"""Micro- or macro-expression: the MEGC definition applied to spotted intervals.

MEGC (2019-2022) counts an expression as a micro-expression when it lasts at most ``MICRO_MAX_S``
= 0.5 s from onset to offset, and as a macro-expression when it lasts longer. A held expression
(a rise, a hold, a fall) shows on the spotter's curve as two candidates, the rise and the fall, each
short: :func:`held_groups` joins consecutive candidates between which the face never came back to
its neutral pose, so the held expression is reported once, from the first onset to the last offset,
and is then a macro-expression by its length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

Kind = Literal["micro", "macro"]
KINDS: tuple[str, ...] = ("micro", "macro")
MICRO_MAX_S = 0.5
MACRO_MAX_S = 4.0  # MEGC's long videos: macro-expressions of up to a few seconds


def kind_of(onset: int, offset: int, fps: float) -> Kind:
    """``micro`` when onset to offset (both included) lasts at most 0.5 s, else ``macro``."""
    return "micro" if (offset - onset + 1) / fps <= MICRO_MAX_S else "macro"


def held_groups(
    spans: Sequence[tuple[int, int, int]], fps: float, still_moved: Callable[[int, int, int], bool]
) -> list[list[int]]:
    """Indices of ``(onset, apex, offset)`` spans, grouped where the face stayed moved between them.

    ``still_moved(onset, between, next_onset)`` says whether the face at frame ``between`` is still
    away from where it was before ``onset``; groups last at most :data:`MACRO_MAX_S`.
    """
    groups: list[list[int]] = []
    for index, (onset, apex, _) in enumerate(spans):
        if groups:
            first_onset = spans[groups[-1][0]][0]
            last_apex = spans[groups[-1][-1]][1]
            between = (last_apex + apex) // 2
            if (spans[index][2] - first_onset) / fps <= MACRO_MAX_S and still_moved(
                first_onset, between, onset
            ):
                groups[-1].append(index)
                continue
        groups.append([index])
    return groups


def parse_kinds(text: str) -> tuple[Kind, ...]:  # in the order of KINDS
    """``"micro,macro"`` to the kinds to report; a one-line ``ValueError`` for anything else."""
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [part for part in chosen if part not in KINDS]
    if bad or not chosen:
        raise ValueError(f"--kinds {text!r}: expected micro, macro or micro,macro")
    return tuple(kind for kind in ("micro", "macro") if kind in chosen)
