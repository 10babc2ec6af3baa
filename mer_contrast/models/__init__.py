"""Pure ``nn.Module`` s (no Lightning): 3D-CNN backbones, stream fusion, the two-stream visual tower,
the BERT text tower and the whole recognizer (:class:`MERRecognizer`). Importing this package makes
the short class names usable as ``class_path`` in YAML configs."""

from mer_contrast.models.compact3d import Compact3DCNN
from mer_contrast.models.fusion import AttentionFusion, ConcatFusion, Fusion, GatedFusion, SumFusion
from mer_contrast.models.grid3d import GridCNN3D
from mer_contrast.models.input_norm import InputNorm
from mer_contrast.models.recognizer import MERRecognizer
from mer_contrast.models.resnet3d import ResNet3D18
from mer_contrast.models.text_tower import TextTower
from mer_contrast.models.visual import TwoStreamVisual

__all__ = [
    "AttentionFusion",
    "Compact3DCNN",
    "ConcatFusion",
    "Fusion",
    "GatedFusion",
    "GridCNN3D",
    "InputNorm",
    "MERRecognizer",
    "ResNet3D18",
    "SumFusion",
    "TextTower",
    "TwoStreamVisual",
]
