"""A twin of a real database rendered from its own coding sheet: one synthetic clip per sheet row.

``render_from_sheet("casme2", sheet, out)`` reads the user's sheet with the package's reader and
renders, for every row, a clip with the row's subject, file name, onset/apex/offset frame numbers and
AU code, in CASME II's on-disk layout (``CASME2_RAW_selected/`` and ``Cropped/``). What makes it a
useful stand-in for the licence-gated frames:

* **Micro-motion at the real scale**: face crops of ``crop_sizes`` px (CASME II: about 150-210) and a
  peak skin displacement of a render-level median (1.0-1.8 px) times a per-subject scale and a
  per-clip gain (both log-normal), clipped to ``amplitudes`` (0.3-3 px), rising from the onset to the
  apex frame and decaying to the offset (raised cosine).
* **The row's AU code drives the motion**: several AUs sum, ``L``/``R`` move one side only, AUs with
  no visible motion in :data:`~mer_contrast.synth.motion.AU_MOTIONS` move nothing (as a coder's AU
  the camera cannot see), and an unknown code (``?``) gets a pattern typical of the row's emotion.
  The label is therefore exactly as (un)recoverable from the motion as the real sheet makes it:
  many AU codes are shared between classes.
* **No single renderer** (:mod:`~mer_contrast.synth.variation`): each seed draws its own global
  statistics, then each subject and clip its own values within them: feature placement and face
  shape, the direction (up to +-30 deg) and extent of every AU's landmark motion, skin texture,
  lighting gradient, gamma, contrast and colour cast, sensor noise (1-4 grey levels) and JPEG quality
  (70-95).
* **Nuisances**: head drift (a smooth translation of up to 0.5-2.5 x ``drift_px`` over the clip,
  plus jitter) and roll (up to +-1 deg about the face centre) in the same warp, a slow global
  illumination drift (up to +-2 %), and blinks in ``blink_prob`` of the clips: both upper lids close
  and reopen over 100-400 ms (frames = duration x fps) while each eye region darkens by 20-50 %.
* **The rows that disagree with the folders**: the six clips whose ``Cropped/`` folder holds other
  frames than the sheet says (dataset notes §1.6) get the folder's frames, as on the real disk.

The sheet itself is the user's and is copied, unchanged, into ``out`` (never into a repository).
Same seed, same bytes, whatever ``workers``.
"""

from __future__ import annotations

from pathlib import Path

from mer_contrast.synth.manifest import SynthClip, SynthManifest
from mer_contrast.synth.render import SubjectFace
from mer_contrast.synth.twin_clip import (  # re-exported: the names every twin module and test uses
    BLINK_DEPTH,
    CASME2_CROPPED,
    CASME2_RAW,
    FOLDER_RANGES,
    TWIN,
    ClipPlan,
    TwinOptions,
    _apex_field,
    _blink_field,
    _blink_weights,
    _drift,
    plan_rows,
    render_clip,
    subject_indices,
)

__all__ = [
    "BLINK_DEPTH",
    "CASME2_CROPPED",
    "CASME2_RAW",
    "FOLDER_RANGES",
    "SUPPORTED",
    "TWIN",
    "ClipPlan",
    "TwinOptions",
    "_apex_field",
    "_blink_field",
    "_blink_weights",
    "_drift",
    "plan_rows",
    "render_clip",
    "render_from_sheet",
    "subject_indices",
]

SUPPORTED = ("casme2", "samm", "mmew", "casme3", "smic", "megc2019")  # see twin_layouts.PROFILES


Rendered = list[tuple[int, SynthClip, dict[str, float]]]


def _render_subject(
    out: Path,
    subject: str,
    subject_index: int,
    size: int,
    jobs: list[tuple[int, ClipPlan]],
    options: TwinOptions,
) -> tuple[SubjectFace, Rendered]:
    """Render every CASME II clip of one subject (see :func:`.twin_render.render_subject`)."""
    from mer_contrast.synth.twin_render import render_subject

    return render_subject(out, "casme2", subject, subject_index, size, jobs, options)


def render_from_sheet(
    layout: str,
    sheet: Path,
    out: Path,
    *,
    options: TwinOptions | None = None,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    database_sizes: bool | None = None,
) -> SynthManifest:
    """Render one clip per row of ``sheet`` into ``out``, in ``layout``'s released on-disk layout.

    Each database's profile (frame rate, face sizes, grayscale, raw canvas or crops, file pattern) is
    in :data:`mer_contrast.synth.twin_layouts.PROFILES`; see that module and ``docs/twins.md``.

    Args:
        layout: ``casme2``, ``samm``, ``mmew``, ``casme3`` (part A), ``smic`` (the smic rows of
            ``combined_3class_gt.csv``) or ``megc2019`` (the composite: csv, ``CASME2/``, ``SAMM/``,
            ``SMIC/``; the CASME II and SAMM sheets must lie beside the csv).
        sheet: the user's coding sheet (e.g. ``CASME2-coding-20140508.xlsx``), copied unchanged.
        out: new or empty folder (or, with ``overwrite``, an earlier synth output).
        options: amplitudes, nuisances, seed, raw frames on/off, face sizes.
        limit: render only the first N rows.
        workers: processes, one subject at a time each; output does not depend on it.
        database_sizes: use the database's own face-size range instead of ``options.crop_sizes``
            (default: only when ``options`` is None).

    Raises:
        ValueError: unsupported layout, another database's sheet, or a sheet the reader rejects (with
            its one-line reason).
        FileExistsError: ``out`` holds other files.
    """
    from mer_contrast.synth import twin_composite, twin_layouts, twin_render

    if layout not in SUPPORTED:
        raise ValueError(
            f"synth --from-sheet: layout {layout!r} has no sheet-driven twin; "
            f"use one of {', '.join(SUPPORTED)}"
        )
    own_sizes = options is None if database_sizes is None else database_sizes
    options = options or TwinOptions()
    if layout == "megc2019":
        return twin_composite.render_composite(
            Path(sheet), Path(out), options, limit=limit, workers=workers, overwrite=overwrite,
            database_sizes=own_sizes,
        )  # fmt: skip
    if own_sizes:
        options = twin_layouts.database_options(layout, options)
    return twin_render.render_twin(
        layout, Path(sheet), Path(out), options, limit=limit, workers=workers, overwrite=overwrite
    )
