"""Classical peers of ``bench quality``, trained under the same honest LOSO rule as everything else.

* :func:`grid_features`: a flow field pooled on a ``grid x grid`` lattice (mean u, v and magnitude
  per cell), the descriptor of the 2014-era flow baselines (e.g. MDMO's ROI-pooled flow, without the
  landmarks).
* :func:`loso_logistic`: standardisation + multinomial logistic regression (scikit-learn), one fit
  per held-out subject on the other subjects only, with fixed hyper-parameters (no selection at all).
  ``only`` limits the folds run (smoke tests); every fold still trains on all other subjects.
* :class:`STSTNet` and :func:`loso_ststnet`: the shallow triple-stream CNN of Liong et al. (2019),
  onset->apex u, v and optical strain at 28x28, three parallel 3x3 conv streams (3, 5 and 8 filters),
  max-pool 3/3, concatenation, average-pool 2/2 and one linear layer; trained for a fixed budget of
  epochs (the last epoch is tested; the test subject never selects anything).

Both return per-clip rows ``{"subject", "label", "pred"}`` that :mod:`mer_contrast.loso.metrics`
pools, MEGC style.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mer_contrast.datamodules.folds import loso_subjects

Rows = list[dict[str, Any]]


def grid_features(flow: np.ndarray, grid: int = 8) -> np.ndarray:
    """``(3 * grid * grid,)`` vector: mean u, v and magnitude of each cell of a raw ``(C>=2, H, W)`` flow."""
    u = np.asarray(flow[0], np.float32)
    v = np.asarray(flow[1], np.float32)
    h, w = u.shape
    if h < grid or w < grid:
        raise ValueError(f"grid_features: a {h}x{w} field cannot be pooled on a {grid}x{grid} grid")
    planes = np.stack([u, v, np.hypot(u, v)])
    ys = np.linspace(0, h, grid + 1).round().astype(int)
    xs = np.linspace(0, w, grid + 1).round().astype(int)
    cells = [
        planes[:, ys[i] : ys[i + 1], xs[j] : xs[j + 1]].mean(axis=(1, 2))
        for i in range(grid)
        for j in range(grid)
    ]
    return np.stack(cells, axis=1).reshape(-1)


def _folds(subjects: Sequence[str], only: Collection[str] | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(held-out subject, train indices, test indices)`` per fold (``only``: just those folds)."""
    subjects_arr = np.asarray(subjects)
    return [
        (s, np.flatnonzero(subjects_arr != s), np.flatnonzero(subjects_arr == s))
        for s in loso_subjects(list(subjects))
        if only is None or s in only
    ]


def loso_logistic(
    features: np.ndarray,
    labels: Sequence[int],
    subjects: Sequence[str],
    c: float = 1.0,
    only: Collection[str] | None = None,
) -> Rows:
    """Honest LOSO predictions of a standardised, class-balanced logistic regression (fixed ``C``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels)
    rows: Rows = []
    for subject, train, test in _folds(subjects, only):
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        )
        model.fit(features[train], y[train])
        preds = model.predict(features[test])
        rows += [
            {"subject": subject, "label": int(y[i]), "pred": int(p)} for i, p in zip(test, preds, strict=True)
        ]
    return rows


class STSTNet(nn.Module):
    """Shallow triple-stream CNN on a ``(B, 3, 28, 28)`` onset->apex (u, v, strain) image."""

    def __init__(self, num_classes: int, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()

        def stream(width: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(in_channels, width, kernel_size=3, padding=2),  # 28 -> 30
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(width),
                nn.MaxPool2d(kernel_size=3, stride=3, padding=1),  # 30 -> 10
                nn.Dropout(dropout),
            )

        self.streams = nn.ModuleList([stream(3), stream(5), stream(8)])
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)  # 10 -> 5
        self.fc = nn.Linear(16 * 5 * 5, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.cat([s(x) for s in self.streams], dim=1)
        return self.fc(self.pool(x).flatten(1))


@dataclass(frozen=True)
class STSTNetBudget:
    """The fixed training budget of the STSTNet peer (Adam, full batches, balanced class weights)."""

    epochs: int = 200
    lr: float = 1e-3
    batch_size: int = 256
    weight_decay: float = 0.0


def loso_ststnet(
    images: np.ndarray,
    labels: Sequence[int],
    subjects: Sequence[str],
    num_classes: int,
    seed: int,
    budget: STSTNetBudget | None = None,
    only: Collection[str] | None = None,
) -> Rows:
    """Honest LOSO predictions of STSTNet on ``(N, 3, 28, 28)`` images: last epoch of a fixed budget.

    Inputs are standardised per channel with the training subjects' statistics of each fold.
    """
    budget = budget or STSTNetBudget()
    y_all = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    x_all = torch.as_tensor(np.asarray(images, np.float32))
    rows: Rows = []
    for subject, train, test in _folds(subjects, only):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        x_train, y_train = x_all[train], y_all[train]
        mean = x_train.mean(dim=(0, 2, 3), keepdim=True)
        std = x_train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        counts = torch.bincount(y_train, minlength=num_classes).float()
        weights = torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp_min(1)), 0.0)
        model = STSTNet(num_classes)
        optimiser = torch.optim.Adam(model.parameters(), lr=budget.lr, weight_decay=budget.weight_decay)
        loss_fn = nn.CrossEntropyLoss(weight=weights)
        inputs = (x_train - mean) / std
        model.train()
        for _ in range(budget.epochs):
            order = torch.randperm(len(train), generator=generator)
            for start in range(0, len(order), budget.batch_size):
                batch = order[start : start + budget.batch_size]
                if len(batch) < 2:  # BatchNorm needs two samples
                    continue
                optimiser.zero_grad(set_to_none=True)
                loss_fn(model(inputs[batch]), y_train[batch]).backward()
                optimiser.step()
        model.eval()
        with torch.no_grad():
            preds = model((x_all[test] - mean) / std).argmax(dim=1).tolist()
        rows += [
            {"subject": subject, "label": int(y_all[i]), "pred": int(p)}
            for i, p in zip(test, preds, strict=True)
        ]
    return rows
