"""FACS AU table and the AU-set -> sentence rendering."""

from __future__ import annotations

import pytest

from mer_contrast.datasets.records import ActionUnit
from mer_contrast.text import AU_TABLE, FacsTemplate, au_vocabulary, describe_aus

# Every AU coded in CASME II, MMEW, SAMM and CAS(ME)^3 (datasets notes §8).
DATASET_AUS = [1, 2, *range(4, 19), *range(20, 29), 30, 31, 34, 38, 39, 41, 43, 44, 45, 56, 61, 62, 63, 64]


def test_table_covers_every_dataset_au() -> None:
    assert sorted(AU_TABLE) == DATASET_AUS
    for number, info in AU_TABLE.items():
        assert info.number == number
        assert info.name and info.name == info.name.lower()
        assert info.description and not info.description.endswith(".")
    assert AU_TABLE[10].name == "upper lip raiser"  # not the "upper lid raiser" typo of one source
    assert AU_TABLE[12].name == "lip corner puller"


def test_side_and_order_in_words() -> None:
    text = describe_aus([ActionUnit(12, side="L"), ActionUnit(1)])
    assert text == (
        "left lip corner puller: pulls the lip corners up and back; "
        "inner brow raiser: raises the inner ends of the eyebrows"
    )
    assert describe_aus([ActionUnit(4, side="R")]).startswith("right brow lowerer: ")


@pytest.mark.parametrize(
    ("letter", "word"), [("A", "trace"), ("B", "slight"), ("C", "marked"), ("D", "severe"), ("E", "maximum")]
)
def test_intensity_in_words(letter: str, word: str) -> None:
    assert describe_aus([ActionUnit(43, intensity=letter)]) == f"{word} eyes closed: closes the eyes"


def test_modifiers_and_uncertainty_in_words() -> None:
    text = describe_aus([ActionUnit(14, side="L", intensity="B", modifier="A", uncertain=True)])
    assert text.startswith("possible slight asymmetric left dimpler: ")
    assert describe_aus([ActionUnit(23, modifier="B")]).startswith("lower-lip lip tightener")
    assert describe_aus([ActionUnit(24, modifier="T")]).startswith("upper-lip lip pressor")


def test_unknown_au_set_is_a_neutral_sentence() -> None:
    assert describe_aus([]) == "an unclear facial movement"
    assert describe_aus([], FacsTemplate(unknown_text="no visible action")) == "no visible action"


def test_unknown_au_number_does_not_crash() -> None:
    assert describe_aus([ActionUnit(99)]) == "action unit 99"
    assert describe_aus([ActionUnit(4), ActionUnit(99, side="R")]).endswith("; right action unit 99")


def test_emotion_excluded_by_default_and_included_on_request() -> None:
    aus = [ActionUnit(12)]
    assert "happiness" not in describe_aus(aus, emotion="happiness")
    with_emotion = describe_aus(aus, FacsTemplate(include_emotion=True), emotion="happiness")
    assert with_emotion.startswith("happiness") and "lip corner puller" in with_emotion
    assert describe_aus(aus, FacsTemplate(include_emotion=True)) == describe_aus(aus)


def test_template_is_configurable() -> None:
    template = FacsTemplate(
        au_format="AU{number} {side}{name}",
        joiner=" and ",
        prefix="the face shows ",
        side_words={"L": "links", "R": "rechts"},
    )
    text = describe_aus([ActionUnit(1), ActionUnit(12, side="R")], template)
    assert text == "the face shows AU1 inner brow raiser and AU12 rechts lip corner puller"


def test_repeated_aus_written_once() -> None:
    assert describe_aus([ActionUnit(4), ActionUnit(4)]) == describe_aus([ActionUnit(4)])
    both_sides = describe_aus([ActionUnit(12, side="L"), ActionUnit(12, side="R")])
    assert both_sides.count("lip corner puller") == 2


def test_vocabulary_has_one_description_per_au() -> None:
    vocabulary = au_vocabulary()
    assert [number for number, _ in vocabulary] == DATASET_AUS
    assert dict(vocabulary)[9] == "nose wrinkler: wrinkles the sides of the nose and lifts the nostril wings"
    assert len({text for _, text in vocabulary}) == len(vocabulary)
    prefixed = au_vocabulary(FacsTemplate(prefix="a face with "))
    assert all(text.startswith("a face with ") for _, text in prefixed)


def test_subset_sentences_are_indexed_by_bitmask() -> None:
    from mer_contrast.text.facs import MAX_SUBSET_AUS, describe_au_subsets

    aus = [ActionUnit(4), ActionUnit(7), ActionUnit(14, side="L"), ActionUnit(4)]  # 4 repeated: 3 distinct
    subsets = describe_au_subsets(aus)
    assert len(subsets) == 7 and subsets[-1] == describe_aus(aus)
    assert subsets[0] == describe_aus([ActionUnit(4)])  # mask 0b001
    assert subsets[4] == describe_aus([ActionUnit(4), ActionUnit(14, side="L")])  # mask 0b101
    assert describe_au_subsets([]) == (describe_aus([]),)
    many = [ActionUnit(n) for n in (1, 2, 4, 5, 6, 7, 9, 10, 12)][: MAX_SUBSET_AUS + 1]
    assert describe_au_subsets(many) == (describe_aus(many),)
