"""`mer-contrast loso` as a real process: each warning once per run, no third-party chatter, quiet pipes."""

from __future__ import annotations

import logging
import logging.handlers
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mer_contrast.cli import loso as loso_cli

from .helpers import CONF, overrides

# The console script as `python -m`: the same entry point, and it follows this checkout without a reinstall.
SCRIPT = (sys.executable, "-m", "mer_contrast")
# What Lightning, torch and transformers print per fold and says nothing about the run.
CHATTER = ("💡 Tip", "LeafSpec", "weights_only", "Loading weights", "`Trainer.fit` stopped: `max_epochs=")
# A real warning: the synthetic CASME II sheet plants a frame range that the folder does not have.
REAL_WARNING = "sub01/EP08_12f: sheet frames"


@pytest.fixture(scope="module")
def loso_process(base_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("noise") / "run"
    argv = [
        *SCRIPT,
        "loso",
        "--config",
        str(CONF / "casme2.yaml"),
        "--out",
        str(out),
        "--folds",
        "sub01,sub02",
    ]
    argv += ["--selection", "both", "--", *overrides(base_args), "--trainer.max_epochs=1"]
    done = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout + done.stderr


def test_loso_prints_each_warning_once_and_no_chatter(loso_process: tuple[Path, str]) -> None:
    _, output = loso_process
    assert [text for text in CHATTER if text in output] == []
    assert output.count(REAL_WARNING) == 1  # the plan and both folds read the sheet: shown once
    assert "GPU available: False" not in output  # no GPU, none used: nothing to say (quiet.NO_DEVICE)
    assert "2/2 folds" in output


def test_demo_prints_each_warning_once_and_no_chatter(tmp_path: Path) -> None:
    argv = [*SCRIPT, "demo", "--out", "out", "--data", "data", "--subjects", "3", "--clips-per-subject", "3"]
    argv += ["--folds", "2", "--epochs", "1"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert [text for text in CHATTER if text in output] == []
    warnings = [line for line in output.splitlines() if line.startswith("casme2: sub")]
    assert warnings and len(warnings) == len(set(warnings))  # the synthetic sheet's quirks, once each


def test_report_into_a_closed_pipe_ends_quietly(loso_process: tuple[Path, str]) -> None:
    out, _ = loso_process
    child = subprocess.Popen(
        [*SCRIPT, "report", str(out), "--no-plots"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=300) == 141 and "Traceback" not in err


def test_loso_config_typo_is_one_line_before_lightning(
    base_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--config", str(CONF / "casme2.yaml"), "--", *overrides(base_args), "--data.imge_size=3"]
    assert loso_cli.main(argv) == 2
    assert capsys.readouterr().err == (
        "error: command line: unknown key --data.imge_size (did you mean --data.image_size?)\n"
    )


def test_loso_argument_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        loso_cli.main(["--folds", "sub01"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "mer-contrast loso: error: the following arguments are required: --config/-c; "
        "see `mer-contrast loso --help`\n"
    )


def test_quiet_run_shows_a_line_once_on_every_handler(caplog: pytest.LogCaptureFixture) -> None:
    from mer_contrast.loggers.quiet import quiet_run

    package, log = logging.getLogger("mer_contrast"), logging.getLogger("mer_contrast.loso.test")
    ours = logging.handlers.BufferingHandler(100)
    package.addHandler(ours)
    caplog.set_level(logging.INFO)
    try:
        with quiet_run():
            for _ in range(3):
                log.warning("a fold warning")
            log.info("💡 Tip: try our cloud")
        log.warning("a fold warning")  # after the run: filters are gone
    finally:
        package.removeHandler(ours)
    assert [r.getMessage() for r in ours.buffer] == ["a fold warning", "a fold warning"]
    assert caplog.messages == ["a fold warning", "a fold warning"]


def test_a_library_handler_on_a_closed_stream_is_pointed_at_stderr() -> None:
    # Lightning makes its handler on the sys.stderr of its import; in a caller that swapped it (a
    # test's capture, since closed), each record would print "--- Logging error ---" instead.
    import io

    from mer_contrast.loggers import quiet

    logger = logging.getLogger("lightning.closed_stream_test")
    old = io.StringIO()
    handler = logging.StreamHandler(old)
    logger.addHandler(handler)
    old.close()
    try:
        with quiet.quiet_run():
            assert handler.stream is sys.stderr
        kept = logging.StreamHandler(io.StringIO())  # an open stream is left where it is
        logger.addHandler(kept)
        with quiet.quiet_run():
            assert kept.stream is not sys.stderr
    finally:
        logger.handlers.clear()
