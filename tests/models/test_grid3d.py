"""GridCNN3D: shapes, location kept by the grid, validation; the onset-difference RGB input."""

from __future__ import annotations

import pytest
import torch

from mer_contrast.models import GridCNN3D, TwoStreamVisual


@pytest.mark.parametrize(("widths", "pre_pool", "grid"), [([8], 8, 8), ([8, 16], 16, 8), ([4, 8, 8], 32, 4)])
def test_output_dim_and_shape(widths: list[int], pre_pool: int, grid: int) -> None:
    net = GridCNN3D(3, widths, pre_pool=pre_pool, grid=grid)
    out = net(torch.randn(2, 3, 4, 48, 48))
    assert out.shape == (2, widths[-1] * grid * grid) == (2, net.out_dim)
    assert GridCNN3D(2, [4], pre_pool=None, grid=2)(torch.randn(1, 2, 1, 8, 8)).shape == (1, 16)


def test_the_grid_keeps_where_the_motion_is() -> None:
    torch.manual_seed(0)
    net = GridCNN3D(2, [4], pre_pool=8, grid=2, dropout=0.0).eval()
    top, bottom = torch.zeros(1, 2, 1, 16, 16), torch.zeros(1, 2, 1, 16, 16)
    top[..., :8, :] = 1.0  # the same motion, in the upper or the lower half of the face
    bottom[..., 8:, :] = 1.0
    a, b = net(top).view(4, 2, 2), net(bottom).view(4, 2, 2)  # (channels, grid rows, grid columns)
    assert a[:, 0].sum() > a[:, 1].sum() and b[:, 1].sum() > b[:, 0].sum()  # the moving row responds
    assert torch.allclose(a[:, 0], b[:, 1], atol=1e-5)  # and says the same wherever the motion is


@pytest.mark.parametrize("frames", [1, 3])
def test_features_already_on_the_grid_skip_the_pool_with_the_same_numbers(frames: int) -> None:
    # The CPU recipe's streams end at 1 x 8 x 8 (an onset-apex pair): the pool would only copy them.
    torch.manual_seed(0)
    net = GridCNN3D(4, [16, 32], pre_pool=16, grid=8, dropout=0.0).eval()
    clip = torch.randn(2, 4, frames, 48, 48, requires_grad=True)
    pooled = net.pool(net.features(net.norm(torch.nn.functional.adaptive_avg_pool3d(clip, (frames, 16, 16)))))
    out = net(clip)
    assert torch.equal(out, pooled.flatten(1))
    grad_out, grad_pooled = (torch.autograd.grad(y.square().sum(), clip)[0] for y in (out, pooled))
    assert torch.equal(grad_out, grad_pooled)


def test_validation() -> None:
    with pytest.raises(ValueError, match="widths"):
        GridCNN3D(3, [])
    with pytest.raises(ValueError, match="pre_pool >= grid"):
        GridCNN3D(3, [4], pre_pool=4, grid=8)
    with pytest.raises(ValueError, match="odd"):
        GridCNN3D(3, [4], temporal_kernel=2)


def test_onset_difference_rgb_input_ignores_appearance() -> None:
    torch.manual_seed(0)
    tower = TwoStreamVisual(GridCNN3D(3, [4], pre_pool=8, grid=2), None, rgb_input="onset_difference").eval()
    clip = torch.rand(2, 4, 3, 16, 16)
    brighter = (clip + 0.2).clamp(max=10)  # the same motion on a differently lit face
    assert torch.allclose(tower(clip), tower(brighter), atol=1e-5)
    frames = TwoStreamVisual(GridCNN3D(3, [4], pre_pool=8, grid=2, input_norm="half"), None).eval()
    assert not torch.allclose(frames(clip), frames(brighter), atol=1e-3)
    with pytest.raises(ValueError, match="rgb_input"):
        TwoStreamVisual(GridCNN3D(3, [4]), None, rgb_input="apex")  # type: ignore[arg-type]
