"""Smoke run of the training benchmark at toy sizes (slow: it loads the packaged MiniLM several times)."""

from __future__ import annotations

import pytest

from mer_contrast.cli.bench_train import main


@pytest.mark.slow
def test_bench_prints_every_section(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--size", "16", "--frames", "2", "--batch-size", "2", "--backbones", "compact"]
    argv += [
        "--precisions",
        "32-true",
        "--steps",
        "2",
        "--repeats",
        "1",
        "--min-seconds",
        "0.1",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "compact   32-true" in out
    assert "cache on :" in out and "cache off:" in out
    assert "overhead" in out and "% in wall time" in out


def test_bad_options_exit_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--batch-size", "1"])
    assert "--batch-size >= 2" in capsys.readouterr().err
