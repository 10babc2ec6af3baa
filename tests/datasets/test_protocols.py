"""Class protocols: data-defined mappings, drops with reasons, user protocols."""

from __future__ import annotations

from pathlib import Path

import pytest
from ds_builders import CASME2_ROWS, SAMM_ROWS

from mer_contrast.datasets import READERS, casme2, samm
from mer_contrast.datasets.protocols import (
    DEFAULT_PROTOCOL,
    PROTOCOLS,
    ClassProtocol,
    apply_protocol,
    custom_protocol,
    get_protocol,
    list_protocols,
)


def test_casme2_5class_drops_fear_and_sadness_with_reason(casme2_root: Path) -> None:
    result = casme2.read(sheet=casme2_root / "CASME2-coding-20140508.xlsx")
    kept, dropped = apply_protocol(result, "casme2-5class")
    protocol = get_protocol("casme2-5class")
    assert len(kept) == len(CASME2_ROWS) - 2
    assert {protocol.classes[label] for _, label in kept} == {
        "happiness",
        "disgust",
        "repression",
        "surprise",
        "others",
    }
    assert all(record.emotion == protocol.classes[label] for record, label in kept)
    assert sorted(row.reason for row in dropped) == [
        "emotion 'fear' not in protocol casme2-5class",
        "emotion 'sadness' not in protocol casme2-5class",
    ]
    assert {row.clip for row in dropped} == {"sub04/EP12_02f", "sub04/EP05_03"}


def test_samm_5class_maps_title_case_to_lower_case_classes(samm_root: Path) -> None:
    kept, dropped = apply_protocol(samm.read(samm_root), "samm-5class")
    assert [row.reason for row in dropped] == ["emotion 'disgust' not in protocol samm-5class"]
    assert len(kept) == len(SAMM_ROWS) - 1
    assert get_protocol("samm-5class").classes == ("anger", "contempt", "happiness", "surprise", "other")


def test_label_of_is_case_insensitive_and_grouping_works() -> None:
    three = get_protocol("casme3-3class")
    assert three.label_of("Sad") == three.label_of("disgust") == 0
    assert three.label_of("happy") == 1 and three.label_of("surprise") == 2
    assert three.label_of("others") is None
    assert get_protocol("casme3-4class").label_of("Others") == 3
    assert get_protocol("megc2019-3class").classes == ("negative", "positive", "surprise")
    assert get_protocol("mmew").num_classes == 7 and get_protocol("mmew-4class").num_classes == 4


def test_every_dataset_has_a_registered_default() -> None:
    assert set(DEFAULT_PROTOCOL) == set(READERS)
    for dataset, name in DEFAULT_PROTOCOL.items():
        assert PROTOCOLS[name].dataset == dataset
        assert name in list_protocols(dataset)
    assert set(list_protocols()) == set(PROTOCOLS)


def test_custom_protocol_from_mapping_and_list() -> None:
    grouped = custom_protocol(
        "mmew-pos-neg", {"Happiness": "positive", "disgust": "negative", "fear": "negative"}
    )
    assert grouped.classes == ("positive", "negative")
    assert grouped.label_of("HAPPINESS") == 0 and grouped.label_of("surprise") is None
    subset = custom_protocol("mmew-3", ["happiness", "surprise", "disgust"])
    assert subset.classes == ("happiness", "surprise", "disgust") and subset.dataset == "custom"
    assert get_protocol(subset) is subset


def test_invalid_protocols_are_rejected() -> None:
    with pytest.raises(ValueError, match="not among classes"):
        ClassProtocol("bad", "x", ("a",), {"happy": "b"})
    with pytest.raises(ValueError, match="unique"):
        ClassProtocol("bad", "x", ("a", "a"), {})
    with pytest.raises(ValueError, match="unknown class protocol 'nope'"):
        get_protocol("nope")


def test_protocols_are_frozen() -> None:
    with pytest.raises(AttributeError):
        get_protocol("mmew").name = "other"  # type: ignore[misc]
