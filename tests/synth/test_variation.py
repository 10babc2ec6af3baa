"""The twin's variation: three levels of random draws, reproducible, in range, and visible in the frames."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_contrast.datasets.records import SampleRecord
from mer_contrast.synth import sheet_twin, sheets, twin_clip
from mer_contrast.synth.motion import AU_MOTIONS, AUToken
from mer_contrast.synth.render import subject_face, write_jpeg
from mer_contrast.synth.sheet_twin import ClipPlan, TwinOptions, _apex_field, _blink_weights, render_clip
from mer_contrast.synth.variation import (
    AMPLITUDE_MEDIAN,
    JPEG,
    NOISE_STD,
    clip_draws,
    eye_shading,
    render_style,
    twin_face,
)

OPTIONS = TwinOptions(seed=0, blink_prob=0.0)


def _plan(tokens: tuple[AUToken, ...], length: int = 40, apex: int = 20) -> ClipPlan:
    record = SampleRecord(
        dataset="casme2", subject="sub01", clip_id="EP01_01", onset=1, apex=1 + apex, offset=length,
        aus=(), au_raw="", emotion="others",
    )  # fmt: skip
    return ClipPlan(record, (1, length), tokens, apex)


def _frames(face, plan: ClipPlan, options: TwinOptions, index: int = 0, **kwargs) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    frames, _ = render_clip(face, plan, options, index, **kwargs)
    return list(frames)


def test_render_level_draws_differ_between_seeds_and_stay_in_range() -> None:
    styles = [render_style(seed) for seed in range(13)]
    assert render_style(0) == styles[0]  # same seed, same style
    for field in ("amplitude_median", "geometry_spread", "au_rotation_deg", "flicker", "roll_deg", "jpeg"):
        assert len({getattr(s, field) for s in styles}) == len(styles), field
    for style in styles:
        assert AMPLITUDE_MEDIAN[0] <= style.amplitude_median <= AMPLITUDE_MEDIAN[1]
        assert 10 <= style.au_rotation_deg <= 30 and 0.3 <= style.roll_deg <= 1.0
        assert 0.005 <= style.flicker <= 0.02 and 0.5 <= style.drift_factor <= 2.5
        assert NOISE_STD[0] <= style.noise_std[0] < style.noise_std[1] <= NOISE_STD[1]
        assert JPEG[0] <= style.jpeg[0] < style.jpeg[1] <= JPEG[1]
        assert 0.2 <= style.blink_darken[0] < style.blink_darken[1] <= 0.5
    assert set(styles[0].as_dict()) >= {"amplitude_median", "jpeg_low", "jpeg_high"}


def test_same_seed_same_bytes_other_seed_other_frames() -> None:
    plan = _plan((AUToken(12),), length=12, apex=6)
    options = TwinOptions(seed=5, blink_prob=1.0)
    first = _frames(twin_face(options, "casme2", 2, 64), plan, options, 3)
    again = _frames(twin_face(options, "casme2", 2, 64), plan, options, 3)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(first, again, strict=True))
    other = TwinOptions(seed=6, blink_prob=1.0)
    moved = _frames(twin_face(other, "casme2", 2, 64), plan, other, 3)
    assert first[0].shape == moved[0].shape and first[0].tobytes() != moved[0].tobytes()


def _digest(root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        sha.update(path.relative_to(root).as_posix().encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def test_workers_do_not_change_the_bytes(tmp_path: Path) -> None:
    sheet = tmp_path / "CASME2-coding-20140508.xlsx"
    rows: list[list[sheets.Cell]] = [
        ["01", "EP02_01f", None, 46, 50, 53, None, 12, "happiness"],
        ["02", "EP05_03", None, 20, 22, 26, None, "4", "disgust"],
        ["03", "EP12_01f", None, 261, 263, 266, None, "R12", "happiness"],
    ]
    sheets.write_casme2(sheet, rows)
    options = TwinOptions(seed=3, crop_sizes=(40, 48), raw=False, blink_prob=1.0)
    one = sheet_twin.render_from_sheet("casme2", sheet, tmp_path / "one", options=options)
    two = sheet_twin.render_from_sheet("casme2", sheet, tmp_path / "two", options=options, workers=2)
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two") and one.draws == two.draws
    qualities = {d["jpeg_quality"] for d in one.draws.values()}
    assert (
        all(isinstance(q, int) for q in qualities)
        and len({d["subject_scale"] for d in one.draws.values()}) == 3
    )


def test_amplitudes_respect_the_bounds_and_the_field_peaks_at_the_drawn_amplitude() -> None:
    options = TwinOptions(seed=1, amplitudes=(0.3, 3.0))
    median = render_style(1).amplitude_median
    drawn = []
    for subject in range(4):
        face = twin_face(options, "casme2", subject, 64, raw=False)
        for index in range(subject * 10, subject * 10 + 10):
            _, draws = render_clip(face, _plan((AUToken(12), AUToken(4))), options, index)
            expected = np.clip(median * draws["subject_scale"] * draws["clip_gain"], 0.3, 3.0)
            assert draws["amplitude"] == pytest.approx(expected, abs=2e-3)
            assert 0.3 <= draws["amplitude"] <= 3.0
            assert draws["subject_scale"] == face.draws["subject_scale"]
            drawn.append(draws["amplitude"])
        field = _apex_field(face, (AUToken(12), AUToken(4)), drawn[-1])
        assert np.hypot(field[..., 0], field[..., 1]).max() == pytest.approx(drawn[-1], rel=1e-5)
    assert np.std(drawn) > 0.15 and len(set(drawn)) > 30  # subjects and clips vary
    narrow = TwinOptions(seed=1, amplitudes=(1.0, 1.2))
    face = twin_face(narrow, "casme2", 0, 64, raw=False)
    for index in range(20):
        _, draws = render_clip(face, _plan((AUToken(12),)), narrow, index)
        assert 1.0 <= draws["amplitude"] <= 1.2


def test_au_tables_vary_per_subject_but_keep_their_direction() -> None:
    style = render_style(0)
    faces = [twin_face(OPTIONS, "casme2", s, 48, raw=False) for s in range(12)]
    assert all(f.motions is not None for f in faces)
    assert faces[0].motions != faces[1].motions and set(faces[0].motions or {}) == set(AU_MOTIONS)
    corner = []
    for face in faces:
        motions = face.motions or {}
        for au, entries in AU_MOTIONS.items():
            for (name, dx, dy, sigma), (name2, dx2, dy2, sigma2) in zip(entries, motions[au], strict=True):
                assert name == name2
                ratio = math.hypot(dx2, dy2) / math.hypot(dx, dy)
                assert 0.6 - 1e-9 <= ratio <= 1.5 + 1e-9 and 0.75 - 1e-9 <= sigma2 / sigma <= 1.3 + 1e-9
                turn = math.degrees(math.atan2(dx * dy2 - dy * dx2, dx * dx2 + dy * dy2))
                assert abs(turn) <= (0.0 if au == 43 else style.au_rotation_deg) + 1e-6
        corner.append(motions[12][0][1:3])
    mean_dx, mean_dy = np.mean(corner, axis=0)
    assert mean_dx > 0.2 and mean_dy < -0.4  # AU12's mouth corner still moves up and out
    assert np.std([c[0] for c in corner]) > 0.05  # ... by a different amount and angle per subject


def test_face_geometry_and_look_vary_beyond_the_planned_generator() -> None:
    plain = subject_face(0, "casme2", 4, 96, raw=True)
    varied = twin_face(OPTIONS, "casme2", 4, 96, raw=True)
    assert varied.box == plain.box and varied.neutral.shape == plain.neutral.shape
    assert varied.geometry.landmarks != plain.geometry.landmarks
    spacings = [
        twin_face(OPTIONS, "casme2", s, 48, raw=False).geometry.landmarks["eye"][0] for s in range(10)
    ]
    assert np.std(spacings) > 0.015
    assert np.abs(varied.neutral - plain.neutral).mean() > 2  # texture, lighting, gamma, contrast
    looks = [twin_face(OPTIONS, "casme2", s, 48, raw=False).draws for s in range(6)]
    for key in ("gamma", "contrast", "noise_std", "subject_scale"):
        assert len({d[key] for d in looks}) == 6, key
    low, high = render_style(0).noise_std
    assert all(low <= d["noise_std"] <= high for d in looks)


def test_blink_darkens_the_eyes_and_lasts_with_the_frame_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    options = TwinOptions(seed=2, blink_prob=1.0)
    face = twin_face(options, "casme2", 1, 128, raw=False)
    plan = _plan((AUToken(31),), length=120, apex=60)  # AU31: no visible motion
    window, mask = eye_shading(face.eyes, face.neutral.shape[:2])
    dark = _frames(face, plan, options, 7)
    real = twin_clip.clip_draws

    def undarkened(*args, **kwargs):  # type: ignore[no-untyped-def]
        return dataclasses.replace(real(*args, **kwargs), blink_darken=0.0)

    monkeypatch.setattr(twin_clip, "clip_draws", undarkened)
    lids_only = _frames(face, plan, options, 7)

    def eye_mean(frame: np.ndarray) -> float:
        return float((frame[window].astype(float).mean(axis=2) * mask).sum() / mask.sum())

    onset = eye_mean(dark[0])
    drop = [eye_mean(b) - eye_mean(a) for a, b in zip(lids_only, dark, strict=True)]
    peak = int(np.argmin(drop))
    darken = clip_draws(2, "casme2", 7, 120, 1.0).blink_darken
    assert drop[peak] < -0.5 * darken * onset  # the eye region loses 20-50 % at the peak ...
    assert eye_mean(dark[peak]) < onset - 0.1 * onset
    outside = [np.abs(a.astype(int) - b).max() for a, b in zip(lids_only, dark, strict=True)]
    assert sum(o > 0 for o in outside) < 120  # ... only while the blink lasts
    for fps in (100.0, 200.0, 400.0):
        assert (
            np.count_nonzero(_blink_weights(2000, np.random.default_rng(0), fps, 250.0)) == 250 * fps / 1000
        )
    _, slow = render_clip(face, plan, options, 7, fps=100.0)
    _, fast = render_clip(face, plan, options, 7, fps=200.0)
    assert 100 <= slow["blink_ms"] == fast["blink_ms"] <= 400
    assert (
        fast["blink_frames"]
        == round(fast["blink_ms"] * 0.2)
        == pytest.approx(2 * slow["blink_frames"], abs=1)
    )


def test_drift_roll_and_flicker_stay_within_their_bounds() -> None:
    for seed in (0, 1, 10, 11, 12):
        style = render_style(seed)
        options = TwinOptions(seed=seed, drift_px=1.0)
        face = twin_face(options, "casme2", 0, 48, raw=False)
        rolls, flickers = [], []
        for index in range(15):
            _, draws = render_clip(face, _plan((AUToken(12),), length=30), options, index)
            assert draws["roll_deg"] <= style.roll_deg + 1e-6 <= 1.0 + 1e-6
            assert draws["drift"] <= 2.5 * 1.0 + 0.3  # render max drift plus jitter
            assert draws["flicker"] <= style.flicker + 1e-4 <= 0.0201
            rolls.append(draws["roll_deg"])
            flickers.append(draws["flicker"])
        assert max(rolls) > 0.1 and max(flickers) > 0.001


def test_roll_turns_the_head_about_the_face_centre(monkeypatch: pytest.MonkeyPatch) -> None:
    options = TwinOptions(seed=4, drift_px=0.0, blink_prob=0.0)
    face = dataclasses.replace(twin_face(options, "casme2", 0, 96, raw=False), draws={"noise_std": 0.0})
    real = twin_clip.clip_draws

    def one_degree(*args, **kwargs):  # type: ignore[no-untyped-def]
        draws = real(*args, **kwargs)
        return dataclasses.replace(
            draws, flicker=np.ones_like(draws.flicker), roll=np.full(30, math.radians(1))
        )

    monkeypatch.setattr(twin_clip, "clip_draws", one_degree)
    frame = _frames(face, _plan((AUToken(31),), length=30), options, 2)[-1].astype(np.float32)
    cx, cy = face.geometry.cx, face.geometry.cy

    def error(centre: tuple[float, float], degrees: float) -> float:
        matrix = cv2.getRotationMatrix2D(centre, degrees, 1.0)  # positive: anticlockwise on screen
        turned = cv2.warpAffine(face.neutral, matrix, (96, 96), flags=cv2.INTER_LINEAR)
        return float(np.abs(turned - frame)[16:80, 16:80].mean())

    about_centre = error((cx, cy), -1.0)  # the twin's positive roll turns clockwise on screen
    assert about_centre < 0.5 * error((cx, cy), 0.0)
    assert about_centre < 0.5 * error((cx, cy), 1.0)
    assert about_centre < 0.7 * error((cx + 25, cy + 25), -1.0)


def test_grayscale_faces_render_through_everything() -> None:
    options = TwinOptions(seed=0, blink_prob=1.0)
    face = twin_face(options, "samm", 1, 64, raw=True, grayscale=True)
    assert face.neutral.ndim == 2
    frames = _frames(face, _plan((AUToken(12), AUToken(1))), options, 0, layout="samm")
    assert all(f.ndim == 2 and f.dtype == np.uint8 for f in frames)
    assert frames[0].shape == face.neutral.shape
    crops = _frames(face, _plan((AUToken(12),)), options, 0, layout="samm", raw=False)
    assert crops[0].shape == (64, 64)


def test_jpeg_quality_is_drawn_per_clip_and_used(tmp_path: Path) -> None:
    face = twin_face(OPTIONS, "casme2", 0, 64, raw=False)
    low, high = render_style(0).jpeg
    qualities = []
    for index in range(30):
        _, draws = render_clip(face, _plan((AUToken(12),), length=8, apex=4), OPTIONS, index)
        assert isinstance(draws["jpeg_quality"], int) and low <= draws["jpeg_quality"] <= high
        qualities.append(draws["jpeg_quality"])
    assert len(set(qualities)) > 1
    image = np.clip(face.neutral, 0, 255).astype(np.uint8)
    write_jpeg(tmp_path / "low.jpg", image, quality=70)
    write_jpeg(tmp_path / "high.jpg", image, quality=95)
    write_jpeg(tmp_path / "default.jpg", image)
    assert (tmp_path / "low.jpg").stat().st_size < (tmp_path / "high.jpg").stat().st_size
    assert (tmp_path / "default.jpg").read_bytes() == (tmp_path / "high.jpg").read_bytes()
