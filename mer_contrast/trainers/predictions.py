"""One row per predicted clip: the table that test, predict and the per-epoch test pass write.

``gather_rows`` collects the rows of every rank after a distributed test (no Lightning import).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch.distributed as dist
from torch import Tensor


def prediction_rows(batch: Mapping[str, Any], probs: Tensor) -> list[dict[str, Any]]:
    """One row per clip: ``subject``, ``clip_id``, ``probs`` (floats), ``pred`` and, if known, ``label``.

    The one definition of a prediction row (test and predict steps, the per-epoch test pass); one
    device sync per batch, not per clip.
    """
    preds = probs.argmax(dim=-1).cpu().tolist()
    labels = batch["label"].cpu().tolist() if "label" in batch else None
    rows = []
    for i, (prob, pred) in enumerate(zip(probs.float().cpu().tolist(), preds, strict=True)):
        row: dict[str, Any] = {"subject": batch["subject"][i], "clip_id": batch["clip_id"][i]}
        if labels is not None:
            row["label"] = labels[i]
        rows.append({**row, "pred": pred, "probs": prob})
    return rows


def gather_rows(rows: list[dict[str, Any]], key: str = "clip_id") -> list[dict[str, Any]]:
    """Per-clip prediction rows from every rank, in dataset order, without sampler padding.

    Pickled object gathering copes with uneven shards (a tensor all-gather needs equal sizes and
    would hang). The evaluation samplers deal indices round-robin (rank ``r`` gets ``r, r+W, ...``:
    the datamodule's unpadded one, :mod:`mer_contrast.datamodules.sharding`, or torch's
    ``DistributedSampler``, which pads the last round with repeats), so interleaving the ranks' lists
    restores the order and keeping the first row per ``key`` drops any padding.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(rows)
    per_rank: list[list[dict[str, Any]] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(per_rank, rows)
    lists = [r or [] for r in per_rank]
    interleaved = [lst[i] for i in range(max(map(len, lists))) for lst in lists if i < len(lst)]
    seen: set[Any] = set()
    unique = []
    for row in interleaved:
        if row[key] not in seen:
            seen.add(row[key])
            unique.append(row)
    return unique
