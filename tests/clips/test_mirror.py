"""The mirror image of a clip (mer_contrast.clips.mirror): the training flip and the test-time flip."""

from __future__ import annotations

import torch

from mer_contrast.clips.mirror import mirror_aus, mirror_clip, mirror_flow
from mer_contrast.datasets import parse_aus


def test_mirror_flow_flips_along_x_and_negates_u_only() -> None:
    flow = torch.randn(2, 3, 4, 5, 6)  # a batch: (B, T, C, H, W), channels u, v, magnitude, strain
    mirrored = mirror_flow(flow)
    assert torch.equal(mirrored[:, :, 0], -flow.flip(-1)[:, :, 0])
    assert torch.equal(mirrored[:, :, 1:], flow.flip(-1)[:, :, 1:])
    assert torch.equal(flow, flow.clone())  # a new tensor: the input is left as it was
    assert torch.equal(mirror_flow(mirrored), flow)  # a mirror of a mirror is the clip


def test_mirror_flow_of_one_clip_matches_the_batch() -> None:
    flow = torch.randn(1, 4, 5, 6)  # one clip: (T, C, H, W)
    assert torch.equal(mirror_flow(flow), mirror_flow(flow[None])[0])


def test_mirror_clip_keeps_a_missing_stream_missing() -> None:
    rgb = torch.rand(2, 2, 3, 5, 6)
    mirrored_rgb, mirrored_flow = mirror_clip(rgb, None)
    assert mirrored_flow is None
    assert mirrored_rgb is not None and torch.equal(mirrored_rgb, rgb.flip(-1))


def test_mirror_aus_swaps_the_sides_and_the_left_right_aus() -> None:
    assert mirror_aus(parse_aus("4+L12+R14B+56")) == parse_aus("4+R12+L14B+55")
    assert mirror_aus(parse_aus("51+62")) == parse_aus("52+61")
    assert mirror_aus(parse_aus("1+2+12")) == tuple(parse_aus("1+2+12"))  # bilateral: its own mirror
    codes = parse_aus("L1+R2+55+61+A14")
    assert mirror_aus(mirror_aus(codes)) == tuple(codes)
