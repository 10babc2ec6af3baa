"""``mer-contrast bench loso``: how fast the LOSO protocol runs, and where a fold's time goes.

Runs ``mer-contrast loso`` (honest selection) with the given config into a fresh folder and prints,
from each fold's ``done.json``: folds per minute, and per fold the time inside the training and test
loops against the rest (config parse, model/data/trainer build, cache checks, checkpoint writing):
the per-fold overhead that a long LOSO pays 26 times. The first fold also pays one-off costs (flow
cache fill, imports, BERT when its sentence store is empty) and is shown apart.

Example::

    mer-contrast bench loso --config configs/casme2_cpu.yaml --root data/twin_casme2
    mer-contrast bench loso --config configs/casme2.yaml --procs-per-gpu 4      # on a GPU machine
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from mer_contrast.loso.store import done_paths, read_json


def fold_timings(out: Path) -> list[dict[str, Any]]:
    """Per finished fold, in the order they finished: subject, seed and its seconds."""
    folds = [read_json(path) for path in done_paths(out)]
    rows = []
    for done in folds:
        seconds = done.get("seconds", {})
        total = float(done.get("duration_s", 0.0))
        loops = float(seconds.get("train", 0.0)) + float(seconds.get("test", 0.0))
        rows.append(
            {
                "subject": done["subject"],
                "seed": done["seed"],
                "total": total,
                "build": float(seconds.get("build", 0.0)),
                "train": float(seconds.get("train", 0.0)),
                "test": float(seconds.get("test", 0.0)),
                "overhead": max(0.0, total - loops),
                "finished": float(done.get("finished", 0.0)),
            }
        )
    return sorted(rows, key=lambda r: (r["finished"], r["seed"], r["subject"]))


def summarize(rows: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    """Folds per minute over the wall time, medians of the steady folds (all but the first)."""
    steady = rows[1:] or rows
    median = {
        key: statistics.median(r[key] for r in steady)
        for key in ("total", "build", "train", "test", "overhead")
    }
    return {
        "folds": len(rows),
        "wall_s": round(wall, 1),
        "folds_per_min": round(60.0 * len(rows) / wall, 2) if wall > 0 else float("nan"),
        "first_fold": rows[0] if rows else None,
        "median_steady_fold": {k: round(v, 2) for k, v in median.items()},
    }


def run(args: argparse.Namespace, overrides: list[str]) -> int:
    """``bench loso`` with its parsed options and the LightningCLI overrides; returns the exit code."""

    from mer_contrast import loso
    from mer_contrast.loggers.quiet import quiet_run

    if args.root is not None:
        overrides.insert(0, f"--data.init_args.root={args.root}")
    if args.out.exists():
        shutil.rmtree(args.out)
    options = loso.LosoOptions(
        configs=args.config, overrides=overrides, out=args.out, max_folds=args.max_folds,
        seeds=args.seeds, selection="honest", parallel_gpus=args.parallel_gpus,
        procs_per_gpu=args.procs_per_gpu, procs=getattr(args, "procs", None),
    )  # fmt: skip
    started = time.perf_counter()
    with quiet_run():  # as `loso`: each log line once, no Lightning tips
        code = loso.run(options)  # as `mer-contrast loso` runs it
    wall = time.perf_counter() - started
    rows = fold_timings(args.out)
    if not rows:
        print("error: no fold finished; see the log above", file=sys.stderr)
        return 1
    result = summarize(rows, wall)
    (args.out / "bench_loso.json").write_text(json.dumps(result, indent=1) + "\n")
    steady = result["median_steady_fold"]
    first = result["first_fold"]
    print(
        f"bench loso: {result['folds']} folds in {result['wall_s']:.0f} s = "
        f"{result['folds_per_min']:.2f} folds/min\n"
        f"  first fold: {first['total']:.1f} s (build {first['build']:.1f}, train {first['train']:.1f}, "
        f"test {first['test']:.1f}; includes one-off costs)\n"
        f"  median of the other folds: {steady['total']:.1f} s = train {steady['train']:.1f} + test "
        f"{steady['test']:.1f} + overhead {steady['overhead']:.1f} (of which build {steady['build']:.1f})"
    )
    return code
