"""Runner pieces without training: argument split, loggers per fold, resume hash, parallel scheduling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from lightning.pytorch.loggers import CSVLogger

from mer_contrast.cli.loso import parse_args
from mer_contrast.loso import schedule
from mer_contrast.loso.plan import FoldSpec, LosoOptions
from mer_contrast.loso.progress import FoldProgress
from mer_contrast.loso.runner import build_fold_cli, fold_args, is_done, make_plan
from mer_contrast.loso.schedule import fold_command
from mer_contrast.loso.store import fold_dir, subject_folder, write_json, write_predictions

from .helpers import CONF, overrides

REPO = Path(__file__).resolve().parents[2]


def test_parse_args_splits_overrides() -> None:
    args, extra = parse_args(
        ["-c", "a.yaml", "--seeds", "0,2", "--trainer.max_epochs", "3", "--", "--model.x=1"]
    )
    assert args.config == ["a.yaml"] and args.seeds == [0, 2] and args.selection == "honest"
    assert extra == ["--trainer.max_epochs", "3", "--model.x=1"]  # command-line order: later wins
    with pytest.raises(SystemExit):
        parse_args(["-c", "a.yaml", "--bogus"])
    options = LosoOptions(configs=["a.yaml"], overrides=["--data.x=1"], seeds=[0, 2], max_folds=3)
    child = fold_command(options, force=True)
    assert child[:4] == ["--config", "a.yaml", "--out", str(Path("runs/loso/a"))]
    assert child[-2:] == ["--", "--data.x=1"] and "--force" in child
    assert "--parallel-gpus" not in child and "--fold-index" not in child
    args, extra = parse_args(child)  # a child parses back what the parent decided
    assert args.seeds == [0, 2] and args.max_folds == 3 and args.force and extra == ["--data.x=1"]


def test_each_setting_is_defined_once_as_flag_section_key_and_option() -> None:
    """LosoSettings is the one definition: every field is a flag, and a child parses back its value."""
    import dataclasses

    from mer_contrast.cli.loso import build_parser
    from mer_contrast.loso.options import LosoSettings

    flags = {action.dest for action in build_parser()._actions}
    names = [setting.name for setting in dataclasses.fields(LosoSettings)]
    assert set(names) <= flags and {"config", "fold_index", "force", "no_report"} <= flags
    chosen = {"folds": ["sub02"], "max_folds": 2, "seeds": [3], "selection": "both", "oracle_metric": "uf1"}
    chosen |= {"early_stopping": 4, "keep_best_only": True, "out": "elsewhere"}
    options = LosoOptions(["a.yaml"], ["--x=1"], parallel_gpus=2, procs_per_gpu=3, procs=4, **chosen)
    args, extra = parse_args(fold_command(options))
    assert {name: getattr(args, name) for name in chosen} == chosen | {"out": Path("elsewhere")}
    assert (args.parallel_gpus, args.procs_per_gpu, args.procs) == (0, 1, None)  # the parent's to decide
    assert extra == ["--x=1"]


def test_subject_folders_are_one_level() -> None:
    assert subject_folder("casme2/sub01") == "casme2-sub01" and subject_folder("spNO.1") == "spNO.1"
    assert fold_dir("out", 1, "samm/006") == Path("out/seed1/samm-006")


def _config_with_logger(tmp_path: Path, logger: object) -> str:
    config = yaml.safe_load((CONF / "casme2.yaml").read_text())
    if logger is None:
        config["trainer"].pop("logger")
    else:
        config["trainer"]["logger"] = logger
    path = tmp_path / "conf.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_wandb_runs_are_grouped_per_experiment_and_named_per_fold(
    base_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    logger = {"class_path": "mer_contrast.loggers.OfflineSafeWandbLogger", "init_args": {"project": "p"}}
    options = LosoOptions(
        [_config_with_logger(tmp_path, logger)], overrides(base_args), out=tmp_path / "casme2_exp"
    )
    plan = make_plan(options)
    assert plan.logger == "wandb" and plan.experiment == "casme2_exp"
    args = fold_args(options, plan, FoldSpec(1, 7, "sub02"))
    assert "--trainer.logger.init_args.group=casme2_exp" in args
    assert "--trainer.logger.init_args.name=sub02-seed7" in args
    assert "--seed_everything=7" in args and "--data.init_args.seed=7" in args  # seeds vary the data too
    wandb_logger = build_fold_cli(args).trainer.logger
    init = wandb_logger._wandb_init  # what wandb.init will receive; the run has not started
    assert init["group"] == "casme2_exp" and init["name"] == "sub02-seed7"


def test_csv_logger_fallback_lands_in_the_fold_folder(
    base_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    options = LosoOptions([_config_with_logger(tmp_path, None)], overrides(base_args), out=tmp_path / "run")
    plan = make_plan(options)
    assert plan.logger == "none" and plan.subjects == ["sub01", "sub02", "sub03"]
    trainer = build_fold_cli(fold_args(options, plan, plan.folds[0])).trainer
    assert isinstance(trainer.logger, CSVLogger)
    assert (
        Path(trainer.logger.log_dir)
        .resolve()
        .is_relative_to((tmp_path / "run" / "seed0" / "sub01").resolve())
    )

    # Resume rule: same hash and every requested selection present.
    spec = plan.folds[0]
    folder = fold_dir(plan.out, spec.seed, spec.subject)
    folder.mkdir(parents=True)
    write_json(folder / "done.json", {"config_hash": plan.config_hash, "selections": {"honest": {}}})
    assert not is_done(plan, options, spec)  # its predictions file is missing
    row = {"subject": "sub01", "clip_id": "sub01/a", "label": 0, "pred": 0, "probs": [1.0, 0.0]}
    write_predictions(
        folder / "predictions_honest.csv", [row], ["a", "b"], epoch=0, seed=0, selection="honest"
    )
    write_json(
        folder / "done.json", {"config_hash": plan.config_hash, "selections": {"honest": {}}, "n_test": 1}
    )
    assert is_done(plan, options, spec)
    options.selection = "both"
    assert not is_done(plan, options, spec)
    options.selection = "honest"
    plan.config_hash = "changed"
    assert not is_done(plan, options, spec)


class FakeChild:
    running = 0
    peak = 0
    launched: ClassVar[list[tuple[list[str], str]]] = []

    def __init__(self, command: list[str], stdout: object, stderr: object, env: dict[str, str]) -> None:
        FakeChild.launched.append((command, env["CUDA_VISIBLE_DEVICES"]))
        FakeChild.running += 1
        FakeChild.peak = max(FakeChild.peak, FakeChild.running)
        self.polls = 0
        self.returncode: int | None = None
        self.fails = command[command.index("--fold-index") + 1] == "2"

    def poll(self) -> int | None:
        self.polls += 1
        if self.polls < 2:
            return None
        if self.returncode is None:
            FakeChild.running -= 1
            self.returncode = 1 if self.fails else 0
        return self.returncode


def test_parallel_runs_at_most_n_folds_each_on_its_own_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedule.subprocess, "Popen", FakeChild)
    monkeypatch.setattr(schedule.time, "sleep", lambda s: None)
    specs = [FoldSpec(i, 0, f"sub{i:02d}") for i in range(5)]
    plan = type("Plan", (), {"out": tmp_path})()
    failed = schedule.run_parallel(plan, specs, ["-c", "x.yaml"], 2, FoldProgress(5))  # type: ignore[arg-type]
    assert [s.index for s in failed] == [2]
    assert FakeChild.peak == 2 and len(FakeChild.launched) == 5
    assert {gpu for _, gpu in FakeChild.launched} == {"0", "1"}
    command = FakeChild.launched[0][0]
    assert command[-5:] == ["loso", "--fold-index", "0", "-c", "x.yaml"]
    assert (tmp_path / "seed0" / "sub00.log").is_file()


@pytest.mark.parametrize(
    "path", sorted((REPO / "configs").glob("*.yaml")) + sorted(CONF.glob("*.yaml")), ids=str
)
def test_every_config_parses(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_fold_cli(["--config", str(path), "--print_config"])
    assert exit_info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["class_path"] == "mer_contrast.trainers.MERContrastModule"
    assert printed["data"]["class_path"] == "mer_contrast.datamodules.MERDataModule"


def test_ddp_trainer_config_composes(capsys: pytest.CaptureFixture[str]) -> None:
    configs = [
        "--config",
        str(REPO / "configs" / "casme2.yaml"),
        "--config",
        str(REPO / "configs/trainer/ddp.yaml"),
    ]
    with pytest.raises(SystemExit):
        build_fold_cli([*configs, "--print_config"])
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["trainer"]["strategy"] == "ddp" and printed["trainer"]["sync_batchnorm"] is True
    assert printed["data"]["init_args"]["dataset"] == "casme2"  # the data section survives the merge
    assert json.dumps(printed)  # plain data


def test_fold_progress_prints_counts_and_eta() -> None:
    from io import StringIO

    from rich.console import Console

    stream = StringIO()
    progress = FoldProgress(4, skipped=1, console=Console(file=stream, width=200, force_terminal=True))
    progress.start("seed0/sub02")
    progress.finish("seed0/sub02", {"honest": {"accuracy": 0.5, "uf1": 0.25, "uar": 0.5}})
    progress.finish("seed0/sub03", ok=False)
    lines = stream.getvalue().splitlines()
    assert "1/4 folds" in lines[0] and "seed0/sub02 training" in lines[0]
    assert "2/4 folds" in lines[1] and "eta" in lines[1] and "honest acc 50 uf1 25" in lines[1]
    assert "3/4 folds" in lines[2] and "seed0/sub03 failed" in lines[2]


def test_fold_progress_in_a_log_file_is_one_line_per_fold() -> None:
    from io import StringIO

    from rich.console import Console

    stream = StringIO()
    progress = FoldProgress(2, console=Console(file=stream, width=200))  # not a terminal: a SLURM log
    progress.start("seed0/sub01")
    progress.finish("seed0/sub01", {"honest": {"accuracy": 0.5, "uf1": 0.25, "uar": 0.5}})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "1/2 folds" in lines[0] and "seed0/sub01 done" in lines[0]


def test_real_config_instantiates_on_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mer_contrast.loggers import OfflineSafeWandbLogger

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    cpu = ["--trainer.accelerator=cpu", "--trainer.precision=32-true", "--trainer.benchmark=false"]
    cli = build_fold_cli(["--config", str(REPO / "configs" / "casme2.yaml"), *cpu])
    assert isinstance(cli.trainer.logger, OfflineSafeWandbLogger)
    assert cli.model.model.num_classes == 5 and cli.model.model.class_names == cli.datamodule.class_names
    assert cli.datamodule.val_strategy == "none"


def test_procs_per_gpu_shares_each_gpu_between_folds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule.subprocess, "Popen", FakeChild)
    monkeypatch.setattr(schedule.time, "sleep", lambda s: None)
    FakeChild.launched, FakeChild.running, FakeChild.peak = [], 0, 0
    specs = [FoldSpec(i, 0, f"sub{i:02d}") for i in range(7)]
    plan = type("Plan", (), {"out": tmp_path})()
    schedule.run_parallel(plan, specs, ["-c", "x.yaml"], 1, FoldProgress(7), procs_per_gpu=3)  # type: ignore[arg-type]
    assert FakeChild.peak == 3 and len(FakeChild.launched) == 7
    assert {gpu for _, gpu in FakeChild.launched} == {"0"}
    assert "--procs-per-gpu" not in fold_command(LosoOptions(configs=["x"]))


class MyCSVLogger(CSVLogger):
    """A user's own file logger: set up per fold as its base class is."""


