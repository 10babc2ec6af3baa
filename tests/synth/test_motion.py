"""The frames carry local AU motion: at the apex the AU's region changes, distant regions do not."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from mer_contrast.synth import SynthManifest
from mer_contrast.synth.motion import AU_MOTIONS, AUToken, au_field, envelope, render_frames
from mer_contrast.synth.patterns import PlannedClip
from mer_contrast.synth.render import clip_frames, subject_face

MOUTH_AUS = {10, 12, 14, 15, 16, 17, 18, 20, 23, 24, 25, 26}
BROW_AUS = {1, 2, 4}


def _region(
    image: np.ndarray,
    ellipse: tuple[float, float, float, float],
    us: tuple[float, float],
    vs: tuple[float, float],
) -> np.ndarray:
    """Part of ``image`` between face units ``us`` (across) and ``vs`` (down) of the face oval."""
    cx, cy, a, b = ellipse
    return image[round(cy + vs[0] * b) : round(cy + vs[1] * b), round(cx + us[0] * a) : round(cx + us[1] * a)]


def _regions(diff: np.ndarray, ellipse: tuple[float, float, float, float]) -> dict[str, float]:
    return {
        "forehead": float(_region(diff, ellipse, (-0.35, 0.35), (-0.85, -0.6)).mean()),
        "brows": float(_region(diff, ellipse, (-0.7, 0.7), (-0.62, -0.3)).mean()),
        "mouth": float(_region(diff, ellipse, (-0.55, 0.55), (0.3, 0.7)).mean()),
        "left_mouth": float(_region(diff, ellipse, (0.05, 0.6), (0.3, 0.7)).mean()),  # subject's left
        "right_mouth": float(_region(diff, ellipse, (-0.6, -0.05), (0.3, 0.7)).mean()),
    }


def _gray(frame: np.ndarray) -> np.ndarray:
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0)  # tame the sensor noise


def _apex_change(tokens: tuple[AUToken, ...]) -> dict[str, float]:
    """Render one controlled clip (subject 0 of seed 0, 128 px) and measure |apex - onset| per region."""
    face = subject_face(0, "casme2", 0, 128, raw=False)
    plan = PlannedClip(subject_index=0, emotion="test", tokens=tokens, length=9, apex_index=4, gain=1.0)
    frames = list(clip_frames(face, plan, 128, np.random.default_rng(0)))
    return _regions(np.abs(_gray(frames[4]) - _gray(frames[0])), face.ellipse)


def test_au12_moves_the_mouth_not_the_forehead() -> None:
    change = _apex_change((AUToken(12),))
    assert change["mouth"] > 3 * change["forehead"]
    assert change["mouth"] > 2 * change["brows"]


def test_au4_moves_the_brows_not_the_mouth() -> None:
    change = _apex_change((AUToken(4),))
    assert change["brows"] > 3 * change["mouth"]


def test_unilateral_au_moves_one_side() -> None:
    left = _apex_change((AUToken(12, "L"),))
    right = _apex_change((AUToken(12, "R"),))
    assert left["left_mouth"] > 2 * left["right_mouth"]
    assert right["right_mouth"] > 2 * right["left_mouth"]


def test_field_is_local_and_envelope_peaks_at_apex() -> None:
    face = subject_face(0, "casme2", 0, 128, raw=False)
    field = au_field((AUToken(15),), face.geometry, face.neutral.shape[:2], 2.6)
    magnitude = np.hypot(field[..., 0], field[..., 1])
    assert 1.5 < magnitude.max() < 4  # a few pixels at 128 px
    cy = face.ellipse[1]
    assert magnitude[: round(cy), :].max() < 0.05  # nothing above the face centre moves
    weights = envelope(11, 4)
    assert weights[0] == 0 and weights[-1] == 0 and weights[4] == 1 and weights.argmax() == 4
    assert np.all(np.diff(weights[:5]) > 0) and np.all(np.diff(weights[4:]) < 0)


def _read(path: Path) -> np.ndarray:
    return _gray(cv2.imread(str(path), cv2.IMREAD_UNCHANGED))


def test_generated_clips_move_where_their_aus_are(casme2_128: SynthManifest) -> None:
    """On disk (JPEG, jitter, noise): mouth-only clips change the mouth, brow-only clips the brows."""
    root = Path(casme2_128.root)
    checked = 0
    for clip in casme2_128.clips:
        numbers = {int(n) for n in re.findall(r"\d+", clip.motion_aus)}
        if not (numbers <= MOUTH_AUS or numbers <= BROW_AUS):
            continue
        folder = root / clip.frame_folder
        diff = np.abs(_read(folder / f"img{clip.motion_apex}.jpg") - _read(folder / f"img{clip.onset}.jpg"))
        change = _regions(diff, casme2_128.face_ellipses[clip.subject])
        if numbers <= MOUTH_AUS:
            assert change["mouth"] > 1.5 * change["forehead"], (clip.clip_id, clip.motion_aus, change)
        else:
            assert change["brows"] > 1.5 * change["mouth"], (clip.clip_id, clip.motion_aus, change)
        checked += 1
    assert checked >= 4


def test_motion_decays_after_the_apex(casme2_128: SynthManifest) -> None:
    """In the AU's region the change from onset peaks at the apex and is mostly gone by the offset."""
    at_apex, at_offset = [], []
    for clip in casme2_128.clips:
        numbers = {int(n) for n in re.findall(r"\d+", clip.motion_aus)}
        if not numbers <= MOUTH_AUS:
            continue
        folder = Path(casme2_128.root) / clip.frame_folder
        onset = _read(folder / f"img{clip.onset}.jpg")
        ellipse = casme2_128.face_ellipses[clip.subject]
        at_apex.append(
            _regions(np.abs(_read(folder / f"img{clip.motion_apex}.jpg") - onset), ellipse)["mouth"]
        )
        at_offset.append(_regions(np.abs(_read(folder / f"img{clip.offset}.jpg") - onset), ellipse)["mouth"])
    assert len(at_apex) >= 2
    assert sum(at_offset) < 0.7 * sum(at_apex), (at_apex, at_offset)


