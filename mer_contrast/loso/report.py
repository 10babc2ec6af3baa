"""``mer-contrast report DIR``: pool the finished folds of a LOSO run into summary.json / .md / .png.

Reads every ``DIR/seed*/*/done.json`` and its prediction CSVs, so it works on a partial run (a SLURM
array still going) and is what the runner itself calls at the end. Per selection present it writes::

    {"selection": label, "optimistic": bool,
     "pooled": {"accuracy", "uf1", "uar", "n"},          # all folds (and seeds) concatenated
     "per_fold": [{"seed", "subject", "n", "epoch", "accuracy", "uf1", "uar"}],
     "per_seed": [{"seed", "n", "folds", "accuracy", "uf1", "uar"}],
     "seeds": {"mean": {...}, "std": {...}},             # over the per-seed pooled metrics
     "confusion": K x K counts,
     "per_class": {"f1", "recall", "support", "f1_std", "recall_std"}}   # K values each

under the keys ``honest``, ``test_selected`` and ``oracle`` (see :mod:`mer_contrast.loso.store`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import mer_contrast
from mer_contrast.files import FolderBusy, FolderUnusable, atomic_write, folder_lock
from mer_contrast.loso.metrics import (
    confusion_of_rows,
    mean_std,
    metrics_of_rows,
    per_class_of_confusion,
    per_fold_metrics,
)
from mer_contrast.loso.provenance import DATA_KEY, data_status, unknown_note
from mer_contrast.loso.store import (
    DONE_FILE,
    OPTIMISTIC,
    RUN_FILE,
    SELECTION_ORDER,
    done_paths,
    read_fold_rows,
    read_json,
    write_json,
)
from mer_contrast.metrics import METRIC_NAMES, metrics_from_confusion, metrics_from_labels

__all__ = [
    "chance_levels",
    "collect",
    "print_report",
    "render_markdown",
    "report_run",
    "summarize",
    "write_report",
]

OPTIMISTIC_NOTE = (
    "The epoch was chosen with the test subject's labels. This is not an estimate of accuracy on unseen "
    "subjects; it is shown only for comparison with published numbers that use this selection."
)


def collect(out: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """Run metadata (``loso.json``, may be empty), the finished folds that belong to it, and the rest.

    Each fold dict gains ``"dir"`` (its folder) and ``"rows"``: ``{selection: [per-clip rows]}``.
    A fold is left out, with the reason in the third list, when its config hash is not the run's (a
    rerun with other settings on the same ``--out``), when it was made on other data than the run's
    (a relabelled clip, changed frames: :mod:`~mer_contrast.loso.provenance`), when it is outside the
    run's seeds and subjects, when its ``done.json`` is damaged, or when its prediction files disagree
    with it (a row count, a clip twice): folds of
    two configs or two versions of the data are never pooled, and no subject is pooled short. A
    fold that recorded no data hash (made before runs did) is pooled, and marked ``data_unknown``.
    """
    out = Path(out)
    if not out.is_dir():
        raise FileNotFoundError(f"{out}: no such LOSO output folder; pass the --out of `mer-contrast loso`")
    meta = read_json(out / RUN_FILE) if (out / RUN_FILE).is_file() else {}
    run_hash = meta.get("config_hash")
    run_data = meta.get(DATA_KEY)
    seeds = {int(seed) for seed in meta.get("seeds") or ()}
    subjects = set(meta.get("folds") or ())
    folds, excluded = [], []
    for done_path in done_paths(out):
        name = f"{done_path.parent.parent.name}/{done_path.parent.name}"
        try:
            done = read_json(done_path)
        except ValueError as err:  # garbled: the fold did not provably finish (`loso` redoes it)
            excluded.append(f"{name}: {str(err).split(';')[0]}; rerun `loso` to redo it")
            continue
        if run_hash and done.get("config_hash") != run_hash:
            excluded.append(
                f"{name}: made with another config (hash {done.get('config_hash')}, run {run_hash})"
            )
            continue
        status = data_status(done, run_data)
        if status == "other":
            excluded.append(
                f"{name}: made on other data (the sheet's rows or labels or the frame files changed; data "
                f"hash {done.get(DATA_KEY)}, run {run_data}); rerun `loso` with --force to redo it"
            )
            continue
        done["data_unknown"] = DATA_KEY not in done  # finished before runs recorded their data
        if (seeds and int(done["seed"]) not in seeds) or (subjects and done["subject"] not in subjects):
            excluded.append(f"{name}: not one of this run's seeds and subjects")
            continue
        rows, problem = read_fold_rows(done_path.parent, done)
        if problem is not None:
            excluded.append(f"{name}: {problem}")
            continue
        done["dir"] = done_path.parent
        done["rows"] = rows
        folds.append(done)
    return meta, folds, excluded


def chance_levels(labels: Sequence[int], num_classes: int) -> dict[str, dict[str, float]]:
    """What guessing scores on these labels: a uniform random guess (expected) and the majority class."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes).astype(np.float64)
    present = counts > 0
    prior = counts[present] / counts.sum()
    uniform = 1.0 / num_classes
    # Uniform guessing: precision of class c = its prior, recall = 1/K; absent classes are still guessed.
    f1 = np.concatenate([2 * prior * uniform / (prior + uniform), np.zeros(num_classes - present.sum())])
    majority = metrics_from_labels([int(counts.argmax())] * len(labels), labels, num_classes)
    return {
        "uniform": {"accuracy": uniform, "uf1": float(f1.mean()), "uar": uniform},
        "majority": majority,
    }


