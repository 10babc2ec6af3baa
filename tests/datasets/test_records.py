"""``natural_key``: the one order of subject ids and clip and folder names (folds, inspect, SMIC)."""

from __future__ import annotations

import itertools
import random

import pytest

from mer_contrast.datamodules.folds import loso_subjects
from mer_contrast.datasets.records import natural_key

# Every caller's names, each list in the order it must come out in.
ORDERED = {
    "casme2 subjects": ["sub01", "sub02", "sub09", "sub10", "sub26"],
    "samm subjects": ["006", "007", "009", "010", "037", "100"],
    "smic subjects": ["s1", "s2", "s9", "s10", "s20"],
    "smic padded and not": ["s01", "s1", "s02", "s2", "s10"],
    "casme3 subjects": ["spNO.1", "spNO.2", "spNO.9", "spNO.10", "spNO.216"],
    "mmew subjects": ["S01", "S02", "S10", "S30"],
    "megc2019 composite": ["casme2/sub01", "casme2/sub10", "samm/006", "samm/036", "smic/s01", "smic/s20"],
    "smic folders": ["HS", "NIR", "s1", "s3", "s10", "VIS"],
    "casme2 cropped frames": ["reg_img9.jpg", "reg_img46.jpg", "reg_img92.jpg", "reg_img100.jpg"],
    "padded frames": ["img_0001.bmp", "img_0002.bmp", "img_0010.bmp", "img_0100.bmp"],
    "samm frames": ["006_05562.jpg", "006_05563.jpg", "006_10000.jpg"],
    "case apart": ["S1", "s1", "S2", "s10"],
    "no digits and digits only": ["", "0", "1", "10", "a", "a0", "b"],
}


@pytest.mark.parametrize("names", ORDERED.values(), ids=ORDERED.keys())
def test_every_callers_names_come_out_in_order(names: list[str]) -> None:
    for shuffled in itertools.islice(itertools.permutations(names), 200):
        assert sorted(shuffled, key=natural_key) == names


def test_the_order_does_not_depend_on_the_input_order() -> None:
    names = ["s01", "s1", "S1", "s001", "sub2", "Sub2", "sub02", "006", "6", "06"]
    expected = sorted(names, key=natural_key)
    for seed in range(20):
        shuffled = names[:]
        random.Random(seed).shuffle(shuffled)
        assert sorted(shuffled, key=natural_key) == expected
    assert expected == ["006", "06", "6", "S1", "s001", "s01", "s1", "Sub2", "sub02", "sub2"]


def test_loso_folds_and_inspect_use_it() -> None:
    from mer_contrast.datasets.inspection import summary_of
    from mer_contrast.datasets.records import ReadResult, SampleRecord

    subjects = ["sub10", "sub2", "Sub1", "sub02"]
    assert loso_subjects(subjects) == ["Sub1", "sub02", "sub2", "sub10"]
    records = [
        SampleRecord(
            dataset="casme2",
            subject=s,
            clip_id="EP01",
            onset=1,
            apex=2,
            offset=3,
            aus=(),
            au_raw="",
            emotion="happiness",
        )
        for s in subjects
    ]
    summary = summary_of("casme2", ReadResult(records=records), frames_read=False)
    assert list(summary["per_subject"]) == ["Sub1", "sub02", "sub2", "sub10"]
