"""SMIC-HS in the sheet-driven twins: AUs per class, clip lengths and the BMP release layout.

SMIC's rows (``smic`` in ``combined_3class_gt.csv``) carry a subject, a clip name and a MEGC2019 class
only: no onset/apex/offset and **no AU codes**. :func:`plan_smic` therefore draws each clip's length
(11-50 frames at 100 fps), its first frame number (a random 5-6 digit start) and its motion peak
(35-65 % of the clip); the AUs come from :func:`smic_au_table`, the AU codes that CASME II and SAMM
give the same class (their sheets beside the csv, grouped by the MEGC2019 3-class mapping), or the
tables of :mod:`.patterns` when those sheets are absent. Frames are written as BMP under
``SMIC_all_cropped/HS/s<k>/micro/<class>/s<k>_<ne|po|sur>_<NN>/`` with the subject unpadded
(:func:`smic_subject_folder`, :func:`smic_clip_folder`). Used by :mod:`.twin_layouts` (the ``smic``
layout) and :mod:`.twin_composite` (the composite's ``SMIC/`` part).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from pathlib import Path

import cv2
import numpy as np

from mer_contrast.datasets import casme2 as casme2_reader
from mer_contrast.datasets import megc2019 as megc2019_reader
from mer_contrast.datasets import read_dataset
from mer_contrast.datasets import samm as samm_reader
from mer_contrast.datasets.protocols import get_protocol
from mer_contrast.datasets.records import SampleRecord
from mer_contrast.synth import twin_clip as st
from mer_contrast.synth.motion import AUToken
from mer_contrast.synth.patterns import CASME2_CLASSES, CASME2_RARE, SAMM_CLASSES, SAMM_RARE, parse_pattern
from mer_contrast.synth.render import stream

SMIC_FRAMES = (11, 50)  # 0.1-0.5 s at 100 fps
SMIC_APEX = (0.35, 0.65)  # motion peak, as a share of the clip
SMIC_START = (10_000, 999_000)  # first frame number: a 5-6 digit offset into the recording
SMIC_RELEASE = "SMIC_all_cropped/HS"
# sheets whose AU codes feed SMIC's table (the CASME II and SAMM profiles' sheet names)
_AU_SHEETS = (("casme2", tuple(casme2_reader.SHEETS.values())), ("samm", samm_reader.SHEETS))


def _beside(folder: Path, names: Collection[str]) -> Path | None:
    """The first of ``names`` that is a file in ``folder``."""
    return next((folder / n for n in names if (folder / n).is_file()), None)


def smic_au_table(folder: Path | None) -> tuple[dict[str, list[tuple[tuple[AUToken, ...], float]]], str]:
    """AU patterns per MEGC2019 class for SMIC clips, and where they come from.

    From the CASME II and SAMM sheets in ``folder`` (rows with an AU code, grouped by the
    ``casme2-3class``/``samm-3class`` mappings, weighted by how often each code occurs); a class no
    sheet covers, or no sheet at all, falls back to :mod:`.patterns` (CASME II and SAMM tables,
    weighted by class share times pattern weight).
    """
    counts: dict[str, Counter[tuple[AUToken, ...]]] = {c: Counter() for c in megc2019_reader.CLASSES}
    used = []
    for reader, names in _AU_SHEETS:
        path = _beside(folder, names) if folder is not None else None
        if path is None:
            continue
        mapping = get_protocol(f"{reader}-3class").mapping
        lowered = {k.lower(): v for k, v in mapping.items()}
        for record in read_dataset(reader, sheet=path, quiet=True).records:
            tokens = tuple(AUToken(au.number, au.side) for au in record.aus)
            klass = lowered.get(record.emotion.lower())
            if tokens and klass in counts:
                counts[klass][tokens] += 1
        used.append(path.name)
    table: dict[str, list[tuple[tuple[AUToken, ...], float]]] = {}
    fallback = False
    for klass, counter in counts.items():
        if counter:
            table[klass] = sorted(((t, float(n)) for t, n in counter.items()), key=lambda i: str(i[0]))
            continue
        fallback = True
        merged: dict[tuple[AUToken, ...], float] = {}
        for reader, classes in (
            ("casme2", {**CASME2_CLASSES, **CASME2_RARE}),
            ("samm", {**SAMM_CLASSES, **SAMM_RARE}),
        ):
            lowered = {k.lower(): v for k, v in get_protocol(f"{reader}-3class").mapping.items()}
            for emotion, (share, patterns) in classes.items():
                if lowered.get(emotion.lower()) == klass:
                    for pattern, weight in patterns:
                        tokens = parse_pattern(pattern)
                        merged[tokens] = merged.get(tokens, 0.0) + share * weight
        table[klass] = sorted(merged.items(), key=lambda i: str(i[0]))
    source = (
        f"AU codes of {' and '.join(used)} grouped by the MEGC2019 3-class mapping"
        if used
        else "no CASME II/SAMM sheet beside the csv: AU patterns of synth/patterns.py"
    )
    if used and fallback:
        source += " (classes they lack: synth/patterns.py)"
    return table, source


def smic_subject_folder(subject: str) -> str:
    """``s01`` -> ``s1`` (the release's folder names are unpadded)."""
    match = re.match(r"^s0*(\d+)", subject, re.IGNORECASE)
    return f"s{int(match.group(1))}" if match else subject


def smic_clip_folder(clip_id: str) -> str:
    """``s01_ne_01`` -> ``s1_ne_01``."""
    return re.sub(r"^s0*(\d+)", lambda m: f"s{int(m.group(1))}", clip_id, flags=re.IGNORECASE)


def plan_smic(
    entries: list[SampleRecord], seed: int, table: dict[str, list[tuple[tuple[AUToken, ...], float]]]
) -> list[st.ClipPlan]:
    """SMIC clips for the composite's ``smic`` rows: length, first frame, apex and AUs drawn per clip."""
    plans = []
    for index, entry in enumerate(entries):
        rng = stream(seed, "smic", st.TWIN, 0, index)
        length = int(rng.integers(SMIC_FRAMES[0], SMIC_FRAMES[1] + 1))
        start = int(rng.integers(SMIC_START[0], SMIC_START[1] + 1))
        apex_index = round(float(rng.uniform(*SMIC_APEX)) * (length - 1))
        tokens = st.draw_pattern(table[entry.emotion], rng)
        subject = entry.subject.split("/", 1)[-1]
        record = SampleRecord(
            dataset="smic", subject=subject, clip_id=entry.clip_id, onset=start, apex=None,
            offset=start + length - 1, aus=(), au_raw="", emotion=entry.emotion, row=entry.row,
        )  # fmt: skip
        plans.append(st.ClipPlan(record, (start, start + length - 1), tokens, apex_index))
    return plans


def _write_bmp(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".bmp", image)
    if not ok:
        raise OSError(f"{path}: OpenCV could not encode the frame as BMP")
    path.write_bytes(data.tobytes())
