"""The `loso:` section of a config: the runner's options from YAML, overridden by the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mer_contrast.cli import loso as cli
from mer_contrast.cli.config_check import check
from mer_contrast.cli.loso import parse_args
from mer_contrast.loso.plan import config_hash
from mer_contrast.loso.runner import build_fold_cli

from .helpers import CONF


@pytest.fixture()
def section_config(tmp_path: Path):
    """tests/conf/casme2.yaml (a whole file: no section files to keep beside it) plus a `loso:` section."""

    def make(section: object, name: str = "exp.yaml") -> str:
        document = yaml.safe_load((CONF / "casme2.yaml").read_text())
        document["loso"] = section
        path = tmp_path / name
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return str(path)

    return make


def test_yaml_options_are_defaults_and_the_command_line_wins(section_config) -> None:
    config = section_config({"seeds": [3, 4], "selection": "both", "out": "runs/x", "max_folds": 2})
    args, _ = parse_args(["--config", config])
    assert args.seeds == [3, 4] and args.selection == "both" and args.max_folds == 2
    assert args.out == Path("runs/x")
    args, _ = parse_args(["--config", config, "--seeds", "5", "--selection", "honest"])
    assert args.seeds == [5] and args.selection == "honest" and args.max_folds == 2


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"sedes": [0]}, "unknown key loso.sedes (did you mean seeds?)"),
        ({"seeds": "abc"}, "loso.seeds:"),
        ({"selection": "best"}, "loso.selection:"),
        ([0, 1], "`loso:` must be a mapping"),
    ],
)
def test_a_bad_section_is_one_line_naming_the_file(
    section_config, section: object, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = section_config(section)
    assert cli.main(["--config", config]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {config}: ") and expected in err[0], err


def test_fit_accepts_the_section_and_the_hash_ignores_it(
    section_config, capsys: pytest.CaptureFixture[str]
) -> None:
    first = section_config({"seeds": [0]}, "a.yaml")
    second = section_config({"seeds": [0, 1, 2], "selection": "both"}, "b.yaml")
    assert check("fit", ["--config", first]) is None
    with pytest.raises(SystemExit) as stop:
        build_fold_cli(["--config", second, "--print_config"])
    assert stop.value.code == 0 and yaml.safe_load(capsys.readouterr().out)["loso"]["seeds"] == [0, 1, 2]
    # More seeds on the same --out add folds of the same config, never "another config".
    assert config_hash([first], []) == config_hash([second], [])
    assert config_hash([first], []) != config_hash([str(CONF / "casme2.yaml")], ["--model.x=1"])


@pytest.mark.parametrize(("section", "key"), [({"seeds": "abc"}, 'key "seeds"'), ({"sedes": [0]}, "sedes")])
def test_the_lightningcli_checks_the_section_with_the_rest_of_the_config(
    section_config, section: object, key: str
) -> None:
    import argparse

    with pytest.raises(argparse.ArgumentError, match=key):  # fit, test and every fold: as a LosoSettings
        build_fold_cli(["--config", section_config(section), "--print_config"])
