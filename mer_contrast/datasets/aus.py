"""Parsing of the action-unit (AU) cells of the annotation sheets.

Every database writes AUs a little differently (see ``notes/datasets.md`` §1.3, §2.3, §3.1, §4, §8):

* separators: ``+`` (all), ``,`` and the Chinese comma ``，`` (CAS(ME)^3 Part C);
* side: prefix or suffix ``L``/``R`` (``L10``, ``12L``);
* SAMM qualifiers: prefix ``A`` = asymmetric, ``T``/``B`` = top/bottom lip, suffix ``A``-``E`` =
  FACS intensity (``A1B`` is asymmetric AU1 at intensity B);
* alternatives ``or`` and ``/`` (``R14A or 17A or 24A``, ``(R6 or R12)+R15``, ``10A/B``, ``A/L12``):
  every alternative is kept and marked ``uncertain``;
* ``?``: alone it means "AUs unknown" (empty result); as a suffix (``13?``) it marks an AU with an
  unclear offset (``uncertain``);
* ``ref(10)`` (SAMM): a referenced/reflex AU, kept as ``uncertain``; ``soft focus`` is a note about the
  recording, not an AU, and is ignored.

:func:`au_cell_problem` names cells that parse but look wrong (empty, or an empty term as in ``4++``)
so the readers can report them. :func:`format_aus` writes the parsed AUs back as a normalised code
(``4+L10``, ``R14A?+17A?``) that :func:`parse_aus` reads back to the same tuple.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from mer_contrast.datasets.errors import AUParseError
from mer_contrast.datasets.records import ActionUnit

__all__ = ["AUParseError", "au_cell_problem", "au_numbers", "format_aus", "parse_aus"]

#: Free-text notes found in AU cells that carry no AU (compared lower-case).
IGNORED_TERMS = frozenset({"soft focus"})

_TOKEN = re.compile(r"(?P<pre>[ATBLR]{0,2})(?P<num>\d{1,2})(?P<suf>[A-ELR]{0,2})")
_REF = re.compile(r"ref\s*\((?P<inner>.*)\)", re.IGNORECASE)
_OR = re.compile(r"\s+or\s+|/", re.IGNORECASE)
_BARE_LETTER = re.compile(r"[A-ET]")


def parse_aus(raw: object) -> tuple[ActionUnit, ...]:
    """Parse one AU cell (int, float or text) into action units, in the order written.

    Returns an empty tuple for an empty cell or ``"?"`` (AUs unknown). Raises :class:`AUParseError`
    when the cell follows no known convention.
    """
    if raw is None:
        return ()
    if isinstance(raw, bool):
        raise AUParseError(raw, "a boolean is not an AU code")
    if isinstance(raw, int):
        return (_checked(ActionUnit(raw), raw),)
    if isinstance(raw, float):
        if math.isnan(raw):
            return ()
        if not raw.is_integer():
            raise AUParseError(raw, "an AU number must be a whole number")
        return (_checked(ActionUnit(int(raw)), raw),)
    if not isinstance(raw, str):
        raise AUParseError(raw, f"unsupported cell type {type(raw).__name__}")

    text = raw.replace("，", ",").strip()
    units: list[ActionUnit] = []
    for term in _split_top_level(text, raw):
        term = term.strip()
        if not term or term == "?" or term.lower() in IGNORED_TERMS:
            continue
        units.extend(_parse_term(term, raw, uncertain=False))
    return tuple(units)


def au_cell_problem(raw: object) -> str | None:
    """Why an AU cell that parses is still suspect, as a message ending in the fix; None when fine.

    An empty cell (write ``?`` for "AUs unknown") and an empty term between separators (``4++``, ``+4``)
    are reported; one trailing comma is CAS(ME)^3 Part C's habit (``14,L24,``) and is not.
    """
    if (
        raw is None
        or (isinstance(raw, float) and math.isnan(raw))
        or (isinstance(raw, str) and not raw.strip())
    ):
        return "AU cell is empty, the clip is kept with no action units: fill in its AUs ('?' if unknown)"
    if not isinstance(raw, str):
        return None
    text = raw.replace("，", ",").strip()
    text = text[:-1] if text.endswith(",") else text
    try:
        terms = _split_top_level(text, raw)
    except AUParseError:
        return None  # parse_aus reports it
    if all(term.strip() for term in terms):
        return None
    read = format_aus(parse_aus(raw)) or "no AU"
    return f"AU cell {raw!r} has an empty term, read as {read!r}: fix the cell (AUs are joined by one '+')"


def format_aus(aus: tuple[ActionUnit, ...] | list[ActionUnit]) -> str:
    """Normalised AU code, e.g. ``4+L10`` or ``A1B+R14A?``; empty string when no AU is known."""
    return "+".join(_format_one(au) for au in aus)


def au_numbers(aus: tuple[ActionUnit, ...] | list[ActionUnit]) -> tuple[int, ...]:
    """The distinct AU numbers, in first-seen order (what a FACS lookup table needs)."""
    return tuple(dict.fromkeys(au.number for au in aus))


def _format_one(au: ActionUnit) -> str:
    return f"{au.modifier or ''}{au.side or ''}{au.number}{au.intensity or ''}{'?' if au.uncertain else ''}"


def _split_top_level(text: str, raw: object) -> list[str]:
    """Split on ``+`` and ``,`` outside parentheses: ``(R6 or R12)+R15`` -> two terms."""
    terms: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise AUParseError(raw, "unbalanced ')'")
        elif char in "+," and depth == 0:
            terms.append(text[start:index])
            start = index + 1
    if depth != 0:
        raise AUParseError(raw, "unbalanced '('")
    terms.append(text[start:])
    return terms


def _parse_term(term: str, raw: object, *, uncertain: bool) -> list[ActionUnit]:
    ref = _REF.fullmatch(term)
    if ref:
        return _parse_term(ref.group("inner").strip(), raw, uncertain=True)
    if term.startswith("(") and term.endswith(")") and _is_one_group(term):
        return _parse_term(term[1:-1].strip(), raw, uncertain=uncertain)
    alternatives = [part.strip() for part in _OR.split(term)]
    if len(alternatives) > 1:
        return _parse_alternatives(alternatives, raw)
    return [_parse_token(term, raw, uncertain=uncertain)]


def _is_one_group(term: str) -> bool:
    """True when the opening parenthesis closes at the very end (``(a)`` but not ``(a)+(b)``)."""
    depth = 0
    for index, char in enumerate(term):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and index < len(term) - 1:
            return False
    return True


def _parse_alternatives(parts: list[str], raw: object) -> list[ActionUnit]:
    """``a or b`` / ``a/b``: every alternative becomes an uncertain AU.

    Bare letters borrow the rest of a neighbour: ``10A/B`` is 10A or 10B (intensity), ``A/L12`` is
    A12 or L12 (the asymmetric prefix).
    """
    units: list[ActionUnit] = []
    for index, part in enumerate(parts):
        if not part:
            raise AUParseError(raw, "empty alternative")
        bare = part.upper()
        if _BARE_LETTER.fullmatch(bare):
            if units and units[-1].intensity is not None and bare in "ABCDE":
                units.append(replace(units[-1], intensity=bare))
                continue
            if index + 1 < len(parts):
                following = _parse_token(parts[index + 1], raw, uncertain=True)
                units.append(_parse_token(f"{bare}{following.number}", raw, uncertain=True))
                continue
            raise AUParseError(raw, f"alternative {part!r} names no AU")
        units.extend(_parse_term(part, raw, uncertain=True))
    return [replace(unit, uncertain=True) for unit in units]


def _parse_token(token: str, raw: object, *, uncertain: bool) -> ActionUnit:
    text = re.sub(r"\s+", "", token).upper()
    if text.endswith("?"):
        uncertain = True
        text = text[:-1]
    match = _TOKEN.fullmatch(text)
    if match is None:
        raise AUParseError(raw, f"unknown token {token!r}")
    # Letters before the number: side and modifier; after it: side and intensity (one of each).
    found: dict[str, str] = {}
    for letters, other in ((match.group("pre"), "modifier"), (match.group("suf"), "intensity")):
        for letter in letters:
            kind = "side" if letter in "LR" else other
            if kind in found:
                raise AUParseError(raw, f"two {kind}s in {token!r}")
            found[kind] = letter
    side, modifier, intensity = (found.get(k) for k in ("side", "modifier", "intensity"))
    unit = ActionUnit(
        number=int(match.group("num")),
        side=side,  # type: ignore[arg-type]  # checked above: "L" or "R"
        intensity=intensity,
        modifier=modifier,
        uncertain=uncertain,
    )
    return _checked(unit, raw)


def _checked(unit: ActionUnit, raw: object) -> ActionUnit:
    if not 1 <= unit.number <= 99:
        raise AUParseError(raw, f"AU number {unit.number} is outside 1..99")
    return unit
