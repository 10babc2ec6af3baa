"""LOSO split guarantees, checked on every fold of a made-up subject list."""

import pytest

from mer_contrast.datamodules.folds import loso_split, loso_subjects
from mer_contrast.datasets.records import natural_key

SUBJECTS = ["sub10", "sub02", "sub02", "sub01", "sub10", "sub03", "sub03", "sub03", "sub04", "sub01"]


def test_folds_are_subjects_in_natural_order() -> None:
    assert loso_subjects(SUBJECTS) == ["sub01", "sub02", "sub03", "sub04", "sub10"]
    assert sorted(["s10", "s9", "s1"], key=natural_key) == ["s1", "s9", "s10"]


@pytest.mark.parametrize("strategy", ["none", "holdout_subjects", "test"])
def test_every_fold_keeps_subjects_apart(strategy: str) -> None:
    for test_subject in loso_subjects(SUBJECTS):
        split = loso_split(SUBJECTS, test_subject, strategy, val_subjects=2, seed=3)  # type: ignore[arg-type]
        train_subjects = {SUBJECTS[i] for i in split.train}
        test_subjects = {SUBJECTS[i] for i in split.test}
        val_subjects = {SUBJECTS[i] for i in split.val}
        assert test_subjects == {test_subject}
        assert not train_subjects & test_subjects
        if strategy == "holdout_subjects":
            assert len(val_subjects) == 2 and not val_subjects & train_subjects
            assert test_subject not in val_subjects
            # every sample in exactly one split
            assert sorted(split.train + split.val + split.test) == list(range(len(SUBJECTS)))
        elif strategy == "test":
            assert split.val == split.test and split.val_is_test
        else:
            assert split.val == [] and sorted(split.train + split.test) == list(range(len(SUBJECTS)))


def test_holdout_choice_depends_on_seed_only() -> None:
    a = loso_split(SUBJECTS, "sub01", "holdout_subjects", 2, seed=0)
    b = loso_split(SUBJECTS, "sub01", "holdout_subjects", 2, seed=0)
    assert a == b
    chosen = {loso_split(SUBJECTS, "sub01", "holdout_subjects", 1, seed=s).val_subjects for s in range(20)}
    assert len(chosen) > 1


def test_unknown_subject_and_bad_val_count_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"sub99.*sub01"):
        loso_split(SUBJECTS, "sub99")
    with pytest.raises(ValueError, match="val_subjects=4"):
        loso_split(SUBJECTS, "sub01", "holdout_subjects", val_subjects=4)
