"""LightningModules: :class:`MERContrastModule` (importing this package makes the short
``class_path: MERContrastModule`` usable in YAML configs)."""

from mer_contrast.trainers.module import MERContrastModule

__all__ = ["MERContrastModule"]
