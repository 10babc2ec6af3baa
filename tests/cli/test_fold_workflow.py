"""A fold run by hand (``fit``, then ``test``/``predict --ckpt_path``) leaves what a LOSO fold leaves.

``fit`` writes ``last.ckpt`` and prints its path, also with ``--trainer.logger false`` and a
``LearningRateMonitor`` (which raises without a logger); ``test`` writes the per-clip CSV in the LOSO
format; ``predict`` writes its rows; a checkpoint tested on one of its own training subjects is
flagged as leakage in one line; ``accelerator: gpu`` without a GPU is a one-line error, and so is
``validate`` where ``val_strategy: none`` leaves no validation split.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from tiny_bert_model import save_tiny_bert

from mer_contrast.cli.main import main
from mer_contrast.datamodules import MERDataModule
from mer_contrast.loso.store import read_predictions
from mer_contrast.synth import generate

CONF = Path(__file__).resolve().parents[1] / "conf"
WORDS = "inner outer brow raiser lowerer lip corner puller depressor chin cheek lid tightener nose".split()


@pytest.fixture(scope="module")
def fold(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fitted fold of the tiny CASME II config: its arguments, subjects and ``fit``'s stdout."""
    tmp = tmp_path_factory.mktemp("fold")
    root = tmp / "casme2"
    generate("casme2", root, subjects=3, clips_per_subject=4, size=32, frames=(6, 10), seed=0)
    (tmp / "bert").mkdir()
    subjects = MERDataModule(dataset="casme2", root=str(root), protocol="casme2-5class").folds()
    args = [
        "--config", str(CONF / "casme2.yaml"),
        f"--data.init_args.root={root}",
        f"--data.init_args.cache_dir={tmp / 'cache'}",
        f"--model.init_args.text.init_args.model={save_tiny_bert(tmp / 'bert', WORDS)}",
        f"--trainer.default_root_dir={tmp / 'runs' / 'fold'}",
        "--trainer.logger=false",
        "--trainer.callbacks+=LearningRateMonitor",  # as configs/casme2.yaml: raises without a logger
    ]  # fmt: skip
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["fit", *args, f"--data.init_args.test_subject={subjects[0]}"])
    return {
        "args": args,
        "subjects": subjects,
        "dir": tmp / "runs" / "fold",
        "fit": (code, printed.getvalue()),
    }


def test_fit_writes_last_ckpt_and_prints_its_path_without_a_logger(fold: dict[str, Any]) -> None:
    code, printed = fold["fit"]
    assert code == 0
    last = fold["dir"] / "last.ckpt"
    assert last.is_file()
    assert f"checkpoint: {last}" in printed.splitlines()


def test_test_writes_the_loso_prediction_csv_and_predict_writes_its_rows(
    fold: dict[str, Any], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    held_out, last = fold["subjects"][0], fold["dir"] / "last.ckpt"
    args = [*fold["args"], f"--data.init_args.test_subject={held_out}", f"--ckpt_path={last}"]
    with caplog.at_level(logging.WARNING):
        assert main(["test", *args]) == 0
    assert "leakage" not in caplog.text  # the fold's own held-out subject
    written = fold["dir"] / "predictions_test.csv"
    assert f"predictions: {written}" in capsys.readouterr().out.splitlines()
    rows = read_predictions(written)  # the reader `report` pools with
    assert len(rows) == 4 and {row["subject"] for row in rows} == {held_out}
    assert all(0 <= row["pred"] < 5 and row["label"] >= 0 for row in rows)

    assert main(["predict", *args]) == 0
    predicted = fold["dir"] / "predictions_predict.csv"
    assert f"predictions: {predicted}" in capsys.readouterr().out.splitlines()
    predict_rows = read_predictions(predicted)
    assert [row["clip_id"] for row in predict_rows] == [row["clip_id"] for row in rows]
    assert [row["pred"] for row in predict_rows] == [row["pred"] for row in rows]  # same weights, same clips
    assert all(row["class_name"] and row["explanation"].startswith("AU") for row in predict_rows)


def test_a_training_subject_is_flagged_as_leakage_in_one_line(
    fold: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    trained_on, last = fold["subjects"][1], fold["dir"] / "last.ckpt"
    args = [*fold["args"], f"--data.init_args.test_subject={trained_on}", f"--ckpt_path={last}"]
    with caplog.at_level(logging.WARNING):
        assert main(["test", *args]) == 0
    leaks = [record.getMessage() for record in caplog.records if "leakage" in record.getMessage()]
    assert len(leaks) == 1 and "\n" not in leaks[0]
    assert f"held out {fold['subjects'][0]}" in leaks[0] and trained_on in leaks[0]
    leaked = read_predictions(fold["dir"] / f"predictions_test_{trained_on}.csv")  # kept apart
    assert {row["subject"] for row in leaked} == {trained_on}


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_accelerator_gpu_without_a_gpu_is_one_line(
    fold: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        *fold["args"],
        f"--data.init_args.test_subject={fold['subjects'][0]}",
        "--trainer.accelerator=gpu",
    ]
    assert main(["fit", *args]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert (
        line.startswith("error: trainer.accelerator gpu: torch sees no GPU")
        and "--trainer.accelerator cpu" in line
    )


def test_validate_without_a_validation_split_says_so_in_one_line(
    fold: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    last = fold["dir"] / "last.ckpt"
    args = [*fold["args"], f"--data.init_args.test_subject={fold['subjects'][0]}", f"--ckpt_path={last}"]
    assert main(["validate", *args]) == 2  # tests/conf/casme2.yaml: val_strategy none
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: validate: data.init_args.val_strategy is none, so this fold has no valid")
    assert "--data.init_args.val_strategy holdout_subjects" in line
    holdout = ["--data.init_args.val_strategy=holdout_subjects", "--data.init_args.val_subjects=1"]
    assert main(["validate", *args, *holdout]) == 0  # with a split it validates
    assert "val_uf1" in capsys.readouterr().out
