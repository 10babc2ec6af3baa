"""``mer-contrast synth`` / ``python -m mer_contrast.cli.synth``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mer_contrast.cli.synth import main
from mer_contrast.synth import MANIFEST_NAME, SynthManifest

SMALL = [
    "--subjects",
    "1",
    "--clips-per-subject",
    "2",
    "--size",
    "40",
    "--min-frames",
    "4",
    "--max-frames",
    "5",
]


def test_main_writes_a_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "casme2"
    assert main(["--layout", "casme2", "--out", str(out), "--seed", "2", *SMALL]) == 0
    manifest = SynthManifest.load(out / MANIFEST_NAME)
    assert manifest.layout == "casme2" and manifest.seed == 2 and manifest.size == 40
    assert len(manifest.clips) == 2 and all(4 <= c.frames <= 5 for c in manifest.clips)
    assert (out / "CASME2-coding-20140508.xlsx").is_file()
    assert "2 clips" in capsys.readouterr().out


def test_refuses_a_non_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "keep.txt").write_text("user data")
    assert main(["--layout", "mmew", "--out", str(tmp_path), *SMALL]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (
        main(["--layout", "mmew", "--out", str(tmp_path), "--overwrite", *SMALL]) == 2
    )  # not a synth folder
    assert (tmp_path / "keep.txt").is_file()


def test_overwrite_replaces_an_earlier_dataset(tmp_path: Path) -> None:
    out = tmp_path / "samm"
    assert main(["--layout", "samm", "--out", str(out), *SMALL]) == 0
    assert main(["--layout", "samm", "--out", str(out), "--overwrite", "--seed", "5", *SMALL]) == 0
    assert SynthManifest.load(out / MANIFEST_NAME).seed == 5


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--size", "8"], "size"),
        (["--subjects", "0"], "subjects"),
        (["--min-frames", "9", "--max-frames", "5"], "frames"),
    ],
)
def test_bad_values_give_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["--layout", "casme2", "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unknown_layout_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--layout", "smic", "--out", str(tmp_path)])


def test_runs_as_module(tmp_path: Path) -> None:
    out = tmp_path / "mmew"
    done = subprocess.run(
        [sys.executable, "-m", "mer_contrast.cli.synth", "--layout", "mmew", "--out", str(out), *SMALL],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "MMEW_Micro_Exp.xlsx").is_file()
