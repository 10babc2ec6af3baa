"""Compact3DCNN and InputNorm: shapes, gradients, normalisation and input checks."""

from __future__ import annotations

import pytest
import torch

from mer_contrast.models import Compact3DCNN, InputNorm
from mer_contrast.models.input_norm import KINETICS_MEAN, KINETICS_STD


@pytest.mark.parametrize(("in_channels", "input_norm"), [(3, "half"), (2, "none"), (3, "kinetics")])
def test_forward_shape_and_gradients(in_channels: int, input_norm: str) -> None:
    model = Compact3DCNN(in_channels=in_channels, widths=(8, 16, 24), dropout=0.1, input_norm=input_norm)
    assert model.out_dim == 24
    x = torch.rand(2, in_channels, 4, 32, 32, requires_grad=True)
    out = model(x)
    assert out.shape == (2, 24)
    out.pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())


def test_default_size_is_a_few_hundred_thousand_parameters() -> None:
    model = Compact3DCNN()
    assert model.out_dim == 128
    assert 100_000 < sum(p.numel() for p in model.parameters()) < 1_000_000


def test_time_is_downsampled_once_and_space_early() -> None:
    model = Compact3DCNN(widths=(4, 8, 8, 8))
    x = torch.rand(1, 3, 8, 64, 64)
    shapes = []
    for block in model.features:
        x = block(x)
        shapes.append(tuple(x.shape[2:]))
    assert shapes == [(8, 32, 32), (8, 16, 16), (4, 8, 8), (4, 4, 4)]


def test_wrong_channel_count_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"C=3.*in_channels"):
        Compact3DCNN()(torch.rand(1, 2, 4, 16, 16))


def test_bad_widths_rejected() -> None:
    with pytest.raises(ValueError, match="widths"):
        Compact3DCNN(widths=())


def test_input_norm_values_and_not_in_state_dict() -> None:
    kinetics = InputNorm("kinetics", 3)
    mean = torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1, 1)
    std = torch.tensor(KINETICS_STD).view(1, 3, 1, 1, 1)
    x = mean + std * torch.ones(1, 3, 2, 4, 4)
    assert torch.allclose(kinetics(x), torch.ones_like(x))
    half = InputNorm("half", 2)
    assert torch.allclose(half(torch.full((1, 2, 1, 2, 2), 0.75)), torch.ones(1, 2, 1, 2, 2))
    flow = torch.randn(1, 2, 2, 4, 4)
    assert torch.equal(InputNorm("none", 2)(flow), flow)
    assert "mean" not in Compact3DCNN().state_dict() and "norm.mean" not in Compact3DCNN().state_dict()
    with pytest.raises(ValueError, match="'kinetics', 'half' or 'none'"):
        InputNorm("imagenet", 3)  # type: ignore[arg-type]
