"""``mer-contrast bench suite``: options and errors, the selection/untouched table, resuming, one-thread
workers, and one quick end-to-end run on a tiny sheet-driven casme2 twin."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from lock_holder import hold_in_another_process

from mer_contrast.bench import suite, suite_units
from mer_contrast.bench.suite_table import aggregate, render_markdown
from mer_contrast.cli import bench_suite as suite_cli
from mer_contrast.cli.bench import main as bench_main
from mer_contrast.loso.store import write_json
from mer_contrast.synth import sheets

CONF = Path(__file__).resolve().parents[1] / "conf" / "casme2.yaml"
PATTERNS = [(12, "happiness"), ("4+7", "disgust"), ("1+2", "surprise"), (17, "repression"), (4, "others")]


def _sheet(folder: Path, subjects: int = 3) -> Path:
    rows: list[list[sheets.Cell]] = []
    for subject in range(1, subjects + 1):
        for k, (aus, emotion) in enumerate(PATTERNS):
            onset = 10 + 20 * k
            rows.append([f"{subject:02d}", f"EP0{k + 1}_0{subject}", None, onset, onset + 4, onset + 7, None,
                         aus, emotion])  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "CASME2-coding-20140508.xlsx"
    sheets.write_casme2(path, rows)
    return path


def _args(*argv: str) -> Any:
    return suite_cli.build_parser().parse_args(list(argv))


# ----------------------------------------------------------------------------------------- options


def test_defaults_and_options_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args()
    assert args.databases == ["casme2", "samm", "mmew"] and args.renders == [0, 1, 10, 11, 12]
    assert args.selection_renders == [0, 1] and args.seeds == 3 and args.jobs == 2
    assert args.rows == ["peer_flow_logreg", "probe_prepared_flow", "mercontrast_full", "mercontrast_lambda0"]
    (tmp_path / "o.yaml").write_text("databases: [casme2, samm]\nrenders: 0,10\nselection_renders: [0]\n")
    args = _args("--options", str(tmp_path / "o.yaml"), "--seeds", "2")
    assert args.databases == ["casme2", "samm"] and args.renders == [0, 10] and args.selection_renders == [0]
    assert args.seeds == 2
    with pytest.raises(SystemExit) as exit_:
        bench_main(["suite", "--print_options", "--renders", "0,10"])
    assert exit_.value.code == 0 and "renders:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--databases", "casme2,bogus"], "unknown database bogus"),
        (["--rows", "peer_bogus"], "unknown row peer_bogus"),
        (["--renders", "0,1", "--selection-renders", "0,1"], "need at least one selection and one untouched"),
        (["--renders", "0,10", "--selection-renders", "1"], "--selection-renders [1]: each must be one of"),
        (["--renders", "0,0,10"], "expected distinct twin seeds"),
        (["--twin", "casme2:0"], "expected db:render=PATH"),
        (["--twin", "casme2:0=/no/such/folder"], "no such folder"),
        (["--config", "casme2=/no/such.yaml"], "config file not found"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    argv: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sheet(tmp_path)  # every input is there: the option is what fails
    assert suite_cli.main([*argv, "--sheets", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err


def test_a_missing_sheet_names_the_file_and_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        suite_cli.main(["--databases", "mmew", "--sheets", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    )
    err = capsys.readouterr().err
    assert f"MMEW_Micro_Exp.xlsx or MMEW_Micro_Exp.csv not found in {tmp_path}" in err
    assert suite_cli.main(["--databases", "casme2", "--out", str(tmp_path / "o")]) == 2  # no --sheets at all
    assert "pass --sheets DIR (the folder holding CASME2-coding-20140508.xlsx)" in capsys.readouterr().err
    assert not (tmp_path / "o" / "twins").exists()  # nothing rendered before the error


def test_each_database_runs_its_own_cpu_config(tmp_path: Path) -> None:
    _sheet(tmp_path)
    (tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx").write_bytes(b"")  # only its presence is checked here
    plan = suite.make_plan(_args("--databases", "samm", "--sheets", str(tmp_path), "--out", str(tmp_path)))
    assert Path(plan.configs["samm"]).name == "samm_cpu.yaml"
    assert plan.twins[("samm", 10)] == tmp_path / "twins" / "samm" / "render10"


def test_quick_mode_keeps_one_render_per_group_and_one_seed(tmp_path: Path) -> None:
    _sheet(tmp_path)
    plan = suite.make_plan(_args("--databases", "casme2", "--sheets", str(tmp_path), "--quick"))
    assert plan.renders == [0, 10] and plan.selection == [0] and plan.seeds == [0]
    assert plan.limit and plan.max_folds and plan.max_epochs
    units = suite_units.make_units(plan, tmp_path / "out", ["--trainer.max_epochs=2"], None, 0)
    assert [(u.render, u.rows, u.seed, u.prepare) for u in units] == [
        (0, ["peer_flow_logreg", "probe_prepared_flow"], None, True),
        (0, ["mercontrast_full"], 0, False),
        (0, ["mercontrast_lambda0"], 0, False),
        (10, ["peer_flow_logreg", "probe_prepared_flow"], None, True),
        (10, ["mercontrast_full"], 0, False),
        (10, ["mercontrast_lambda0"], 0, False),
    ]
    # the user's overrides come last (LightningCLI: the last one wins)
    assert units[1].overrides[-2:] == [f"--trainer.max_epochs={plan.max_epochs}", "--trainer.max_epochs=2"]


# ------------------------------------------------------------------------------------- aggregation


def _unit(db: str, row: str, render: int, seed: int | None, uf1: float, oracle: float | None = None) -> dict:
    return {"database": db, "row": row, "render": render, "seed": seed, "uf1": uf1, "uar": uf1 / 2,
            "accuracy": 0.5, "oracle_uf1": oracle, "seconds": 10.0}  # fmt: skip


def _hand_units() -> list[dict[str, Any]]:
    units = []
    # full: selection renders 0, 1 x seeds 0, 1 -> UF1 .60 .62 .64 .66; untouched 10 x seeds -> .50 .54
    for (render, seed), uf1 in zip([(0, 0), (0, 1), (1, 0), (1, 1)], [0.60, 0.62, 0.64, 0.66], strict=True):
        units.append(_unit("casme2", "mercontrast_full", render, seed, uf1, oracle=uf1 + 0.1))
    units += [
        _unit("casme2", "mercontrast_full", 10, 0, 0.50),
        _unit("casme2", "mercontrast_full", 10, 1, 0.54),
    ]
    units += [_unit("casme2", "mercontrast_lambda0", r, 0, u) for r, u in [(0, 0.55), (1, 0.57), (10, 0.40)]]
    units += [_unit("casme2", "peer_flow_logreg", r, None, u) for r, u in [(0, 0.30), (1, 0.34), (10, 0.20)]]
    units += [_unit("samm", "mercontrast_full", 0, 0, 0.40), _unit("samm", "mercontrast_full", 10, 0, 0.30)]
    units += [
        _unit("samm", "mercontrast_lambda0", 0, 0, 0.44),
        _unit("samm", "mercontrast_lambda0", 10, 0, 0.20),
    ]
    return units


def test_aggregate_splits_selection_and_untouched_with_exact_figures() -> None:
    agg = aggregate(_hand_units(), selection=[0, 1])
    full = agg["databases"]["casme2"]["rows"]["mercontrast_full"]
    assert full["selection"]["runs"] == 4 and full["untouched"]["runs"] == 2
    assert full["selection"]["mean"]["uf1"] == pytest.approx(0.63)
    assert full["selection"]["std"]["uf1"] == pytest.approx(math.sqrt(0.0020 / 3))  # ddof=1 over 4 runs
    assert full["selection"]["mean"]["uar"] == pytest.approx(0.315)
    assert full["untouched"]["mean"]["uf1"] == pytest.approx(0.52)
    assert full["untouched"]["std"]["uf1"] == pytest.approx(math.sqrt(0.0008))
    assert full["gap_uf1"] == pytest.approx(0.11)
    assert full["oracle_uf1"]["mean"]["uf1"] == pytest.approx(0.73) and full["oracle_uf1"]["runs"] == 4
    assert full["seconds"] == 60.0
    peer = agg["databases"]["casme2"]["rows"]["peer_flow_logreg"]
    assert peer["selection"]["mean"]["uf1"] == pytest.approx(0.32) and peer["oracle_uf1"] is None
    assert peer["gap_uf1"] == pytest.approx(0.12)
    casme2 = agg["databases"]["casme2"]
    assert casme2["full_minus_peer1"]["selection"] == pytest.approx(0.31)
    assert casme2["full_minus_peer1"]["untouched"] == pytest.approx(0.32)
    assert casme2["text_gain"]["selection"] == pytest.approx(0.63 - 0.56)
    assert casme2["text_gain"]["untouched"] == pytest.approx(0.12)
    samm = agg["databases"]["samm"]
    assert (
        samm["text_gain"]["selection"] == pytest.approx(-0.04)
        and samm["full_minus_peer1"]["selection"] is None
    )
    assert agg["text_gain_mean"]["selection"] == pytest.approx((0.07 - 0.04) / 2)
    assert agg["text_gain_mean"]["untouched"] == pytest.approx((0.12 + 0.10) / 2)
    # a different split gives different groups: renders 0 only
    other = aggregate(_hand_units(), selection=[0])["databases"]["casme2"]["rows"]["mercontrast_full"]
    assert other["selection"]["mean"]["uf1"] == pytest.approx(0.61) and other["untouched"]["runs"] == 4


def test_markdown_has_one_table_per_database_and_the_derived_lines() -> None:
    table = {"quick": True, "selection_renders": [0, 1], "untouched_renders": [10], "seeds": [0, 1],
             "aggregate": aggregate(_hand_units(), [0, 1])}  # fmt: skip
    text = render_markdown(table)
    assert "QUICK MODE" in text and "not results" in text
    assert text.count("| row | selection UF1 | selection UAR | selection accuracy | untouched UF1 |") == 2
    full = next(line for line in text.splitlines() if line.startswith("| mer-contrast, full model"))
    assert full == ("| mer-contrast, full model (FACS text, InfoNCE) | 63.0 ± 2.6 | 31.5 ± 1.3 | 50.0 ± 0.0 "
                    "| 52.0 ± 2.8 | 26.0 ± 1.4 | 50.0 ± 0.0 | +11.0 | 73.0 ± 2.6 | 60 |")  # fmt: skip
    assert "- full - peer 1 (UF1): selection +31.0, untouched +32.0" in text
    assert "- text gain, full - lambda0 (UF1): selection +7.0, untouched +12.0" in text
    assert "Text gain averaged over databases (UF1): selection +1.5, untouched +11.0" in text
    samm = text.split("## samm")[1]
    assert "full - peer 1 (UF1): selection –, untouched –" in samm  # no peer row there
    assert "QUICK" not in render_markdown({**table, "quick": False})


# ---------------------------------------------------------------------------------- resume, threads


def _plan_units(tmp_path: Path) -> list[suite_units.Unit]:
    twin = tmp_path / "twin"
    twin.mkdir(exist_ok=True)
    args = _args("--databases", "casme2", "--renders", "0,10", "--selection-renders", "0", "--seeds", "2",
                 "--twin", f"casme2:0={twin}", "--twin", f"casme2:10={twin}", "--config", f"casme2={CONF}",
                 "--out", str(tmp_path / "out"))  # fmt: skip
    return suite_units.make_units(suite.make_plan(args), tmp_path / "out", [], None, 0)


def test_a_second_run_with_every_marker_present_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    units = _plan_units(tmp_path)
    assert len(units) == 2 * (1 + 2 * 2)  # per render: the peer/probe unit, 2 model rows x 2 seeds
    for unit in units:
        for row, path in zip(unit.rows, unit.results, strict=True):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            write_json(path, _unit("casme2", row, unit.render, unit.seed, 0.5 if unit.render == 0 else 0.4))

    def never(unit: suite_units.Unit) -> None:
        raise AssertionError(f"ran {unit.name}")

    monkeypatch.setattr(suite_units, "run_unit", never)
    monkeypatch.setattr(suite_units, "ProcessPoolExecutor", never)
    twin = tmp_path / "twin"
    code = suite_cli.main(["--databases", "casme2", "--renders", "0,10", "--selection-renders", "0",
                       "--seeds", "2", "--twin", f"casme2:0={twin}", "--twin", f"casme2:10={twin}",
                       "--config", f"casme2={CONF}", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert out.count("[skip]") == len(units) and "[done]" not in out
    table = json.loads((tmp_path / "out" / "suite.json").read_text())
    assert len(table["units"]) == 2 * (2 + 4)
    full = table["aggregate"]["databases"]["casme2"]["rows"]["mercontrast_full"]
    assert full["gap_uf1"] == pytest.approx(0.1) and full["selection"]["runs"] == 2


def test_only_the_missing_units_run_in_one_thread_workers(tmp_path: Path) -> None:
    units = _plan_units(tmp_path)
    for unit in units[1:]:  # render 0's peer/probe unit is missing; so are all of render 10's ...
        if unit.render == 0:
            for path in unit.results:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                write_json(path, {})
    run = suite_units.child_threads
    results, failures = suite_units.execute(units, jobs=2, runner=run, log=lambda line: None)
    assert failures == []
    ran = [r["unit"].name for r in results]
    assert sorted(ran) == sorted(u.name for u in units if u.render == 10 or u.prepare)
    assert {r["threads"] for r in results} == {1} and {r["omp"] for r in results} == {"1"}
    # a render's model units start only after its peer/probe (flow cache) unit
    order = [name for name in ran if "render10" in name]
    assert "peer_flow_logreg" in order[0]


def sleep_and_report(unit: Any) -> int:
    """A unit runner that outlives the test unless it is stopped (module level: spawned workers import it)."""
    import os
    import time

    Path(unit.results[0]).parent.mkdir(parents=True, exist_ok=True)
    Path(unit.results[0]).with_suffix(".pid").write_text(str(os.getpid()))
    time.sleep(60)
    return os.getpid()


def test_sigterm_stops_the_workers_and_keeps_nothing_half_done(tmp_path: Path) -> None:
    import os
    import signal
    import threading
    import time

    units = _plan_units(tmp_path)[:2]
    pid_files = [Path(u.results[0]).with_suffix(".pid") for u in units]

    def terminate_once_both_started() -> None:
        deadline = time.monotonic() + 60
        while not all(f.is_file() for f in pid_files) and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_once_both_started, daemon=True).start()
    units = [suite_units.Unit(**{**u.__dict__, "prepare": True}) for u in units]  # both start at once
    started = time.monotonic()
    with pytest.raises(suite_units.SuiteTerminated):
        suite_units.execute(units, jobs=2, runner=sleep_and_report, log=lambda line: None)
    assert time.monotonic() - started < 50  # not the workers' 60 s sleep
    for pid_file in pid_files:
        pid = int(pid_file.read_text())
        with pytest.raises(ProcessLookupError):  # the worker is gone, not training on alone
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
    assert not any(u.done() for u in units)
    assert signal.getsignal(signal.SIGTERM) is not suite_units._terminated  # the handler is restored


def test_twins_are_rendered_with_each_databases_own_face_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mer_contrast.synth import sheet_twin

    _sheet(tmp_path)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(sheet_twin, "render_from_sheet", lambda *a, **k: calls.append(k))
    plan = suite.make_plan(_args("--databases", "casme2", "--sheets", str(tmp_path), "--out", str(tmp_path)))
    suite_units.render_twins(plan, workers=1, log=lambda line: None)
    assert calls and all(call["database_sizes"] is True for call in calls)


def test_the_units_stay_importable_from_suite() -> None:
    # workers of a suite started before the split unpickle Unit and call run_unit/one_thread by this path
    for name in ("Unit", "SuiteError", "run_unit", "one_thread", "child_threads", "execute", "make_units"):
        assert getattr(suite, name) is getattr(suite_units, name)


# ------------------------------------------------------------------------------------ end to end


def test_quick_suite_end_to_end_on_a_tiny_twin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tiny_bert_model import save_tiny_bert

    _sheet(tmp_path / "sheets", subjects=3)
    (tmp_path / "bert").mkdir()
    bert = save_tiny_bert(tmp_path / "bert", ["brow", "lip", "corner", "raiser", "chin", "lowerer"])
    argv = [
        "suite", "--sheets", str(tmp_path / "sheets"), "--databases", "casme2", "--quick",
        "--renders", "0,10", "--selection-renders", "0", "--rows", "peer_flow_logreg,mercontrast_lambda0",
        "--config", f"casme2={CONF}", "--jobs", "2", "--workers", "0", "--out", str(tmp_path / "out"),
        "--cache-dir", str(tmp_path / "cache"), "--",
        "--trainer.max_epochs=2", f"--model.init_args.text.init_args.model={bert}",
    ]  # fmt: skip
    assert bench_main(argv) == 0
    out = capsys.readouterr().out
    assert "QUICK MODE" in out and out.count("[done]") == 4  # 2 renders x (peer unit, lambda0 seed 0)
    table = json.loads((tmp_path / "out" / "suite.json").read_text())
    assert table["quick"] and table["selection_renders"] == [0] and table["untouched_renders"] == [10]
    assert sorted((u["row"], u["render"]) for u in table["units"]) == [
        ("mercontrast_lambda0", 0), ("mercontrast_lambda0", 10),
        ("peer_flow_logreg", 0), ("peer_flow_logreg", 10),
    ]  # fmt: skip
    for unit in table["units"]:
        assert 0.0 <= unit["uf1"] <= 1.0 and unit["n"] == 15 and unit["seconds"] > 0, unit
    rows = table["aggregate"]["databases"]["casme2"]["rows"]
    for name in ("peer_flow_logreg", "mercontrast_lambda0"):
        for group in ("selection", "untouched"):
            assert rows[name][group]["runs"] == 1 and math.isfinite(rows[name][group]["mean"]["uf1"])
        assert math.isfinite(rows[name]["gap_uf1"])
    assert rows["mercontrast_lambda0"]["oracle_uf1"]["runs"] == 2
    assert (tmp_path / "out" / "twins" / "casme2" / "limit60-render10.done.json").is_file()
    markdown = (tmp_path / "out" / "suite.md").read_text()
    assert "## casme2" in markdown and markdown.count("\n| ") == 1 + 2
    # resumed: nothing runs again, the same table comes back
    assert bench_main(argv) == 0
    assert capsys.readouterr().out.count("[skip]") == 4
    assert json.loads((tmp_path / "out" / "suite.json").read_text())["aggregate"] == table["aggregate"]


def test_a_second_suite_on_one_out_is_refused_naming_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = f"mer-contrast bench suite --out {tmp_path / 'out'}"
    holder = hold_in_another_process(tmp_path / "out", first)
    try:
        assert suite_cli.main(["--databases", "casme2", "--out", str(tmp_path / "out")]) == 2
    finally:
        holder.kill()
        holder.wait()
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"mer-contrast bench suite: error: {tmp_path / 'out'} is in use by pid {holder.pid}"
    )
    assert first in line and line.endswith("or pass another --out")
