"""Session fixtures of the LOSO/CLI tests: a tiny synthetic CASME II, its flow cache, a tiny BERT."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_bert_model import save_tiny_bert

from mer_contrast.synth import generate

from .helpers import CONF

WORDS = "inner outer brow raiser lowerer lip corner puller depressor chin cheek lid tightener nose".split()


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, hidden-32 random BERT saved like a hub checkpoint (no network)."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), WORDS)


@pytest.fixture(scope="session")
def casme2_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 subjects x 3 clips in the CASME II layout, 32 px faces."""
    root = tmp_path_factory.mktemp("loso_data") / "casme2"
    generate("casme2", root, subjects=3, clips_per_subject=3, size=32, frames=(6, 10), seed=0)
    return root


@pytest.fixture(scope="session")
def base_args(casme2_root: Path, tiny_bert: str, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """LightningCLI arguments of tests/conf/casme2.yaml on the tiny data (one flow cache per session)."""
    cache = tmp_path_factory.mktemp("loso_cache")
    return [
        "--config", str(CONF / "casme2.yaml"),
        f"--data.init_args.root={casme2_root}",
        f"--data.init_args.cache_dir={cache}",
        f"--model.init_args.text.init_args.model={tiny_bert}",
    ]  # fmt: skip
