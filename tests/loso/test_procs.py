"""Folds side by side on the CPU (``loso --procs N``), one torch thread per fold process (the policy)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from mer_contrast.cli import loso as loso_cli
from mer_contrast.loso import schedule, threads
from mer_contrast.loso.plan import FoldSpec, LosoOptions, RunPlan
from mer_contrast.loso.progress import FoldProgress
from mer_contrast.loso.store import fold_dir, read_predictions, write_json

from .helpers import CONF, overrides

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def specs(count: int) -> list[FoldSpec]:
    return [FoldSpec(i, 0, f"sub{i:02d}") for i in range(count)]


def test_cpu_shares_deal_the_folds_round_robin() -> None:
    shares = schedule.cpu_shares(specs(5), 2)
    assert [[spec.index for spec in share] for share in shares] == [[0, 2, 4], [1, 3]]
    assert len(schedule.cpu_shares(specs(2), 4)) == 2  # never an idle process


def test_default_processes_are_the_free_cores_up_to_the_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.0, 1.0, 1.0))  # idle but for this process
    assert threads.cpu_processes(None, 3) == 3
    assert threads.cpu_processes(None, 26) == 4
    assert threads.cpu_processes(2, 26) == 2  # --procs 2
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (3.2, 3.0, 3.0))  # two cores held elsewhere
    assert threads.cpu_processes(None, 26) == 2
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (9.0, 9.0, 9.0))  # a shared server at load 9
    assert threads.free_cores() == 1 and threads.cpu_processes(None, 26) == 1


def test_children_start_only_when_the_folds_they_save_outlast_a_process_start() -> None:
    # Measured under load: a fold of 2.7 s of CPU, a start of 4.7 s: 3 folds stay here; 26 long ones do not.
    assert not threads.worth_children(4.7, 2.7, remaining=3, children=2)
    assert threads.worth_children(5.0, 10.0, remaining=25, children=2)


def test_the_first_fold_runs_here_then_the_rest_as_decided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here: list[str] = []
    shares: list[tuple[list[int], int]] = []
    monkeypatch.setattr(schedule, "run_fold", lambda options, plan, spec: here.append(spec.subject) or {})

    def run_parallel(plan, rest, argv, gpus, progress, *, cpu_procs, meanwhile):  # type: ignore[no-untyped-def]
        shares.append(([spec.index for spec in rest], cpu_procs))
        meanwhile()  # the folds that do not deal evenly, here while the children start
        return []

    monkeypatch.setattr(schedule, "run_parallel", run_parallel)
    monkeypatch.setattr(threads, "free_cores", lambda: 2)
    folds = specs(4)
    plan = RunPlan(
        out=tmp_path, experiment="x", classes=["a", "b"], subjects=[s.subject for s in folds], seeds=[0],
        val_strategy="none", logger="none", config_hash="h", folds=folds, accelerator="cpu",
    )  # fmt: skip
    options = LosoOptions(configs=["x.yaml"])
    # 3 folds left for 2 processes: one more here, 2 for them (one each), not 2 and 1 with this one idle
    for worth, expected_here, expected_shares in ((True, 2, [([2, 3], 2)]), (False, 4, [])):
        monkeypatch.setattr(threads, "worth_children", lambda *args, worth=worth: worth)
        here.clear()
        shares.clear()
        assert schedule.run_folds(options, plan, report=False) == 0
        assert len(here) == expected_here and here[0] == "sub00" and shares == expected_shares
    here.clear()
    shares.clear()
    assert schedule.run_folds(options, plan, procs=3, report=False) == 0  # asked for: no weighing
    assert here == ["sub00"] and shares == [([1, 2, 3], 3)]


class ShareChild:
    """A ``--fold-index K,L`` child that writes ``done.json`` for its folds, but never for fold 3."""

    launched: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def __init__(self, command: list[str], stdout: object, stderr: object, env: dict[str, str]) -> None:
        indices = command[command.index("--fold-index") + 1]
        ShareChild.launched.append((indices, env))
        self.indices = [int(index) for index in indices.split(",")]
        self.out = Path(command[command.index("--out") + 1])
        self.returncode: int | None = None

    def poll(self) -> int | None:
        for index in self.indices:
            if index != 3:
                folder = fold_dir(self.out, 0, f"sub{index:02d}")
                folder.mkdir(parents=True, exist_ok=True)
                write_json(folder / "done.json", {"selections": {}, "finished": time.time()})
        self.returncode = 1 if 3 in self.indices else 0
        return self.returncode


def test_cpu_children_run_their_share_under_the_thread_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedule.subprocess, "Popen", ShareChild)
    monkeypatch.setattr(schedule.time, "sleep", lambda s: None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    ShareChild.launched = []
    plan = type("Plan", (), {"out": tmp_path})()
    argv = ["--out", str(tmp_path)]
    failed = schedule.run_parallel(plan, specs(5), argv, 0, FoldProgress(5), cpu_procs=2)  # type: ignore[arg-type]
    assert [spec.index for spec in failed] == [3]  # the others of its share are done
    assert [indices for indices, _ in ShareChild.launched] == ["0,2,4", "1,3"]
    for _, env in ShareChild.launched:
        assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1" and env["CUDA_VISIBLE_DEVICES"] == ""
    assert (tmp_path / "seed0" / "sub00+2.log").is_file()  # a share's log: first fold + the others

    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's own count wins
    ShareChild.launched = []
    schedule.run_parallel(plan, specs(2), argv, 0, FoldProgress(2), cpu_procs=2)  # type: ignore[arg-type]
    assert {env["OMP_NUM_THREADS"] for _, env in ShareChild.launched} == {"3"}


def test_folds_run_here_meanwhile_and_a_failure_there_stops_the_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped: list[str] = []
    monkeypatch.setattr(
        ShareChild, "terminate", lambda child: stopped.append(str(child.indices)), raising=False
    )
    monkeypatch.setattr(schedule.subprocess, "Popen", ShareChild)
    monkeypatch.setattr(schedule.time, "sleep", lambda s: None)
    plan = type("Plan", (), {"out": tmp_path})()
    argv = ["--out", str(tmp_path)]
    ran: list[int] = []
    ShareChild.launched = []
    schedule.run_parallel(
        plan, specs(3), argv, 0, FoldProgress(3), cpu_procs=2, meanwhile=lambda: ran.append(1)
    )  # type: ignore[arg-type]
    assert ran == [1] and len(ShareChild.launched) == 2 and not stopped  # after the children started

    def broken() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        schedule.run_parallel(plan, specs(3), argv, 0, FoldProgress(3), cpu_procs=2, meanwhile=broken)  # type: ignore[arg-type]
    assert stopped == ["[0, 2]", "[1]"]  # no child is left running unwatched


def test_folds_in_two_processes_pool_what_one_process_does(
    base_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the config's CSVLogger writes under ./lightning_logs
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # the policy, not the test's environment
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for procs in ("1", "2"):
            argv = ["--config", str(CONF / "casme2.yaml"), "--out", f"procs{procs}"]  # 3 folds
            assert loso_cli.main([*argv, "--procs", procs, "--", *overrides(base_args)]) == 0
            assert torch.get_num_threads() == 2  # this process's count, restored after its folds
    finally:
        torch.set_num_threads(threads)
    for subject in ("sub02", "sub03"):  # the first ran here (it fills the flow cache), these in 2 processes
        assert (tmp_path / "procs2" / "seed0" / f"{subject}.log").is_file()
        assert not (tmp_path / "procs1" / "seed0" / f"{subject}.log").exists()
    for subject in ("sub01", "sub02", "sub03"):
        serial, parallel = (fold_dir(tmp_path / f"procs{p}", 0, subject) for p in (1, 2))
        assert read_predictions(parallel / "predictions_honest.csv") == read_predictions(
            serial / "predictions_honest.csv"
        )
        for folder in (serial, parallel):
            assert json.loads((folder / "done.json").read_text())["torch_threads"] == 1
    pooled = [json.loads((tmp_path / f"procs{p}" / "summary.json").read_text())["honest"] for p in (1, 2)]
    assert pooled[0]["pooled"] == pooled[1]["pooled"]


def test_procs_with_gpu_folds_is_refused_in_one_line(
    base_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(tmp_path / "gpu"), "--procs", "2"]
    assert loso_cli.main([*argv, "--", *overrides(base_args), "--trainer.accelerator=gpu"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--procs 2 runs folds as CPU processes" in line and "--procs-per-gpu 2" in line
