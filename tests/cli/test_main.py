"""The console script's fast answers: help, typos and config errors in one line, quiet broken pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mer_contrast.cli import help_cache
from mer_contrast.cli.config_check import TRAINER, check, class_params, top_level_keys
from mer_contrast.cli.main import main
from mer_contrast.synth import generate

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "tests" / "conf" / "casme2.yaml"
# The console script as `python -m`: the same entry point, and it follows this checkout without a reinstall.
SCRIPT = (sys.executable, "-m", "mer_contrast")
HEAVY = ("torch", "lightning", "transformers")


def run_script(*args: str, cache: Path | None = None) -> tuple[int, str, str, set[str]]:
    """The real console script with import profiling: (status, stdout, stderr lines, modules imported)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    if cache is not None:
        env["MER_CONTRAST_CACHE"] = str(cache)
    done = subprocess.run([*SCRIPT, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "import time:" in line
    }
    stderr = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("import time:"))
    return done.returncode, done.stdout, stderr, imported


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules} & set(HEAVY)


def test_top_level_help_lists_subcommands_without_torch() -> None:
    code, out, err, imported = run_script("--help")
    assert code == 0 and err == ""
    assert "mer-contrast subcommands:" in out and "loso" in out and "usage:" not in out
    assert top_level(imported) == set()


def test_unknown_subcommand_is_one_line() -> None:
    code, out, err, imported = run_script("fitt")
    assert code == 2 and out == ""
    assert err == "error: unknown subcommand 'fitt' (did you mean fit?); see `mer-contrast --help`"
    assert top_level(imported) == set()


def test_config_typo_on_the_command_line_fails_before_torch() -> None:
    code, out, err, imported = run_script("fit", "--config", str(CONF), "--data.imge_size", "3")
    assert code == 2 and out == ""
    assert err == "error: command line: unknown key --data.imge_size (did you mean --data.image_size?)"
    assert top_level(imported) == set()


def test_config_typo_in_a_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = CONF.read_text()
    assert "    image_size: 32\n" in text
    bad.write_text(text.replace("    image_size: 32\n", "    imge_size: 32\n"))
    line = 1 + text.splitlines().index("    image_size: 32")
    code, _, err, imported = run_script("fit", "-c", str(bad))
    assert code == 2 and top_level(imported) == set()
    assert err == (
        f"error: {bad}:{line}: unknown key data.init_args.imge_size (did you mean data.init_args.image_size?)"
    )


def test_a_config_that_is_not_yaml_is_one_line_before_torch(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("trainer:\n  max_epochs: [1, 2\n")
    code, _, err, imported = run_script("fit", "--config", str(bad))
    assert code == 2 and top_level(imported) == set()
    assert err.startswith(f"error: {bad}") and "not valid YAML" in err and "\n" not in err


def test_cached_subcommand_help_is_served_without_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MER_CONTRAST_CACHE", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "100")  # the key holds the terminal width; the child sees the same
    help_cache.save(["fit", "--help"], "usage: cached fit help\n")
    code, out, err, imported = run_script("fit", "--help", cache=tmp_path)
    assert (code, out, err) == (0, "usage: cached fit help\n", "")
    assert top_level(imported) == set()
    assert help_cache.load(["validate", "--help"]) is None


def test_subcommand_help_is_built_once_then_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MER_CONTRAST_CACHE", str(tmp_path))
    assert main(["test", "--help"]) == 0
    printed = capsys.readouterr().out
    assert "--trainer.max_epochs" in printed and "--ckpt_path" in printed
    assert help_cache.load(["test", "--help"]) == printed


def test_jsonargparse_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "--config", str(CONF), "--data.image_size", "abc"]) == 2
    err = capsys.readouterr().err
    assert err == "error: command line: --data.image_size: expected int, got abc\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONF.read_text().replace("  max_epochs: 1\n", "  max_epochs: many\n"))
    line = 1 + bad.read_text().splitlines().index("  max_epochs: many")
    assert main(["validate", "--config", str(bad)]) == 2
    assert capsys.readouterr().err == f"error: {bad}:{line}: trainer.max_epochs: expected int, got many\n"


