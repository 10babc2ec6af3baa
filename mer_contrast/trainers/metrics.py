"""MER metrics (accuracy, UF1, UAR, confusion) and cross-rank gathering of per-clip predictions."""

from __future__ import annotations

from typing import Any

import torch.distributed as dist
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score, MulticlassRecall


def classification_metrics(num_classes: int) -> MetricCollection:
    """``acc`` (micro accuracy), ``uf1`` (macro F1) and ``uar`` (macro recall), the field's trio."""
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes=num_classes, average="micro"),
            "uf1": MulticlassF1Score(num_classes=num_classes, average="macro"),
            "uar": MulticlassRecall(num_classes=num_classes, average="macro"),
        }
    )


def gather_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-clip prediction rows from every rank, in dataset order, without sampler padding.

    Pickled object gathering copes with uneven shards (a tensor all-gather needs equal sizes and
    would hang). ``DistributedSampler`` deals indices round-robin (rank ``r`` gets ``r, r+W, ...``)
    and pads the last round with repeats, so interleaving the ranks' lists restores the order and
    keeping the first row per ``clip_id`` drops the padding.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(rows)
    per_rank: list[list[dict[str, Any]] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(per_rank, rows)
    lists = [r or [] for r in per_rank]
    interleaved = [lst[i] for i in range(max(map(len, lists))) for lst in lists if i < len(lst)]
    seen: set[str] = set()
    unique = []
    for row in interleaved:
        if row["clip_id"] not in seen:
            seen.add(row["clip_id"])
            unique.append(row)
    return unique
