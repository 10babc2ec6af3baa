"""Confusion-matrix figure of a LOSO selection (matplotlib, Agg backend: runs on headless nodes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_confusion"]


def plot_confusion(counts: np.ndarray, class_names: Sequence[str], title: str, path: str | Path) -> None:
    """Save a confusion matrix: colour = row-normalised recall, text = counts; true classes on rows."""
    import matplotlib

    matplotlib.use("Agg")  # before pyplot: no display on cluster nodes
    import matplotlib.pyplot as plt

    counts = np.asarray(counts, dtype=np.int64)
    support = counts.sum(axis=1, keepdims=True)
    recall = np.divide(counts, support, out=np.zeros(counts.shape, dtype=np.float64), where=support > 0)
    size = 1.6 + 0.75 * len(class_names)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
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