def _spread(values: list[list[float]]) -> list[float]:
    """Per column: sample standard deviation over the rows, ignoring NaN (0 for one row)."""
    array = np.asarray(values, dtype=np.float64)
    if len(array) < 2:
        return np.where(np.isnan(array[0]), np.nan, 0.0).tolist()
    with warnings.catch_warnings():  # a class undefined in every seed: NaN, said by the value
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(array, axis=0, ddof=1).tolist()


def _selection_summary(key: str, folds: list[dict[str, Any]], num_classes: int) -> dict[str, Any]:
    labels = sorted({fold["selections"][key]["label"] for fold in folds})
    per_fold: list[dict[str, Any]] = []
    by_seed: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for fold in folds:
        rows = fold["rows"][key]
        by_seed[int(fold["seed"])].extend(rows)
        metrics = per_fold_metrics(rows, num_classes)
        entry = metrics[0] if metrics else {"subject": fold["subject"], "n": 0}
        per_fold.append(
            {"seed": int(fold["seed"]), "subject": fold["subject"], "n": entry["n"],
             "epoch": fold["selections"][key].get("epoch"),
             **{name: entry.get(name, float("nan")) for name in METRIC_NAMES}}
        )  # fmt: skip
    per_seed = []
    for seed, rows in sorted(by_seed.items()):
        folds_of_seed = sum(1 for fold in folds if int(fold["seed"]) == seed)
        per_seed.append(
            {"seed": seed, "n": len(rows), "folds": folds_of_seed, **metrics_of_rows(rows, num_classes)}
        )
    all_rows = [row for rows in by_seed.values() for row in rows]
    counts = confusion_of_rows(all_rows, num_classes)
    per_class: dict[str, Any] = per_class_of_confusion(counts)
    per_seed_class = [
        per_class_of_confusion(confusion_of_rows(rows, num_classes)) for rows in by_seed.values()
    ]
    for name in ("f1", "recall"):  # spread over seeds per class (0 for one seed; NaN where undefined)
        per_class[f"{name}_std"] = _spread([seed[name] for seed in per_seed_class])
    return {
        "selection": " / ".join(labels),
        "optimistic": key in OPTIMISTIC,
        "pooled": {**metrics_from_confusion(counts), "n": len(all_rows)},
        "per_fold": per_fold,
        "per_seed": per_seed,
        "seeds": mean_std(per_seed),
        "confusion": counts.tolist(),
        "per_class": per_class,  # f1, recall (pooled), f1_std, recall_std (over seeds), support
    }