@pytest.mark.parametrize(
    "path",
    sorted((REPO / "configs").glob("*.yaml")) + sorted((REPO / "tests" / "conf").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_the_early_check_accepts_every_shipped_config(path: Path) -> None:
    assert check("fit", ["--config", str(path)]) is None
    assert check("test", ["--config", str(path), "--trainer.max_epoch", "3", "--ckpt_path", "x"]) is None


def test_the_early_check_follows_class_changes_and_nested_classes() -> None:
    ddp = [
        "--config",
        str(REPO / "configs" / "casme2.yaml"),
        "--config",
        str(REPO / "configs/trainer/ddp.yaml"),
    ]
    assert check("fit", ddp) is None
    fusion = "--model.init_args.visual.init_args.fusion"
    args = [
        "--config",
        str(CONF),
        f"{fusion}=mer_contrast.models.AttentionFusion",
        f"{fusion}.init_args.hidden=3",
    ]
    assert check("fit", args) is None
    assert check("fit", ["--config", str(CONF), f"{fusion}.init_args.hidden=3"]) == (
        f"command line: unknown key {fusion}.init_args.hidden (ConcatFusion takes dim)"
    )
    logger = '--trainer.logger={"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"nme": 1}}'
    assert "did you mean --trainer.logger.init_args.name?" in str(
        check("fit", ["--config", str(CONF), logger])
    )
    assert check("fit", ["--config", "nope.yaml"]).startswith(
        "nope.yaml: config file not found; `mer-contrast config`"
    )


@pytest.mark.parametrize("tool", ["synth", "inspect", "help"])
def test_a_closed_pipe_ends_quietly_with_sigpipe_status(tool: str, tmp_path: Path) -> None:
    data = tmp_path / "d"
    if tool == "inspect":
        generate("casme2", data, subjects=2, clips_per_subject=2, size=32, frames=(6, 8), seed=0)
    args = {
        "synth": ["synth", "--layout", "casme2", "--out", str(data), "--subjects", "1",
                  "--clips-per-subject", "2", "--size", "32"],
        "inspect": ["inspect", "--dataset", "casme2", "--root", str(data)],
        "help": ["--help"],
    }[tool]  # fmt: skip
    child = subprocess.Popen([*SCRIPT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # `| head -0`: the reader is gone before the first line
    err = child.stderr.read().decode()
    assert child.wait(timeout=300) == 141 and "Traceback" not in err and "BrokenPipe" not in err


def test_the_early_check_knows_every_key_lightningcli_prints(capsys: pytest.CaptureFixture[str]) -> None:
    # A drift guard: a new CLI argument or Trainer option must not be rejected by the early check.
    with pytest.raises(SystemExit) as stop:
        main(["fit", "--config", str(CONF), "--print_config"])
    assert stop.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert set(printed) <= (top_level_keys("fit") or set())
    assert set(printed["trainer"]) <= (class_params(TRAINER) or set())


def test_a_flat_flow_or_augmentation_key_says_where_it_moved(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(
        "data:\n  class_path: mer_contrast.datamodules.MERDataModule\n  init_args:\n    flow_method: dis\n"
    )
    problem = check("fit", ["--config", str(old)])
    moved = "(it moved into a group: write data.init_args.flow.method)"
    assert problem == f"{old}:4: unknown key data.init_args.flow_method {moved}"
    problem = check("fit", ["--config", str(CONF), "--data.init_args.flip_prob=0"])
    assert problem is not None and "write --data.init_args.augmentation.flip_prob)" in problem


def test_a_dotted_section_key_in_a_file_says_to_nest_it(tmp_path: Path) -> None:
    # jsonargparse reads `model.init_args.x: v` beside `model: part.yaml` as a new model built from the
    # class defaults, dropping the part without a word.
    dotted = tmp_path / "dotted.yaml"
    part = Path(__file__).parents[2] / "configs" / "model" / "gridcnn_cpu.yaml"
    dotted.write_text(f"model: {part}\nmodel.init_args.contrastive_weight: 0.0\n")
    problem = check("fit", ["--config", str(dotted)])
    assert problem is not None
    assert problem.startswith(f"{dotted}:2: unknown key model.init_args.contrastive_weight")
    assert "nest it under model:" in problem and "\n" not in problem
    # the same key on the command line is an ordinary override
    plain = tmp_path / "plain.yaml"
    plain.write_text(f"model: {part}\n")
    assert check("fit", ["--config", str(plain), "--model.init_args.contrastive_weight", "0"]) is None
