"""The study's own W&B run: the pooled LOSO result beside the folds' runs, in their group.

The folds' runs (one per fold, :mod:`~mer_contrast.loso.fold_logger`) hold training curves; the study
is what the report pools, so ``mer-contrast loso`` (with a W&B logger, after the folds) and
``mer-contrast report DIR --wandb`` write one more run into the experiment's group, job type
``summary``:

* its summary: ``<selection>/uf1``, ``/uar``, ``/accuracy``, ``/n`` per selection (``honest``,
  ``test_selected``, ``oracle``), the seeds' mean and std, folds done and chance levels;
* ``<selection>/confusion_matrix``: W&B's confusion-matrix plot of the pooled clips;
* ``<selection>/predictions``: the pooled per-clip predictions (a ``wandb.Table``);
* ``per_fold``: every fold's metrics under every selection (a ``wandb.Table``);
* ``figures/<name>``: the report's PNGs (confusion matrices, bars, the joint-space map).

Offline (no API key, ``WANDB_MODE=offline``) it is written under ``DIR/wandb/`` with the folds' runs,
and ``wandb sync DIR/wandb/offline-run-*`` uploads them all.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mer_contrast.loggers import wandb_offline
from mer_contrast.loso.report import collect, summarize
from mer_contrast.loso.store import SELECTION_ORDER, read_json
from mer_contrast.metrics import METRIC_NAMES

__all__ = ["DEFAULT_PROJECT", "log_study", "study_rows", "sync_hint"]

log = logging.getLogger(__name__)

#: The project of OfflineSafeWandbLogger, used when the run does not name one.
DEFAULT_PROJECT = "mer-contrast"


def study_rows(out: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Every pooled fold's per-clip rows of a LOSO folder, per selection (what the report pools)."""
    _, folds, _ = collect(out)
    return {
        key: [row for fold in folds if key in fold["rows"] for row in fold["rows"][key]]
        for key in SELECTION_ORDER
        if any(key in fold["rows"] for fold in folds)
    }


def _summary_values(summary: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "folds_done": summary["folds_done"],
        "folds_expected": summary["folds_expected"],
        "complete": summary["complete"],
    }
    for key in SELECTION_ORDER:
        if key not in summary:
            continue
        section = summary[key]
        values |= {f"{key}/{name}": section["pooled"][name] for name in (*METRIC_NAMES, "n")}
        values |= {f"{key}/seed_mean_{name}": section["seeds"]["mean"][name] for name in METRIC_NAMES}
        values |= {f"{key}/seed_std_{name}": section["seeds"]["std"][name] for name in METRIC_NAMES}
    for guess, metrics in summary["chance"].items():
        values |= {f"chance_{guess}/{name}": metrics[name] for name in METRIC_NAMES}
    return values


def _predictions_table(wandb: Any, rows: list[dict[str, Any]], classes: list[str]) -> Any:
    probs = [f"prob_{name}" for name in classes]
    columns = ["seed", "subject", "clip_id", "label", "pred", "correct", "epoch", *probs]
    data = [
        [row.get("seed"), row["subject"], row["clip_id"], classes[row["label"]], classes[row["pred"]],
         row["label"] == row["pred"], row.get("epoch"), *(float(row[p]) for p in probs)]
        for row in rows
    ]  # fmt: skip
    return wandb.Table(columns=columns, data=data)


def _per_fold_table(wandb: Any, summary: Mapping[str, Any]) -> Any:
    columns = ["selection", "seed", "subject", "n", "epoch", *METRIC_NAMES]
    data = [
        [key, fold["seed"], fold["subject"], fold["n"], fold["epoch"], *(fold[m] for m in METRIC_NAMES)]
        for key in SELECTION_ORDER
        if key in summary
        for fold in summary[key]["per_fold"]
    ]
    return wandb.Table(columns=columns, data=data)


def _run_id(out: Path, summary: Mapping[str, Any]) -> str:
    """One summary run per folder and config: a report rerun updates it instead of adding another."""
    config = read_json(out / "loso.json").get("config_hash", "") if (out / "loso.json").is_file() else ""
    return "summary-" + hashlib.sha256(f"{out.resolve()}|{config}".encode()).hexdigest()[:12]


def log_study(
    out: str | Path, settings: Mapping[str, Any] | None = None, summary: Mapping[str, Any] | None = None
) -> Path | None:
    """Write the study's summary run of the LOSO folder ``out``; its local folder (None: W&B disabled).

    ``settings``: ``project``, ``entity``, ``tags``, ``offline`` of the folds' logger (``loso.json``'s
    ``wandb``, else :data:`DEFAULT_PROJECT`, offline as :func:`~mer_contrast.loggers.wandb_offline`
    decides). Raises what :func:`~mer_contrast.loso.report.summarize` raises.
    """
    import wandb

    out = Path(out)
    summary = summarize(out) if summary is None else summary
    if settings is None:
        meta = read_json(out / "loso.json") if (out / "loso.json").is_file() else {}
        settings = meta.get("wandb") or {}
    if os.environ.get("WANDB_MODE") == "disabled":
        return None
    classes = list(summary["classes"])
    run = wandb.init(
        project=settings.get("project") or DEFAULT_PROJECT,
        entity=settings.get("entity"),
        group=summary["experiment"],
        job_type="summary",
        name=f"{summary['experiment']}-summary",
        id=_run_id(out, summary),
        resume="allow",
        tags=list(settings.get("tags") or []),
        dir=str(out),
        mode="offline" if wandb_offline(settings.get("offline")) else "online",
        config={key: summary.get(key) for key in ("experiment", "config", "overrides", "classes", "seeds")},
    )
    try:
        run.summary.update(_summary_values(summary))
        media: dict[str, Any] = {"per_fold": _per_fold_table(wandb, summary)}
        for key, rows in study_rows(out).items():
            labels, preds = [row["label"] for row in rows], [row["pred"] for row in rows]
            pooled = summary[key]["pooled"]
            title = f"{summary[key]['selection']}: UF1 {pooled['uf1']:.3f}, UAR {pooled['uar']:.3f}"
            media[f"{key}/confusion_matrix"] = wandb.plot.confusion_matrix(
                y_true=labels, preds=preds, class_names=classes, title=title
            )
            media[f"{key}/predictions"] = _predictions_table(wandb, rows, classes)
        for figure in sorted(out.glob("*.png")):
            media[f"figures/{figure.stem}"] = wandb.Image(str(figure), caption=figure.stem)
        run.log(media)
        folder = Path(run.dir).parent  # the run's folder (files/ is run.dir)
    finally:
        run.finish()
    return folder


def sync_hint(out: str | Path) -> str | None:
    """One line saying how to upload ``out``'s offline W&B runs, or None when there are none."""
    runs = sorted((Path(out) / "wandb").glob("offline-run-*"))
    if not runs:
        return None
    return (
        f"W&B: {len(runs)} offline run(s) in {Path(out) / 'wandb'} (the folds and the study summary); "
        f"upload them with `wandb sync {Path(out) / 'wandb'}/offline-run-*`"
    )
