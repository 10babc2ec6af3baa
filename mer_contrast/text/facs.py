"""FACS action-unit table and the AU-set -> sentence rendering fed to the text tower.

Every AU number that occurs in CASME II, MMEW, SAMM and CAS(ME)^3 (plus the few others in the MEB
union) has a FACS name and a one-line paraphrase of its visible appearance change. A clip's coded
AUs become one sentence, e.g. ``4+L12`` ->
``"brow lowerer: lowers and draws the brows together; left lip corner puller: pulls the lip
corners up and back"``. Side, intensity and the other coded qualifiers are kept as words; the
emotion word is left out by default because it would make the text the label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mer_contrast.datasets.records import ActionUnit


@dataclass(frozen=True)
class AUInfo:
    """One FACS action unit: number, FACS name (lower case) and its visible change."""

    number: int
    name: str
    description: str


def _table(*rows: tuple[int, str, str]) -> dict[int, AUInfo]:
    return {number: AUInfo(number, name, description) for number, name, description in rows}


# Names follow FACS (AU13 uses the 2002 name); descriptions paraphrase the appearance change.
AU_TABLE: dict[int, AUInfo] = _table(
    (1, "inner brow raiser", "raises the inner ends of the eyebrows"),
    (2, "outer brow raiser", "raises the outer ends of the eyebrows, arching them"),
    (4, "brow lowerer", "lowers and draws the brows together"),
    (5, "upper lid raiser", "widens the eyes by raising the upper eyelids"),
    (6, "cheek raiser", "lifts the cheeks and narrows the eyes from below"),
    (7, "lid tightener", "tightens the eyelids, raising the lower lids"),
    (8, "lips toward each other", "presses the lips toward each other"),
    (9, "nose wrinkler", "wrinkles the sides of the nose and lifts the nostril wings"),
    (10, "upper lip raiser", "raises the upper lip"),
    (11, "nasolabial deepener", "deepens the middle of the nasolabial furrow"),
    (12, "lip corner puller", "pulls the lip corners up and back"),
    (13, "sharp lip puller", "pulls the lip corners up sharply, puffing the cheeks"),
    (14, "dimpler", "tightens the lip corners inward, forming dimples"),
    (15, "lip corner depressor", "pulls the lip corners down"),
    (16, "lower lip depressor", "pulls the lower lip down"),
    (17, "chin raiser", "pushes the chin and lower lip up, wrinkling the chin"),
    (18, "lip pucker", "pushes the lips forward into a pucker"),
    (20, "lip stretcher", "stretches the lips horizontally toward the ears"),
    (21, "neck tightener", "tightens the skin and cords of the neck"),
    (22, "lip funneler", "funnels the lips outward"),
    (23, "lip tightener", "tightens and narrows the lips"),
    (24, "lip pressor", "presses the lips tightly together"),
    (25, "lips part", "parts the lips"),
    (26, "jaw drop", "lowers the jaw so the mouth opens"),
    (27, "mouth stretch", "opens the mouth wide by pulling the jaw down"),
    (28, "lip suck", "sucks the lips in over the teeth"),
    (30, "jaw sideways", "moves the jaw to one side"),
    (31, "jaw clencher", "clenches the jaw so the masseter bulges"),
    (34, "cheek puff", "puffs the cheeks with air"),
    (38, "nostril dilator", "flares the nostrils"),
    (39, "nostril compressor", "narrows the nostrils"),
    (41, "lid droop", "lets the upper eyelids droop"),
    (43, "eyes closed", "closes the eyes"),
    (44, "squint", "narrows the eyes as if squinting"),
    (45, "blink", "briefly closes and reopens the eyes"),
    (56, "head tilt right", "tilts the head to the right"),
    (61, "eyes turn left", "shifts the gaze to the left"),
    (62, "eyes turn right", "shifts the gaze to the right"),
    (63, "eyes up", "shifts the gaze up"),
    (64, "eyes down", "shifts the gaze down"),
)


@dataclass(frozen=True)
class FacsTemplate:
    """How an AU set becomes a sentence; every word is configurable (e.g. from YAML).

    ``au_format`` renders one AU. Its placeholders are ``{number}``, ``{name}``, ``{description}``
    and the qualifier words ``{uncertain}``, ``{intensity}``, ``{modifier}``, ``{side}``. A
    qualifier renders as its word plus one space, or as nothing when not coded, so words are
    written without trailing spaces. ``unknown_au_format`` is used for numbers missing from
    :data:`AU_TABLE`; ``unknown_text`` for an empty (or "?") AU set. ``emotion_format`` wraps the
    sentence with the emotion word, only when ``include_emotion`` is set.
    """

    au_format: str = "{uncertain}{intensity}{modifier}{side}{name}: {description}"
    unknown_au_format: str = "{uncertain}{intensity}{modifier}{side}action unit {number}"
    joiner: str = "; "
    prefix: str = ""
    side_words: Mapping[str, str] = field(default_factory=lambda: {"L": "left", "R": "right"})
    intensity_words: Mapping[str, str] = field(
        default_factory=lambda: {"A": "trace", "B": "slight", "C": "marked", "D": "severe", "E": "maximum"}
    )
    modifier_words: Mapping[str, str] = field(
        default_factory=lambda: {"A": "asymmetric", "T": "upper-lip", "B": "lower-lip"}
    )
    uncertain_word: str = "possible"
    unknown_text: str = "an unclear facial movement"
    include_emotion: bool = False
    emotion_format: str = "{emotion} micro-expression with {text}"


def _qualifier(words: Mapping[str, str], code: str | None) -> str:
    word = words.get(code, "") if code else ""
    return f"{word} " if word else ""


def describe_au(au: ActionUnit, template: FacsTemplate | None = None) -> str:
    """Render one action unit (without the template's prefix)."""
    template = template or FacsTemplate()
    qualifiers = {
        "uncertain": f"{template.uncertain_word} " if au.uncertain and template.uncertain_word else "",
        "intensity": _qualifier(template.intensity_words, au.intensity),
        "modifier": _qualifier(template.modifier_words, au.modifier),
        "side": _qualifier(template.side_words, au.side),
        "number": au.number,
    }
    info = AU_TABLE.get(au.number)
    if info is None:
        return template.unknown_au_format.format(name="", description="", **qualifiers)
    return template.au_format.format(name=info.name, description=info.description, **qualifiers)


def describe_aus(
    aus: Sequence[ActionUnit], template: FacsTemplate | None = None, emotion: str | None = None
) -> str:
    """Render a clip's AU set as one sentence for the text tower.

    Repeated identical AUs are written once, order is kept. An empty set (the sheets' "?")
    gives ``template.unknown_text``. ``emotion`` is used only when ``template.include_emotion``.
    """
    template = template or FacsTemplate()
    unique = list(dict.fromkeys(aus))
    if unique:
        body = template.joiner.join(describe_au(au, template) for au in unique)
    else:
        body = template.unknown_text
    text = template.prefix + body
    if template.include_emotion and emotion:
        text = template.emotion_format.format(emotion=emotion, text=text)
    return text


# Beyond this many distinct AUs a clip keeps its one full sentence (2**n - 1 subsets grow fast).
MAX_SUBSET_AUS = 8


def describe_au_subsets(
    aus: Sequence[ActionUnit], template: FacsTemplate | None = None, emotion: str | None = None
) -> tuple[str, ...]:
    """The sentence of every non-empty subset of a clip's distinct AUs, for AU dropout on the text.

    Entry ``mask - 1`` describes the AUs whose bits are set in ``mask`` (bit ``i`` = the ``i``-th
    distinct AU, in coded order), so the last entry is the full sentence of :func:`describe_aus`.
    A clip with no AU, or more than :data:`MAX_SUBSET_AUS`, gets its full sentence alone.
    """
    unique = list(dict.fromkeys(aus))
    if not unique or len(unique) > MAX_SUBSET_AUS:
        return (describe_aus(aus, template, emotion),)
    return tuple(
        describe_aus([au for bit, au in enumerate(unique) if mask >> bit & 1], template, emotion)
        for mask in range(1, 1 << len(unique))
    )


def au_vocabulary(template: FacsTemplate | None = None) -> list[tuple[int, str]]:
    """One rendered description per table AU, in AU order (to explain predictions by nearest AU)."""
    return [(number, describe_aus([ActionUnit(number)], template)) for number in sorted(AU_TABLE)]
