"""The model's joint space as a picture: test clips' video embeddings beside the FACS sentences'.

The recognizer projects a clip's visual features (``visual_proj``) and a FACS sentence's text features
(``text_proj``) into one space (:class:`~mer_contrast.models.MERRecognizer`). During a fold's test
pass, :class:`~mer_contrast.loso.joint_embeddings.JointEmbeddings` keeps each test clip's normalised
embedding (the model in eval mode, every rank's clips once) and, at the end, the embeddings of the
fold's FACS sentences (the training clips' and the test clips' own, each with the class of the clips
it describes most often; the text tower's cached sentence features, projected). The runner writes
them as ``embeddings.npz`` beside the fold's predictions (float16, a few kB)::

    video (N, D), video_label (N,), video_clip (N,), video_subject (N,)
    text (M, D), text_label (M,), text_sentence (M,), classes (K,)

:func:`plot_joint_space` maps folds' files to 2-D (:func:`principal_plane`: the PCA of the clips and
sentences together: one fold is one model, so each fold is its own panel), coloured by class, circles for
clips and triangles for sentences. numpy and matplotlib only: ``mer-contrast report`` starts without
torch.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mer_contrast.loso.store import fold_dir

__all__ = [
    "EMBEDDINGS_FILE",
    "plot_joint_space",
    "plot_run_joint_space",
    "principal_plane",
    "read_embeddings",
    "sentence_classes",
    "write_embeddings",
]

EMBEDDINGS_FILE = "embeddings.npz"


def sentence_classes(pairs: Iterable[tuple[str, int]]) -> tuple[list[str], list[int]]:
    """Distinct sentences (sorted) and, for each, the class of the clips it describes most often
    (a tie: the lower class index)."""
    counts: dict[str, Counter[int]] = defaultdict(Counter)
    for sentence, label in pairs:
        counts[sentence][int(label)] += 1
    sentences = sorted(counts)
    return sentences, [min(counts[s], key=lambda label: (-counts[s][label], label)) for s in sentences]


def write_embeddings(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``embeddings.npz`` (compressed)."""
    np.savez_compressed(path, **dict(arrays))  # type: ignore[arg-type]  # numpy's stub: allow_pickle


def read_embeddings(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an ``embeddings.npz`` (strings as unicode arrays: no pickle)."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def principal_plane(points: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """The PCA of ``points`` (rows) onto their first two principal components: the projection and the
    share of the variance it keeps.

    numpy's SVD of the centred points (scikit-learn's PCA computes the same; the report stays within
    the wheels the GPU check carries, and scikit-learn would bring SciPy).
    """
    points = np.asarray(points, dtype=np.float64)
    mean = points.mean(axis=0)
    _, singular, axes = np.linalg.svd(points - mean, full_matrices=False)
    plane = axes[:2].T
    variance = singular**2
    share = float(variance[:2].sum() / variance.sum()) if variance.sum() > 0 else 1.0
    return (lambda rows: (np.asarray(rows, dtype=np.float64) - mean) @ plane), share


def plot_joint_space(
    panels: Sequence[tuple[str, Mapping[str, np.ndarray]]],
    class_names: Sequence[str],
    path: str | Path,
    title: str = "joint space",
) -> int:
    """Save one PCA map per ``(panel title, arrays)``; returns the number of points drawn.

    Each panel is one model (a fold): its clips (circles, black edge) and sentences (triangles) are
    projected together to their first two principal components, coloured by class.
    """
    from mer_contrast.loso.plots import pyplot

    plt = pyplot()
    colours = plt.get_cmap("tab10")
    columns = min(3, max(len(panels), 1))
    rows = -(-max(len(panels), 1) // columns)
    legend_columns = 4 if columns > 1 else 3
    legend_rows = -(-(len(class_names) + 2) // legend_columns)
    legend_height = 0.22 * legend_rows + 0.1  # inches below the panels
    height = 3.4 * rows + 0.4 + legend_height
    width = max(3.6 * columns, 5.2)
    fig, axes = plt.subplots(rows, columns, figsize=(width, height), squeeze=False)
    drawn = 0
    for ax, (name, arrays) in zip(axes.flat, panels, strict=False):
        video, text = arrays["video"].astype(np.float32), arrays["text"].astype(np.float32)
        points = np.concatenate([video, text]) if len(text) else video
        if len(points) < 3:
            ax.set_title(f"{name}: too few points", fontsize=8)
            continue
        project, share = principal_plane(points)
        for label in range(len(class_names)):
            chosen = arrays["text_label"] == label
            if chosen.any():
                xy = project(text[chosen])
                ax.scatter(xy[:, 0], xy[:, 1], marker="^", s=18, alpha=0.45, color=colours(label))
            chosen = arrays["video_label"] == label
            if chosen.any():
                xy = project(video[chosen])
                ax.scatter(xy[:, 0], xy[:, 1], marker="o", s=36, color=colours(label), edgecolors="black",
                           linewidths=0.6)  # fmt: skip
        drawn += sum(len(collection.get_offsets()) for collection in ax.collections)
        ax.set_title(
            f"{name}: {len(video)} clips, {len(text)} sentences (PCA {100 * share:.0f} %)", fontsize=8
        )
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles = [
        plt.Line2D([], [], marker="s", linestyle="", color=colours(k), label=name)
        for k, name in enumerate(class_names)
    ]
    handles += [
        plt.Line2D(
            [], [], marker="o", linestyle="", color="grey", markeredgecolor="black", label="test clip (video)"
        ),
        plt.Line2D([], [], marker="^", linestyle="", color="grey", alpha=0.6, label="FACS sentence (text)"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=legend_columns, fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, legend_height / height, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return drawn


def plot_run_joint_space(
    out: str | Path, summary: Mapping[str, Any], path: str | Path, max_panels: int = 6
) -> bool:
    """The joint-space map of a LOSO run: the first seed's folds with the most test clips (up to
    ``max_panels``, in subject order) that kept ``embeddings.npz``; False (nothing written) when none did."""
    seed = summary["seeds"][0]
    found = []
    for subject in summary["folds"]:
        file = fold_dir(out, seed, subject) / EMBEDDINGS_FILE
        if file.is_file():
            arrays = read_embeddings(file)
            found.append((subject, arrays))
    if not found:
        return False
    chosen = sorted(found, key=lambda item: -len(item[1]["video"]))[:max_panels]
    chosen.sort(key=lambda item: list(summary["folds"]).index(item[0]))
    panels = [(f"{subject} (seed {seed})", arrays) for subject, arrays in chosen]
    title = f"{summary['experiment']}: the joint space of {len(panels)} fold(s), each its own model (PCA)"
    plot_joint_space(panels, summary["classes"], path, title=title)
    return True
