"""Same-class mixup: partners share the class, the clip stays dominant, alpha 0 changes nothing."""

from __future__ import annotations

import torch

from mer_contrast.trainers.mixup import same_class_mixup, same_class_partners


def test_partners_share_the_class_and_a_lone_clip_is_its_own() -> None:
    labels = torch.tensor([0, 1, 0, 2, 1, 0])
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        partners = same_class_partners(labels, gen)
        assert torch.equal(labels[partners], labels)
        assert partners[3] == 3  # the only clip of class 2


def test_mixup_blends_towards_the_partner_and_keeps_the_clip_dominant() -> None:
    torch.manual_seed(0)
    labels = torch.tensor([0, 0, 1])
    rgb = torch.stack([torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4), torch.full((2, 3, 4, 4), 5.0)])
    flow = rgb[:, :1, :2].clone()
    mixed_rgb, mixed_flow = same_class_mixup(rgb, flow, labels, alpha=0.4)
    assert mixed_flow is not None and mixed_rgb.shape == rgb.shape and mixed_flow.shape == flow.shape
    assert torch.equal(mixed_rgb[2], rgb[2])  # alone in its class
    assert 0.0 <= float(mixed_rgb[0].max()) <= 0.5 and 0.5 <= float(mixed_rgb[1].min()) <= 1.0
    # one lam per clip, shared by its frames and by its flow
    assert torch.allclose(mixed_rgb[0], mixed_rgb[0].flatten()[0].expand_as(mixed_rgb[0]))
    assert torch.allclose(mixed_flow[1], mixed_rgb[1][:1, :2])


def test_alpha_zero_is_the_identity() -> None:
    rgb, flow, labels = torch.rand(3, 2, 3, 4, 4), torch.rand(3, 1, 2, 4, 4), torch.tensor([0, 0, 1])
    assert same_class_mixup(rgb, flow, labels, 0.0) == (rgb, flow)
