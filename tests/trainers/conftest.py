"""Fixtures of the checkpoint tests: a tiny synthetic CASME II, a tiny BERT and one `mer-contrast fit`.

The CLI cases run the real ``mer-contrast`` entry (``mer_contrast.cli.main.main``) on tests/conf/casme2.yaml,
as `mer-contrast fit|test|predict` would; the fit is shared by tests/trainers/test_checkpoint*.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tiny_bert_model import save_tiny_bert

from mer_contrast.cli.main import main
from mer_contrast.synth import generate

CONF = Path(__file__).resolve().parents[1] / "conf"
WORDS = "inner outer brow raiser lowerer lip corner puller depressor chin cheek lid tightener nose".split()


@pytest.fixture(scope="session")
def cli_args(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """tests/conf/casme2.yaml on 3 subjects x 3 clips (32 px), a tiny BERT, one flow cache, fold sub02."""
    root = tmp_path_factory.mktemp("ckpt_data") / "casme2"
    generate("casme2", root, subjects=3, clips_per_subject=3, size=32, frames=(6, 10), seed=0)
    bert = save_tiny_bert(tmp_path_factory.mktemp("ckpt_bert"), WORDS)
    return [
        "--config", str(CONF / "casme2.yaml"),
        f"--data.init_args.root={root}",
        f"--data.init_args.cache_dir={tmp_path_factory.mktemp('ckpt_cache')}",
        f"--model.init_args.text.init_args.model={bert}",
        "--data.init_args.test_subject=sub02",
    ]  # fmt: skip


@pytest.fixture(scope="session")
def fitted(cli_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkpoint of `mer-contrast fit` (one epoch)."""
    run = tmp_path_factory.mktemp("ckpt_fit")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(run)  # the config's CSVLogger writes under ./lightning_logs
        assert main(["fit", *cli_args]) == 0
    (path,) = run.glob("lightning_logs/**/last.ckpt")  # beside Lightning's epoch=0-step=N.ckpt
    return path


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path
