"""``mer-contrast bench quality`` end to end on a tiny sheet-driven twin: every row, JSON and markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_bert_model import save_tiny_bert

from mer_contrast.bench.quality import ROWS
from mer_contrast.cli.bench_quality import main as bench_main
from mer_contrast.synth import sheets
from mer_contrast.synth.sheet_twin import TwinOptions, render_from_sheet

CONF = Path(__file__).resolve().parents[1] / "conf" / "casme2.yaml"
PATTERNS = [(12, "happiness"), ("4+7", "disgust"), ("1+2", "surprise"), (17, "repression"), (4, "others")]


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("quality")
    rows: list[list[sheets.Cell]] = []
    for subject in range(1, 5):
        for k, (aus, emotion) in enumerate(PATTERNS):
            onset = 10 + 20 * k
            rows.append(
                [
                    f"{subject:02d}",
                    f"EP0{k + 1}_0{subject}",
                    None,
                    onset,
                    onset + 4,
                    onset + 7,
                    None,
                    aus,
                    emotion,
                ]
            )
    sheets.write_casme2(folder / "CASME2-coding-20140508.xlsx", rows)
    out = folder / "twin"
    render_from_sheet(
        "casme2",
        folder / "CASME2-coding-20140508.xlsx",
        out,
        options=TwinOptions(crop_sizes=(40, 44), raw=False),
    )
    return out


def test_bench_quality_runs_every_row(
    twin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder
) -> None:
    (tmp_path / "bert").mkdir()
    bert = save_tiny_bert(tmp_path / "bert", ["brow", "lip", "corner", "raiser", "chin", "lowerer"])
    out = tmp_path / "bench"
    code = bench_main(
        [
            "--root", str(twin), "--config", str(CONF), "--seeds", "2", "--max-folds", "2", "--workers", "0",
            "--out", str(out), "--ststnet-epochs", "2", "--cache-dir", str(tmp_path / "cache"),
            f"--model.init_args.text.init_args.model={bert}",
        ]
    )  # fmt: skip
    assert code == 0
    table = json.loads((out / "quality.json").read_text())
    assert list(table["rows"]) == list(ROWS)
    for name, row in table["rows"].items():
        assert len(row["per_seed"]) == 2, name
        assert all(0.0 <= seed["uf1"] <= 1.0 and seed["n"] == 10 for seed in row["per_seed"]), name
        assert row["seconds"] >= 0 and set(row["mean"]) == {"accuracy", "uf1", "uar"}
    assert table["rows"]["peer_flow_logreg"]["std"]["uf1"] == 0.0  # deterministic
    assert "oracle" in table["rows"]["mercontrast_full"] and "oracle" in table["rows"]["mercontrast_lambda0"]
    markdown = (out / "quality.md").read_text()
    assert markdown.count("\n| ") == 1 + len(ROWS) and "oracle UF1 (optimistic)" in markdown
    assert (
        out / "mercontrast_lambda0" / "summary.json"
    ).exists() is False  # the bench pools, loso report not needed
    assert "peer 1: onset->apex TV-L1" in capsys.readouterr().out
    # The model rows run quietly, as `loso` does: no torch deprecation from inside Lightning.
    assert not [w for w in recwarn if "LeafSpec" in str(w.message)]


def test_bench_quality_refuses_a_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--root", str(tmp_path / "none"), "--config", str(CONF)]) == 2
    assert "mer-contrast synth --layout casme2 --from-sheet" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench_main(["--root", str(tmp_path), "--rows", "peer_bogus"])
