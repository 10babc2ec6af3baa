"""The notebooks execute top to bottom without third-party chatter, keep their outputs in git (a reader on
GitHub sees the pictures), and match their jupytext pairs.

Each ``notebooks/<name>.ipynb`` is paired with ``notebooks/<name>.py`` (jupytext percent format, the
file to edit and review): after editing the ``.py``, run ``jupytext --sync notebooks/<name>.py``, then
store the outputs again::

    python -c "import nbformat, nbclient; p = 'notebooks/quickstart.ipynb'; nb = nbformat.read(p, 4); \\
        nbclient.NotebookClient(nb, kernel_name='python3', record_timing=False).execute(); \\
        nbformat.write(nb, p)"

(with ``MPLBACKEND`` unset, so that the inline figures are drawn).
"""

import base64
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# What Lightning, torch and Jupyter print that says nothing about the run.
CHATTER = ("💡 Tip", "LeafSpec", "deprecated", "Deprecat", "IProgress", "ipywidgets", "Traceback")
#: One stored picture stays small, so the notebook stays a readable diff and a quick download.
MAX_PNG_BYTES = 120_000


def _texts(nb: nbformat.NotebookNode) -> list[str]:
    """Every text output of the code cells: streams, results and errors."""
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(str(output.get("data", {}).get("text/plain", "")))
            texts += output.get("traceback", [])
    return texts


def _pngs(nb: nbformat.NotebookNode) -> list[bytes]:
    return [
        base64.b64decode(output["data"]["image/png"])
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_chatter(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the tests' Agg would hide the inline figures
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    texts = _texts(nb)
    assert [word for word in CHATTER if any(word in text for text in texts)] == []
    assert len(_pngs(nb)) >= len(_pngs(nbformat.read(path, as_version=4)))  # every stored picture again


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_stores_its_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code), f"{path.name}: store it executed (see above)"
    assert [word for word in CHATTER if any(word in text for text in _texts(nb))] == []
    pngs = _pngs(nb)
    assert pngs and all(png.startswith(b"\x89PNG") and len(png) < MAX_PNG_BYTES for png in pngs)


def test_the_quickstart_shows_the_study_pictures() -> None:
    quickstart = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"
    source = "\n".join(cell.source for cell in nbformat.read(quickstart, as_version=4).cells)
    for picture in ("joint_space", "per_fold", "per_class", "honest_vs_oracle", "plot_confusion"):
        assert picture in source
    assert len(_pngs(nbformat.read(quickstart, as_version=4))) >= 8


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
