"""The table of ``predict-video`` (CSV, JSON) and its timeline picture (PNG, matplotlib Agg).

``kind`` is ``micro`` or ``macro`` by the MEGC definition (:mod:`mer_contrast.spot.kinds`).
``flags`` says what a reader of the table must know about a row (an interval widened for
classification, one left unclassified and why, no face, no motion); the CSV joins them by ``" | "``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mer_contrast.spot.kinds import kind_of
from mer_contrast.spot.spotting import Interval, SpotResult

COLUMNS = (
    "index", "start_frame", "apex_frame", "end_frame", "start_s", "apex_s", "end_s",
    "score", "kind", "class", "probability", "explanation", "flags",
)  # fmt: skip
NO_FACE = "no face found on the first frame: classified on a centred square crop, the class is unreliable"


def no_motion_flag(moved: float, floor: float) -> str:
    """The flag of a clip whose face moved less than ``floor`` pixels from its first frame."""
    return f"no motion: the face moved at most {moved:.3f} px (below {floor:g} px), the class is unreliable"


def table(result: SpotResult, classes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per spotted interval (:data:`COLUMNS`, plus ``probs`` when classified)."""
    rows = []
    for index, interval in enumerate(result.intervals):
        label = dict(classes[index]) if index < len(classes) else {}
        moved = head_moved(interval, result)
        if moved is not None:
            label["flags"] = [*label.get("flags", []), moved]
        rows.append({"index": index, **interval_row(interval, result.fps, label)})
    return rows


def head_moved(interval: Interval, result: SpotResult) -> str | None:
    """The flag of an interval followed by a renewed reference (the head turned to a new pose): during
    it or within its own length after it (the turn's motion peaks before the head comes to rest)."""
    after = interval.offset + (interval.offset - interval.onset + 1)
    near = [r for r in result.restarts if interval.onset <= r <= after]
    if not near:
        return None
    return (
        f"head movement: the reference was renewed at {near[0] / result.fps:.3f} s, likely not an expression"
    )


def interval_row(interval: Interval, fps: float, label: Mapping[str, Any]) -> dict[str, Any]:
    """An interval's frames and times, its class and flags (a row of ``Classifier.classify``, or empty)."""
    row: dict[str, Any] = {
        "start_frame": interval.onset,
        "apex_frame": interval.apex,
        "end_frame": interval.offset,
        "start_s": round(interval.onset / fps, 4),
        "apex_s": round(interval.apex / fps, 4),
        "end_s": round(interval.offset / fps, 4),
        "score": round(interval.score, 4),
        "kind": kind_of(interval.onset, interval.offset, fps),
        "class": label.get("class_name", ""),
        "probability": round(label["probability"], 4) if "probability" in label else None,
        "explanation": label.get("explanation", []),
        "flags": list(label.get("flags", [])),
    }
    if "probs" in label:
        row["probs"] = label["probs"]
    return row


def write_csv(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> None:
    """The table as CSV; the explanation's descriptions and the flags are joined by ``" | "``."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    **row,
                    "explanation": " | ".join(row["explanation"]),
                    "flags": " | ".join(row.get("flags", [])),
                }
            )


def to_json(rows: list[dict[str, Any]], video: Path, result: SpotResult) -> str:
    """The table and the spotting's threshold as one JSON document (an undefined threshold is null)."""
    info: dict[str, Any] = {
        "video": str(video),
        "fps": result.fps,
        "num_frames": len(result.curve),
        "threshold": _finite(result.threshold),
        "baseline": _finite(result.baseline),
        "intervals": rows,
    }
    if result.note:
        info["note"] = result.note
    if result.restarts:  # a new reference or face box (a pose change): the curve restarts there
        info["restarts"] = [round(frame / result.fps, 4) for frame in result.restarts]
    return json.dumps(info, indent=1)


def _finite(value: float) -> float | None:
    return round(value, 4) if np.isfinite(value) else None  # NaN is not JSON


def summary(result: SpotResult) -> str:
    """One line for a recording where nothing was spotted: why, and at what threshold."""
    if result.note:
        return result.note
    if not np.isfinite(result.threshold):  # long enough, yet no frame had both neighbours in one pose
        return (
            "no expression spotted: the motion curve is undefined on every frame (the face's pose or box "
            "changed too often for a frame to be compared with its neighbours in the same pose)"
        )
    return f"no expression spotted (threshold {result.threshold:.3f} px)"


def write_timeline(path: Path, result: SpotResult, rows: list[dict[str, Any]], title: str) -> None:
    """PNG: the motion curve over time, the threshold, and each interval shaded with its class."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt

    seconds = np.arange(len(result.curve)) / result.fps
    fig, ax = plt.subplots(figsize=(12, 3.2), dpi=100)
    ax.plot(seconds, result.curve, color="#333333", lw=0.9, label="motion (FD of flow, px)")
    if np.isfinite(result.threshold):
        ax.axhline(result.threshold, color="#cc3333", ls="--", lw=0.9, label="threshold")
    for number, frame in enumerate(result.restarts):
        label = "pose change: reference renewed" if number == 0 else None
        ax.axvline(frame / result.fps, color="#999999", ls=":", lw=0.8, label=label)
    top = float(np.nanmax(result.curve)) if np.isfinite(result.curve).any() else 0.0
    if np.isfinite(result.threshold):
        top = max(top, float(result.threshold))  # a threshold above the curve is still drawn
    top = top if top > 0 else 1.0
    for row in rows:
        ax.axvspan(row["start_s"], row["end_s"], color="#3a7bd5", alpha=0.25)
        ax.axvline(row["apex_s"], color="#3a7bd5", lw=0.8)
        text = row["class"] or f"#{row['index']}"
        if row["probability"] is not None:
            text += f" {row['probability']:.2f}"
        ax.text(row["apex_s"], top * 1.02, text, ha="center", va="bottom", fontsize=8, color="#1b4f9c")
    ax.set_ylim(0, top * 1.18)
    ax.set_xlim(0, max(seconds[-1], 1e-3) if len(seconds) else 1.0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("motion (px)")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
