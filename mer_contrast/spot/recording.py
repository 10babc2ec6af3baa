"""``predict-video``'s steps on one recording: spot, write the table, classify, write it again.

The spotting table and timeline are written as soon as the spotting pass ends, before any
classification: a classification that fails (or is interrupted) leaves them on disk, and each
interval is classified on its own (:meth:`~mer_contrast.spot.classify.Classifier.classify`), so one
interval's failure is a flag on its row, not a lost table.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mer_contrast.spot.kinds import KINDS, kind_of
from mer_contrast.spot.report import table, to_json, write_csv, write_timeline
from mer_contrast.spot.source import FootageSource
from mer_contrast.spot.spotting import SpotConfig, SpotResult, spot


@dataclass
class Prediction:
    """What ``predict-video`` found and wrote for one recording."""

    source: FootageSource
    result: SpotResult
    rows: list[dict[str, Any]]
    document: str  # the JSON table
    csv_path: Path
    timeline_path: Path


def write_outputs(
    out: Path,
    stem: str,
    video: Path,
    source: FootageSource,
    result: SpotResult,
    classes: list[dict[str, Any]],
) -> Prediction:
    """``<stem>_intervals.csv``, ``.json`` and ``<stem>_timeline.png`` in ``out`` (rows classified or not)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = table(result, classes)
    document = to_json(rows, video, result)
    csv_path, timeline = out / f"{stem}_intervals.csv", out / f"{stem}_timeline.png"
    write_csv(csv_path, rows)
    (out / f"{stem}_intervals.json").write_text(document + "\n")
    title = f"{video.name}: {len(rows)} interval(s), {source.num_frames} frames at {source.fps:g} fps"
    write_timeline(timeline, result, rows, title)
    return Prediction(source, result, rows, document, csv_path, timeline)


def select_kinds(result: SpotResult, kinds: tuple[str, ...]) -> SpotResult:
    """The result with only the intervals of ``kinds`` (``micro``, ``macro``); a note counts the others."""
    kept = [i for i in result.intervals if kind_of(i.onset, i.offset, result.fps) in kinds]
    left = len(result.intervals) - len(kept)
    if not left:
        return result
    other = ", ".join(k for k in KINDS if k not in kinds)
    note = f"{left} {other}-expression interval(s) left out (--kinds {','.join(kinds)})"
    return replace(result, intervals=kept, note="; ".join(n for n in (result.note, note) if n))


def predict_recording(
    video: Path, ckpt: Path | None, cfg: SpotConfig, *, fps: float | None, out: Path, stem: str,
    progress: bool, kinds: tuple[str, ...] = KINDS,
) -> Prediction:  # fmt: skip
    """Spot ``video``, write the table, then (with ``ckpt``) classify each interval and write it again.

    Only intervals of ``kinds`` are reported (micro-expressions last at most 0.5 s, macro-expressions
    longer: :mod:`mer_contrast.spot.kinds`).
    """
    from tqdm import tqdm

    from mer_contrast.spot.classify import Classifier

    classifier = Classifier.load(ckpt) if ckpt is not None else None  # fail fast, before the long pass
    source = FootageSource.open(video, fps)
    with tqdm(total=source.num_frames, unit="frame", disable=not progress, file=sys.stderr) as bar:
        result = select_kinds(spot(source, cfg, progress=bar.update), kinds)
    prediction = write_outputs(out, stem, video, source, result, [])  # the spotting is safe on disk
    if classifier is None or not result.intervals:
        return prediction
    classes = classifier.classify(source, result.intervals)
    return write_outputs(out, stem, video, source, result, classes)
