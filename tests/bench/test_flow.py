"""The benchmark runs end to end on a tiny setting (slow: it starts process pools and DataLoaders)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_contrast.cli import bench_flow as bench


@pytest.mark.slow
def test_bench_prints_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--clips", "2", "--frames", "6", "--method", "dis", "--image-size", "32", "--read-passes", "1"]
    assert bench.main([*argv, "--workdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for figure in ("pairs/s", "scaling 2 vs 1 worker", "cache-hit pass: 2 cached", "num_workers=2"):
        assert figure in out
