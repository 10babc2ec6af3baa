"""Peers of bench quality: grid pooling, honest LOSO logistic regression and STSTNet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mer_contrast.bench.peers import STSTNet, STSTNetBudget, grid_features, loso_logistic, loso_ststnet
from mer_contrast.bench.quality_data import ststnet_image


def test_grid_features_pool_each_cell() -> None:
    flow = np.zeros((2, 16, 16), np.float32)
    flow[0, :8, :8] = 3.0  # u in the top-left quarter
    flow[1, 8:, 8:] = -4.0  # v in the bottom-right quarter
    features = grid_features(flow, grid=2).reshape(3, 2, 2)  # (u, v, magnitude) x cells
    np.testing.assert_allclose(features[0], [[3, 0], [0, 0]])
    np.testing.assert_allclose(features[1], [[0, 0], [0, -4]])
    np.testing.assert_allclose(features[2], [[3, 0], [0, 4]])
    assert grid_features(np.zeros((3, 64, 64)), grid=8).shape == (192,)
    with pytest.raises(ValueError, match="cannot be pooled"):
        grid_features(np.zeros((2, 4, 4)), grid=8)


def _separable(n_per_subject: int = 6, subjects: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(3), n_per_subject * subjects // 3)
    subject_ids = np.repeat([f"s{i}" for i in range(subjects)], n_per_subject)
    return labels, subject_ids, rng


def test_loso_logistic_never_trains_on_the_test_subject(monkeypatch: pytest.MonkeyPatch) -> None:
    labels, subjects, rng = _separable()
    features = rng.normal(size=(len(labels), 5)) + labels[:, None] * 3.0
    fitted_subjects: list[set[str]] = []
    from sklearn.pipeline import Pipeline

    original = Pipeline.fit

    def spy(self, x, y):  # type: ignore[no-untyped-def]
        fitted_subjects.append(
            {str(s) for s in subjects[[np.flatnonzero((features == row).all(1))[0] for row in x]]}
        )
        return original(self, x, y)

    monkeypatch.setattr(Pipeline, "fit", spy)
    rows = loso_logistic(features, labels.tolist(), subjects.tolist())
    assert len(rows) == len(labels) and {r["subject"] for r in rows} == set(subjects)
    for held_out, seen in zip(sorted(set(subjects)), fitted_subjects, strict=True):
        assert held_out not in seen and len(seen) == 3
    assert np.mean([r["label"] == r["pred"] for r in rows]) > 0.9
    only = loso_logistic(features, labels.tolist(), subjects.tolist(), only={"s1"})
    assert {r["subject"] for r in only} == {"s1"}


def test_ststnet_shapes_and_it_learns_a_separable_task() -> None:
    assert STSTNet(5)(torch.zeros(2, 3, 28, 28)).shape == (2, 5)
    labels, subjects, rng = _separable(n_per_subject=12)
    images = rng.normal(0, 0.3, (len(labels), 3, 28, 28)).astype(np.float32)
    for k in range(3):  # class k moves a different quarter of the face
        images[labels == k, 0, (k * 9) : (k * 9) + 9, :14] += 2.0
    rows = loso_ststnet(
        images, labels.tolist(), subjects.tolist(), 3, seed=0, budget=STSTNetBudget(epochs=60)
    )
    assert np.mean([r["label"] == r["pred"] for r in rows]) > 0.8
    again = loso_ststnet(
        images, labels.tolist(), subjects.tolist(), 3, seed=0, budget=STSTNetBudget(epochs=60)
    )
    assert again == rows  # the same seed gives the same predictions


def test_ststnet_image_scales_vectors_to_28_pixels() -> None:
    flow = np.zeros((3, 128, 128), np.float32)
    flow[0], flow[1], flow[2] = 2.0, -1.0, 0.05
    image = ststnet_image(flow)
    assert image.shape == (3, 28, 28)
    np.testing.assert_allclose(image[0], 2.0 * 28 / 128, rtol=1e-5)
    np.testing.assert_allclose(image[1], -1.0 * 28 / 128, rtol=1e-5)
    np.testing.assert_allclose(image[2], 0.05, rtol=1e-5)  # strain is dimensionless
