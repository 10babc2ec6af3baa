"""Which clips a synthetic dataset holds: classes, their AU patterns, lengths, and AU text per layout.

Class shares and AU patterns follow the real sheets (dataset notes §1.3, §2.3, §3.1): e.g. CASME II
``others`` is mostly AU4 alone, ``disgust`` AU4 with 7/9/10, ``happiness`` AU6/12, ``surprise``
AU1/2. Some patterns are deliberately shared between classes (AU4 in disgust and others, AU14 in
happiness and repression/others, AU7 in SAMM anger and happiness) so the task is learnable but not
trivial. Emotions are keyed exactly as each sheet writes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mer_contrast.synth.motion import AUToken

Layout = Literal["casme2", "mmew", "samm"]
LAYOUTS: tuple[Layout, ...] = ("casme2", "mmew", "samm")
# Layouts of the sheet-driven twins (synth/twin_clip.py, synth/twin_layouts.py): the generator's three
# first, so their random-stream indices (render.stream) and bytes do not change; appended after them.
TwinLayout = Literal["casme2", "mmew", "samm", "casme3", "smic"]
TWIN_LAYOUTS: tuple[TwinLayout, ...] = (*LAYOUTS, "casme3", "smic")

# emotion (as written) -> (share of clips, ((canonical AU pattern, weight), ...))
Classes = dict[str, tuple[float, tuple[tuple[str, float], ...]]]

CASME2_CLASSES: Classes = {
    "others": (
        0.40,
        (
            ("4", 0.35),
            ("14", 0.12),
            ("17", 0.08),
            ("R14", 0.08),
            ("4+7", 0.07),
            ("24", 0.06),
            ("15", 0.05),
            ("7", 0.05),
            ("18", 0.05),
            ("4+38", 0.04),
            ("25", 0.05),
        ),
    ),
    "disgust": (
        0.25,
        (
            ("4+7", 0.3),
            ("4", 0.15),
            ("4+9", 0.12),
            ("4+R10", 0.1),
            ("4+L10", 0.1),
            ("4+7+9", 0.08),
            ("4+9+10", 0.08),
            ("4+10", 0.07),
        ),
    ),
    "happiness": (
        0.13,
        (
            ("12", 0.25),
            ("L12", 0.15),
            ("R12", 0.1),
            ("6+12", 0.25),
            ("R6+R12", 0.1),
            ("12+L14", 0.05),
            ("14", 0.1),
        ),
    ),
    "repression": (
        0.11,
        (("17", 0.35), ("15", 0.15), ("15+17", 0.2), ("14", 0.1), ("14+15", 0.1), ("17+24", 0.1)),
    ),
    "surprise": (
        0.11,
        (
            ("1+2", 0.3),
            ("L1+L2", 0.2),
            ("1", 0.15),
            ("1+L2", 0.1),
            ("R2", 0.05),
            ("1+2+25", 0.1),
            ("25+26", 0.1),
        ),
    ),
}
CASME2_RARE: Classes = {
    "fear": (0.5, (("20", 0.5), ("1+2+4+20", 0.5))),
    "sadness": (0.5, (("1", 0.5), ("1+4+15", 0.5))),
}
MMEW_CLASSES: Classes = {
    "surprise": (
        0.30,
        (("1+2+5", 0.35), ("5", 0.2), ("26", 0.1), ("1+2", 0.1), ("1+5", 0.1), ("25", 0.05), ("5+26", 0.1)),
    ),
    "disgust": (
        0.24,
        (
            ("4+7", 0.3),
            ("10", 0.15),
            ("4+9", 0.1),
            ("4+7+R10", 0.1),
            ("4+10", 0.1),
            ("R10", 0.1),
            ("L10", 0.05),
            ("9", 0.1),
        ),
    ),
    "others": (
        0.22,
        (
            ("4", 0.5),
            ("38", 0.08),
            ("4+38", 0.07),
            ("14", 0.1),
            ("18", 0.07),
            ("4+7", 0.08),
            ("L4", 0.05),
            ("24", 0.05),
        ),
    ),
    "happiness": (0.12, (("12", 0.5), ("6+12", 0.25), ("R12", 0.1), ("L12", 0.15))),
    "fear": (
        0.05,
        (("1+2+4+20", 0.3), ("4+5", 0.2), ("20", 0.15), ("L20", 0.1), ("1+2+20", 0.15), ("4+5+20", 0.1)),
    ),
    "sadness": (0.04, (("1+4+15", 0.3), ("17", 0.2), ("1", 0.15), ("1+15", 0.15), ("1+4+17", 0.2))),
    "anger": (0.03, (("4+7+23", 0.4), ("7", 0.3), ("4+7", 0.15), ("17+23", 0.15))),
}
# the Filename's emotion index (dataset notes §2.3), and the folder a class is stored in
MMEW_EMOTION_INDEX = {
    "happiness": 1,
    "surprise": 2,
    "disgust": 3,
    "others": 4,
    "fear": 5,
    "sadness": 6,
    "anger": 7,
}
MMEW_FOLDER = {"others": "repression"}
SAMM_CLASSES: Classes = {
    "Anger": (0.39, (("4+7", 0.3), ("7", 0.25), ("4", 0.15), ("4+7+23", 0.1), ("4+24", 0.1), ("7+23", 0.1))),
    "Other": (0.18, (("L2", 0.2), ("24", 0.2), ("R2", 0.15), ("4", 0.15), ("18+25", 0.15), ("14", 0.15))),
    "Happiness": (0.18, (("12", 0.35), ("6+12", 0.25), ("L12", 0.15), ("R6+R12", 0.1), ("7+12", 0.15))),
    "Surprise": (0.14, (("1+2", 0.3), ("5", 0.2), ("1+2+5", 0.2), ("25+26", 0.15), ("26", 0.15))),
    "Contempt": (0.11, (("R12", 0.25), ("L14", 0.25), ("R14", 0.2), ("L12+L14", 0.15), ("R12+R14", 0.15))),
}
SAMM_RARE: Classes = {
    "Disgust": (0.4, (("9", 0.4), ("L10", 0.3), ("4+9", 0.3))),
    "Fear": (0.3, (("20", 0.5), ("20+25+26", 0.5))),
    "Sadness": (0.3, (("1+15+17", 0.5), ("17", 0.5))),
}
MAIN_CLASSES: dict[str, Classes] = {"casme2": CASME2_CLASSES, "mmew": MMEW_CLASSES, "samm": SAMM_CLASSES}
RARE_CLASSES: dict[str, Classes] = {"casme2": CASME2_RARE, "mmew": {}, "samm": SAMM_RARE}
RARE_MIN_CLIPS = 12  # one rare-class row (dropped by the 5-class protocols) from this many clips on
SAMM_INTENSITIES = ("A", "B", "C", "D", "E")

_TOKEN = re.compile(r"^([LR]?)(\d+)$")


@dataclass(frozen=True)
class PlannedClip:
    """One clip before it gets names and frame numbers."""

    subject_index: int
    emotion: str
    tokens: tuple[AUToken, ...]
    length: int
    apex_index: int
    gain: float  # per-clip intensity of the motion
    suffix_sides: bool = False  # MMEW writes some sides after the number ("12L")


def parse_pattern(pattern: str) -> tuple[AUToken, ...]:
    """Canonical pattern ``"4+L10"`` -> tokens (only plain and L/R-prefixed numbers are allowed)."""
    tokens = []
    for part in pattern.split("+"):
        match = _TOKEN.match(part)
        if match is None:
            raise ValueError(f"synth: bad AU pattern {pattern!r}: tokens must look like 12, L12 or R12")
        tokens.append(AUToken(int(match.group(2)), match.group(1) or None))
    return tuple(tokens)


def format_aus(tokens: tuple[AUToken, ...], layout: Layout, *, suffix_sides: bool = False) -> str:
    """AU text as the layout's sheet writes it: ``4+L10`` (CASME II), ``12L`` (MMEW), ``A12+7B`` (SAMM)."""
    parts = []
    for token in tokens:
        number = str(token.number)
        side = token.side or ""
        if layout == "mmew" and suffix_sides:
            parts.append(number + side)
        elif layout == "samm":
            prefix = "A" if token.asymmetric and not side else side
            parts.append(prefix + number + (token.intensity or ""))
        else:
            parts.append(side + number)
    return "+".join(parts)


