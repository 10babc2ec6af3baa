"""Session fixtures: synthetic datasets generated once into tmp folders through the public API."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_contrast.synth import TINY, SynthManifest, generate


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthManifest]:
    """Each layout at the tiny test size (2 subjects x 3 clips, 48 px, 4-8 frames), seed 0."""
    root = tmp_path_factory.mktemp("synth_tiny")
    return {layout: generate(layout, root / layout, **TINY) for layout in ("casme2", "mmew", "samm")}


@pytest.fixture(scope="session")
def twelve(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthManifest]:
    """Each layout with 12 clips: enough for every planted quirk (rare class, SAMM bad apex)."""
    root = tmp_path_factory.mktemp("synth_twelve")
    options = {**TINY, "subjects": 3, "clips_per_subject": 4}
    return {
        layout: generate(layout, root / layout, seed=3, **options) for layout in ("casme2", "mmew", "samm")
    }


@pytest.fixture(scope="session")
def casme2_128(tmp_path_factory: pytest.TempPathFactory) -> SynthManifest:
    """CASME II layout at a realistic face size (128 px), short clips, for motion checks."""
    root = tmp_path_factory.mktemp("synth_128")
    return generate(
        "casme2", root / "casme2", subjects=2, clips_per_subject=8, size=128, frames=(5, 8), seed=11
    )


def root_of(manifest: SynthManifest) -> Path:
    return Path(manifest.root)
