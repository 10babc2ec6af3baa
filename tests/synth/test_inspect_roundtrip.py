"""`mer-contrast inspect --root` reads every synthetic layout back with the counts the generator wrote."""

from __future__ import annotations

import json

import pytest

from mer_contrast.cli.main import main
from mer_contrast.datasets import get_protocol
from mer_contrast.synth import SynthManifest

from .conftest import root_of


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_inspect_root_counts_equal_manifest(
    layout: str, twelve: dict[str, SynthManifest], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = twelve[layout]
    assert main(["inspect", "--dataset", layout, "--root", str(root_of(manifest)), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    protocol = get_protocol(summary["protocol"])
    expected: dict[str, int] = {name: 0 for name in protocol.classes}
    for clip in manifest.clips:
        label = protocol.label_of(clip.emotion)
        if label is not None:
            expected[protocol.classes[label]] += 1
    assert summary["per_class"] == expected
    assert summary["total"] == sum(expected.values())
    written = sum(1 for clip in manifest.clips if protocol.label_of(clip.emotion) is not None)
    assert sum(summary["per_subject"].values()) == written