def test_frames_return_to_neutral_without_jitter_and_noise() -> None:
    face = subject_face(0, "casme2", 0, 64, raw=False)
    field = au_field((AUToken(12), AUToken(4)), face.geometry, face.neutral.shape[:2], 1.3)
    weights = envelope(7, 3)
    frames = list(
        render_frames(
            face.neutral,
            field,
            weights,
            np.zeros((7, 2), np.float32),
            np.random.default_rng(0),
            noise_std=0.0,
        )
    )
    neutral = np.clip(face.neutral + 0.5, 0, 255).astype(np.uint8)
    change = [float(np.abs(f.astype(float) - neutral).mean()) for f in frames]
    assert change[0] == 0 and change[-1] == 0
    assert change[3] == max(change) > 0.3
    assert change[1] < change[2] < change[3] and change[3] > change[4] > change[5]


def test_subjects_look_different(casme2_128: SynthManifest) -> None:
    root = Path(casme2_128.root)
    first = {}
    for clip in casme2_128.clips:
        first.setdefault(
            clip.subject, cv2.imread(str(root / str(clip.cropped_folder) / f"reg_img{clip.onset}.jpg"))
        )
    assert casme2_128.face_ellipses["01"] != casme2_128.face_ellipses["02"]
    assert np.abs(first["01"].astype(float) - first["02"].astype(float)).mean() > 10


def test_au_field_takes_a_subjects_own_motion_table() -> None:
    face = subject_face(0, "casme2", 0, 64, raw=False)
    shape = face.neutral.shape[:2]
    default = au_field((AUToken(12),), face.geometry, shape, 1.3)
    same = au_field((AUToken(12),), face.geometry, shape, 1.3, AU_MOTIONS)
    flipped = {12: tuple((name, -dx, -dy, sigma) for name, dx, dy, sigma in AU_MOTIONS[12])}
    reversed_field = au_field((AUToken(12),), face.geometry, shape, 1.3, flipped)
    assert np.array_equal(default, same) and np.abs(default).max() > 0.5
    assert np.allclose(reversed_field, -default)
    assert np.abs(au_field((AUToken(4),), face.geometry, shape, 1.3, flipped)).max() == 0  # not in the table
