"""``mer-contrast demo``: synthetic CASME II-layout data, a short LOSO run on CPU, and its report.

Generates the dataset with :func:`mer_contrast.synth.generate` when ``--data`` holds none, runs
``mer-contrast loso`` with ``configs/demo.yaml`` on a few folds (honest and oracle selection), and
prints the pooled accuracy / UF1 / UAR next to the chance levels. A rerun reuses the data, the flow
cache and finished folds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mer_contrast.files import find_config

if TYPE_CHECKING:
    from argparse import Namespace

__all__ = ["DEMO_DATA", "ensure_data", "find_config", "find_demo_config", "headline", "peer_line", "run"]

# Synthetic dataset of the demo: enough clips per class for a fold to learn from, small enough for CPU.
DEMO_DATA = {"subjects": 8, "clips_per_subject": 16, "size": 64, "seed": 0}


def find_demo_config() -> Path:
    """``configs/demo.yaml`` (see :func:`find_config`)."""
    return find_config("demo.yaml")


def ensure_data(root: Path, subjects: int, clips_per_subject: int, size: int, seed: int) -> str:
    """Generate the synthetic dataset unless ``root`` already holds one; returns what was done."""
    from mer_contrast.synth import MANIFEST_NAME, generate

    if (root / MANIFEST_NAME).is_file():
        return f"reusing synthetic data in {root}"
    generate("casme2", root, subjects=subjects, clips_per_subject=clips_per_subject, size=size, seed=seed)
    return f"generated {subjects} subjects x {clips_per_subject} clips ({size}x{size} faces) in {root}"


def run(args: Namespace, config: str, overrides: list[str], started: float) -> int:
    """The demo's LOSO run (``args``: the options of ``mer-contrast demo``), its timing and headline.

    What stops the run before its first fold is raised (see :func:`mer_contrast.loso.run`).
    """
    from mer_contrast import loso
    from mer_contrast.loso.store import RUN_FILE

    options = loso.LosoOptions(
        configs=[config], overrides=overrides, out=args.out, max_folds=args.folds, selection="both"
    )
    code = loso.run(options, force=True)  # a rerun with other --epochs redoes the folds, as it always did
    metadata = json.loads((args.out / RUN_FILE).read_text())
    folds = len(metadata["folds"]) * len(metadata["seeds"])
    minutes, seconds = divmod(int(time.time() - started), 60)
    print(f"demo finished in {minutes}m{seconds:02d}s (data, flow cache, {folds} folds, report)")
    summary_path = args.out / "summary.json"
    if summary_path.is_file():
        print(headline(json.loads(summary_path.read_text())))
        print(peer_line([config], overrides, args.folds))
    return code


def peer_line(configs: list[str], overrides: list[str], folds: int) -> str:
    """Peer 1 of ``bench quality`` (onset->apex TV-L1 + logistic regression) on the same data and folds."""
    from mer_contrast.bench.quality import run_peers
    from mer_contrast.bench.quality_data import datamodule

    row = run_peers(
        ["peer_flow_logreg"],
        datamodule(configs, overrides),
        seeds=1,
        workers=2,
        max_folds=folds,
        ststnet_epochs=None,
    )["peer_flow_logreg"]
    mean = row["mean"]
    return (
        f"peer 1 (onset->apex TV-L1 flow, 8x8 grid, logistic regression; same folds): accuracy "
        f"{100 * mean['accuracy']:.1f}, UF1 {100 * mean['uf1']:.1f}, UAR {100 * mean['uar']:.1f}"
    )


def headline(summary: dict[str, Any]) -> str:
    """One line per selection: pooled scores next to the best chance level of each metric."""
    chance = summary["chance"]
    lines = []
    for key in ("honest", "oracle"):
        if key in summary:
            pooled = summary[key]["pooled"]
            parts = []
            for metric, name in (("accuracy", "accuracy"), ("uf1", "UF1"), ("uar", "UAR")):
                best_guess = max(levels[metric] for levels in chance.values())
                parts.append(f"{name} {100 * pooled[metric]:.1f} (chance {100 * best_guess:.1f})")
            lines.append(f"{summary[key]['selection']}: " + ", ".join(parts))
    return "\n".join(lines)
