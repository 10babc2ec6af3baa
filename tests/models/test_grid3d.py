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
