"""One row per predicted clip: the table that test, predict and the per-epoch test pass write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
