"""The one line `fit` prints: clips kept and dropped under the protocol, and why."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from ds_builders import CASME2_ROWS

from mer_contrast.clips.flow import FlowConfig
from mer_contrast.datamodules import MERDataModule
from mer_contrast.datasets import read_dataset
from mer_contrast.datasets.inspection import kept_line, summarize
from mer_contrast.datasets.protocols import get_protocol
from mer_contrast.synth import generate


def test_line_counts_reader_and_protocol_drops(casme2_root: Path) -> None:
    shutil.rmtree(casme2_root / "Cropped" / "sub01" / "EP19_05f")
    line = kept_line(summarize("casme2", root=casme2_root), root=casme2_root)
    kept = len(CASME2_ROWS) - 3  # fear and sadness are outside casme2-5class, one folder is gone
    assert line == (
        f"casme2: {kept} clips kept, 3 dropped (2 emotion not in protocol casme2-5class, "
        f"1 clip folder not found); not in casme2-5class: fear 1, sadness 1; "
        f"`mer-contrast inspect --dataset casme2 --root {casme2_root}` lists them"
    )


def test_line_without_drops_and_with_prepare_failures_only(casme2_root: Path) -> None:
    summary = summarize("casme2", root=casme2_root, protocol="casme2-7class")
    assert kept_line(summary) == f"casme2: {len(CASME2_ROWS)} clips kept, 0 dropped"
    assert kept_line(summary, not_prepared=1) == (
        f"casme2: {len(CASME2_ROWS) - 1} clips kept, 1 dropped (1 failed to prepare as warned above)"
    )


def test_a_protocol_of_another_database_names_the_labels_it_drops_and_the_one_that_fits(
    casme2_root: Path,
) -> None:
    emotions = Counter(r.emotion for r in read_dataset("casme2", root=casme2_root, quiet=True).records)
    samm = get_protocol("samm-5class")
    dropped = Counter({emotion: n for emotion, n in emotions.items() if samm.class_of(emotion) is None})
    assert dropped and sum(emotions.values()) > sum(dropped.values())
    summary = summarize("casme2", root=casme2_root, protocol="samm-5class")
    assert summary["protocol_dropped"] == dict(dropped.most_common())
    line = kept_line(summary)
    named = ", ".join(f"{emotion} {count}" for emotion, count in dropped.most_common(5))
    assert f"; not in samm-5class: {named}" in line, line
    assert f"({sum(dropped.values())} emotion not in protocol samm-5class" in line, line
    fits = f"; protocol casme2-7class fits this data (keeps all {emotions.total()} clips);"
    assert fits in line and "\n" not in line, line


def test_a_protocol_of_the_data_leaving_out_a_few_emotions_names_no_other(casme2_root: Path) -> None:
    summary = summarize("casme2", root=casme2_root, protocol="casme2-3class")
    assert summary["fitting_protocol"] is None and "fits this data" not in kept_line(summary)


def test_commonest_reasons_only(casme2_root: Path) -> None:
    summary = summarize("casme2", root=casme2_root)
    summary["skipped"] += [{"reason": f"reason {letter}", "stage": "reader"} for letter in "abc"]
    assert ", ..." in kept_line(summary, shown=2)


def test_datamodule_setup_prints_the_line_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "CASME2"
    generate("casme2", root, subjects=3, clips_per_subject=2, size=32, frames=(5, 6), seed=2)
    clip = sorted(p for p in (root / "Cropped").glob("sub02/*") if p.is_dir())[0]
    sorted(clip.glob("*.jpg"))[0].write_bytes(b"")  # this clip fails in prepare_data
    dm = MERDataModule(
        root=str(root),
        cache_dir=str(tmp_path / "cache"),
        num_frames=4,
        image_size=24,
        flow=FlowConfig(method="dis"),
        num_workers=0,
        precompute_workers=0,
    )
    dm.prepare_data()
    capsys.readouterr()
    dm.setup("fit")
    dm.setup("test")  # a second stage does not repeat it
    lines = [line for line in capsys.readouterr().err.splitlines() if "clips kept" in line]
    assert lines == ["casme2: 5 clips kept, 1 dropped (1 failed to prepare as warned above)"]
