"""The broad parts of a synthetic long recording: what real footage has and the first generator lacked.

Issue 26 measured why ``bench spot``'s figures did not hold on other recordings; each part here is
off by default (a recording drawn without them is the one drawn before they existed):

* **Amplitude in the spotter's pixels** (``amplitude_px``): each micro-expression's field is scaled
  so its largest displacement, seen in the spotter's crop (the box OpenCV's face detector finds on
  the neutral face, enlarged by :data:`SPOTTER_MARGIN` on each side, resized to :data:`SPOTTER_SIDE`
  pixels, as the spotter does), is a draw from the range. Real CASME II and its twin move about
  0.75 px there; the first generator moved 2.4 px.
* **Blinks that darken the eye** (``blink_darkening``): a closing lid is skin over a dark iris and
  lashes; the eye's grey level drops by up to that fraction at closure (a Gaussian spot on each eye,
  moving with the face), on top of the lid's warp.
* **Other face geometries** (``geometry: broad``): face width and height, eye spacing, brow and
  mouth height drawn from wider ranges than the training faces (:func:`broad_identity`).
* **Pose changes that do not come back** (``head_roll``): each head movement also rolls the head
  about a pivot below the chin, by up to that many degrees, and the head stays rolled.
* **Talking** (``talks``): 1-2 s of mouth opening and closing (AU25 + AU26) at 3-5 Hz, a distractor.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from mer_contrast.clips.face import largest_face
from mer_contrast.synth.faces import FaceGeometry, FaceIdentity, render_neutral
from mer_contrast.synth.motion import AUToken, au_field
from mer_contrast.synth.patterns import Layout
from mer_contrast.synth.render import SubjectFace, face_placement, stream

SPOTTER_SIDE = 96  # the spotter's crop (SpotConfig.size) ...
SPOTTER_MARGIN = 0.1  # ... of the face box enlarged by this much on each side (SpotConfig.margin)
TALK_SECONDS = (1.0, 2.0)
TALK_HZ = (3.0, 5.0)
TALK_PX = 4.0  # jaw and lip displacement of talking, for a 128-pixel face box
EYE_SPOT = 0.09  # sigma of the darkening, in face half-widths
ROLL_PIVOT = 1.6  # the roll's pivot below the face centre, in face half-heights
BROAD = 13  # random-stream purpose of this module (long_video.py uses 11)


def broad_identity(identity: FaceIdentity, rng: np.random.Generator) -> FaceIdentity:
    """``identity`` with its geometry redrawn from ranges wider than the training faces'."""
    return replace(
        identity,
        half_width=float(rng.uniform(0.26, 0.36)),
        aspect=float(rng.uniform(1.1, 1.5)),
        eye_spacing=float(rng.uniform(0.3, 0.46)),
        brow_height=float(rng.uniform(-0.5, -0.33)),
        mouth_width=float(rng.uniform(0.24, 0.38)),
        mouth_height=float(rng.uniform(0.36, 0.52)),
        centre_shift=(float(rng.uniform(-0.04, 0.04)), float(rng.uniform(-0.04, 0.04))),
    )


def long_video_face(seed: int, layout: Layout, size: int, broad: bool) -> SubjectFace:
    """The recording's face on its canvas; ``broad``: with :func:`broad_identity`'s geometry."""
    identity, box, canvas = face_placement(seed, layout, 0, size, raw=True)
    if broad:
        identity = broad_identity(identity, stream(seed, layout, BROAD, 0))
    neutral, geometry = render_neutral(identity, canvas, box)
    return SubjectFace(neutral=neutral, box=box, geometry=geometry)


def crop_scale(face: SubjectFace) -> float:
    """Pixels of the spotter's crop per canvas pixel: its detector's box on the neutral face, enlarged.

    The face box the renderer drew in when the detector finds none.
    """
    rgb = cv2.cvtColor(np.clip(face.neutral + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)
    found = largest_face(rgb)
    side = max(found[2:]) if found is not None else face.box[2]
    return SPOTTER_SIDE / (side * (1 + 2 * SPOTTER_MARGIN))


def peak_px(field: np.ndarray, scale: float) -> float:
    """A field's largest displacement in pixels of the spotter's crop (``scale``: :func:`crop_scale`)."""
    return float(np.linalg.norm(field, axis=-1).max()) * scale


def scaled_to(field: np.ndarray, px: float, scale: float) -> np.ndarray:
    """``field`` scaled so that :func:`peak_px` is ``px``."""
    return field * (px / max(peak_px(field, scale), 1e-9))


def eye_darkening(geometry: FaceGeometry, shape: tuple[int, int], depth: float) -> np.ndarray:
    """(H, W) fraction of grey lost at a blink's closure: ``depth`` at both eye centres, Gaussian around."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    spot = np.zeros(shape, np.float32)
    sigma = EYE_SPOT * geometry.a
    for side in ("L", "R"):
        x, y = geometry.point("eye", side)
        spot = np.maximum(spot, np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2)))
    return depth * spot


def roll_field(geometry: FaceGeometry, shape: tuple[int, int], degrees: float) -> np.ndarray:
    """(H, W, 2) displacement of a roll by ``degrees`` about a pivot below the face."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    px, py = geometry.cx, geometry.cy + ROLL_PIVOT * geometry.b
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    dx, dy = xs - px, ys - py
    return np.stack([cos * dx - sin * dy - dx, sin * dx + cos * dy - dy], axis=-1).astype(np.float32)


def talk_field(geometry: FaceGeometry, shape: tuple[int, int], size: int) -> np.ndarray:
    """Displacement of an open mouth (AU25 + AU26) at :data:`TALK_PX` for a 128-pixel box."""
    return au_field((AUToken(25), AUToken(26)), geometry, shape, TALK_PX * size / 128)


def talk_weights(length: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Mouth opening per frame: syllables at 3-5 Hz of random depth, fading in and out."""
    t = np.arange(length) / rate
    hz = rng.uniform(*TALK_HZ)
    syllables = 0.5 - 0.5 * np.cos(2 * np.pi * hz * t)
    depth = np.repeat(rng.uniform(0.4, 1.0, int(np.ceil(t[-1] * hz)) + 2), max(1, round(rate / hz)))[:length]
    fade = np.clip(np.minimum(t, t[-1] - t) / 0.15, 0.0, 1.0)
    return (syllables * depth * fade).astype(np.float32)
