"""The real CLI on the tiny config: `fit` -> `test` -> `predict`, and `loso` with resume and labels."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mer_contrast.cli import loso as loso_cli
from mer_contrast.cli import report as report_cli
from mer_contrast.cli.main import main
from mer_contrast.loso import report
from mer_contrast.loso.store import read_predictions
from mer_contrast.synth.sheets import SAMM_HEADER

from .helpers import CONF, overrides

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CLASSES = ["happiness", "disgust", "repression", "surprise", "others"]


def test_fit_test_predict_through_main(
    base_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the config's CSVLogger writes under ./lightning_logs
    fold = [*base_args, "--data.init_args.test_subject=sub02"]
    assert main(["fit", *fold, "--trainer.max_epochs=2"]) == 0
    checkpoints = sorted(tmp_path.glob("lightning_logs/**/last.ckpt"))  # beside epoch=1-step=N.ckpt
    assert len(checkpoints) == 1
    assert main(["test", *fold, f"--ckpt_path={checkpoints[0]}"]) == 0
    assert main(["predict", *fold, f"--ckpt_path={checkpoints[0]}"]) == 0
    logged = [
        row for path in tmp_path.glob("lightning_logs/**/metrics.csv") for row in csv.DictReader(open(path))
    ]
    assert any(row.get("test_uf1") for row in logged) and any(row.get("train_loss_epoch") for row in logged)


@pytest.fixture(scope="module")
def loso_run(base_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("loso") / "tiny"
    argv = [
        "--config",
        str(CONF / "casme2.yaml"),
        "--out",
        str(out),
        "--folds",
        "sub01,sub02",
        "--selection",
        "both",
    ]
    assert loso_cli.main([*argv, "--", *overrides(base_args), "--trainer.max_epochs=2"]) == 0
    return out


def test_loso_writes_labelled_honest_and_oracle_outputs(loso_run: Path) -> None:
    summary = json.loads((loso_run / "summary.json").read_text())
    assert (
        summary["classes"] == CLASSES and summary["folds"] == ["sub01", "sub02"] and summary["seeds"] == [0]
    )
    assert summary["complete"] and summary["config"][0].endswith("casme2.yaml") and summary["date"]
    for key, label in (("honest", "honest (fixed epoch budget: last epoch)"),
                       ("oracle", "oracle (test-set selection, optimistic)")):  # fmt: skip
        section = summary[key]
        assert section["selection"] == label and section["optimistic"] == (key == "oracle")
        assert set(section["pooled"]) == {"accuracy", "uf1", "uar", "n"} and section["pooled"]["n"] == 6
        assert [f["subject"] for f in section["per_fold"]] == ["sub01", "sub02"]
        assert set(section["seeds"]) == {"mean", "std"}
        assert set(section["per_fold"][0]) >= {"subject", "n", "accuracy", "uf1", "uar"}
        assert (loso_run / f"confusion_{key}.png").is_file()
    markdown = (loso_run / "summary.md").read_text()
    assert "## Oracle (test-set selection, optimistic)" in markdown and "## Honest" in markdown

    fold = loso_run / "seed0" / "sub01"
    assert (fold / "last.ckpt").is_file() and not (fold / "best.ckpt").exists()
    done = json.loads((fold / "done.json").read_text())
    assert (
        done["subject"] == "sub01"
        and done["epochs_trained"] == 2
        and set(done["selections"]) == {"honest", "oracle"}
    )
    header = next(csv.reader(open(fold / "predictions_oracle.csv")))
    assert header == [
        "subject",
        "clip_id",
        "label",
        "pred",
        *(f"prob_{c}" for c in CLASSES),
        "epoch",
        "seed",
        "selection",
    ]
    honest = read_predictions(fold / "predictions_honest.csv")
    oracle = read_predictions(fold / "predictions_oracle.csv")
    assert {r["selection"] for r in oracle} == {"oracle (test-set selection, optimistic)"}
    assert {r["epoch"] for r in honest} == {1} and {r["subject"] for r in honest} == {"sub01"}
    # The recorded last-epoch test pass saw the same weights as the honest test: same probabilities.
    every = read_predictions(fold / "predictions_per_epoch.csv")
    last = {r["clip_id"]: r for r in every if r["epoch"] == 1}
    assert {r["epoch"] for r in every} == {0, 1}
    for row in honest:
        for name in CLASSES:
            assert float(row[f"prob_{name}"]) == pytest.approx(
                float(last[row["clip_id"]][f"prob_{name}"]), abs=1e-4
            )
    chosen = {r["clip_id"]: r["pred"] for r in every if r["epoch"] == oracle[0]["epoch"]}
    assert {r["clip_id"]: r["pred"] for r in oracle} == chosen


def test_loso_rerun_skips_finished_folds(
    loso_run: Path, base_args: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    stamps = {p: p.stat().st_mtime_ns for p in loso_run.glob("seed0/*/done.json")}
    argv = [
        "--config",
        str(CONF / "casme2.yaml"),
        "--out",
        str(loso_run),
        "--folds",
        "sub01,sub02",
        "--selection",
        "both",
    ]
    assert loso_cli.main([*argv, "--", *overrides(base_args), "--trainer.max_epochs=2"]) == 0
    assert {p: p.stat().st_mtime_ns for p in loso_run.glob("seed0/*/done.json")} == stamps
    assert "2 of 2 folds already done" in caplog.text
    assert report_cli.main([str(loso_run), "--quiet", "--no-plots"]) == 0


def test_rerun_with_other_settings_never_pools_two_configs(
    loso_run: Path, base_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "copy"
    shutil.copytree(loso_run, out)
    argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(out), "--selection", "both"]
    other = [*overrides(base_args), "--trainer.max_epochs=1"]
    before = {p: p.read_bytes() for p in out.glob("seed0/*/*.csv")}
    assert loso_cli.main([*argv, "--folds", "sub01", "--", *other]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2 finished fold(s) of another config" in err and "--force" in err
    assert {p: p.read_bytes() for p in out.glob("seed0/*/*.csv")} == before  # nothing touched

    # --force redoes sub01 under the new config; sub02 (old config) is reported, never pooled.
    assert loso_cli.main([*argv, "--folds", "sub01", "--force", "--", *other]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["folds"] == ["sub01"] and summary["folds_done"] == 1 and summary["complete"]
    assert [e.split(":")[0] for e in summary["excluded"]] == ["seed0/sub02"]
    assert "another config" in summary["excluded"][0]
    assert (
        summary["honest"]["pooled"]["n"] == json.loads((out / "seed0/sub01/done.json").read_text())["n_test"]
    )


def test_fold_with_short_predictions_is_redone(
    loso_run: Path, base_args: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "copy"
    shutil.copytree(loso_run, out)
    honest = out / "seed0" / "sub02" / "predictions_honest.csv"
    lines = honest.read_text().splitlines(keepends=True)
    honest.write_text("".join(lines[:-1]))  # one clip lost
    summary = report.summarize(out)
    assert "seed0/sub02" in summary["missing"] and "says n_test" in summary["excluded"][0]
    argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(out), "--folds", "sub01,sub02"]
    argv += ["--selection", "both", "--", *overrides(base_args), "--trainer.max_epochs=2"]
    assert loso_cli.main(argv) == 0
    assert "redoing seed0/sub02" in caplog.text and "says n_test" in caplog.text
    assert len(honest.read_text().splitlines()) == len(lines)
    assert report.summarize(out)["complete"]


def test_fold_index_with_holdout_validation_then_test_selection(
    base_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(tmp_path / "run")]
    holdout = ["--data.init_args.val_strategy=holdout_subjects", "--data.init_args.val_subjects=1"]
    assert loso_cli.main([*argv, "--fold-index", "2", "--", *overrides(base_args), *holdout]) == 0
    assert [p.parent.name for p in (tmp_path / "run").glob("seed0/*/done.json")] == ["sub03"]
    assert not (tmp_path / "run" / "summary.json").exists()  # --fold-index runs one fold and exits
    fold = tmp_path / "run" / "seed0" / "sub03"
    done = json.loads((fold / "done.json").read_text())
    assert done["selections"]["honest"]["label"] == "honest (best val_uf1 on held-out training subjects)"
    assert (fold / "best.ckpt").is_file() and (fold / "last.ckpt").is_file()

    # val_strategy=test is test-set selection: stored as test_selected, never as honest.
    out = tmp_path / "test_selected"
    argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(out), "--max-folds", "1"]
    assert loso_cli.main([*argv, "--", *overrides(base_args), "--data.init_args.val_strategy=test"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "honest" not in summary and summary["test_selected"]["optimistic"]
    assert "optimistic" in summary["test_selected"]["selection"]
    rows = read_predictions(out / "seed0" / "sub01" / "predictions_test_selected.csv")
    assert all("optimistic" in r["selection"] for r in rows)


def test_bad_arguments_fail_with_one_line(base_args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--config", str(CONF / "casme2.yaml"), "--folds", "sub99", "--", *overrides(base_args)]
    assert loso_cli.main(argv) == 2
    assert "sub99: not a fold of this dataset" in capsys.readouterr().err
    assert loso_cli.main(["--config", "nope.yaml"]) == 2
    assert "nope.yaml: config file not found" in capsys.readouterr().err


def test_demo_end_to_end_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mer_contrast.cli import demo

    monkeypatch.chdir(tmp_path)
    argv = ["--out", "out", "--data", "data", "--subjects", "3", "--clips-per-subject", "3", "--folds", "2"]
    assert demo.main([*argv, "--epochs", "1"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {"honest", "oracle", "chance"} <= set(summary) and len(summary["honest"]["per_fold"]) == 2
    printed = capsys.readouterr().out
    assert "generated 3 subjects x 3 clips" in printed and "chance: majority class" in printed
    assert "peer 1 (onset->apex TV-L1 flow" in printed
    assert demo.main([*argv, "--epochs", "1"]) == 0  # rerun: data reused, folds skipped
    assert "reusing synthetic data" in capsys.readouterr().out


def test_parallel_gpus_runs_folds_as_subprocesses(base_args: list[str], tmp_path: Path) -> None:
    # On CPU the "GPU" is only a CUDA_VISIBLE_DEVICES value; the child runs the same --fold-index path.
    out = tmp_path / "parallel"
    argv = [
        "--config",
        str(CONF / "casme2.yaml"),
        "--out",
        str(out),
        "--max-folds",
        "2",
        "--parallel-gpus",
        "2",
    ]
    assert loso_cli.main([*argv, "--", *overrides(base_args)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and [f["subject"] for f in summary["honest"]["per_fold"]] == ["sub01", "sub02"]
    assert (out / "seed0" / "sub01.log").is_file()


def sigterm_when(argv: list[str], cwd: Path, ready: Callable[[], bool], settle: float) -> tuple[int, str]:
    """Run ``mer-contrast argv`` as a real process, send it SIGTERM once ``ready()`` and ``settle`` s
    more have passed (into the training loop), and return its status and stderr."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WANDB_MODE": "offline"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mer_contrast.cli.main", *argv],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not ready() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(settle)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def test_sigterm_during_loso_exits_non_zero_and_leaves_the_fold_unfinished(
    base_args: list[str], tmp_path: Path
) -> None:
    # A real process and a real signal: what SLURM and Kubernetes send before they kill a job.
    out = tmp_path / "term"
    argv = ["loso", "--config", str(CONF / "casme2.yaml"), "--out", str(out), "--max-folds", "1", "--"]
    argv += [*overrides(base_args), "--trainer.max_epochs=100000"]
    code, err = sigterm_when(argv, tmp_path, (out / "seed0" / "sub01").is_dir, settle=3)
    assert code == 143, err[-2000:]
    assert "terminated (SIGTERM)" in err
    assert not (out / "seed0" / "sub01" / "done.json").exists()  # the fold is not passed off as done
    # The rerun resumes: the interrupted fold is trained again and finished.
    again = [a if a != "--trainer.max_epochs=100000" else "--trainer.max_epochs=1" for a in argv]
    assert main(again) == 0  # the config changed (max_epochs): --force is not needed, nothing was done
    assert (out / "seed0" / "sub01" / "done.json").is_file()