def summarize(out: str | Path) -> dict[str, Any]:
    """The summary dict of a LOSO output folder (see the module docstring); nothing is written."""
    meta, folds, excluded = collect(out)
    if not folds:
        why = f" ({'; '.join(excluded[:3])})" if excluded else ""
        raise FileNotFoundError(
            f"{out}: no finished fold of this run (seed*/*/{DONE_FILE}){why}; run `mer-contrast loso` first"
        )
    classes = list(meta.get("classes") or folds[0]["classes"])
    for fold in folds:
        if list(fold["classes"]) != classes:
            raise ValueError(f"{fold['dir']}: classes {fold['classes']} differ from the run's {classes}")
    seeds = meta.get("seeds") or sorted({int(f["seed"]) for f in folds})
    subjects = meta.get("folds") or sorted({f["subject"] for f in folds})
    done = {(int(f["seed"]), f["subject"]) for f in folds}
    missing = [f"seed{s}/{subject}" for s in seeds for subject in subjects if (s, subject) not in done]
    summary: dict[str, Any] = {
        "experiment": meta.get("experiment", Path(out).resolve().name),
        "config": meta.get("config"),
        "overrides": meta.get("overrides"),
        "classes": classes,
        "folds": subjects,
        "seeds": seeds,
        "folds_done": len(done),
        "folds_expected": len(seeds) * len(subjects),
        "complete": not missing,
        "missing": missing,
        "excluded": excluded,
        "data_unknown": sorted(f"seed{f['seed']}/{f['dir'].name}" for f in folds if f.get("data_unknown")),
        "version": mer_contrast.__version__,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    for key in SELECTION_ORDER:
        with_key = [fold for fold in folds if key in fold["selections"]]
        if with_key:
            summary[key] = _selection_summary(key, with_key, len(classes))
            summary[key]["folds_done"] = len(with_key)
    first = next(key for key in SELECTION_ORDER if key in summary)
    labels = [row["label"] for fold in folds if first in fold["rows"] for row in fold["rows"][first]]
    summary["chance"] = chance_levels(labels, len(classes))
    return summary


def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{100 * value:.1f}"


def _heading(section: dict[str, Any]) -> str:
    label = section["selection"]
    return f"## {label[0].upper()}{label[1:]}"


def render_markdown(summary: dict[str, Any], max_fold_rows: int | None = None) -> str:
    """The Markdown report: pooled rows, mean ± std over seeds, per-fold table, per selection.

    ``max_fold_rows``: a selection with more folds gets one line pointing at ``summary.md`` instead
    of its per-fold table (the terminal's version of a 26-fold run fits a screen).
    """
    lines = [f"# LOSO report: {summary['experiment']}", ""]
    lines.append(f"- classes ({len(summary['classes'])}): {', '.join(summary['classes'])}")
    lines.append(f"- seeds: {', '.join(str(s) for s in summary['seeds'])}")
    lines.append(f"- folds done: {summary['folds_done']} / {summary['folds_expected']}")
    if summary.get("config"):
        lines.append(f"- config: {', '.join(str(c) for c in summary['config'])}")
    lines.append(f"- mer-contrast {summary['version']}, {summary['date']}")
    if not summary["complete"]:
        shown = ", ".join(summary["missing"][:10]) + (" ..." if len(summary["missing"]) > 10 else "")
        lines += ["", f"**Partial run**: {len(summary['missing'])} fold(s) not finished ({shown})."]
    if summary.get("data_unknown"):
        lines += ["", f"**Data not recorded**: {unknown_note(summary['data_unknown'])}."]
    if summary.get("excluded"):
        lines += ["", f"**Not pooled**: {len(summary['excluded'])} fold folder(s):"]
        lines += [f"- {reason}" for reason in summary["excluded"][:10]]
    chance = summary["chance"]
    lines += ["", "Metrics in %. UF1 and UAR are pooled over all test clips (MEGC style).", ""]
    lines += ["| | accuracy | UF1 | UAR | n |", "|---|---:|---:|---:|---:|"]
    for name, text in (("uniform", "chance: uniform random guess"), ("majority", "chance: majority class")):
        values = chance[name]
        lines.append(
            f"| {text} | {_pct(values['accuracy'])} | {_pct(values['uf1'])} | {_pct(values['uar'])} | |"
        )
    for key in SELECTION_ORDER:
        if key not in summary:
            continue
        section = summary[key]
        lines += ["", _heading(section), ""]
        if section["optimistic"]:
            lines += [f"> {OPTIMISTIC_NOTE}", ""]
        pooled, mean, std = section["pooled"], section["seeds"]["mean"], section["seeds"]["std"]
        lines += ["| | accuracy | UF1 | UAR | n |", "|---|---:|---:|---:|---:|"]
        cells = " | ".join(_pct(pooled[m]) for m in METRIC_NAMES)
        lines.append(f"| pooled | {cells} | {pooled['n']} |")
        nseeds = len(section["per_seed"])
        cells = " | ".join(f"{_pct(mean[m])} ± {_pct(std[m])}" for m in METRIC_NAMES)
        lines.append(f"| mean ± std over {nseeds} seed(s) | {cells} | |")
        if max_fold_rows is not None and len(section["per_fold"]) > max_fold_rows:
            lines += ["", f"Per-fold table ({len(section['per_fold'])} folds): summary.md."]
            continue
        lines += [
            "",
            "| seed | subject | n | epoch | accuracy | UF1 | UAR |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        for fold in section["per_fold"]:
            cells = " | ".join(_pct(fold[m]) for m in METRIC_NAMES)
            lines.append(f"| {fold['seed']} | {fold['subject']} | {fold['n']} | {fold['epoch']} | {cells} |")
    return "\n".join(lines) + "\n"


def write_report(
    out: str | Path, plots: bool = True, summary: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write ``summary.json``, ``summary.md`` and the figures (:func:`write_figures`) into ``out``;
    return the summary (``summary``: already made by :func:`summarize`). The caller holds the folder's
    lock."""
    out = Path(out)
    summary = summarize(out) if summary is None else summary
    write_json(out / "summary.json", summary)
    with atomic_write(out / "summary.md", "w") as handle:
        handle.write(render_markdown(summary))
    if plots:
        write_figures(out, summary)
    return summary


#: The figures of a run besides ``confusion_<selection>.png`` (mer_contrast.loso.plots, .joint_space).
FIGURES = ("per_fold.png", "per_class.png", "honest_vs_oracle.png", "joint_space.png")


def write_figures(out: Path, summary: dict[str, Any]) -> list[Path]:
    """The report's PNGs (:mod:`~mer_contrast.loso.plots`, the joint-space map of
    :mod:`~mer_contrast.loso.joint_space` when the folds kept embeddings); the files written. A figure
    that no longer applies (no oracle selection, no embeddings) is removed, never left stale."""
    from mer_contrast.loso.joint_space import plot_run_joint_space
    from mer_contrast.loso.plots import metrics_title, plot_confusion, plot_gap, plot_per_class, plot_per_fold

    written = []
    for key in SELECTION_ORDER:
        if key in summary:
            section = summary[key]
            title = f"{summary['experiment']}: {section['selection']}\n{metrics_title(section['pooled'])}"
            plot_confusion(
                np.asarray(summary[key]["confusion"]), summary["classes"], title, out / f"confusion_{key}.png"
            )
            written.append(out / f"confusion_{key}.png")
    plot_per_fold(summary, out / FIGURES[0])
    plot_per_class(summary, out / FIGURES[1])
    made = [
        True,
        True,
        plot_gap(summary, out / FIGURES[2]),
        plot_run_joint_space(out, summary, out / FIGURES[3]),
    ]
    for name, was_made in zip(FIGURES, made, strict=True):
        if was_made:
            written.append(out / name)
        else:
            (out / name).unlink(missing_ok=True)
    return written


def report_run(out: str | Path, plots: bool = True) -> tuple[dict[str, Any], str | None]:
    """``mer-contrast report``: the summary of ``out``, and its files written under the folder's lock.

    Returns ``(summary, None)``, or ``(summary, why)`` when the files could not be written (a
    read-only folder, a full disk, a ``loso`` run that holds the folder and writes its own report):
    the summary is still whole, for printing. Raises what :func:`summarize` raises.
    """
    summary = summarize(out)
    try:
        with folder_lock(out, busy_fix="it writes them itself when it ends", unusable_fix=""):
            write_report(out, plots, summary=summary)
    except (FolderBusy, FolderUnusable) as err:
        return summary, str(err)
    except OSError as err:
        return summary, f"{err.filename or out}: {err.strerror or err}"
    return summary, None


#: Per-fold rows printed per selection; a longer table stays in summary.md.
PRINTED_FOLD_ROWS = 12


def print_report(summary: dict[str, Any]) -> None:
    """Print the Markdown report to the terminal (rich when it is a terminal, plain text otherwise);
    per-fold tables of more than :data:`PRINTED_FOLD_ROWS` folds stay in ``summary.md``."""
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console()
    text = render_markdown(summary, max_fold_rows=PRINTED_FOLD_ROWS)
    console.print(Markdown(text) if console.is_terminal else text, soft_wrap=not console.is_terminal)
