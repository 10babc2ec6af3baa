"""LightningDataModules: LOSO folds over the micro-expression databases.

The names are loaded on first use: ``mer_contrast.datamodules.protocol`` (what the LOSO runner needs
of a datamodule) must import without Lightning, which takes seconds (a finished ``loso`` rerun
needs none of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mer_contrast.datamodules.folds import Split, loso_split, loso_subjects
    from mer_contrast.datamodules.mer import MERDataModule

__all__ = ["MERDataModule", "Split", "loso_split", "loso_subjects"]

_HOMES = {"MERDataModule": "mer", "Split": "folds", "loso_split": "folds", "loso_subjects": "folds"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"mer_contrast.datamodules.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
