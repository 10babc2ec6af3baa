"""The report's pictures: per-fold and per-class bars with the seeds' spread, the honest-vs-oracle gap,
confusion titles with their metrics, and the joint-space map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from mer_contrast.loso import report
from mer_contrast.loso.joint_space import plot_joint_space, sentence_classes
from mer_contrast.loso.plots import metrics_title, plot_gap
from mer_contrast.loso.store import write_json

from .test_report import CLASSES, FOLDS, _write_fold


@pytest.fixture
def two_seed_run(tmp_path: Path) -> Path:
    for seed, subjects in FOLDS.items():
        for subject, (labels, honest, oracle) in subjects.items():
            _write_fold(tmp_path, seed, subject, labels, honest, oracle)
    write_json(
        tmp_path / "loso.json",
        {"experiment": "toy", "classes": CLASSES, "folds": ["s1", "s2"], "seeds": [0, 1]},
    )
    return tmp_path


def test_report_writes_the_paper_figures(two_seed_run: Path) -> None:
    report.write_report(two_seed_run)
    for name in ("confusion_honest", "confusion_oracle", "per_fold", "per_class", "honest_vs_oracle"):
        assert (two_seed_run / f"{name}.png").stat().st_size > 5000, name
    assert not (two_seed_run / "joint_space.png").exists()  # these folds kept no embeddings


def test_per_class_f1_is_pooled_with_the_seeds_spread(two_seed_run: Path) -> None:
    summary = report.summarize(two_seed_run)
    per_class = summary["honest"]["per_class"]
    labels = [y for seed in FOLDS.values() for fold in seed.values() for y in fold[0]]
    preds = [p for seed in FOLDS.values() for fold in seed.values() for p in fold[1]]
    assert per_class["f1"] == pytest.approx(f1_score(labels, preds, average=None, labels=[0, 1, 2]))
    assert per_class["support"] == np.bincount(labels, minlength=3).tolist()
    seed_f1 = []
    for folds in FOLDS.values():
        seed_labels = [y for fold in folds.values() for y in fold[0]]
        seed_preds = [p for fold in folds.values() for p in fold[1]]
        seed_f1.append(
            f1_score(seed_labels, seed_preds, average=None, labels=[0, 1, 2], zero_division=np.nan)
        )
    assert per_class["f1_std"] == pytest.approx(np.nanstd(seed_f1, axis=0, ddof=1).tolist(), nan_ok=True)


def test_the_gap_figure_needs_both_selections(two_seed_run: Path, tmp_path: Path) -> None:
    summary = report.summarize(two_seed_run)
    assert plot_gap(summary, tmp_path / "gap.png") and (tmp_path / "gap.png").is_file()
    del summary["oracle"]
    assert not plot_gap(summary, tmp_path / "none.png") and not (tmp_path / "none.png").exists()
    report.write_report(two_seed_run)
    for fold in two_seed_run.glob("seed*/*/done.json"):  # a rerun without the oracle selection
        done = report.read_json(fold)
        done["selections"].pop("oracle")
        write_json(fold, done)
    report.write_report(two_seed_run)
    assert not (two_seed_run / "honest_vs_oracle.png").exists()  # never left stale


def test_confusion_titles_carry_their_metrics() -> None:
    title = metrics_title({"uf1": 0.51234, "uar": 0.5, "accuracy": float("nan"), "n": 12})
    assert title == "UF1 0.512 · UAR 0.500 · accuracy n/a · n 12"


def test_sentences_take_the_class_they_describe_most() -> None:
    pairs = [("b", 2), ("a", 1), ("a", 0), ("a", 1), ("b", 0)]
    assert sentence_classes(pairs) == (["a", "b"], [1, 0])  # "b": a tie, the lower class


def test_joint_space_map_draws_every_clip_and_sentence(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)

    def arrays(clips: int, sentences: int) -> dict[str, np.ndarray]:
        return {
            "video": rng.normal(size=(clips, 8)).astype(np.float16),
            "video_label": rng.integers(0, 3, clips),
            "text": rng.normal(size=(sentences, 8)).astype(np.float16),
            "text_label": rng.integers(0, 3, sentences),
        }

    panels = [("s1", arrays(5, 7)), ("s2", arrays(3, 4))]
    drawn = plot_joint_space(panels, CLASSES, tmp_path / "map.png")
    assert drawn == 5 + 7 + 3 + 4
    assert (tmp_path / "map.png").stat().st_size > 5000


def test_the_principal_plane_is_scikit_learns_pca() -> None:
    from sklearn.decomposition import PCA

    from mer_contrast.loso.joint_space import principal_plane

    points = np.random.default_rng(1).normal(size=(30, 6)) * np.arange(1, 7)
    project, share = principal_plane(points)
    reference = PCA(n_components=2).fit(points)
    ours, theirs = project(points[:5]), reference.transform(points[:5])
    assert np.abs(ours) == pytest.approx(np.abs(theirs))  # a component's sign is arbitrary
    assert share == pytest.approx(reference.explained_variance_ratio_.sum())
