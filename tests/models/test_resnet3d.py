"""ResNet3D18: exact torchvision r3d_18 state-dict parity, weight loading and stem adaptation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mer_contrast.models import ResNet3D18
from mer_contrast.models.resnet3d import adapt_stem

# torchvision.models.video.resnet.r3d_18(): VideoResNet(BasicBlock, [Conv3DSimple] * 4, [2, 2, 2, 2],
# BasicStem). Convolution weights (all bias=False) and the final classifier, written out by hand:
TORCHVISION_R3D18_PARAMS: dict[str, tuple[int, ...]] = {
    "stem.0.weight": (64, 3, 3, 7, 7),
    "layer1.0.conv1.0.weight": (64, 64, 3, 3, 3),
    "layer1.0.conv2.0.weight": (64, 64, 3, 3, 3),
    "layer1.1.conv1.0.weight": (64, 64, 3, 3, 3),
    "layer1.1.conv2.0.weight": (64, 64, 3, 3, 3),
    "layer2.0.conv1.0.weight": (128, 64, 3, 3, 3),
    "layer2.0.conv2.0.weight": (128, 128, 3, 3, 3),
    "layer2.0.downsample.0.weight": (128, 64, 1, 1, 1),
    "layer2.1.conv1.0.weight": (128, 128, 3, 3, 3),
    "layer2.1.conv2.0.weight": (128, 128, 3, 3, 3),
    "layer3.0.conv1.0.weight": (256, 128, 3, 3, 3),
    "layer3.0.conv2.0.weight": (256, 256, 3, 3, 3),
    "layer3.0.downsample.0.weight": (256, 128, 1, 1, 1),
    "layer3.1.conv1.0.weight": (256, 256, 3, 3, 3),
    "layer3.1.conv2.0.weight": (256, 256, 3, 3, 3),
    "layer4.0.conv1.0.weight": (512, 256, 3, 3, 3),
    "layer4.0.conv2.0.weight": (512, 512, 3, 3, 3),
    "layer4.0.downsample.0.weight": (512, 256, 1, 1, 1),
    "layer4.1.conv1.0.weight": (512, 512, 3, 3, 3),
    "layer4.1.conv2.0.weight": (512, 512, 3, 3, 3),
    "fc.weight": (400, 512),
    "fc.bias": (400,),
}
# BatchNorm3d modules -> channels; each has weight, bias, running_mean, running_var, num_batches_tracked.
TORCHVISION_R3D18_BATCHNORMS: dict[str, int] = {
    "stem.1": 64,
    "layer1.0.conv1.1": 64,
    "layer1.0.conv2.1": 64,
    "layer1.1.conv1.1": 64,
    "layer1.1.conv2.1": 64,
    "layer2.0.conv1.1": 128,
    "layer2.0.conv2.1": 128,
    "layer2.0.downsample.1": 128,
    "layer2.1.conv1.1": 128,
    "layer2.1.conv2.1": 128,
    "layer3.0.conv1.1": 256,
    "layer3.0.conv2.1": 256,
    "layer3.0.downsample.1": 256,
    "layer3.1.conv1.1": 256,
    "layer3.1.conv2.1": 256,
    "layer4.0.conv1.1": 512,
    "layer4.0.conv2.1": 512,
    "layer4.0.downsample.1": 512,
    "layer4.1.conv1.1": 512,
    "layer4.1.conv2.1": 512,
}
# R3D_18_Weights.KINETICS400_V1.meta["num_params"] in torchvision.
TORCHVISION_R3D18_NUM_PARAMS = 33_371_472


def torchvision_r3d18_shapes() -> dict[str, tuple[int, ...]]:
    shapes = dict(TORCHVISION_R3D18_PARAMS)
    for prefix, channels in TORCHVISION_R3D18_BATCHNORMS.items():
        for suffix in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{suffix}"] = (channels,)
        shapes[f"{prefix}.num_batches_tracked"] = ()
    return shapes


def fake_kinetics_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict shaped like torchvision's r3d_18 checkpoint, with random values."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in torchvision_r3d18_shapes().items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7)
        else:
            state[key] = torch.rand(shape, generator=generator) + 0.5  # positive: valid running_var
    return state


def test_state_dict_keys_and_shapes_match_torchvision_r3d18_without_fc() -> None:
    expected = {k: v for k, v in torchvision_r3d18_shapes().items() if not k.startswith("fc.")}
    model = ResNet3D18()
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert own == expected
    trainable = sum(p.numel() for p in model.parameters())
    assert trainable + 512 * 400 + 400 == TORCHVISION_R3D18_NUM_PARAMS


def test_forward_shape_and_gradients() -> None:
    model = ResNet3D18()
    assert model.out_dim == 512
    out = model(torch.rand(2, 3, 4, 32, 32))
    assert out.shape == (2, 512)
    out.sum().backward()
    assert model.stem[0].weight.grad is not None and model.stem[0].weight.grad.abs().sum() > 0
    assert model.layer4[1].conv2[0].weight.grad is not None


def test_load_torchvision_checkpoint_from_file(tmp_path: Path) -> None:
    state = fake_kinetics_state_dict()
    path = tmp_path / "r3d_18-kinetics.pth"
    torch.save(state, path)
    model = ResNet3D18(weights_path=str(path))
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_load_wrapped_ddp_checkpoint(tmp_path: Path) -> None:
    state = fake_kinetics_state_dict(seed=1)
    path = tmp_path / "wrapped.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, path)
    model = ResNet3D18(weights_path=str(path))
    assert torch.equal(model.layer3[0].downsample[0].weight, state["layer3.0.downsample.0.weight"])


def test_two_channel_stem_is_adapted_from_rgb_kernel(tmp_path: Path) -> None:
    state = fake_kinetics_state_dict(seed=2)
    path = tmp_path / "r3d.pth"
    torch.save(state, path)
    model = ResNet3D18(in_channels=2, weights_path=str(path), input_norm="none")
    stem = model.stem[0].weight
    assert stem.shape == (64, 2, 3, 7, 7)
    rgb_mean = state["stem.0.weight"].mean(dim=1)
    assert torch.allclose(stem[:, 0], rgb_mean) and torch.allclose(stem[:, 1], rgb_mean)
    assert torch.equal(model.layer1[0].conv1[0].weight, state["layer1.0.conv1.0.weight"])
    model.eval()
    assert model(torch.randn(1, 2, 4, 32, 32)).shape == (1, 512)


def test_adapt_stem_keeps_rgb_unchanged() -> None:
    weight = torch.randn(64, 3, 3, 7, 7)
    assert adapt_stem(weight, 3) is weight
    assert adapt_stem(weight, 1).shape == (64, 1, 3, 7, 7)


def test_mismatched_checkpoint_names_the_file(tmp_path: Path) -> None:
    state = fake_kinetics_state_dict()
    state.pop("layer2.1.conv1.0.weight")
    state["layer5.weight"] = torch.zeros(1)
    path = tmp_path / "other_model.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"other_model\.pth.*missing: layer2\.1\.conv1\.0\.weight"):
        ResNet3D18(weights_path=str(path))


def test_missing_weights_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.pth"):
        ResNet3D18(weights_path=str(tmp_path / "nope.pth"))


def test_kinetics_normalisation_requires_rgb() -> None:
    with pytest.raises(ValueError, match="input_norm='none'"):
        ResNet3D18(in_channels=2)
