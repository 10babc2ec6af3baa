"""A finished `loso` rerun answers from `loso.json` without Lightning; a change takes the long way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mer_contrast
from mer_contrast.cli import loso as loso_cli
from mer_contrast.loso import finished
from mer_contrast.loso.finished import finished_plan
from mer_contrast.loso.plan import LosoOptions

from .helpers import CONF, overrides

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def run(base_args: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A finished one-fold run and the `loso` arguments that made it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    argv = ["--config", str(CONF / "casme2.yaml"), "--out", str(out), "--folds", "sub01"]
    argv += ["--", *overrides(base_args), "--trainer.max_epochs=1"]
    assert loso_cli.main(argv) == 0
    return out, argv


def options_of(out: Path, argv: list[str], **changes: object) -> LosoOptions:
    rest = argv[argv.index("--") + 1 :]
    return LosoOptions(
        configs=[str(CONF / "casme2.yaml")], overrides=rest, out=str(out), folds=["sub01"], **changes
    )


def test_a_finished_rerun_imports_no_lightning_and_writes_the_report(run: tuple[Path, list[str]]) -> None:
    out, argv = run
    (out / "summary.md").unlink()
    code = (
        "import sys\nfrom mer_contrast.cli import loso\n"
        f"code = loso.main({argv!r})\n"
        "print('exit', code, 'lightning' in sys.modules, 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(mer_contrast.__file__).parents[1])}  # this checkout
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert "exit 0 False False" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 of 1 folds already done" in done.stderr
    assert (out / "summary.md").is_file() and json.loads((out / "summary.json").read_text())["complete"]


def test_the_short_way_declines_what_the_long_way_must_decide(
    run: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, argv = run
    plan = finished_plan(options_of(out, argv))
    assert plan is not None and plan.subjects == ["sub01"] and [f.subject for f in plan.folds] == ["sub01"]
    assert finished_plan(options_of(out, argv, selection="both")) is None  # the oracle is not there
    assert finished_plan(options_of(out, argv, max_folds=1)) is None  # other fold options
    assert finished_plan(options_of(out, [*argv, "--trainer.max_epochs=2"])) is None  # another config
    with monkeypatch.context() as patch:  # the sheet or the frames changed since
        patch.setattr(finished, "fingerprint_of_reading", lambda reading: "0123456789abcdef")
        assert finished_plan(options_of(out, argv)) is None
    record = json.loads((out / "loso.json").read_text())
    try:
        (out / "loso.json").write_text(json.dumps({**record, "data_reading": None}))  # an older run
        assert finished_plan(options_of(out, argv)) is None
        (out / "loso.json").write_text("{garbled")
        assert finished_plan(options_of(out, argv)) is None
    finally:
        (out / "loso.json").write_text(json.dumps(record))
    done = out / "seed0" / "sub01" / "done.json"
    kept = done.read_bytes()
    try:
        done.unlink()  # the fold is not finished
        assert finished_plan(options_of(out, argv)) is None
    finally:
        done.write_bytes(kept)
    assert finished_plan(options_of(out, argv)) is not None
