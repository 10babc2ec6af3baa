"""A run's folder: one process at a time (the lock on --out, a fold's lock), and no traceback for an
--out that is a file or read-only, a broken YAML config or a garbled done.json."""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Any

import pytest
from lock_holder import hold_in_another_process
from read_only import refuse_writes_in

from mer_contrast.cli import loso as loso_cli
from mer_contrast.loso.plan import FoldSpec, LosoOptions, RunPlan
from mer_contrast.loso.provenance import find_conflicts
from mer_contrast.loso.runner import is_done

from .helpers import CONF, overrides

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return [line for line in captured.err.splitlines() if line.startswith("error:")]


def test_a_second_loso_on_one_out_is_refused_at_once_naming_the_first(
    base_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    first = f"mer-contrast loso --config casme2.yaml --out {out}"
    holder = hold_in_another_process(out, first)
    try:
        argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(out), "--max-folds", "1"]
        assert loso_cli.main([*argv, "--", *overrides(base_args), "--trainer.max_epochs=1"]) == 2
    finally:
        holder.kill()
        holder.wait()
    [line] = _error_lines(capsys)
    assert line.startswith(f"error: {out} is in use by pid {holder.pid} on ")
    assert first in line and "pass another --out" in line
    assert not (out / "loso.json").exists()  # refused before the plan: nothing of the run written


def test_a_fold_another_process_runs_is_left_to_it(
    base_args: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    holder = hold_in_another_process(out / "seed0", "mer-contrast loso --fold-index 0", ".sub01.lock")
    try:
        argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(out), "--fold-index", "0"]
        assert loso_cli.main([*argv, "--", *overrides(base_args), "--trainer.max_epochs=1"]) == 1
    finally:
        holder.kill()
        holder.wait()
    assert f"seed0/sub01: {out / 'seed0'} is in use by pid {holder.pid}" in caplog.text
    assert not (out / "seed0" / "sub01").exists()  # untouched: the holder's


def test_an_out_that_is_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").write_text("")
    assert loso_cli.main(["--config", str(CONF / "casme2.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert _error_lines(capsys) == [f"error: {tmp_path / 'out'}: is a file, not a folder; pass another --out"]


def test_a_read_only_out_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    refuse_writes_in(read_only, monkeypatch)
    assert loso_cli.main(["--config", str(CONF / "casme2.yaml"), "--out", str(read_only)]) == 2
    assert _error_lines(capsys) == [
        f"error: {read_only}: cannot be written (Read-only file system); pass another --out"
    ]


def test_a_broken_yaml_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text("trainer:\n  max_epochs: [1\nmodel: x\n")
    assert loso_cli.main(["--config", str(config), "--out", str(tmp_path / "run")]) == 2
    assert _error_lines(capsys) == [f"error: {config}:3: not valid YAML (expected ',' or ']', but got ':')"]


def test_a_garbled_done_json_is_a_fold_not_done_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plan = RunPlan(
        out=tmp_path, experiment="x", classes=["a", "b"], subjects=["sub01"], seeds=[0], val_strategy="none",
        logger="none", config_hash="h", folds=[FoldSpec(0, 0, "sub01")],
    )  # fmt: skip
    done = tmp_path / "seed0" / "sub01" / "done.json"
    done.parent.mkdir(parents=True)
    done.write_text('{"subject": "sub01", "config_')
    options = LosoOptions(configs=["x.yaml"], out=tmp_path)
    with caplog.at_level(logging.WARNING, logger="mer_contrast"):
        assert not is_done(plan, options, plan.folds[0])
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(f"redoing seed0/sub01: {done}: not valid JSON")
    assert not find_conflicts(tmp_path, "h", None).other_config  # not another config's fold either


def test_a_full_disk_at_checkpoint_time_is_one_line_naming_the_fold(
    base_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    def full_disk(obj: Any, handle: Any, *args: Any, **kwargs: Any) -> None:
        handle.write(b"PK\x03\x04" * 64)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    out = tmp_path / "run"
    argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(out), "--max-folds", "1"]
    assert loso_cli.main([*argv, "--", *overrides(base_args), "--trainer.max_epochs=1"]) == 1
    assert _error_lines(capsys) == [
        f"error: {out / 'seed0' / 'sub01'}: no space left to write the checkpoint last.ckpt; "
        "free space there or write the run elsewhere (--out, --trainer.default_root_dir); "
        "nothing was left under its name; "
        "finished folds are kept, rerun to resume"
    ]
    assert not list(out.glob("seed0/sub01/*.ckpt")) and not list(out.glob("seed0/sub01/.*.tmp"))


def test_a_full_disk_in_fit_is_one_line_naming_the_folder(
    base_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from mer_contrast.cli.main import main

    def full_disk(obj: Any, handle: Any, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.chdir(tmp_path)  # the config's CSVLogger writes under ./lightning_logs
    monkeypatch.setattr(torch, "save", full_disk)
    fold = [*base_args, "--data.init_args.test_subject=sub02", "--trainer.max_epochs=1"]
    assert main(["fit", *fold]) == 1
    [line] = _error_lines(capsys)
    assert line.startswith("error: ") and "checkpoints: no space left to write the checkpoint" in line
    assert not list(tmp_path.glob("lightning_logs/**/*.ckpt"))
