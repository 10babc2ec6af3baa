"""Neutral synthetic faces: one identity per subject, rendered once with OpenCV/numpy.

A face is an oval with hair, ears, brows, eyes, nose, nasolabial folds, lips, cheeks and chin on a
background, in a square face box placed inside a larger canvas (the "raw" frame). Identities differ in
face shape, feature placement, skin tone, texture and lighting. Clips are made later by warping this
neutral image (``motion.py``), so every feature here must carry edges or texture that motion can move.

Geometry uses face units: ``u`` across the face (``a`` = half width, subject's left at ``u > 0``, i.e.
on the image's right, as FACS ``L`` means the subject's left side) and ``v`` down the face (``b`` =
half height, 0 at the face centre).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

SUPERSAMPLE = 2  # draw at 2x and downsample with INTER_AREA: cheap anti-aliasing for tiny sizes
SKIN_TONES_BGR = (
    (150, 180, 225),
    (120, 160, 205),
    (95, 135, 185),
    (70, 105, 150),
    (55, 80, 120),
    (140, 175, 230),
)


@dataclass(frozen=True)
class FaceIdentity:
    """Appearance parameters of one synthetic subject (all sizes relative to the face box side)."""

    skin_bgr: tuple[float, float, float]
    hair_bgr: tuple[float, float, float]
    lip_bgr: tuple[float, float, float]
    background_bgr: tuple[tuple[float, float, float], tuple[float, float, float]]
    half_width: float  # a / box side
    aspect: float  # b / a
    jaw: float  # how much the lower face narrows (0 = ellipse)
    centre_shift: tuple[float, float]
    eye_spacing: float  # u of the eye centres
    eye_size: float
    brow_height: float  # v of the brows (negative: above the centre)
    brow_arch: float
    brow_thickness: float
    mouth_width: float  # u of the mouth corners
    mouth_height: float  # v of the mouth line
    lip_thickness: float
    light_angle: float
    light_strength: float
    texture_seed: int

    @classmethod
    def sample(cls, rng: np.random.Generator) -> FaceIdentity:
        """A random identity; all draws come from ``rng`` so identities are reproducible."""
        skin = np.array(SKIN_TONES_BGR[int(rng.integers(len(SKIN_TONES_BGR)))], float)
        skin = np.clip(skin + rng.normal(0, 8, 3), 30, 250)
        hair = np.clip(rng.uniform(15, 70) * np.array([0.8, 0.9, 1.1]) + rng.normal(0, 6, 3), 5, 120)
        lip = np.clip(skin * np.array([0.75, 0.68, 0.95]) + rng.normal(0, 6, 3), 20, 240)
        bg1 = rng.uniform(60, 220, 3)
        bg2 = np.clip(bg1 + rng.normal(0, 35, 3), 20, 240)
        return cls(
            skin_bgr=_triple(skin),
            hair_bgr=_triple(hair),
            lip_bgr=_triple(lip),
            background_bgr=(_triple(bg1), _triple(bg2)),
            half_width=float(rng.uniform(0.29, 0.33)),
            aspect=float(rng.uniform(1.22, 1.35)),
            jaw=float(rng.uniform(0.1, 0.3)),
            centre_shift=(float(rng.uniform(-0.02, 0.02)), float(rng.uniform(-0.015, 0.015))),
            eye_spacing=float(rng.uniform(0.34, 0.42)),
            eye_size=float(rng.uniform(0.9, 1.15)),
            brow_height=float(rng.uniform(-0.44, -0.38)),
            brow_arch=float(rng.uniform(0.02, 0.07)),
            brow_thickness=float(rng.uniform(0.045, 0.07)),
            mouth_width=float(rng.uniform(0.27, 0.35)),
            mouth_height=float(rng.uniform(0.42, 0.48)),
            lip_thickness=float(rng.uniform(0.8, 1.2)),
            light_angle=float(rng.uniform(0, 2 * np.pi)),
            light_strength=float(rng.uniform(0.05, 0.2)),
            texture_seed=int(rng.integers(2**31)),
        )


@dataclass(frozen=True)
class FaceGeometry:
    """Where the face is in the canvas: centre, half axes (pixels) and landmark positions (face units)."""

    cx: float
    cy: float
    a: float
    b: float
    landmarks: dict[str, tuple[float, float]] = field(default_factory=dict)

    def point(self, name: str, side: str) -> tuple[float, float]:
        """Pixel position of a bilateral landmark on the subject's ``"L"`` or ``"R"`` side."""
        u, v = self.landmarks[name]
        sign = 1.0 if side == "L" else -1.0
        return self.cx + sign * u * self.a, self.cy + v * self.b


