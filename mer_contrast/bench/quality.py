"""``mer-contrast bench quality``: honest LOSO recognition of mer-contrast against classical peers.

One table, every row scored on the same dataset under leave-one-subject-out with no test-subject
selection (fixed budgets), pooled MEGC style, mean ± std over ``--seeds``, with the wall time of
each row (flow computation included the first time; cached flow is reused on reruns):

* ``peer_flow_logreg``: onset->apex TV-L1 on the 128 px face crop, pooled on an 8x8 grid (mean u, v,
  magnitude per cell), standardised logistic regression (deterministic: std 0 over seeds).
* ``peer_ststnet``: STSTNet on onset->apex u, v, strain at 28x28 (Liong et al. 2019), fixed epochs.
* ``probe_prepared_flow``: the same grid + logistic regression on mer-contrast's prepared flow under
  the benchmarked data config (its last step, onset->apex): is the pipeline keeping the motion?
* ``mercontrast_full`` and ``mercontrast_lambda0``: ``mer-contrast loso`` with the config, and with
  ``contrastive_weight: 0`` (no text tower); honest (last epoch) and, labelled, oracle selection.

Writes ``OUT/quality.json`` and ``OUT/quality.md``; the LOSO runs live in ``OUT/<row>/``.

Example::

    mer-contrast bench quality --root data/twin_casme2 --config configs/casme2_cpu.yaml --seeds 3
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mer_contrast.loso.metrics import mean_std, metrics_of_rows
from mer_contrast.metrics import METRIC_NAMES

if TYPE_CHECKING:
    from argparse import Namespace

    from mer_contrast.datamodules.mer import MERDataModule

log = logging.getLogger(__name__)

PEER_ROWS = ("peer_flow_logreg", "peer_ststnet", "probe_prepared_flow")
MODEL_ROWS = ("mercontrast_full", "mercontrast_lambda0")
ROWS = (*PEER_ROWS, *MODEL_ROWS)
DESCRIPTIONS = {
    "peer_flow_logreg": "peer 1: onset->apex TV-L1 (128 px crop), 8x8 grid, logistic regression",
    "peer_ststnet": "peer 2: STSTNet, onset->apex u, v, strain at 28x28",
    "probe_prepared_flow": "probe: mer-contrast's prepared flow, 8x8 grid, logistic regression",
    "mercontrast_full": "mer-contrast, full model (FACS text, InfoNCE)",
    "mercontrast_lambda0": "mer-contrast, contrastive_weight 0 (no text)",
}
DEFAULT_ROOT = Path("data/twin_casme2")


def _find_default_config() -> Path:
    from mer_contrast.files import find_config

    return find_config("casme2_cpu.yaml")


def _seed_summary(per_seed: list[dict[str, float]]) -> dict[str, Any]:
    return {"per_seed": per_seed, **mean_std(per_seed)}


def _first_folds(subjects: list[str], max_folds: int | None) -> set[str] | None:
    """The held-out subjects of a ``--max-folds`` run (the same ones ``loso`` takes), or None for all."""
    if max_folds is None:
        return None
    from mer_contrast.datamodules.folds import loso_subjects

    return set(loso_subjects(subjects)[:max_folds])


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    """``3`` -> seeds 0, 1, 2; a sequence is taken as the seeds themselves (``bench suite``'s units)."""
    return list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]


