"""LightningDataModules: LOSO folds over the micro-expression databases."""

from mer_contrast.datamodules.folds import Split, loso_split, loso_subjects
from mer_contrast.datamodules.mer import MERDataModule

__all__ = ["MERDataModule", "Split", "loso_split", "loso_subjects"]