def face_geometry(identity: FaceIdentity, box: tuple[int, int, int, int]) -> FaceGeometry:
    """Geometry of ``identity`` drawn in ``box`` (x, y, side, side) of the canvas."""
    x0, y0, side, _ = box
    a = identity.half_width * side
    cx = x0 + side * (0.5 + identity.centre_shift[0])
    cy = y0 + side * (0.5 + identity.centre_shift[1])
    es, bh, mw, mh = identity.eye_spacing, identity.brow_height, identity.mouth_width, identity.mouth_height
    landmarks = {
        "brow_inner": (0.13, bh + 0.02),
        "brow_mid": (es, bh - identity.brow_arch),
        "brow_outer": (es + 0.24, bh + 0.03),
        "eye": (es, -0.2),
        "upper_lid": (es, -0.245),
        "lower_lid": (es, -0.165),
        "cheek": (es + 0.08, 0.06),
        "nose_side": (0.13, 0.05),
        "nostril": (0.09, 0.18),
        "nasolabial": (0.22, 0.25),
        "upper_lip": (0.11, mh - 0.045),
        "corner": (mw, mh),
        "lower_lip": (0.11, mh + 0.06),
        "chin": (0.1, 0.8),
    }
    return FaceGeometry(cx=cx, cy=cy, a=a, b=a * identity.aspect, landmarks=landmarks)


def render_neutral(
    identity: FaceIdentity, canvas_hw: tuple[int, int], box: tuple[int, int, int, int]
) -> tuple[np.ndarray, FaceGeometry]:
    """Neutral face of ``identity`` on a ``canvas_hw`` float32 BGR canvas (0..255), face in ``box``."""
    geometry = face_geometry(identity, box)
    k = SUPERSAMPLE
    height, width = canvas_hw[0] * k, canvas_hw[1] * k
    rng = np.random.default_rng(identity.texture_seed)
    big = FaceGeometry(geometry.cx * k, geometry.cy * k, geometry.a * k, geometry.b * k, geometry.landmarks)
    img = _background(identity, height, width, rng)
    _draw_head(img, identity, big)
    face_mask = _face_mask(identity, big, height, width)
    skin = _skin_layer(identity, big, height, width, rng)
    img = img * (1 - face_mask[..., None]) + skin * face_mask[..., None]
    _draw_features(img, identity, big, rng)
    img += rng.normal(0, 3.0, img.shape).astype(np.float32) * face_mask[..., None]  # pores: static texture
    img = cv2.GaussianBlur(img, (0, 0), 0.6 * k)
    small = cv2.resize(img, (canvas_hw[1], canvas_hw[0]), interpolation=cv2.INTER_AREA)
    return np.clip(small, 0, 255).astype(np.float32), geometry


def _triple(values: np.ndarray) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


def _smooth_noise(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: blurred white noise, normalised."""
    noise = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), scale)
    return noise / (float(np.abs(noise).max()) + 1e-6)


def _background(identity: FaceIdentity, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    c1, c2 = (np.array(c, np.float32) for c in identity.background_bgr)
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    img = c1 * (1 - ramp) + c2 * ramp + np.zeros((height, width, 3), np.float32)
    img += 12 * _smooth_noise(rng, height, width, max(height, width) / 12)[..., None]
    return img


def _pt(geometry: FaceGeometry, u: float, v: float) -> tuple[int, int]:
    return round(geometry.cx + u * geometry.a), round(geometry.cy + v * geometry.b)


def _axes(geometry: FaceGeometry, du: float, dv: float) -> tuple[int, int]:
    return max(1, round(du * geometry.a)), max(1, round(dv * geometry.b))


def _outline(identity: FaceIdentity, geometry: FaceGeometry, n: int = 72) -> np.ndarray:
    """Face contour: an ellipse whose lower half narrows towards the chin (the jaw)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    v = np.sin(t)
    u = np.cos(t) * (1 - identity.jaw * np.clip(v, 0, 1) ** 2)
    pts = np.stack([geometry.cx + u * geometry.a, geometry.cy + v * geometry.b], axis=1)
    return np.round(pts).astype(np.int32)


def _draw_head(img: np.ndarray, identity: FaceIdentity, g: FaceGeometry) -> None:
    """Neck, ears and hair: everything behind the face oval."""
    skin = tuple(0.8 * c for c in identity.skin_bgr)
    neck_top, neck_bottom = _pt(g, -0.45, 0.6), _pt(g, 0.45, 2.5)
    cv2.rectangle(img, neck_top, neck_bottom, skin, -1, cv2.LINE_AA)
    for sign in (-1, 1):
        cv2.ellipse(img, _pt(g, sign * 0.98, -0.08), _axes(g, 0.12, 0.16), 0, 0, 360, skin, -1, cv2.LINE_AA)
    cv2.ellipse(img, _pt(g, 0, -0.2), _axes(g, 1.1, 0.98), 0, 180, 360, identity.hair_bgr, -1, cv2.LINE_AA)


def _face_mask(identity: FaceIdentity, g: FaceGeometry, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), np.float32)
    cv2.fillPoly(mask, [_outline(identity, g)], 1.0, cv2.LINE_AA)
    return cv2.GaussianBlur(mask, (0, 0), 0.02 * g.a)


