"""Packaging that a GPU machine or a fresh checkout meets: the torch bound, the licence and what git ignores.

A ``torch<2.14`` bound made ``pip install mer-contrast`` on a GPU image with a newer torch (2.15 on
2026-12-07) replace its CUDA build with an older multi-GB one; the CPU pin of ``scripts/setup.sh``
lives in ``requirements/lock.txt`` (``-c``), not in the package's requirement.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]


def _torch_requirement() -> Requirement:
    found = re.search(r'^\s*"(torch[<>=!~][^"]*)"', (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    assert found, "pyproject.toml: no torch requirement"
    return Requirement(found.group(1))


def test_the_torch_bound_accepts_later_releases_and_the_lock_pins_the_cpu_one() -> None:
    requirement = _torch_requirement()
    assert requirement.specifier.contains("2.15.0") and requirement.specifier.contains("2.99.0"), (
        f"pyproject.toml: {requirement} would downgrade a newer (GPU) torch"
    )
    locked = [
        line
        for line in (REPO / "requirements" / "lock.txt").read_text().splitlines()
        if line.startswith("torch==")
    ]
    assert locked and requirement.specifier.contains(locked[0].removeprefix("torch=="))
    assert "-c requirements/lock.txt torch" in (REPO / "scripts" / "setup.sh").read_text()


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs a git checkout"
)
def test_build_outputs_are_ignored() -> None:
    for path in ("build/lib/mer_contrast/__init__.py", "dist/mer_contrast-0.1.0-py3-none-any.whl"):
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO)
        assert done.returncode == 0, f"{path} is not ignored by .gitignore (`pip wheel .` leaves build/)"


def test_the_licence_file_is_the_licence_the_metadata_declares() -> None:
    declared = re.search(
        r'^license = \{ text = "([^"]+)" \}', (REPO / "pyproject.toml").read_text(), re.MULTILINE
    )
    assert declared, "pyproject.toml: no license"
    licence = REPO / "LICENSE"
    assert licence.is_file(), "no LICENSE file: wheels and the index page ship without the licence text"
    assert licence.read_text().startswith(f"{declared.group(1)} License"), (
        "LICENSE and pyproject.toml disagree"
    )
