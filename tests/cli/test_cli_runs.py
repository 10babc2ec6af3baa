"""``fit``, ``test``, ``predict`` and ``loso`` through the console script for each database's tiny config.

As torchgeo's ``tests/test_main.py``: every ``tests/conf/<db>.yaml`` (the shipped parts, shrunk) runs
end to end on synthetic data in that database's real layout: a fold is fitted, its checkpoint is
tested and predicts, and ``loso`` runs a fold and pools its report. CAS(ME)^3 and MEGC2019 have no
synthetic layout (their readers are tested on sheet builders in ``tests/datasets``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_bert_model import save_tiny_bert

from mer_contrast.cli.main import main
from mer_contrast.datamodules import MERDataModule
from mer_contrast.synth import generate

CONF = Path(__file__).resolve().parents[1] / "conf"
WORDS = "inner outer brow raiser lowerer lip corner puller depressor chin cheek lid tightener nose".split()
PROTOCOLS = {"casme2": "casme2-5class", "mmew": "mmew", "samm": "samm-5class"}


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), WORDS)


@pytest.mark.parametrize("dataset", sorted(PROTOCOLS))
def test_fit_test_and_predict_each_database_through_the_console_script(
    dataset: str, tiny_bert: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / dataset
    generate(dataset, root, subjects=3, clips_per_subject=4, size=32, frames=(6, 10), seed=0)  # type: ignore[arg-type]
    held_out = MERDataModule(dataset=dataset, root=str(root), protocol=PROTOCOLS[dataset]).folds()[0]  # type: ignore[arg-type]
    monkeypatch.chdir(tmp_path)  # the configs' relative log folders land here
    args = [
        "--config", str(CONF / f"{dataset}.yaml"),
        f"--data.init_args.root={root}",
        f"--data.init_args.cache_dir={tmp_path / 'cache'}",
        f"--data.init_args.test_subject={held_out}",
        f"--model.init_args.text.init_args.model={tiny_bert}",
        f"--trainer.default_root_dir={tmp_path / 'runs'}",
    ]  # fmt: skip
    assert main(["fit", *args]) == 0
    checkpoints = sorted(tmp_path.rglob("*.ckpt"))
    assert checkpoints, f"fit wrote no checkpoint under {tmp_path}"
    assert main(["test", *args, f"--ckpt_path={checkpoints[-1]}"]) == 0
    logged = " ".join(path.read_text() for path in tmp_path.rglob("metrics.csv"))
    assert "test_uf1" in logged and "train_contrastive" in logged  # the held-out subject was scored
    assert main(["predict", *args, f"--ckpt_path={checkpoints[-1]}"]) == 0
    loso_out = tmp_path / "loso"
    config = args[1]  # the runner sets each fold's test subject and folder itself
    overrides = [
        a for a in args[2:] if not a.startswith(("--data.init_args.test_subject", "--trainer.default"))
    ]
    assert (
        main(["loso", "--config", config, "--out", str(loso_out), "--max-folds", "1", "--", *overrides]) == 0
    )
    summary = json.loads((loso_out / "summary.json").read_text())
    assert [fold["subject"] for fold in summary["honest"]["per_fold"]] == [held_out]
    if dataset == "casme2":  # clip folders without a sheet: the clip settings come from the checkpoint
        folder = root / "Cropped" / held_out
        out = tmp_path / "clips"
        assert (
            main(
                [
                    "predict",
                    str(folder),
                    f"--ckpt_path={checkpoints[-1]}",
                    "--crop",
                    "none",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        assert len((out / f"{folder.name}_clips.csv").read_text().splitlines()) > 1