def _skin_layer(
    identity: FaceIdentity, g: FaceGeometry, height: int, width: int, rng: np.random.Generator
) -> np.ndarray:
    """Skin with rim shading, a linear lighting gradient and low-frequency blotches."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = (xs - g.cx) / g.a, (ys - g.cy) / g.b
    radius2 = u * u + v * v
    shade = 1.0 - 0.22 * np.clip(radius2, 0, 1.5) ** 2
    light = 1.0 + identity.light_strength * (
        np.cos(identity.light_angle) * u + np.sin(identity.light_angle) * v
    )
    blotch = 1.0 + 0.05 * _smooth_noise(rng, height, width, g.a / 6)
    gain = (shade * light * blotch)[..., None]
    return np.array(identity.skin_bgr, np.float32) * gain


def _draw_features(
    img: np.ndarray, identity: FaceIdentity, g: FaceGeometry, rng: np.random.Generator
) -> None:
    skin = np.array(identity.skin_bgr, np.float32)
    dark = tuple(float(c) for c in skin * 0.55)
    lm = g.landmarks
    # cheeks: a soft red tint (blurred so the cheek raiser moves a gradient, not an edge)
    tint = np.zeros(img.shape[:2], np.float32)
    for sign in (-1, 1):
        cu, cv = lm["cheek"]
        cv2.ellipse(tint, _pt(g, sign * cu, cv), _axes(g, 0.16, 0.1), 0, 0, 360, 1.0, -1)
    blurred = cv2.GaussianBlur(tint, (0, 0), 0.08 * g.a)
    img += blurred[..., None] * np.array([-12, -14, 14], np.float32)
    # freckles / moles: identity-specific fixed texture points
    for _ in range(int(rng.integers(3, 9))):
        fu, fv = rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.75)
        cv2.circle(img, _pt(g, fu, fv), max(1, round(0.012 * g.a)), dark, -1, cv2.LINE_AA)
    brow_color = tuple(
        0.6 * h + 0.4 * 0.5 * s for h, s in zip(identity.hair_bgr, identity.skin_bgr, strict=True)
    )
    thickness = max(2, round(identity.brow_thickness * g.b))
    for sign in (-1, 1):
        # brows: an arched polyline through inner, middle and outer points
        pts = [lm["brow_inner"], lm["brow_mid"], lm["brow_outer"]]
        poly = np.array([_pt(g, sign * pu, pv) for pu, pv in pts], np.int32)
        cv2.polylines(img, [poly], False, brow_color, thickness, cv2.LINE_AA)
        _draw_eye(img, identity, g, sign)
        # nasolabial fold: from beside the nostril down towards the mouth corner
        fold = [(0.17, 0.1), lm["nasolabial"], (lm["corner"][0] + 0.07, lm["corner"][1] + 0.02)]
        poly = np.array([_pt(g, sign * pu, pv) for pu, pv in fold], np.int32)
        cv2.polylines(
            img, [poly], False, tuple(float(c) for c in skin * 0.8), max(1, round(0.02 * g.a)), cv2.LINE_AA
        )
        # nose: side shading line and nostril
        side = np.array([_pt(g, sign * 0.07, -0.15), _pt(g, sign * 0.11, 0.08)], np.int32)
        cv2.polylines(
            img, [side], False, tuple(float(c) for c in skin * 0.85), max(1, round(0.025 * g.a)), cv2.LINE_AA
        )
        nu, nv = lm["nostril"]
        cv2.ellipse(img, _pt(g, sign * nu, nv), _axes(g, 0.045, 0.022), 0, 0, 360, dark, -1, cv2.LINE_AA)
        cv2.ellipse(img, _pt(g, sign * 0.12, 0.14), _axes(g, 0.06, 0.05), 0, 200, 340, dark, 1, cv2.LINE_AA)
    cv2.ellipse(
        img,
        _pt(g, 0, 0.12),
        _axes(g, 0.05, 0.035),
        0,
        0,
        360,
        tuple(float(c) for c in np.minimum(skin * 1.12, 255)),
        -1,
        cv2.LINE_AA,
    )
    _draw_mouth(img, identity, g)
    # chin: crease under the lower lip and a rounded highlight
    cv2.ellipse(
        img,
        _pt(g, 0, 0.66),
        _axes(g, 0.13, 0.04),
        0,
        200,
        340,
        tuple(float(c) for c in skin * 0.78),
        max(1, round(0.02 * g.a)),
        cv2.LINE_AA,
    )
    cv2.ellipse(
        img,
        _pt(g, 0, 0.8),
        _axes(g, 0.14, 0.07),
        0,
        0,
        360,
        tuple(float(c) for c in np.minimum(skin * 1.03, 255)),
        -1,
        cv2.LINE_AA,
    )


def _draw_eye(img: np.ndarray, identity: FaceIdentity, g: FaceGeometry, sign: int) -> None:
    eu, ev = g.landmarks["eye"]
    centre = _pt(g, sign * eu, ev)
    axes = _axes(g, 0.15 * identity.eye_size, 0.055 * identity.eye_size)
    socket = tuple(float(c) * 0.82 for c in identity.skin_bgr)
    cv2.ellipse(
        img, centre, (round(axes[0] * 1.35), round(axes[1] * 2.2)), 0, 0, 360, socket, -1, cv2.LINE_AA
    )
    eye_mask = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(eye_mask, centre, axes, 0, 0, 360, 1, -1)
    white = np.full_like(img, 225.0)
    iris_r = max(1, round(0.065 * g.a * identity.eye_size))
    cv2.circle(white, centre, iris_r, (40.0, 55.0, 75.0), -1, cv2.LINE_AA)
    cv2.circle(white, centre, max(1, iris_r // 2), (15.0, 15.0, 15.0), -1, cv2.LINE_AA)
    img[eye_mask > 0] = white[eye_mask > 0]
    lid = tuple(0.35 * c for c in identity.skin_bgr)
    cv2.ellipse(img, centre, axes, 0, 180, 360, lid, max(1, round(0.02 * g.b)), cv2.LINE_AA)
    cv2.ellipse(img, centre, axes, 0, 20, 160, tuple(0.6 * c for c in identity.skin_bgr), 1, cv2.LINE_AA)


def _draw_mouth(img: np.ndarray, identity: FaceIdentity, g: FaceGeometry) -> None:
    mw, mh = g.landmarks["corner"]
    thick = identity.lip_thickness
    t = np.linspace(-1, 1, 15)
    upper_top = [
        (x * mw, mh - 0.075 * thick * (1 - x**2) + 0.015 * thick * np.cos(np.pi * x / 2) ** 8) for x in t
    ]
    lower_bot = [(x * mw, mh + 0.1 * thick * (1 - x**2)) for x in t]
    line = [(x * mw, mh + 0.006 * (1 - x**2)) for x in t]
    lip = identity.lip_bgr
    upper = np.array([_pt(g, u, v) for u, v in upper_top + line[::-1]], np.int32)
    lower = np.array([_pt(g, u, v) for u, v in line + lower_bot[::-1]], np.int32)
    cv2.fillPoly(img, [upper], tuple(0.9 * c for c in lip), cv2.LINE_AA)
    cv2.fillPoly(img, [lower], lip, cv2.LINE_AA)
    cv2.polylines(
        img,
        [np.array([_pt(g, u, v) for u, v in line], np.int32)],
        False,
        tuple(0.35 * c for c in lip),
        max(1, round(0.018 * g.b)),
        cv2.LINE_AA,
    )
