"""Scoring spotted intervals as MEGC does (IoU >= 0.5) and spot-then-recognize as MEAN's STRS does.

A spotted interval is a true positive when its IoU with a not yet matched true interval is at least
``iou`` (MEGC 2019-2022: 0.5); each true interval is matched at most once (greedy, best IoU first).
Spotting F1 = 2TP / (2TP + FP + FN), :func:`mer_contrast.metrics.f1_from_counts` of the summed counts.
For spot-then-recognize (Liong et al., MEAN, 2023) a hit must also carry the true class; a spotted
interval of the wrong class counts as a false positive and its true interval as missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mer_contrast.metrics import f1_from_counts


@dataclass(frozen=True)
class Score:
    """Counts and F1 of one scoring (summed over videos by :func:`add`)."""

    tp: int
    fp: int
    fn: int

    @property
    def f1(self) -> float:
        """2TP / (2TP + FP + FN); 1.0 when there was nothing to find and nothing was found."""
        total = 2 * self.tp + self.fp + self.fn
        return f1_from_counts(self.tp, self.fp, self.fn) if total else 1.0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    union = max(a[1], b[1]) - min(a[0], b[0]) + 1
    return max(inter, 0) / union if union > 0 else 0.0


def match(
    spotted: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]], threshold: float = 0.5
) -> list[tuple[int, int]]:
    """``(spotted index, true index)`` pairs with IoU >= ``threshold``, each side used once."""
    pairs = sorted(
        ((iou(s, t), i, j) for i, s in enumerate(spotted) for j, t in enumerate(truth)), reverse=True
    )
    used_s: set[int] = set()
    used_t: set[int] = set()
    found = []
    for value, i, j in pairs:
        if value >= threshold and i not in used_s and j not in used_t:
            used_s.add(i)
            used_t.add(j)
            found.append((i, j))
    return found


def spotting_score(
    spotted: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]], threshold: float = 0.5
) -> Score:
    """MEGC spotting counts of one video."""
    tp = len(match(spotted, truth, threshold))
    return Score(tp, len(spotted) - tp, len(truth) - tp)


def strs_score(
    spotted: Sequence[tuple[int, int]],
    spotted_classes: Sequence[str],
    truth: Sequence[tuple[int, int]],
    true_classes: Sequence[str],
    threshold: float = 0.5,
) -> Score:
    """Spot-then-recognize counts of one video: a hit must also have the true class."""
    tp = sum(spotted_classes[i] == true_classes[j] for i, j in match(spotted, truth, threshold))
    return Score(tp, len(spotted) - tp, len(truth) - tp)
