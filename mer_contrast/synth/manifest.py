"""What a synthetic dataset holds: :class:`SynthManifest`, also written as ``manifest.json``.

Values are recorded as the sheet writes them (subject ``"01"``/``"1"``/``"006"``, emotion ``others`` or
``Other``), paths relative to the dataset root with ``/`` separators, so tests and readers can compare
their own view of the dataset with what was generated.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class SynthClip:
    """One generated clip.

    Attributes:
        subject: the sheet's Subject value as text (``"01"``, ``"1"``, ``"006"``).
        clip_id: the sheet's Filename.
        onset, apex, offset: frame numbers as written (``apex`` None where the sheet has ``"/"``).
        aus: the sheet's Action Units text (``"?"`` where the code is planted as unknown).
        emotion: the sheet's Estimated Emotion.
        frame_folder: folder of the clip's frames, relative to the dataset root.
        frame_range: first and last frame number written to ``frame_folder`` (all in between exist).
        motion_aus: AUs that actually drive the motion (differs from ``aus`` on the ``"?"`` row).
        motion_apex: frame number of the peak of the motion.
        row: 1-based row of the clip in the sheet.
        cropped_folder, cropped_range: CASME II ``Cropped/`` folder and its frames (None elsewhere).
    """

    subject: str
    clip_id: str
    onset: int
    apex: int | None
    offset: int
    aus: str
    emotion: str
    frame_folder: str
    frame_range: tuple[int, int]
    motion_aus: str
    motion_apex: int
    row: int
    cropped_folder: str | None = None
    cropped_range: tuple[int, int] | None = None

    @property
    def frames(self) -> int:
        """Number of frames in ``frame_folder``."""
        return self.frame_range[1] - self.frame_range[0] + 1


@dataclass
class SynthManifest:
    """Everything :func:`mer_contrast.synth.generate` wrote.

    Attributes:
        layout: ``casme2``, ``mmew`` or ``samm``; for sheet-driven twins also ``casme3``, ``smic`` and
            ``megc2019`` (the composite).
        root: the dataset folder (absolute, as given).
        sheet: the annotation sheet, relative to ``root``.
        seed, size: generation parameters (``size``: side of the face box in pixels).
        frame_size: (width, height) of the frames in ``frame_folder``.
        grayscale: frames are single-channel JPEGs (SAMM).
        face_boxes: per subject, the face box (x, y, width, height) inside ``frame_folder`` frames.
        face_ellipses: per subject, the face oval (centre x, centre y, half width, half height) in
            ``frame_folder`` frames: AU regions can be located from it (brows near ``cy - 0.4 b``,
            mouth near ``cy + 0.45 b``).
        clips: every clip, in sheet order.
        quirks: planted quirk name -> what carries it (a clip key ``subject/clip_id`` or a path).
        draws: per clip key, the random draws of a sheet-driven twin (``amplitude`` px at the apex,
            ``blink`` 0/1, ``drift`` px); empty for planned datasets.
        fps: frame rate of a sheet-driven twin (CASME II/SAMM 200, SMIC-HS 100, MMEW 90, CAS(ME)^3 30);
            None (and absent from ``manifest.json``) for planned datasets.
        parts: a composite twin (MEGC2019): source database -> its folder under ``root``, each with its
            own ``manifest.json``; empty (and absent from ``manifest.json``) otherwise.
    """

    layout: str
    root: str
    sheet: str
    seed: int
    size: int
    frame_size: tuple[int, int]
    grayscale: bool
    face_boxes: dict[str, tuple[int, int, int, int]]
    face_ellipses: dict[str, tuple[float, float, float, float]]
    clips: list[SynthClip] = field(default_factory=list)
    quirks: dict[str, str] = field(default_factory=dict)
    draws: dict[str, dict[str, float]] = field(default_factory=dict)
    fps: float | None = None
    parts: dict[str, str] = field(default_factory=dict)

    @property
    def class_counts(self) -> dict[str, int]:
        """Clips per emotion, as written in the sheet."""
        return dict(sorted(Counter(clip.emotion for clip in self.clips).items()))

    @property
    def subject_counts(self) -> dict[str, int]:
        """Clips per subject, as written in the sheet."""
        return dict(sorted(Counter(clip.subject for clip in self.clips).items()))

    @property
    def sheet_path(self) -> Path:
        """Absolute path of the annotation sheet."""
        return Path(self.root) / self.sheet

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["root"] = None  # keep manifest.json independent of where the dataset lives
        data["class_counts"] = self.class_counts
        data["subject_counts"] = self.subject_counts
        for name in ("fps", "parts"):  # only where set: planned datasets' manifests stay as they were
            if not data[name]:
                del data[name]
        return data

    def save(self, path: Path) -> None:
        """Write as JSON (stable key order, no absolute paths, so identical seeds give identical bytes)."""
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> SynthManifest:
        """Read a ``manifest.json``; ``root`` becomes its folder."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            clips = [
                SynthClip(
                    **{
                        **clip,
                        "frame_range": tuple(clip["frame_range"]),
                        "cropped_range": tuple(clip["cropped_range"]) if clip["cropped_range"] else None,
                    }
                )
                for clip in data["clips"]
            ]
            return cls(
                layout=data["layout"],
                root=str(Path(path).resolve().parent),
                sheet=data["sheet"],
                seed=data["seed"],
                size=data["size"],
                frame_size=tuple(data["frame_size"]),
                grayscale=data["grayscale"],
                face_boxes={k: tuple(v) for k, v in data["face_boxes"].items()},
                face_ellipses={k: tuple(v) for k, v in data["face_ellipses"].items()},
                clips=clips,
                quirks=data["quirks"],
                draws=data.get("draws", {}),
                fps=data.get("fps"),
                parts=data.get("parts", {}),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"{path}: not a synth manifest ({error}); regenerate it with `mer-contrast synth`"
            ) from error
