"""Exact DDP evaluation through the real console script: 2 gloo processes count every clip once.

``configs/trainer/ddp.yaml`` fits on the CPU (``--trainer.accelerator cpu``: SyncBatchNorm is turned
off there, it raises off the GPU), and ``mer-contrast test`` of its checkpoint on 2 processes logs the
same test metrics and writes the same per-clip CSV as on 1 process. The held-out subject has an odd
number of clips, so torch's padded ``DistributedSampler`` would count one twice.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tiny_bert_model import save_tiny_bert

from mer_contrast.cli.main import main
from mer_contrast.datamodules import MERDataModule
from mer_contrast.loso.store import read_predictions
from mer_contrast.synth import generate

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "tests" / "conf" / "casme2.yaml"
WORDS = "inner outer brow raiser lowerer lip corner puller depressor chin cheek lid tightener nose".split()
TWO_PROCESSES = [
    "--config", str(REPO / "configs" / "trainer" / "ddp.yaml"),
    "--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.precision=32-true",
    "--data.init_args.batch_size=2",  # ddp.yaml's 8 per process is more than the tiny fold has
]  # fmt: skip
LOGGED = ("test_acc", "test_uf1", "test_uar", "test_loss")


def run_script(args: list[str]) -> str:
    """``python -m mer_contrast ARGS`` from the checkout (Lightning starts rank 1 the same way); stdout."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mer_contrast", *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def logged_metrics(logs: Path) -> dict[str, float]:
    """The test metrics a CSVLogger wrote under ``logs`` (one test run)."""
    (path,) = logs.glob("*/version_*/metrics.csv")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {name: float(next(row[name] for row in rows if row.get(name))) for name in LOGGED}


@pytest.fixture(scope="module")
def ddp_fold(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fold of the tiny config fitted with ddp.yaml on 2 CPU processes; its test arguments."""
    tmp = tmp_path_factory.mktemp("ddp")
    root = tmp / "casme2"
    generate("casme2", root, subjects=3, clips_per_subject=5, size=32, frames=(6, 10), seed=0)
    (tmp / "bert").mkdir()
    held_out = MERDataModule(dataset="casme2", root=str(root), protocol="casme2-5class").folds()[0]
    args = [
        "--config", str(CONF),
        f"--data.init_args.root={root}",
        f"--data.init_args.cache_dir={tmp / 'cache'}",
        f"--data.init_args.test_subject={held_out}",
        f"--model.init_args.text.init_args.model={save_tiny_bert(tmp / 'bert', WORDS)}",
    ]  # fmt: skip
    printed = run_script(["fit", *args, *TWO_PROCESSES, f"--trainer.default_root_dir={tmp / 'fold'}",
                          "--trainer.logger=false"])  # fmt: skip
    last = tmp / "fold" / "last.ckpt"
    assert f"checkpoint: {last}" in printed.splitlines()  # printed once, by rank zero
    return {"args": [*args, f"--ckpt_path={last}"], "tmp": tmp, "csv": tmp / "fold" / "predictions_test.csv"}


def test_two_process_test_logs_and_writes_what_one_process_does(ddp_fold: dict[str, Any]) -> None:
    tmp, args = ddp_fold["tmp"], ddp_fold["args"]
    assert main(["test", *args, f"--trainer.logger.init_args.save_dir={tmp / 'one'}"]) == 0
    one_rows, one = read_predictions(ddp_fold["csv"]), logged_metrics(tmp / "one")
    assert len(one_rows) == 5  # odd: a padded sampler would repeat a clip on 2 processes

    run_script(["test", *args, *TWO_PROCESSES, f"--trainer.logger.init_args.save_dir={tmp / 'two'}"])
    two_rows, two = read_predictions(ddp_fold["csv"]), logged_metrics(tmp / "two")
    assert [row["clip_id"] for row in two_rows] == [row["clip_id"] for row in one_rows]
    assert [row["pred"] for row in two_rows] == [row["pred"] for row in one_rows]
    for name in LOGGED:
        assert two[name] == pytest.approx(one[name], rel=1e-5, abs=1e-6), name
