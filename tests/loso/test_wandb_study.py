"""`mer-contrast loso` with the W&B logger, offline: one run per fold, the study's summary run in their
group, no W&B banners, and `wandb sync` accepting the runs (its dry run: no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mer_contrast.cli import report as report_cli
from mer_contrast.loggers import OfflineSafeWandbLogger
from mer_contrast.loggers.quiet import quiet_wandb
from mer_contrast.loso.wandb_study import log_study

from .helpers import CONF, overrides

WANDB_LOGGER = {"class_path": "mer_contrast.loggers.OfflineSafeWandbLogger", "init_args": {"project": "p"}}
# W&B's own lines: the version banner, the sync hints, the run history and summary, the deprecation.
BANNERS = ("wandb:", "Tracking run with wandb", "View project at", "You can sync this run", "anonymous")


@pytest.fixture(scope="module")
def study(base_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A 2-fold, 2-epoch `loso` with the W&B logger offline, as a real process; its folder and output."""
    tmp = tmp_path_factory.mktemp("wandb_study")
    out = tmp / "studyrun"
    argv = [sys.executable, "-m", "mer_contrast", "loso", "--config", str(CONF / "casme2.yaml")]
    argv += ["--out", str(out), "--folds", "sub01,sub02", "--selection", "both", "--"]
    argv += [*overrides(base_args), "--trainer.max_epochs=2", f"--trainer.logger={json.dumps(WANDB_LOGGER)}"]
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SILENT"}  # the tests' conftest sets it
    env |= {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp / "wandb_dir")}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout + done.stderr


def _summary_run(out: Path) -> Path:
    runs = sorted((out / "wandb").glob("offline-run-*-summary-*"))
    assert len(runs) == 1, sorted(p.name for p in (out / "wandb").iterdir())
    return runs[0]


def test_loso_prints_no_wandb_banner_and_says_where_the_runs_are(study: tuple[Path, str]) -> None:
    _, output = study
    assert [line for line in output.splitlines() if line.startswith(BANNERS)] == []
    hint = [line for line in output.splitlines() if "wandb sync" in line]
    assert len(hint) == 1 and "3 offline run(s)" in hint[0]  # two folds and the study
    assert len([line for line in output.splitlines() if line.startswith("LOSO")]) == 2  # one per fold


def test_the_summary_run_holds_the_pooled_study(study: tuple[Path, str]) -> None:
    out, _ = study
    summary = json.loads((out / "summary.json").read_text())
    run = _summary_run(out)
    record = next(run.glob("*.wandb")).read_bytes()  # W&B's transaction log of the run
    for key in ("honest", "oracle"):
        for name in ("uf1", "uar", "accuracy"):
            value = summary[key]["pooled"][name]
            assert f"{key}/{name}".encode() in record and json.dumps(value).encode() in record
    assert b"studyrun" in record and b"studyrun-summary" in record  # the folds' group, its own name
    media = run / "files" / "media"
    predictions = json.loads(next((media / "table" / "honest").glob("predictions_*.table.json")).read_text())
    assert len(predictions["data"]) == summary["honest"]["pooled"]["n"]
    assert predictions["columns"][:5] == ["seed", "subject", "clip_id", "label", "pred"]
    per_fold = json.loads(next((media / "table").glob("per_fold_*.table.json")).read_text())
    assert len(per_fold["data"]) == 4  # 2 folds x (honest, oracle)
    assert list((media / "table" / "oracle").glob("confusion_matrix_table_*.table.json"))  # W&B's plot
    figures = {p.name.rsplit("_", 2)[0] for p in (media / "images" / "figures").glob("*.png")}
    assert {"confusion_honest", "confusion_oracle", "per_fold", "per_class", "joint_space"} <= figures


def test_wandb_sync_accepts_the_offline_runs(study: tuple[Path, str]) -> None:
    out, _ = study
    runs = sorted(str(p) for p in (out / "wandb").glob("offline-run-*"))
    done = subprocess.run(
        [sys.executable, "-m", "wandb", "sync", "--dry-run", *runs],
        capture_output=True, text=True, timeout=120, env={**os.environ, "WANDB_MODE": "offline"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Would sync 3 run(s)" in done.stdout + done.stderr
    assert _summary_run(out).name in done.stdout + done.stderr


def test_report_wandb_writes_the_study_for_an_existing_run(
    study: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = study
    copy = tmp_path / "studyrun"
    subprocess.run(["cp", "-r", str(out), str(copy)], check=True)
    for run in (copy / "wandb").glob("offline-run-*-summary-*"):
        subprocess.run(["rm", "-r", str(run)], check=True)
    assert report_cli.main([str(copy), "--quiet", "--wandb"]) == 0
    assert "wandb sync" in capsys.readouterr().out
    assert len(list((copy / "wandb").glob("offline-run-*-summary-*"))) == 1


def test_no_summary_run_when_wandb_is_disabled(
    study: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = study
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert log_study(out) is None


def test_offline_safe_logger_does_not_pass_the_deprecated_anonymous_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    logger = OfflineSafeWandbLogger(save_dir=str(tmp_path))
    assert "anonymous" not in logger._wandb_init  # W&B warns on every run when it is passed at all


def test_quiet_wandb_silences_and_restores_but_a_users_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    with quiet_wandb():
        assert os.environ["WANDB_SILENT"] == "true"
    assert "WANDB_SILENT" not in os.environ
    monkeypatch.setenv("WANDB_SILENT", "false")
    with quiet_wandb():
        assert os.environ["WANDB_SILENT"] == "false"


def test_each_fold_keeps_its_test_clips_joint_embeddings(study: tuple[Path, str]) -> None:
    from mer_contrast.loso.joint_space import EMBEDDINGS_FILE, read_embeddings
    from mer_contrast.loso.store import read_predictions

    out, _ = study
    for subject in ("sub01", "sub02"):
        folder = out / "seed0" / subject
        arrays = read_embeddings(folder / EMBEDDINGS_FILE)
        clips = [row["clip_id"] for row in read_predictions(folder / "predictions_honest.csv")]
        assert sorted(arrays["video_clip"].tolist()) == sorted(clips)  # one row per test clip
        assert arrays["video"].shape == (len(clips), 16)  # tests/conf: embed_dim 16
        norms = (arrays["video"].astype("float32") ** 2).sum(1)
        assert norms == pytest.approx(1.0, abs=1e-2)  # normalised, as the joint space scores them
        assert len(arrays["text"]) == len(set(arrays["text_sentence"].tolist())) > 0
        assert set(arrays["text_label"].tolist()) <= set(range(len(arrays["classes"])))
