"""Writing a twin's frames: where each clip goes and one subject's clips per worker.

:func:`render_plans` renders ``(stream index, plan)`` pairs one subject per job (in worker processes
when ``workers > 1``; the output does not depend on it); :func:`render_subject` draws the subject's
face (:func:`.variation.twin_face`) and writes every clip of that subject into the folders
:func:`_targets` names for the layout (see :data:`.twin_layouts.PROFILES`), as JPEG or, for SMIC, BMP.
:func:`render_twin` renders one database's twin with it (planning from :mod:`.twin_layouts`) and
writes the manifest.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Collection
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, cast

from mer_contrast.datasets import casme3 as casme3_reader
from mer_contrast.datasets import mmew as mmew_reader
from mer_contrast.datasets.records import SampleRecord
from mer_contrast.synth import twin_clip as st
from mer_contrast.synth import twin_layouts as tl
from mer_contrast.synth.manifest import MANIFEST_NAME, SynthClip, SynthManifest
from mer_contrast.synth.patterns import MMEW_FOLDER, format_aus
from mer_contrast.synth.render import JPEG_QUALITY, SubjectFace, write_jpeg
from mer_contrast.synth.twin_layouts import PROFILES
from mer_contrast.synth.twin_smic import (
    SMIC_RELEASE,
    _write_bmp,
    plan_smic,
    smic_au_table,
    smic_clip_folder,
    smic_subject_folder,
)
from mer_contrast.synth.variation import twin_face

Target = tuple[str, Callable[[int], str], bool]  # folder, frame number -> file name, face crop?


def _targets(layout: str, record: SampleRecord, raw: bool) -> list[Target]:
    """Where a clip's frames go: (folder relative to the twin root, file namer, crop the face box)."""
    subject, clip = record.subject, record.clip_id
    if layout == "casme2":
        cropped = (f"{st.CASME2_CROPPED}/{subject}/{clip}", lambda n: f"reg_img{n}.jpg", True)
        return (
            [cropped, (f"{st.CASME2_RAW}/{subject}/{clip}", lambda n: f"img{n}.jpg", False)]
            if raw
            else [cropped]
        )
    if layout == "samm":
        return [(f"{subject}/{clip}", lambda n: f"{subject}_{n:05d}.jpg", not raw)]
    if layout == "mmew":
        folder = MMEW_FOLDER.get(record.emotion, record.emotion)
        return [(f"{mmew_reader.FRAMES_FOLDER}/{folder}/{clip}", lambda n: f"{n}.jpg", True)]
    if layout == "casme3":
        video = record.extra.get("video_letter", clip)
        return [(f"{casme3_reader.FRAMES_FOLDER}/{subject}/{video}/color", lambda n: f"{n}.jpg", not raw)]
    if layout == "smic":
        folder = (
            f"{SMIC_RELEASE}/{smic_subject_folder(subject)}/micro/{record.emotion}/{smic_clip_folder(clip)}"
        )
        return [(folder, lambda n: f"reg_image{n}.bmp", True)]
    raise ValueError(f"synth: no twin layout {layout!r}")


Rendered = list[tuple[int, SynthClip, dict[str, float]]]


def render_subject(
    out: Path,
    layout: str,
    subject: str,
    subject_index: int,
    size: int,
    jobs: list[tuple[int, st.ClipPlan]],
    options: st.TwinOptions,
) -> tuple[SubjectFace, Rendered]:
    """Render every clip of one subject (one worker's unit of work); returns its face and clips."""
    profile = PROFILES[layout]
    raw = options.raw and profile.raw  # crop-only databases never write a canvas
    face = twin_face(options, layout, subject_index, size, raw=profile.raw, grayscale=profile.grayscale)
    x, y, w, h = face.box
    results = []
    for index, plan in jobs:
        record = plan.record
        first, last = plan.frames
        targets = _targets(layout, record, raw)
        for folder, _, _ in targets:
            (out / folder).mkdir(parents=True, exist_ok=True)
        frames, draws = st.render_clip(face, plan, options, index, layout=layout, fps=profile.fps, raw=raw)
        quality = int(draws.get("jpeg_quality", JPEG_QUALITY))
        for number, frame in zip(range(first, last + 1), frames, strict=True):
            for folder, name, crop in targets:
                image = frame[y : y + h, x : x + w] if crop and raw else frame
                if profile.suffix == ".bmp":
                    _write_bmp(out / folder / name(number), image)
                else:
                    write_jpeg(out / folder / name(number), image, quality=quality)
        casme2 = layout == "casme2"
        clip = SynthClip(
            subject=record.subject[3:] if casme2 and record.subject.startswith("sub") else record.subject,
            clip_id=record.clip_id,
            onset=record.onset,
            apex=record.apex,
            offset=record.offset,
            aus=record.au_raw,
            emotion=record.emotion,
            frame_folder=targets[-1][0],
            frame_range=(first, last),
            motion_aus=format_aus(
                plan.motion_aus, cast(Any, layout if layout in ("mmew", "samm") else "casme2")
            ),
            motion_apex=first + plan.apex_index,
            row=record.row,
            cropped_folder=targets[0][0] if casme2 else None,
            cropped_range=(first, last) if casme2 else None,
        )
        results.append((index, clip, draws))
    return face, results


