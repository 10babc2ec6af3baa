"""`mer-contrast report` on hand-written fold folders: pooling, seeds, labels, partial runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lock_holder import hold_in_another_process
from read_only import refuse_writes_in
from sklearn.metrics import f1_score

from mer_contrast.cli import report as report_cli
from mer_contrast.loso import report
from mer_contrast.loso.store import (
    SELECTION_LABELS,
    fold_dir,
    prediction_file,
    write_json,
    write_predictions,
)

CLASSES = ["negative", "positive", "surprise"]
# seed -> subject -> (labels, honest preds, oracle preds)
FOLDS = {
    0: {"s1": ([0, 1, 2], [0, 1, 1], [0, 1, 2]), "s2": ([0, 0, 1], [0, 2, 1], [0, 0, 1])},
    1: {"s1": ([0, 1, 2], [1, 1, 2], [0, 1, 2]), "s2": ([0, 0, 1], [0, 0, 0], [0, 0, 1])},
}


def _write_fold(out: Path, seed: int, subject: str, labels, honest, oracle) -> None:
    folder = fold_dir(out, seed, subject)
    folder.mkdir(parents=True)
    selections = {}
    for key, preds, epoch in (("honest", honest, 9), ("oracle", oracle, 3)):
        rows = [
            {"subject": subject, "clip_id": f"{subject}/c{i}", "label": y, "pred": p,
             "probs": [0.8 if c == p else 0.1 for c in range(3)]}
            for i, (y, p) in enumerate(zip(labels, preds, strict=True))
        ]  # fmt: skip
        write_predictions(
            folder / prediction_file(key),
            rows,
            CLASSES,
            epoch=epoch,
            seed=seed,
            selection=SELECTION_LABELS[key],
        )
        selections[key] = {"label": SELECTION_LABELS[key], "file": prediction_file(key), "epoch": epoch}
    write_json(
        folder / "done.json",
        {"subject": subject, "seed": seed, "classes": CLASSES, "config_hash": "x", "selections": selections},
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    for seed, subjects in FOLDS.items():
        for subject, (labels, honest, oracle) in subjects.items():
            _write_fold(tmp_path, seed, subject, labels, honest, oracle)
    write_json(
        tmp_path / "loso.json",
        {"experiment": "toy", "classes": CLASSES, "folds": ["s1", "s2"], "seeds": [0, 1]},
    )
    return tmp_path


def test_report_pools_folds_and_seeds(run_dir: Path) -> None:
    assert report_cli.main([str(run_dir), "--quiet"]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["complete"] and summary["folds_done"] == 4 and summary["classes"] == CLASSES
    honest = summary["honest"]
    assert honest["selection"] == SELECTION_LABELS["honest"] and not honest["optimistic"]
    # seed 0 pooled = concatenation of its two folds
    labels0 = FOLDS[0]["s1"][0] + FOLDS[0]["s2"][0]
    preds0 = FOLDS[0]["s1"][1] + FOLDS[0]["s2"][1]
    seed0 = honest["per_seed"][0]
    assert seed0["seed"] == 0 and seed0["n"] == 6
    assert seed0["uf1"] == pytest.approx(f1_score(labels0, preds0, average="macro", labels=[0, 1, 2]))
    uf1s = [s["uf1"] for s in honest["per_seed"]]
    assert honest["seeds"]["mean"]["uf1"] == pytest.approx(sum(uf1s) / 2)
    assert honest["pooled"]["n"] == 12
    assert {(f["seed"], f["subject"]) for f in honest["per_fold"]} == {
        (0, "s1"),
        (0, "s2"),
        (1, "s1"),
        (1, "s2"),
    }
    assert all(f["epoch"] == 9 for f in honest["per_fold"])
    oracle = summary["oracle"]
    assert oracle["selection"] == "oracle (test-set selection, optimistic)" and oracle["optimistic"]
    assert oracle["pooled"]["accuracy"] == 1.0
    assert sum(map(sum, oracle["confusion"])) == 12
    assert summary["chance"]["uniform"]["accuracy"] == pytest.approx(1 / 3)
    assert summary["chance"]["majority"]["accuracy"] == pytest.approx(6 / 12)

    markdown = (run_dir / "summary.md").read_text()
    assert "## Oracle (test-set selection, optimistic)" in markdown
    assert "## Honest (fixed epoch budget: last epoch)" in markdown
    assert "mean ± std over 2 seed(s)" in markdown
    assert markdown.index("## Honest") < markdown.index("## Oracle")
    for key in ("honest", "oracle"):
        assert (run_dir / f"confusion_{key}.png").stat().st_size > 1000


def test_partial_run_is_reported_as_such(run_dir: Path) -> None:
    (fold_dir(run_dir, 1, "s2") / "done.json").unlink()
    summary = report.write_report(run_dir, plots=False)
    assert not summary["complete"] and summary["missing"] == ["seed1/s2"]
    assert summary["honest"]["pooled"]["n"] == 9
    assert "**Partial run**" in report.render_markdown(summary)


def test_report_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_cli.main([str(tmp_path / "nope")]) == 1
    assert report_cli.main([str(tmp_path)]) == 1
    assert "no finished fold" in capsys.readouterr().out
    _write_fold(tmp_path, 0, "s1", [0], [0], [0])
    (fold_dir(tmp_path, 0, "s1") / "done.json").write_text("{broken")
    assert report_cli.main([str(tmp_path)]) == 1
    assert "seed0/s1: " in capsys.readouterr().out


def test_a_garbled_done_json_is_left_out_naming_the_file(run_dir: Path) -> None:
    garbled = fold_dir(run_dir, 1, "s2") / "done.json"
    garbled.write_text('{"subject": "s2", "se')
    assert report_cli.main([str(run_dir), "--quiet", "--no-plots"]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["folds_done"] == 3 and summary["missing"] == ["seed1/s2"]
    [reason] = summary["excluded"]
    assert reason.startswith(f"seed1/s2: {garbled}: not valid JSON") and reason.endswith(
        "rerun `loso` to redo it"
    )


def test_a_clip_twice_with_the_right_row_count_is_not_pooled(run_dir: Path) -> None:
    path = fold_dir(run_dir, 0, "s1") / prediction_file("honest")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:3], lines[2]]) + "\n")  # s1/c1 twice, s1/c2 gone: still 3 rows
    summary = report.write_report(run_dir, plots=False)
    assert f"seed0/s1: {path}: clip s1/c1 appears twice (another clip is missing)" in summary["excluded"]
    assert summary["missing"] == ["seed0/s1"] and summary["honest"]["pooled"]["n"] == 9


def test_report_on_a_read_only_run_prints_it_and_says_what_was_not_written(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    refuse_writes_in(run_dir, monkeypatch)
    assert report_cli.main([str(run_dir), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "# LOSO report: toy" in captured.out and "Traceback" not in captured.err
    assert captured.err.splitlines() == [
        f"error: summary files not written: {run_dir}: cannot be written (Read-only file system)"
    ]
    assert not (run_dir / "summary.json").exists()


def test_report_while_loso_holds_the_run_prints_it_and_leaves_the_files_to_loso(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = hold_in_another_process(run_dir, "mer-contrast loso --out toy")
    try:
        assert report_cli.main([str(run_dir)]) == 1
    finally:
        holder.kill()
        holder.wait()
    captured = capsys.readouterr()
    assert "# LOSO report: toy" in captured.out
    [line] = captured.err.splitlines()
    assert line.startswith(f"error: summary files not written: {run_dir} is in use by pid {holder.pid}")
    assert line.endswith("it writes them itself when it ends") and not (run_dir / "summary.json").exists()


def test_report_pools_only_the_folds_of_its_run(run_dir: Path) -> None:
    meta = json.loads((run_dir / "loso.json").read_text())
    write_json(run_dir / "loso.json", {**meta, "config_hash": "x", "seeds": [0], "folds": ["s1", "s2"]})
    other = fold_dir(run_dir, 0, "s2") / "done.json"
    other.write_text(json.dumps({**json.loads(other.read_text()), "config_hash": "y"}))
    summary = report.summarize(run_dir)
    # seed 1 is not one of the run's seeds; seed0/s2 was made with another config
    assert (
        summary["folds_done"] == 1 and summary["folds_expected"] == 2 and summary["missing"] == ["seed0/s2"]
    )
    reasons = dict(e.split(": ", 1) for e in summary["excluded"])
    assert "another config" in reasons["seed0/s2"] and "not one of this run" in reasons["seed1/s1"]
    assert summary["honest"]["pooled"]["n"] == 3
    assert "**Not pooled**" in report.render_markdown(summary)


def test_fold_whose_predictions_disagree_with_done_json_is_not_pooled(run_dir: Path) -> None:
    done_path = fold_dir(run_dir, 1, "s2") / "done.json"
    done_path.write_text(json.dumps({**json.loads(done_path.read_text()), "n_test": 4}))
    summary = report.summarize(run_dir)
    assert summary["missing"] == ["seed1/s2"] and not summary["complete"]
    assert "3 rows, but" in summary["excluded"][0] and "n_test 4" in summary["excluded"][0]
    assert summary["honest"]["pooled"]["n"] == 9
