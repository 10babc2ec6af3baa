"""Bad values are refused in one line, where they are taken, before any training (no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_contrast.cli import loso as loso_cli
from mer_contrast.cli.main import main
from mer_contrast.datamodules import MERDataModule

from .helpers import CONF, overrides

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return [line for line in captured.err.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-folds", "-1"], "--max-folds -1: must be at least 1, got -1"),
        (["--max-folds", "0"], "--max-folds 0: must be at least 1, got 0"),
        (["--seeds", "-1"], "--seeds -1: must be at least 0, got -1"),
        (["--seeds", "0,1,0"], "--seeds 0,1,0: 0 is given twice"),
        (["--procs-per-gpu", "0"], "--procs-per-gpu 0: must be at least 1, got 0"),
    ],
)
def test_loso_counts_are_checked_as_they_are_parsed(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert loso_cli.main(["--config", str(CONF / "casme2.yaml"), *flags]) == 2
    assert _error_lines(capsys) == [f"error: {message}"]


def test_a_loso_section_count_names_its_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.yaml"
    config.write_text((CONF / "casme2.yaml").read_text() + "loso:\n  max_folds: -1\n")
    assert loso_cli.main(["--config", str(config)]) == 2
    assert _error_lines(capsys) == [f"error: {config}: loso.max_folds: must be at least 1, got -1"]


def test_loso_refuses_a_budget_of_zero_epochs(
    base_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(out), "--max-folds", "1"]
    assert loso_cli.main([*argv, "--", *overrides(base_args), "--trainer.max_epochs=0"]) == 2
    [line] = _error_lines(capsys)
    assert "trainer.max_epochs is 0: every fold would test an untrained model" in line
    assert not list(out.glob("seed*/*/done.json"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("--data.init_args.image_size=0", "error: data: image_size must be at least 8 pixels, got 0"),
        (
            "--data.init_args.batch_size=0",
            "error: data.batch_size must be a whole number of at least 1, got 0",
        ),
        (
            "--data.init_args.test_subject=sub99",
            "error: data.test_subject 'sub99' is not a subject of this data under protocol casme2-5class; "
            "the subjects are: sub01, sub02, sub03",
        ),
    ],
)
def test_fit_refuses_bad_data_values_in_one_line(
    override: str, message: str, base_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert main(["fit", *base_args, override]) == 2
    assert _error_lines(capsys) == [message]
    assert not list(tmp_path.glob("lightning_logs/**/*.ckpt"))


def test_the_held_out_subject_is_checked_before_the_flow_precompute(
    casme2_root: Path, tmp_path: Path
) -> None:
    from mer_contrast.datasets.errors import DataSettingError  # here: the module collects on older code

    data = MERDataModule(root=str(casme2_root), cache_dir=str(tmp_path / "cache"), test_subject="sub9")
    with pytest.raises(DataSettingError, match="'sub9' is not a subject"):
        data.prepare_data()
    assert not list((tmp_path / "cache").glob("*.npz"))
    with pytest.raises(DataSettingError, match="num_workers must be a whole number of at least 0"):
        MERDataModule(root=str(casme2_root), num_workers=-1)