def run_peers(
    rows: Sequence[str], dm: MERDataModule, seeds: int | Sequence[int], workers: int,
    max_folds: int | None, ststnet_epochs: int | None,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """The peer and probe rows (see the module docstring); ``seeds``: a count (0..N-1) or the seeds."""
    from mer_contrast.bench.peers import STSTNetBudget, grid_features, loso_logistic, loso_ststnet
    from mer_contrast.bench.quality_data import peer_flows, prepared_probe_flows, ststnet_image

    results: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    clips, probe = prepared_probe_flows(dm)
    probe_seconds = time.perf_counter() - started
    started = time.perf_counter()
    peers = peer_flows(dm, workers) if {"peer_flow_logreg", "peer_ststnet"} & set(rows) else {}
    peer_seconds = time.perf_counter() - started
    keep = [i for i, key in enumerate(clips.keys) if not peers or key in peers]
    only = _first_folds(clips.subjects, max_folds)
    labels = [clips.labels[i] for i in keep]
    subjects = [clips.subjects[i] for i in keep]
    num_classes = dm.num_classes

    def score(make_rows: Callable[[int], list[dict[str, Any]]], name: str, fixed: float) -> None:
        begin = time.perf_counter()
        per_seed = []
        for seed in _seed_list(seeds):
            predictions = make_rows(seed)
            per_seed.append(
                {"seed": seed, "n": len(predictions), **metrics_of_rows(predictions, num_classes)}
            )
        results[name] = {**_seed_summary(per_seed), "seconds": round(fixed + time.perf_counter() - begin, 1)}

    if "peer_flow_logreg" in rows:
        features = np.stack([grid_features(peers[clips.keys[i]]) for i in keep])
        rows_once = loso_logistic(features, labels, subjects, only=only)
        score(lambda seed: rows_once, "peer_flow_logreg", peer_seconds)  # deterministic: fit once
    if "peer_ststnet" in rows:
        images = np.stack([ststnet_image(peers[clips.keys[i]]) for i in keep])
        budget = STSTNetBudget() if ststnet_epochs is None else STSTNetBudget(epochs=ststnet_epochs)
        score(lambda seed: loso_ststnet(images, labels, subjects, num_classes, seed, budget, only),
              "peer_ststnet", peer_seconds)  # fmt: skip
    if "probe_prepared_flow" in rows:
        features = np.stack([grid_features(probe[i]) for i in keep])
        rows_once = loso_logistic(features, labels, subjects, only=only)
        score(lambda seed: rows_once, "probe_prepared_flow", probe_seconds)
    for name in results:
        results[name]["n_clips"] = len(keep)
    return results


def run_model_row(
    name: str, configs: list[str], overrides: list[str], out: Path, seeds: int | Sequence[int],
    max_folds: int | None, procs: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One ``mer-contrast loso`` run (seeds 0..N-1 or the given ones; honest and oracle), per-seed scores.

    ``procs``: the run's ``--procs`` (``bench suite`` gives 1: its own jobs share the cores).
    """
    from mer_contrast import loso
    from mer_contrast.loggers.quiet import quiet_run
    from mer_contrast.loso.report import summarize

    extra = ["--model.init_args.contrastive_weight=0", "--model.init_args.text=null"] if name.endswith(
        "lambda0"
    ) else []  # fmt: skip
    options = loso.LosoOptions(
        configs=configs, overrides=[*overrides, *extra], out=out / name, seeds=_seed_list(seeds),
        selection="both", max_folds=max_folds, procs=procs,
    )  # fmt: skip
    begin = time.perf_counter()
    with quiet_run():  # as `loso`: each log line once, no Lightning tips or torch deprecations
        code = loso.run(options, force=True, report=False)  # force: a rerun redoes other configs' folds
    if code != 0:
        raise RuntimeError(f"{name}: the LOSO run failed (exit {code}); see the log above and {out / name}")
    summary = summarize(out / name)
    result: dict[str, Any] = {"seconds": round(time.perf_counter() - begin, 1), "loso_dir": str(out / name)}
    for key in ("honest", "oracle"):
        if key in summary:
            result[key] = _seed_summary(
                [{k: s[k] for k in ("seed", "n", *METRIC_NAMES)} for s in summary[key]["per_seed"]]
            )
    result.update({k: v for k, v in result.pop("honest", {}).items()})
    result["n_clips"] = (
        summary["honest"]["pooled"]["n"] // max(1, len(_seed_list(seeds))) if "honest" in summary else 0
    )
    return result


def _cell(section: dict[str, Any] | None, metric: str) -> str:
    if not section or "mean" not in section:
        return ""
    mean, std = section["mean"][metric], section["std"][metric]
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def render_markdown(table: dict[str, Any]) -> str:
    """The README-ready table of a ``quality.json``."""
    lines = [
        f"Dataset `{table['root']}` ({table['dataset']}), config {', '.join(table['configs'])}; honest LOSO, "
        f"pooled over all test clips, mean ± std over {table['seeds']} seed(s), in %.",
        "",
        "| row | UF1 | UAR | accuracy | oracle UF1 (optimistic) | wall s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in table["rows"].items():
        lines.append(
            f"| {DESCRIPTIONS[name]} | {_cell(row, 'uf1')} | {_cell(row, 'uar')} | {_cell(row, 'accuracy')} "
            f"| {_cell(row.get('oracle'), 'uf1')} | {row['seconds']:.0f} |"
        )
    lines += ["", "Oracle: the test subject's best epoch, as much of the literature reports; never honest."]
    return "\n".join(lines) + "\n"


def run(args: Namespace, extra: list[str]) -> int:
    """``bench quality`` with its parsed options and LightningCLI overrides; 2 for a missing dataset."""
    rows = args.rows
    if not args.root.is_dir():
        print(
            f"error: {args.root}: no dataset folder; render the twin with `mer-contrast synth "
            f"--layout casme2 --from-sheet CASME2-coding-20140508.xlsx --out {args.root}` or pass --root",
            file=sys.stderr,
        )
        return 2
    from mer_contrast.bench.quality_data import datamodule

    try:
        configs = args.config or [str(_find_default_config())]
        overrides = [f"--data.init_args.root={args.root}", *extra]
        if args.dataset:
            overrides.append(f"--data.init_args.dataset={args.dataset}")
        if args.cache_dir:
            overrides.append(f"--data.init_args.cache_dir={args.cache_dir}")
        dm = datamodule(configs, overrides)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    table: dict[str, Any] = {
        "root": str(args.root), "dataset": dm.dataset, "configs": configs,
        "overrides": overrides, "seeds": args.seeds, "rows": {},
    }  # fmt: skip
    if set(rows) & set(PEER_ROWS):
        peer_results = run_peers(rows, dm, args.seeds, args.workers, args.max_folds, args.ststnet_epochs)
        table["rows"].update({r: peer_results[r] for r in PEER_ROWS if r in peer_results})
    for name in MODEL_ROWS:
        if name in rows:
            table["rows"][name] = run_model_row(
                name, configs, overrides, args.out, args.seeds, args.max_folds
            )
    (args.out / "quality.json").write_text(json.dumps(table, indent=1) + "\n")
    markdown = render_markdown(table)
    (args.out / "quality.md").write_text(markdown)
    print(markdown)
    print(f"written: {args.out / 'quality.json'}, {args.out / 'quality.md'}")
    return 0
