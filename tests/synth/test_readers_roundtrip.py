"""The package's own readers (``mer_contrast.datasets``) read the synthetic datasets back exactly."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mer_contrast.datasets import DEFAULT_PROTOCOL, apply_protocol, read_dataset
from mer_contrast.synth import SynthClip, SynthManifest

MAIN_CLASSES = {
    "casme2": {"happiness", "disgust", "repression", "surprise", "others"},
    "samm": {"anger", "contempt", "happiness", "surprise", "other"},
    "mmew": {"happiness", "surprise", "disgust", "others", "fear", "sadness", "anger"},
}


def _reader_subject(layout: str, clip: SynthClip) -> str:
    """Subject id as the readers name it (the frame folder name): ``sub01``, ``S01``, ``006``."""
    return {"casme2": f"sub{clip.subject}", "mmew": f"S{int(clip.subject):02d}", "samm": clip.subject}[layout]


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_reader_gets_the_manifest_counts(twelve: dict[str, SynthManifest], layout: str) -> None:
    manifest = twelve[layout]
    result = read_dataset(layout, Path(manifest.root), quiet=True)
    assert result.skipped == []
    assert len(result.records) == len(manifest.clips)
    wanted_classes = Counter({name.lower(): count for name, count in manifest.class_counts.items()})
    assert Counter(record.emotion.lower() for record in result.records) == wanted_classes
    wanted_subjects = Counter(_reader_subject(layout, clip) for clip in manifest.clips)
    assert Counter(record.subject for record in result.records) == wanted_subjects
    by_key = {(_reader_subject(layout, c), c.clip_id): c for c in manifest.clips}
    for record in result.records:
        clip = by_key[(record.subject, record.clip_id)]
        first, last = clip.cropped_range or clip.frame_range  # CASME II reads Cropped/ by default
        assert record.frame_numbers == tuple(range(first, last + 1))
        assert all(path.is_file() for path in record.frames)
        assert record.onset == clip.onset and record.offset == clip.offset
    assert result.frames_found == sum(len(r.frames) for r in result.records)


def test_casme2_quirks_are_seen_by_the_reader(twelve: dict[str, SynthManifest]) -> None:
    manifest = twelve["casme2"]
    result = read_dataset("casme2", Path(manifest.root), quiet=True)
    records = {f"{r.subject.removeprefix('sub')}/{r.clip_id}": r for r in result.records}
    assert records[manifest.quirks["apex_slash"]].apex is None
    short = records[manifest.quirks["cropped_short"]]
    assert len(short.frames) < short.offset - short.onset + 1
    assert all(record.extra.get("cropped") == "1" for record in result.records)
    raw = read_dataset("casme2", Path(manifest.root), frames="raw", quiet=True)
    assert raw.frames_found == sum(clip.frames for clip in manifest.clips)


@pytest.mark.parametrize("layout", ["casme2", "mmew", "samm"])
def test_default_protocol_drops_only_the_rare_rows(twelve: dict[str, SynthManifest], layout: str) -> None:
    manifest = twelve[layout]
    result = read_dataset(layout, Path(manifest.root), quiet=True)
    kept, dropped = apply_protocol(result, DEFAULT_PROTOCOL[layout])
    rare = sum(
        count for name, count in manifest.class_counts.items() if name.lower() not in MAIN_CLASSES[layout]
    )
    assert len(dropped) == rare and len(kept) == len(manifest.clips) - rare
    if layout != "mmew":
        assert rare == 1  # the one fear/sadness (CASME II) or disgust/fear/sadness (SAMM) row
