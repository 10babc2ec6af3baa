"""Fixtures: tiny synthetic datasets in the real on-disk layouts (built by ``ds_builders``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ds_builders import build_casme2, build_casme3, build_megc, build_mmew, build_samm, build_smic


@pytest.fixture
def casme2_root(tmp_path: Path) -> Path:
    return build_casme2(tmp_path / "CASME2")


@pytest.fixture
def mmew_root(tmp_path: Path) -> Path:
    return build_mmew(tmp_path / "MMEW")


@pytest.fixture
def samm_root(tmp_path: Path) -> Path:
    return build_samm(tmp_path / "SAMM_root")


@pytest.fixture
def casme3_root(tmp_path: Path) -> Path:
    return build_casme3(tmp_path / "CASME3")


@pytest.fixture
def megc_root(tmp_path: Path) -> Path:
    return build_megc(tmp_path / "MEGC")


@pytest.fixture
def smic_root(tmp_path: Path) -> Path:
    return build_smic(tmp_path / "SMIC")


@pytest.fixture
def builders() -> dict[str, Callable[[Path], Path]]:
    """Root builder per dataset name (for tests parametrised over datasets)."""
    return {
        "casme2": build_casme2,
        "mmew": build_mmew,
        "samm": build_samm,
        "casme3": build_casme3,
        "megc2019": build_megc,
        "smic": build_smic,
    }
