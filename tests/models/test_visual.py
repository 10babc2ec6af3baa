"""Fusion modules and the two-stream visual tower, including the single-stream ablations."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mer_contrast.models import (
    AttentionFusion,
    Compact3DCNN,
    ConcatFusion,
    GatedFusion,
    SumFusion,
    TwoStreamVisual,
)

B, T, H = 2, 4, 32


def rgb_stream() -> Compact3DCNN:
    return Compact3DCNN(widths=(4, 8, 12))


def flow_stream(channels: int) -> Compact3DCNN:
    return Compact3DCNN(in_channels=channels, widths=(4, 6), input_norm="none")


def clips(flow_channels: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(B, T, 3, H, H), torch.randn(B, T - 1, flow_channels, H, H)


FUSIONS = [
    (lambda: None, 12 + 6),
    (lambda: ConcatFusion(), 12 + 6),
    (lambda: ConcatFusion(dim=10), 10),
    (lambda: SumFusion(), 12),
    (lambda: GatedFusion(dim=16), 16),
    (lambda: AttentionFusion(hidden=8), 12),
]


@pytest.mark.parametrize("flow_channels", [2, 3])
@pytest.mark.parametrize(("make_fusion", "out_dim"), FUSIONS)
def test_every_fusion_gives_shape_and_gradients(make_fusion, out_dim: int, flow_channels: int) -> None:
    tower = TwoStreamVisual(rgb_stream(), flow_stream(flow_channels), make_fusion(), dropout=0.1)
    assert tower.out_dim == out_dim
    rgb, flow = clips(flow_channels)
    out = tower(rgb, flow)
    assert out.shape == (B, out_dim)
    out.pow(2).sum().backward()
    for name, param in tower.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_default_fusion_is_concat_of_stream_features() -> None:
    tower = TwoStreamVisual(rgb_stream(), flow_stream(2)).eval()
    assert isinstance(tower.fusion, ConcatFusion)
    rgb, flow = clips()
    expected = torch.cat(
        [tower.rgb_stream(rgb.permute(0, 2, 1, 3, 4)), tower.flow_stream(flow.permute(0, 2, 1, 3, 4))], dim=1
    )
    assert torch.allclose(tower(rgb, flow), expected)


def test_sum_of_equal_widths_is_a_plain_sum() -> None:
    fusion = SumFusion()
    assert fusion.build(5, 5) == 5
    assert not any(True for _ in fusion.parameters())
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    assert torch.equal(fusion(a, b), a + b)


def test_gated_fusion_follows_its_gate() -> None:
    fusion = GatedFusion(dim=4)
    fusion.build(6, 3)
    a, b = torch.randn(2, 6), torch.randn(2, 3)
    with torch.no_grad():
        fusion.gate.weight.zero_()
        fusion.gate.bias.fill_(50.0)  # gate ~1: RGB only
    assert torch.allclose(fusion(a, b), fusion.rgb_proj(a), atol=1e-5)
    with torch.no_grad():
        fusion.gate.bias.fill_(-50.0)  # gate ~0: flow only
    assert torch.allclose(fusion(a, b), fusion.flow_proj(b), atol=1e-5)


def test_attention_fusion_is_a_convex_combination() -> None:
    fusion = AttentionFusion(dim=4, hidden=3)
    fusion.build(6, 5)
    a, b = torch.randn(3, 6), torch.randn(3, 5)
    out = fusion(a, b)
    weights = fusion.last_weights
    assert weights is not None and weights.shape == (3, 2)
    assert torch.allclose(weights.sum(dim=1), torch.ones(3))
    expected = weights[:, :1] * fusion.rgb_proj(a) + weights[:, 1:] * fusion.flow_proj(b)
    assert torch.allclose(out, expected, atol=1e-6)


def test_fusion_must_be_built_once() -> None:
    fusion = ConcatFusion()
    with pytest.raises(RuntimeError, match="build"):
        fusion(torch.zeros(1, 2), torch.zeros(1, 2))
    fusion.build(2, 2)
    with pytest.raises(RuntimeError, match="already built"):
        fusion.build(2, 2)


def test_rgb_only_ablation_ignores_flow() -> None:
    tower = TwoStreamVisual(rgb_stream()).eval()
    assert tower.out_dim == 12 and tower.fusion is None and not tower.uses_flow
    rgb, flow = clips()
    out = tower(rgb, None)
    assert torch.allclose(out, tower(rgb, flow))
    assert torch.allclose(out, tower.rgb_stream(rgb.permute(0, 2, 1, 3, 4)))


def test_flow_only_ablation() -> None:
    tower = TwoStreamVisual(None, flow_stream(3))
    assert tower.out_dim == 6 and not tower.uses_rgb
    _, flow = clips(3)
    assert tower(None, flow).shape == (B, 6)


def test_fusion_with_one_stream_warns() -> None:
    with pytest.warns(UserWarning, match="GatedFusion is ignored"):
        TwoStreamVisual(rgb_stream(), None, GatedFusion())


def test_input_errors_are_clear() -> None:
    tower = TwoStreamVisual(rgb_stream(), flow_stream(2))
    rgb, flow = clips()
    with pytest.raises(ValueError, match="flow must be given"):
        tower(rgb, None)
    with pytest.raises(ValueError, match=r"rgb must be \(B, T, C, H, W\)"):
        tower(rgb[0], flow)
    with pytest.raises(ValueError, match="at least one"):
        TwoStreamVisual(None, None)
    with pytest.raises(TypeError, match="out_dim"):
        TwoStreamVisual(nn.Identity(), flow_stream(2))


def test_nested_class_path_config_builds_the_tower() -> None:
    jsonargparse = pytest.importorskip("jsonargparse")
    parser = jsonargparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--visual", type=TwoStreamVisual)
    config = {
        "visual": {
            "class_path": "mer_contrast.models.TwoStreamVisual",
            "init_args": {
                "rgb_stream": {"class_path": "Compact3DCNN", "init_args": {"widths": [4, 8]}},
                "flow_stream": {
                    "class_path": "Compact3DCNN",
                    "init_args": {"in_channels": 2, "widths": [4, 6], "input_norm": "none"},
                },
                "fusion": {"class_path": "GatedFusion", "init_args": {"dim": 5}},
            },
        }
    }
    tower = parser.instantiate_classes(parser.parse_object(config)).visual
    assert isinstance(tower, TwoStreamVisual) and isinstance(tower.fusion, GatedFusion)
    assert tower.out_dim == 5
    rgb, flow = clips()
    assert tower(rgb, flow).shape == (B, 5)
