"""``mer-contrast config``: the packaged configs listed, printed and copied with their parts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mer_contrast.cli import config
from mer_contrast.cli.config_check import check
from mer_contrast.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def test_no_name_lists_every_packaged_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()[1:-1]}
    shipped = {
        p.relative_to(REPO / "configs").with_suffix("").as_posix() for p in (REPO / "configs").rglob("*.yaml")
    }
    assert listed == shipped and {"casme2_cpu", "model/gridcnn_cpu", "trainer/ddp"} <= listed


def test_a_name_prints_the_packaged_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "casme2_cpu"]) == 0
    captured = capsys.readouterr()
    assert captured.out == (REPO / "configs" / "casme2_cpu.yaml").read_text()
    assert "model/gridcnn_cpu.yaml" in captured.err and "--out DIR" in captured.err
    assert main(["config", "configs/trainer/ddp.yaml"]) == 0  # as the README names it
    assert yaml.safe_load(capsys.readouterr().out)["trainer"]["strategy"] == "ddp"


def test_out_writes_the_config_and_its_parts_where_fit_finds_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "configs"
    assert main(["config", "casme2_cpu", "--out", str(out)]) == 0
    assert (out / "casme2_cpu.yaml").read_text() == (REPO / "configs" / "casme2_cpu.yaml").read_text()
    assert (out / "model" / "gridcnn_cpu.yaml").is_file()  # the part it names, at the same relative path
    assert f"mer-contrast fit --config {out / 'casme2_cpu.yaml'}" in capsys.readouterr().out
    assert check("fit", ["--config", str(out / "casme2_cpu.yaml")]) is None  # the copy parses as shipped

    assert main(["config", "casme2_cpu", "--out", str(out)]) == 0  # the same files again: fine
    (out / "model" / "gridcnn_cpu.yaml").write_text("# mine\n")
    assert main(["config", "casme2_cpu", "--out", str(out)]) == 2  # never overwrites an edit...
    assert "gridcnn_cpu.yaml exists with other content; --force" in capsys.readouterr().err
    assert (out / "model" / "gridcnn_cpu.yaml").read_text() == "# mine\n"
    assert main(["config", "casme2_cpu", "--out", str(out), "--force"]) == 0  # ...unless told
    assert (out / "model" / "gridcnn_cpu.yaml").read_text() != "# mine\n"


def test_an_unknown_name_is_one_line_with_the_close_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "casme2_cp"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "no packaged config 'casme2_cp'; did you mean casme2_cpu" in line


def test_a_missing_config_file_hints_at_the_packaged_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # a wheel user's folder: no configs/ here
    assert main(["fit", "--config", "configs/casme2.yaml"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: configs/casme2.yaml: config file not found")
    assert "`mer-contrast config casme2 --out configs` writes the packaged copy" in line
    assert config.missing_config_hint("configs/model/compact3d.yaml").endswith(
        "`mer-contrast config model/compact3d --out configs` writes the packaged copy"
    )
    assert "`mer-contrast config` lists the packaged configs" in config.missing_config_hint("mine.yaml")
