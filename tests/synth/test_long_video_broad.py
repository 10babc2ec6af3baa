"""The broad long recordings: amplitude in the spotter's pixels, darkening blinks, geometries, rolls, talk."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mer_contrast.synth.long_video import (
    FRAMES_DIR,
    TRUTH_NAME,
    LongVideoOptions,
    read_truth,
    render_long_video,
)
from mer_contrast.synth.long_video_broad import long_video_face

COMMON = {"seconds": 3.0, "size": 96, "fps": 50.0, "head_moves": 0, "micro_expressions": 0}


def frame(out: Path, index: int) -> np.ndarray:
    return cv2.imread(str(out / FRAMES_DIR / f"img{index:05d}.jpg"), cv2.IMREAD_GRAYSCALE).astype(float)


def test_micro_expressions_have_the_asked_amplitude_at_the_spotter_crop(tmp_path: Path) -> None:
    options = LongVideoOptions(
        **{**COMMON, "micro_expressions": 3, "blinks": 0}, amplitude_px=(0.5, 0.5), seed=2
    )
    events = [e for e in render_long_video(tmp_path, options) if e.kind == "me"]
    assert len(events) == 3 and all(abs(e.amplitude_px - 0.5) < 1e-3 for e in events)
    assert [e.amplitude_px for e in read_truth(tmp_path / TRUTH_NAME) if e.kind == "me"] == [0.5] * 3


def test_a_darkening_blink_darkens_the_eye(tmp_path: Path) -> None:
    seen = {}
    for depth in (0.0, 0.4):
        out = tmp_path / str(depth)
        options = LongVideoOptions(**{**COMMON, "blinks": 1}, blink_darkening=depth, seed=5)
        (blink,) = render_long_video(out, options)
        seen[depth] = frame(out, blink.apex)
    face = long_video_face(5, "casme2", 96, broad=False)
    x, y = (round(v) for v in face.geometry.point("eye", "L"))
    eye = (slice(y - 3, y + 4), slice(x - 3, x + 4))
    assert seen[0.4][eye].mean() < seen[0.0][eye].mean() - 8  # grey levels darker at the closure
    assert abs(seen[0.4][:20].mean() - seen[0.0][:20].mean()) < 1  # the rest of the image as it was


def test_broad_geometry_moves_the_features() -> None:
    default, broad = (long_video_face(seed, "casme2", 96, broad=b) for seed, b in ((3, False), (3, True)))
    assert default.box == broad.box
    moved = [
        np.hypot(*np.subtract(default.geometry.point(name, "L"), broad.geometry.point(name, "L")))
        for name in ("brow_mid", "eye", "corner", "chin")
    ]
    assert max(moved) > 2.0, moved


def test_talk_opens_the_mouth_and_a_roll_stays(tmp_path: Path) -> None:
    options = LongVideoOptions(
        **{**COMMON, "seconds": 4.0, "blinks": 0, "head_moves": 1}, talks=1, head_roll=6.0, seed=1
    )
    events = render_long_video(tmp_path, options)
    talk = next(e for e in events if e.kind == "talk")
    head = next(e for e in events if e.kind == "head")
    assert 1.0 <= (talk.offset - talk.onset + 1) / 50 <= 2.0
    face = long_video_face(1, "casme2", 96, broad=False)
    x, y = (round(v) for v in face.geometry.point("lower_lip", "L"))
    mouth, brow = (slice(y - 4, y + 5), slice(x - 6, x + 7)), (slice(y - 40, y - 31), slice(x - 6, x + 7))
    start = frame(tmp_path, talk.onset)
    moved = [np.abs(frame(tmp_path, t) - start) for t in range(talk.onset, talk.offset)]
    assert max(m[mouth].mean() for m in moved) > 3 * max(m[brow].mean() for m in moved)  # the mouth moved
    last = round(4.0 * 50) - 1
    assert np.abs(frame(tmp_path, last) - frame(tmp_path, max(0, head.onset - 2))).mean() > 2  # stayed moved