def allocate(shares: dict[str, float], total: int) -> dict[str, int]:
    """Integer counts summing to ``total``: one per class first (largest shares first), then by share."""
    order = sorted(shares, key=lambda name: (-shares[name], name))
    counts = dict.fromkeys(order, 0)
    for name in order[:total]:
        counts[name] = 1
    remaining = total - sum(counts.values())
    if remaining > 0:
        weight = sum(shares.values())
        exact = {name: shares[name] / weight * remaining for name in order}
        for name in order:
            counts[name] += int(exact[name])
        left = total - sum(counts.values())
        by_remainder = sorted(order, key=lambda name: (-(exact[name] - int(exact[name])), order.index(name)))
        for name in by_remainder[:left]:
            counts[name] += 1
    return {name: count for name, count in counts.items() if count > 0}


def _choose(rng: np.random.Generator, options: tuple[tuple[str, float], ...]) -> str:
    weights = np.array([w for _, w in options], float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def plan_clips(
    layout: Layout,
    subjects: int,
    clips_per_subject: int,
    frames: tuple[int, int],
    rng: np.random.Generator,
) -> list[list[PlannedClip]]:
    """Per subject, the planned clips: class counts by share, spread at random over all subjects."""
    total = subjects * clips_per_subject
    main, rare = MAIN_CLASSES[layout], RARE_CLASSES[layout]
    with_rare = bool(rare) and total >= RARE_MIN_CLIPS
    counts = allocate({name: share for name, (share, _) in main.items()}, total - int(with_rare))
    emotions = [name for name, count in counts.items() for _ in range(count)]
    if with_rare:
        emotions.append(_choose(rng, tuple((name, share) for name, (share, _) in rare.items())))
    order = rng.permutation(len(emotions))
    table = {**main, **rare}
    plans: list[list[PlannedClip]] = [[] for _ in range(subjects)]
    for slot, index in enumerate(order):
        emotion = emotions[int(index)]
        tokens = parse_pattern(_choose(rng, table[emotion][1]))
        if layout == "samm":
            tokens = tuple(_samm_style(token, rng) for token in tokens)
        length = int(rng.integers(frames[0], frames[1] + 1))
        apex = int(np.clip(round(rng.uniform(0.3, 0.6) * (length - 1)), 1, length - 2))
        plans[slot // clips_per_subject].append(
            PlannedClip(
                subject_index=slot // clips_per_subject,
                emotion=emotion,
                tokens=tokens,
                length=length,
                apex_index=apex,
                gain=float(rng.uniform(0.75, 1.25)),
                suffix_sides=layout == "mmew" and bool(rng.random() < 0.4),
            )
        )
    return plans


def _samm_style(token: AUToken, rng: np.random.Generator) -> AUToken:
    """SAMM codes intensity letters on about a third of AUs and marks a few bilateral ones asymmetric."""
    intensity = (
        str(rng.choice(SAMM_INTENSITIES, p=[0.3, 0.3, 0.2, 0.12, 0.08])) if rng.random() < 0.35 else None
    )
    asymmetric = token.side is None and bool(rng.random() < 0.1)
    return AUToken(token.number, token.side, intensity, asymmetric)
