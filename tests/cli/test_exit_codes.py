"""One mapping from how a command ended to its exit code (143 SIGTERM, 130 Ctrl-C, 1 environment, 2 usage)."""

from __future__ import annotations

import argparse

import pytest

from mer_contrast.cli import exit_codes
from mer_contrast.cli.exit_codes import Wording, exit_code, run_command
from mer_contrast.cli.main import main
from mer_contrast.clips.errors import EnvironmentFault
from mer_contrast.datasets.errors import DuplicateClipError


def raising(error: BaseException) -> int:
    raise error


def test_sigterm_is_143_with_the_commands_words(capsys: pytest.CaptureFixture[str]) -> None:
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from mer_contrast.bench.suite_units import SuiteTerminated

    assert exit_code(SIGTERMException()) == exit_codes.TERMINATED == 143  # a SystemExit with status 0
    wording = Wording(terminated="terminated (SIGTERM): units kept", prefix="tool: ")
    assert run_command(lambda: raising(SuiteTerminated()), wording=wording) == 143
    assert capsys.readouterr().err == "tool: terminated (SIGTERM): units kept\n"


def test_ctrl_c_is_130_also_after_lightnings_own_exit(capsys: pytest.CaptureFixture[str]) -> None:
    def lightning_like() -> int:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemExit(1) from None  # Lightning: graceful shutdown, then sys.exit(1)

    assert run_command(lambda: raising(KeyboardInterrupt())) == exit_codes.INTERRUPTED == 130
    assert run_command(lightning_like, wording=Wording(interrupted="interrupted: kept")) == 130
    assert capsys.readouterr().err.splitlines() == [Wording().interrupted, "interrupted: kept"]


def test_an_environment_fault_anywhere_in_the_causes_is_1(capsys: pytest.CaptureFixture[str]) -> None:
    def wrapped() -> int:
        try:
            raise EnvironmentFault("/cache: disk full; free space")
        except EnvironmentFault as err:  # as jsonargparse wraps what a constructor raises
            raise ValueError("Problem with given class_path") from err

    assert run_command(wrapped, wording=Wording(kept="folds kept")) == exit_codes.ENVIRONMENT == 1
    assert capsys.readouterr().err == "error: /cache: disk full; free space; folds kept\n"


def test_usage_errors_are_2_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    bad_value = argparse.ArgumentError(None, 'Parser key "x":\n  Expected an int')
    assert run_command(lambda: raising(bad_value), describe=lambda text: " ".join(text.split())) == 2
    duplicate = DuplicateClipError("sheet.xlsx", (3, 9), "sub01/EP01", ("happiness", "surprise"))
    assert run_command(lambda: raising(duplicate)) == 2
    assert run_command(lambda: raising(LookupError("no such fold")), usage=(LookupError,)) == exit_codes.USAGE
    assert capsys.readouterr().err.splitlines() == [
        'error: Parser key "x": Expected an int',
        f"error: {duplicate}",
        "error: no such fold",
    ]


def test_lightnings_misconfiguration_is_2_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    error = MisconfigurationException("`Trainer(strategy='ddp')` needs\n  more than one device.")
    assert exit_code(error) == exit_codes.USAGE
    assert run_command(lambda: raising(error)) == 2
    assert capsys.readouterr().err == "error: `Trainer(strategy='ddp')` needs more than one device.\n"


def test_a_bug_keeps_its_traceback_and_help_its_exit() -> None:
    with pytest.raises(LookupError):  # not named as a usage error by the command: a bug
        run_command(lambda: raising(LookupError("bug")))
    with pytest.raises(SystemExit) as stop:  # --help, argparse's own usage errors
        run_command(lambda: raising(SystemExit(0)))
    assert stop.value.code == 0


def test_every_tool_ends_through_the_mapping(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mer_contrast.cli import report

    monkeypatch.setattr(report, "main", lambda argv: raising(KeyboardInterrupt()))
    assert main(["report", "runs/x"]) == 130
    assert capsys.readouterr().err == Wording().interrupted + "\n"
