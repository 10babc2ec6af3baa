"""``inspect``: the summary object, the JSON output, the tables and the exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ds_builders import CASME2_ROWS

from mer_contrast.cli.inspect_data import main
from mer_contrast.datasets.inspection import summarize


def test_summarize_counts_in_protocol_order(casme2_root: Path) -> None:
    shutil.rmtree(casme2_root / "Cropped" / "sub01" / "EP19_05f")
    summary = summarize("casme2", root=casme2_root)
    assert summary["protocol"] == "casme2-5class"
    assert list(summary["per_class"]) == ["happiness", "disgust", "repression", "surprise", "others"]
    assert summary["per_class"] == {"happiness": 1, "disgust": 0, "repression": 1, "surprise": 1, "others": 2}
    assert summary["total"] == 5 and summary["per_subject"] == {"sub01": 1, "sub02": 2, "sub03": 2}
    stages = sorted((item["stage"], item["clip"]) for item in summary["skipped"])
    assert stages == [
        ("protocol", "sub04/EP05_03"),
        ("protocol", "sub04/EP12_02f"),
        ("reader", "sub01/EP19_05f"),
    ]
    assert summary["rows"] == len(CASME2_ROWS)
    assert summary["frames_read"] is True
    assert 0 < summary["frames_found"] < summary["frames_expected"]


def test_json_output(casme2_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--dataset",
            "casme2",
            "--sheet",
            str(casme2_root / "CASME2-coding-20140508.xlsx"),
            "--protocol",
            "casme2-7class",
            "--json",
        ]
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    for key in (
        "dataset",
        "protocol",
        "total",
        "per_class",
        "per_subject",
        "skipped",
        "frames_found",
        "frames_expected",
    ):
        assert key in payload
    assert payload["total"] == len(CASME2_ROWS) and payload["protocol"] == "casme2-7class"
    assert payload["per_class"]["fear"] == 1 and payload["skipped"] == []
    assert (payload["frames_found"], payload["frames_expected"]) == (0, 0)


def test_tables_output(megc_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dataset", "megc2019", "--root", str(megc_root)]) == 0
    out = capsys.readouterr().out
    assert "megc2019 under megc2019-3class" in out
    assert "SMIC/ not found" in out and "Frames:" in out


def test_reader_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ds_builders import CASME3_C_ROWS, write_xlsx

    sheet = write_xlsx(tmp_path / "CAS(ME)3_part_C_ME.xlsx", CASME3_C_ROWS)
    assert (
        main(
            [
                "--dataset",
                "casme3",
                "--sheet",
                str(sheet),
                "-o",
                "part=C",
                "--protocol",
                "casme3-4class",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["total"] == len(CASME3_C_ROWS) - 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--dataset", "casme2", "--root", "/nonexistent/CASME2"],
        ["--dataset", "samm", "--sheet", "/nonexistent/sheet.xlsx", "--json"],
        ["--dataset", "casme2", "--sheet", "SHEET", "--protocol", "nope"],
        ["--dataset", "casme2", "--sheet", "SHEET", "-o", "frames"],
        ["--dataset", "casme2", "--sheet", "SHEET", "-o", "color=1"],
        ["--dataset", "casme2"],
    ],
)
def test_errors_exit_2_with_one_line(
    argv: list[str], casme2_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(casme2_root / "CASME2-coding-20140508.xlsx") if arg == "SHEET" else arg for arg in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in captured.err


def test_strict_error_exit_code(casme2_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(casme2_root / "Cropped" / "sub02")
    assert main(["--dataset", "casme2", "--root", str(casme2_root), "--strict"]) == 2
    assert "strict" in capsys.readouterr().err


def test_argparse_usage_errors_return_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dataset", "nope", "--sheet", "x"]) == 2
    assert "invalid choice" in capsys.readouterr().err