def render_plans(
    layout: str,
    plans: list[tuple[int, st.ClipPlan]],
    out: Path,
    options: st.TwinOptions,
    workers: int,
) -> tuple[dict[str, SubjectFace], dict[str, int], Rendered]:
    """Render ``(stream index, plan)`` pairs into ``out`` one subject per job: faces, sizes, clips."""
    subjects = sorted({p.record.subject for _, p in plans})
    indices = st.subject_indices(subjects)
    sizes = st._subject_sizes(indices, options, layout)
    jobs: dict[str, list[tuple[int, st.ClipPlan]]] = {s: [] for s in subjects}
    for index, plan in plans:
        jobs[plan.record.subject].append((index, plan))
    args = [(out, layout, s, indices[s], sizes[s], jobs[s], options) for s in subjects]
    if workers > 1 and len(args) > 1:
        from mer_contrast.clips.precompute import worker_context  # not fork: see there

        with ProcessPoolExecutor(max_workers=workers, mp_context=worker_context()) as pool:
            parts = list(pool.map(render_subject, *zip(*args, strict=True)))
    else:
        parts = [render_subject(*a) for a in args]
    rendered = sorted((item for _, part in parts for item in part), key=lambda item: item[0])
    faces = {subject: face for subject, (face, _) in zip(subjects, parts, strict=True)}
    return faces, sizes, rendered


def render_twin(
    layout: str,
    sheet: Path,
    out: Path,
    options: st.TwinOptions,
    *,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    keys: Collection[str] | None = None,
    copy_sheet: bool = True,
) -> SynthManifest:
    """One database's twin (``casme2``, ``samm``, ``mmew``, ``casme3``, ``smic``): see the module docstring.

    ``keys`` (``subject/clip_id``): render only these rows, each with the same random draws as in the
    full twin (the composite's parts).
    """
    from mer_contrast.synth.generator import _prepare_folder

    profile = PROFILES[layout]
    tl._check_arguments(limit, workers)
    sheet = Path(sheet)
    result = tl.read_sheet(layout, sheet)
    quirks: dict[str, str] = {}
    if layout == "smic":
        entries = [r for r in result.records if r.dataset == "smic"]
        table, source = smic_au_table(sheet.parent)
        quirks["smic_aus"] = f"SMIC has no AU codes: drawn per class from {source}"
        quirks["smic_apex"] = "SMIC has no apex: the motion peaks at 35-65 % of the clip (motion_apex)"
        all_plans = plan_smic(entries, options.seed, table)
    else:
        all_plans = tl.plan_layout(layout, list(result.records), options.seed)
    indexed = list(enumerate(all_plans))[:limit]
    if keys is not None:
        wanted = set(keys)
        indexed = [(i, p) for i, p in indexed if p.record.key in wanted]
    if not indexed:
        raise ValueError(
            f"synth --from-sheet: {sheet} has no usable {profile.title} row; "
            "check it with `mer-contrast inspect`"
        )
    _prepare_folder(Path(out), overwrite)
    out = Path(out)
    if copy_sheet:
        shutil.copyfile(sheet, out / sheet.name)
    faces, sizes, rendered = render_plans(layout, indexed, out, options, workers)
    quirks.update(
        {f"{p.quirk}:{p.record.key}": f"{p.frames[0]}-{p.frames[1]}" for _, p in indexed if p.quirk}
    )
    if layout != "smic":
        quirks.update({f"skipped_row:{s.row}": s.reason for s in result.skipped})
        if sheet.name not in profile.sheets and copy_sheet:
            # read_dataset(root=out) looks for the official names only
            quirks["sheet_name"] = f"{sheet.name} is not an official name: give read_dataset sheet= too"
    raw = options.raw and profile.raw
    first = next(iter(faces.values()))
    manifest = SynthManifest(
        layout=layout,
        root=str(out),
        sheet=sheet.name if copy_sheet else f"../{sheet.name}",
        seed=options.seed,
        size=max(sizes.values()),
        frame_size=first.frame_size if raw else (first.box[2], first.box[3]),
        grayscale=profile.grayscale,
        face_boxes={tl._manifest_key(layout, s): f.box for s, f in faces.items()},
        face_ellipses={tl._manifest_key(layout, s): f.ellipse for s, f in faces.items()},
        clips=[clip for _, clip, _ in rendered],
        quirks=quirks,
        draws={f"{c.subject}/{c.clip_id}": d for _, c, d in rendered},
        fps=profile.fps,
    )
    manifest.save(out / MANIFEST_NAME)
    return manifest