def test_sigterm_during_fit_exits_143(base_args: list[str], tmp_path: Path) -> None:
    argv = ["fit", *base_args, "--trainer.max_epochs=100000"]
    code, err = sigterm_when(argv, tmp_path, lambda: bool(list(tmp_path.rglob("metrics.csv"))), settle=2)
    assert code == 143, err[-2000:]
    assert "terminated (SIGTERM) during `fit`; the run did not finish" in err


def test_environment_fault_in_a_fold_stops_loso_in_one_line(
    base_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mer_contrast.clips.errors import EnvironmentFault
    from mer_contrast.loso import schedule

    calls = []
    fault = "/cache: disk full (No space left on device); free space"

    def full_disk(*args: object) -> None:
        calls.append(args)
        try:
            raise EnvironmentFault(fault)
        except EnvironmentFault as err:  # as jsonargparse wraps what a constructor raises
            raise ValueError("Problem with given class_path") from err

    monkeypatch.setattr(schedule, "run_fold", full_disk)
    argv = ["loso", "--config", str(CONF / "casme2.yaml"), "--out", str(tmp_path / "o")]
    assert main([*argv, "--", *overrides(base_args)]) == 1 and len(calls) == 1  # at once, not per fold
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert err == [f"error: {fault}; finished folds are kept, rerun to resume"]


@pytest.mark.parametrize("command", ["fit", "loso"])
def test_uncreatable_cache_folder_is_one_line(
    command: str, base_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    bad = f"--data.init_args.cache_dir={blocker / 'cache'}"
    if command == "fit":
        argv = ["fit", *base_args, bad]
    else:
        argv = ["loso", "--config", str(CONF / "casme2.yaml"), "--out", str(tmp_path / "o"), "--"]
        argv += [*overrides(base_args), bad]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "a_file/cache: cannot create the clip cache folder" in lines[0], err


def test_fit_on_another_databases_sheet_is_one_line(
    base_args: list[str], casme2_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "casme2"
    shutil.copytree(casme2_root, root)
    import openpyxl

    book = openpyxl.Workbook()  # SAMM's columns under CASME II's file name
    book.active.append(SAMM_HEADER)
    book.active.append(["006", "006_1_2", 1, 5086, 5123, 5128, 43, "Micro - 1/2", "4+7", "Anger", 1, ""])
    book.save(root / "CASME2-coding-20140508.xlsx")
    argv = ["fit", *base_args, f"--data.init_args.root={root}"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "looks like the SAMM" in lines[0], err
