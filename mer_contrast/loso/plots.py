"""The report's figures of a LOSO run (matplotlib, Agg backend: runs on headless nodes).

* :func:`plot_confusion`: one selection's pooled confusion matrix, its UF1, UAR and accuracy in the title;
* :func:`plot_per_fold`: each held-out subject's UF1 per selection, the spread over seeds as error bars;
* :func:`plot_per_class`: each class's pooled F1 per selection, with the seeds' spread;
* :func:`plot_gap`: honest against oracle (optimistic) pooled metrics, the gap in points;
* the joint-space map is :func:`mer_contrast.loso.joint_space.plot_joint_space`.

Every function takes the summary dict of :mod:`mer_contrast.loso.report` (or its parts) and a path.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mer_contrast.loso.store import OPTIMISTIC, SELECTION_ORDER

__all__ = ["COLOURS", "plot_confusion", "plot_gap", "plot_per_class", "plot_per_fold", "pyplot"]

#: One colour per selection in every figure.
COLOURS = {"honest": "#1f77b4", "test_selected": "#9467bd", "oracle": "#ff7f0e"}
SHORT = {"honest": "honest", "test_selected": "test-selected (optimistic)", "oracle": "oracle (optimistic)"}


def pyplot() -> Any:
    """``matplotlib.pyplot``, on the Agg backend unless pyplot is already in use (a notebook's inline
    backend is kept; the figures here are saved and closed, never shown)."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # before pyplot: no display on cluster nodes
    import matplotlib.pyplot as plt

    return plt


def metrics_title(pooled: Mapping[str, Any]) -> str:
    """``UF1 0.512 · UAR 0.498 · accuracy 0.601 · n 246`` of a pooled-metrics dict."""

    def value(name: str) -> str:
        number = pooled.get(name)
        return "n/a" if number is None or number != number else f"{number:.3f}"

    return (
        f"UF1 {value('uf1')} · UAR {value('uar')} · accuracy {value('accuracy')} · n {pooled.get('n', '?')}"
    )


def plot_confusion(counts: np.ndarray, class_names: Sequence[str], title: str, path: str | Path) -> None:
    """Save a confusion matrix: colour = row-normalised recall, text = counts; true classes on rows."""
    plt = pyplot()
    counts = np.asarray(counts, dtype=np.int64)
    support = counts.sum(axis=1, keepdims=True)
    recall = np.divide(counts, support, out=np.zeros(counts.shape, dtype=np.float64), where=support > 0)
    size = 1.6 + 0.75 * len(class_names)
    fig, ax = plt.subplots(figsize=(size + 1.2, size + 0.3))
    image = ax.imshow(recall, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=list(class_names), rotation=45, ha="right")
    ax.set_yticks(ticks, labels=list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            colour = "white" if recall[i, j] > 0.5 else "black"
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour, fontsize=9)
    ax.set_title(title, fontsize=9, wrap=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _selections(summary: Mapping[str, Any]) -> list[str]:
    return [key for key in SELECTION_ORDER if key in summary]


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
        return math.nan, 0.0
    return float(np.mean(finite)), float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0


def _grouped_bars(
    ax: Any, labels: Sequence[str], series: Mapping[str, tuple[Sequence[float], Sequence[float]]]
) -> list[Any]:
    """Bars of each series (selection -> (heights, spreads)) side by side per label; their containers."""
    width = 0.8 / max(len(series), 1)
    positions = np.arange(len(labels))
    containers = []
    for i, (key, (heights, spreads)) in enumerate(series.items()):
        offset = (i - (len(series) - 1) / 2) * width
        containers.append(
            ax.bar(
                positions + offset, np.nan_to_num(heights), width, capsize=2,
                yerr=spreads if np.nan_to_num(spreads).any() else None,  # one seed: no spread to draw
                color=COLOURS[key], label=SHORT[key], hatch="//" if key in OPTIMISTIC else None,
                edgecolor="white", linewidth=0.5, error_kw={"elinewidth": 0.8},
            )
        )  # fmt: skip
    ax.set_xticks(positions, labels=list(labels))
    ax.set_ylim(0, 1.22)  # room above 1 for the legend and the gap's labels
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return containers


def _seeds_note(summary: Mapping[str, Any]) -> str:
    seeds = len(summary.get("seeds") or ())
    return f"mean ± std over {seeds} seeds" if seeds > 1 else "one seed"


def plot_per_fold(summary: Mapping[str, Any], path: str | Path, metric: str = "uf1") -> None:
    """Each held-out subject's ``metric`` per selection (mean over seeds, their std as error bars)."""
    plt = pyplot()
    subjects = list(summary["folds"])
    series = {}
    for key in _selections(summary):
        by_subject: dict[str, list[float]] = defaultdict(list)
        for fold in summary[key]["per_fold"]:
            by_subject[fold["subject"]].append(fold[metric])
        stats = [_mean_std(by_subject.get(subject, [])) for subject in subjects]
        series[key] = ([m for m, _ in stats], [s for _, s in stats])
    width = min(20.0, max(6.0, 0.28 * len(subjects) * max(len(series), 1) + 1.5))  # MEGC2019: 68 folds
    fig, ax = plt.subplots(figsize=(width, 3.4))
    _grouped_bars(ax, subjects, series)
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    ax.set_ylabel(f"{metric.upper()} of the held-out subject")
    ax.set_title(f"{summary['experiment']}: per-fold {metric.upper()} ({_seeds_note(summary)})", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", ncol=len(series), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_per_class(summary: Mapping[str, Any], path: str | Path) -> None:
    """Each class's pooled F1 per selection; error bars: its std over seeds; ticks: its clip count."""
    plt = pyplot()
    keys = _selections(summary)
    support = summary[keys[0]]["per_class"]["support"]
    labels = [f"{name}\n(n {count})" for name, count in zip(summary["classes"], support, strict=True)]
    series = {key: (summary[key]["per_class"]["f1"], summary[key]["per_class"]["f1_std"]) for key in keys}
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(labels) + 1.5), 3.4))
    _grouped_bars(ax, labels, series)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylabel("F1, pooled over folds and seeds")
    ax.set_title(f"{summary['experiment']}: per-class F1 ({_seeds_note(summary)})", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", ncol=len(series), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_gap(summary: Mapping[str, Any], path: str | Path) -> bool:
    """Honest (or test-selected) against oracle pooled metrics, the gap in points above each pair.

    Returns False (nothing written) when the run lacks either selection.
    """
    honest = next((key for key in ("honest", "test_selected") if key in summary), None)
    if honest is None or "oracle" not in summary:
        return False
    plt = pyplot()
    names = ["accuracy", "uf1", "uar"]
    series = {
        key: ([summary[key]["pooled"][n] for n in names], [summary[key]["seeds"]["std"][n] for n in names])
        for key in (honest, "oracle")
    }
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    bars = _grouped_bars(ax, ["accuracy", "UF1", "UAR"], series)
    (base, base_std), (top, top_std) = series[honest], series["oracle"]
    for i, (low, high) in enumerate(zip(bars[0], bars[1], strict=True)):
        x = (low.get_x() + high.get_x() + high.get_width()) / 2
        y = max(base[i] + np.nan_to_num(base_std[i]), top[i] + np.nan_to_num(top_std[i])) + 0.03
        ax.text(x, min(y, 1.05), f"{100 * (top[i] - base[i]):+.1f} pts", ha="center", fontsize=8)
    ax.set_ylabel("pooled over folds")
    ax.set_title(
        f"{summary['experiment']}: the oracle's gap over honest selection ({_seeds_note(summary)})",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper center", ncol=len(series), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
