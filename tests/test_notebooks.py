"""The notebooks execute top to bottom (outputs are stripped in git) and match their jupytext pairs.

Each ``notebooks/<name>.ipynb`` is paired with ``notebooks/<name>.py`` (jupytext percent format, the
file to edit and review): after editing the ``.py``, run ``jupytext --sync notebooks/<name>.py``.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs before commit"
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_there_is_a_quickstart() -> None:
    assert any(p.name == "quickstart.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_matches_its_jupytext_pair(path: Path) -> None:
    import jupytext

    pair = path.with_suffix(".py")
    assert pair.is_file(), f"{pair} missing: jupytext --set-formats ipynb,py:percent {path}"
    cells = [(c.cell_type, c.source) for c in nbformat.read(path, as_version=4).cells]
    paired = [(c.cell_type, c.source) for c in jupytext.read(pair).cells]
    assert cells == paired, f"{path.name} and {pair.name} differ: run jupytext --sync {pair}"
