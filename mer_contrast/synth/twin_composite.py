"""The MEGC2019 composite twin (``--layout megc2019``): one folder a MEGC2019 reader reads as the release.

:func:`render_composite` copies ``combined_3class_gt.csv`` and renders, for the rows it names,
``CASME2/`` and ``SAMM/`` twins of the CASME II and SAMM sheets found beside the csv and ``SMIC/`` (the
csv's ``smic`` rows, see :mod:`.twin_smic`). Each part is a standalone twin restricted to those rows
(:func:`.twin_render.render_twin` with ``keys``), so every clip is byte-identical to the standalone
twin's; each part has its own ``manifest.json`` and :func:`_composite_manifest` writes the top-level
one (subjects ``casme2/sub01``-style, emotion = the csv's class).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from mer_contrast.datasets import megc2019 as megc2019_reader
from mer_contrast.datasets.records import SampleRecord
from mer_contrast.synth import twin_clip as st
from mer_contrast.synth.manifest import MANIFEST_NAME, SynthClip, SynthManifest
from mer_contrast.synth.twin_layouts import (
    PROFILES,
    _check_arguments,
    database_options,
    read_sheet,
)
from mer_contrast.synth.twin_render import render_twin
from mer_contrast.synth.twin_smic import _beside

#: The composite's parts: source database -> its folder (as the MEGC2019 reader wants it).
COMPOSITE_PARTS = dict(megc2019_reader.SOURCE_FOLDERS)


def render_composite(
    sheet: Path,
    out: Path,
    options: st.TwinOptions,
    *,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    database_sizes: bool = False,
) -> SynthManifest:
    """The MEGC2019 composite: the csv, and ``CASME2/``, ``SAMM/``, ``SMIC/`` twins of its rows."""
    from mer_contrast.synth.generator import _prepare_folder

    _check_arguments(limit, workers)
    sheet = Path(sheet)
    entries = list(read_sheet("megc2019", sheet).records)[:limit]
    if not entries:
        raise ValueError(f"synth --from-sheet: {sheet} has no usable row")
    databases = [db for db in COMPOSITE_PARTS if any(e.dataset == db for e in entries)]
    sources: dict[str, Path] = {}
    for db in databases:
        if db == "smic":
            continue
        found = _beside(sheet.parent, PROFILES[db].sheets)
        if found is None:
            raise ValueError(
                f"synth --from-sheet: the {PROFILES[db].title} rows of {sheet.name} need "
                f"{PROFILES[db].sheets[0]} beside it in {sheet.parent}"
            )
        sources[db] = found
    _prepare_folder(Path(out), overwrite)
    out = Path(out)
    shutil.copyfile(sheet, out / sheet.name)
    manifests: dict[str, SynthManifest] = {}
    for db in databases:
        part = out / COMPOSITE_PARTS[db]
        part_options = database_options(db, options) if database_sizes else options
        rows = [e for e in entries if e.dataset == db]
        keys = {f"{e.subject.split('/', 1)[1]}/{e.clip_id}" for e in rows}
        if db == "smic":  # the csv stays at the top; same rows, same draws as the standalone SMIC twin
            manifests[db] = render_twin(
                db, sheet, part, part_options, workers=workers, keys=keys, copy_sheet=False
            )
        else:
            manifests[db] = render_twin(db, sources[db], part, part_options, workers=workers, keys=keys)
    return _composite_manifest(sheet, out, options, entries, manifests)


def _composite_manifest(
    sheet: Path,
    out: Path,
    options: st.TwinOptions,
    entries: list[SampleRecord],
    manifests: dict[str, SynthManifest],
) -> SynthManifest:
    """Top-level manifest: every part's clips (subjects ``casme2/sub01``-style, emotion = class)."""
    by_key: dict[str, tuple[str, SynthClip]] = {}
    for db, manifest in manifests.items():
        for clip in manifest.clips:
            subject = f"sub{clip.subject}" if db == "casme2" else clip.subject
            by_key[f"{db}/{subject}/{clip.clip_id}"] = (db, clip)
    clips = []
    for entry in entries:
        found = by_key.get(f"{entry.subject}/{entry.clip_id}")
        if found is None:
            continue
        db, clip = found
        folder = COMPOSITE_PARTS[db]
        clips.append(
            replace(
                clip,
                subject=entry.subject,
                emotion=entry.emotion,
                row=entry.row,
                frame_folder=f"{folder}/{clip.frame_folder}",
                cropped_folder=f"{folder}/{clip.cropped_folder}" if clip.cropped_folder else None,
            )
        )
    prefix = {db: f"{db}/" for db in manifests}
    manifest = SynthManifest(
        layout="megc2019",
        root=str(out),
        sheet=sheet.name,
        seed=options.seed,
        size=max(m.size for m in manifests.values()),
        frame_size=next(iter(manifests.values())).frame_size,
        grayscale=False,
        face_boxes={prefix[db] + s: b for db, m in manifests.items() for s, b in m.face_boxes.items()},
        face_ellipses={prefix[db] + s: e for db, m in manifests.items() for s, e in m.face_ellipses.items()},
        clips=clips,
        quirks={f"{db}:{k}": v for db, m in manifests.items() for k, v in m.quirks.items()},
        draws={prefix[db] + k: d for db, m in manifests.items() for k, d in m.draws.items()},
        parts={db: COMPOSITE_PARTS[db] for db in manifests},
    )
    manifest.save(out / MANIFEST_NAME)
    return manifest
