"""AU cell parsing: every token form of the real sheets, normalised formatting, and errors."""

from __future__ import annotations

import math

import pytest

from mer_contrast.datasets.aus import AUParseError, au_cell_problem, au_numbers, format_aus, parse_aus
from mer_contrast.datasets.records import ActionUnit as AU


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, (AU(12),)),  # CASME II int cell
        (12.0, (AU(12),)),  # the same cell through pandas
        ("4+L10", (AU(4), AU(10, side="L"))),
        ("R12", (AU(12, side="R"),)),
        ("12L", (AU(12, side="L"),)),  # MMEW suffix side
        ("4R+7", (AU(4, side="R"), AU(7))),
        ("L14+L15", (AU(14, side="L"), AU(15, side="L"))),
        ("?", ()),  # unknown
        ("", ()),
        (None, ()),
        (math.nan, ()),
        ("4A", (AU(4, intensity="A"),)),  # SAMM intensity suffix
        ("43E", (AU(43, intensity="E"),)),
        ("L12A", (AU(12, side="L", intensity="A"),)),
        ("A1B+A2C", (AU(1, modifier="A", intensity="B"), AU(2, modifier="A", intensity="C"))),  # asymmetric
        ("T18", (AU(18, modifier="T"),)),
        ("B23", (AU(23, modifier="B"),)),
        (
            "R14A or 17A or 24A",
            (
                AU(14, side="R", intensity="A", uncertain=True),
                AU(17, intensity="A", uncertain=True),
                AU(24, intensity="A", uncertain=True),
            ),
        ),
        (
            "(R6 or R12)+R15",
            (AU(6, side="R", uncertain=True), AU(12, side="R", uncertain=True), AU(15, side="R")),
        ),
        (
            "(R6 or R12) + R15",
            (AU(6, side="R", uncertain=True), AU(12, side="R", uncertain=True), AU(15, side="R")),
        ),
        ("L12 or L14", (AU(12, side="L", uncertain=True), AU(14, side="L", uncertain=True))),
        ("10A/B", (AU(10, intensity="A", uncertain=True), AU(10, intensity="B", uncertain=True))),  # "/" = or
        ("A/L12", (AU(12, modifier="A", uncertain=True), AU(12, side="L", uncertain=True))),
        ("ref(10)", (AU(10, uncertain=True),)),
        ("7B+ ref(43)", (AU(7, intensity="B"), AU(43, uncertain=True))),
        ("ref(L10)+A12B", (AU(10, side="L", uncertain=True), AU(12, modifier="A", intensity="B"))),
        ("R14+17+soft focus", (AU(14, side="R"), AU(17))),  # ignored note
        ("12+15 ", (AU(12), AU(15))),
        ("R4,5", (AU(4, side="R"), AU(5))),  # CAS(ME)^3 Part C commas
        ("4，11", (AU(4), AU(11))),  # Chinese comma
        ("14,L24,", (AU(14), AU(24, side="L"))),  # trailing comma
        ("13?", (AU(13, uncertain=True),)),  # unclear offset
    ],
)
def test_parse_aus_token_forms(raw: object, expected: tuple[AU, ...]) -> None:
    assert parse_aus(raw) == expected


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        (12, "12"),
        ("4+L10", "4+L10"),
        ("12L", "L12"),
        ("?", ""),
        ("R14A or 17A or 24A", "R14A?+17A?+24A?"),
        ("A1B+T18+43E", "A1B+T18+43E"),
        ("ref(10)+B23+soft focus", "10?+B23"),
        ("A/L12", "A12?+L12?"),
    ],
)
def test_format_aus_normalises_and_round_trips(raw: object, normalised: str) -> None:
    aus = parse_aus(raw)
    assert format_aus(aus) == normalised
    assert parse_aus(format_aus(aus)) == aus


def test_au_numbers_are_distinct_in_order() -> None:
    assert au_numbers(parse_aus("(R6 or R12)+R15+6")) == (6, 12, 15)


@pytest.mark.parametrize(
    "raw", ["12X", "abc", "(4+5", "4+5)", "L12R", "A/", "0", "4.5", 4.5, True, "AU12", [12]]
)
def test_unparseable_cells_raise(raw: object) -> None:
    with pytest.raises(AUParseError, match="cannot parse action units"):
        parse_aus(raw)


def test_auparseerror_is_a_valueerror() -> None:
    assert issubclass(AUParseError, ValueError)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "AU cell is empty"),
        ("", "AU cell is empty"),
        ("  ", "AU cell is empty"),
        (math.nan, "AU cell is empty"),
        ("4++", "AU cell '4++' has an empty term, read as '4'"),
        ("+12", "AU cell '+12' has an empty term, read as '12'"),
        ("4+,L10", "AU cell '4+,L10' has an empty term, read as '4+L10'"),
        ("4+", "AU cell '4+' has an empty term, read as '4'"),
    ],
)
def test_empty_and_malformed_cells_are_named(raw: object, problem: str) -> None:
    message = au_cell_problem(raw)
    assert message is not None and message.startswith(problem) and message.count(": ") == 1


@pytest.mark.parametrize(
    "raw", [12, 12.0, "4+L10", "?", "14,L24,", "4，11", "(R6 or R12)+R15", "ref(10)", "12X"]
)
def test_documented_forms_are_not_problems(raw: object) -> None:
    assert au_cell_problem(raw) is None  # '12X' is parse_aus's error, not a note
