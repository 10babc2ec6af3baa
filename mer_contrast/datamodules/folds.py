"""Leave-one-subject-out (LOSO) splits.

A fold holds out every clip of one subject for testing. Validation, when asked for, is drawn from the
*training* subjects only (``holdout_subjects``), so model selection never sees the test subject; the
``test`` strategy reuses the test subject for validation and is labelled as test-set selection
(optimistic) wherever it is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mer_contrast.datasets.errors import DataSettingError
from mer_contrast.datasets.records import natural_key

ValStrategy = Literal["none", "holdout_subjects", "test"]


def loso_subjects(subjects: Sequence[str]) -> list[str]:
    """The LOSO folds: every subject that has at least one sample, in natural order."""
    return sorted(set(subjects), key=natural_key)


@dataclass(frozen=True)
class Split:
    """Sample indices of one fold; ``val_is_test`` marks test-set selection."""

    train: list[int]
    val: list[int]
    test: list[int]
    val_subjects: tuple[str, ...]
    val_is_test: bool


def loso_split(
    subjects: Sequence[str],
    test_subject: str | None,
    val_strategy: ValStrategy = "none",
    val_subjects: int = 2,
    seed: int = 0,
) -> Split:
    """Split sample indices for the fold that holds out ``test_subject``.

    Args:
        subjects: the subject of every sample, by sample index.
        test_subject: the held-out subject; None trains on every subject (no test split).
        val_strategy: ``none``; ``holdout_subjects`` (``val_subjects`` training subjects, chosen by
            ``seed``, move to validation); ``test`` (validation = the test subject: optimistic).
        val_subjects: how many training subjects ``holdout_subjects`` moves to validation.
        seed: chooses the validation subjects, so the same seed gives the same split.
    """
    folds = loso_subjects(subjects)
    if test_subject is not None and test_subject not in folds:
        shown = ", ".join(folds[:12]) + (" ..." if len(folds) > 12 else "")
        raise DataSettingError(
            f"data.test_subject {test_subject!r} has no sample under this protocol; choose one of: {shown}"
        )
    train_subjects = [s for s in folds if s != test_subject]
    held: tuple[str, ...] = ()
    if val_strategy == "holdout_subjects":
        if val_subjects < 1 or val_subjects >= len(train_subjects):
            raise DataSettingError(
                f"data.val_subjects={val_subjects} must be between 1 and {len(train_subjects) - 1} "
                f"(the fold has {len(train_subjects)} training subjects)"
            )
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(train_subjects), size=val_subjects, replace=False)
        held = tuple(sorted((train_subjects[i] for i in chosen), key=natural_key))
    train = [i for i, s in enumerate(subjects) if s != test_subject and s not in held]
    test = [i for i, s in enumerate(subjects) if s == test_subject]
    if val_strategy == "holdout_subjects":
        val = [i for i, s in enumerate(subjects) if s in held]
    elif val_strategy == "test":
        val = list(test)
    else:
        val = []
    return Split(train=train, val=val, test=test, val_subjects=held, val_is_test=val_strategy == "test")