def test_logger_kind_goes_by_class_so_subclasses_count() -> None:
    from mer_contrast.loso.fold_logger import logger_kind

    here = __name__
    assert logger_kind({"class_path": f"{here}.MyCSVLogger"}) == "file"
    assert logger_kind({"class_path": "CSVLogger"}) == "file"  # a short name is Lightning's
    assert logger_kind({"class_path": "mer_contrast.loggers.OfflineSafeWandbLogger"}) == "wandb"
    assert logger_kind({"class_path": "lightning.pytorch.loggers.MLFlowLogger"}) == "other"
    assert logger_kind({"class_path": "no.such.Logger"}) == "other"
    assert logger_kind(None) == logger_kind(True) == "none" and logger_kind(False) == "other"


def test_a_fold_cli_parses_its_arguments_not_sys_argv(
    base_args: list[str], monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    # The runner's own flags stay in sys.argv (nothing swaps it); the fold's CLI reads its args only.
    monkeypatch.setattr("sys.argv", ["mer-contrast", "loso", "--seeds", "0,1", "--bogus"])
    cli = build_fold_cli([*base_args, "--trainer.max_epochs=2"])
    assert cli.trainer.max_epochs == 2
    assert not [w for w in recwarn if "args parameter" in str(w.message)]


def test_the_plan_builds_the_data_only(
    base_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from mer_contrast.trainers import MERContrastModule

    @functools.wraps(MERContrastModule.__init__)  # the signature stays, for the parser
    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the plan built the model")

    monkeypatch.setattr(MERContrastModule, "__init__", no_model)
    options = LosoOptions([str(CONF / "casme2.yaml")], overrides(base_args), out=tmp_path / "run")
    plan = make_plan(options)
    assert plan.subjects and len(plan.folds) == len(plan.subjects) and plan.classes


def test_run_from_python_refuses_what_cannot_start_in_one_line(tmp_path: Path) -> None:
    from mer_contrast import loso

    with pytest.raises(loso.RunRefused, match=r"nope\.yaml") as refused:
        loso.run(loso.LosoOptions(configs=[str(tmp_path / "nope.yaml")], out=tmp_path / "out"))
    assert "\n" not in str(refused.value) and not (tmp_path / "out").exists()  # nothing was written
