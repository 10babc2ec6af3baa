"""What the task and the LOSO runner need from a datamodule, as a ``typing.Protocol``.

``MERDataModule`` provides all of it; a datamodule of your own (another database, another split)
works with ``mer-contrast fit`` and ``loso`` when it has these members, and the runner says which
one is missing instead of failing deep inside a fold.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class LosoData(Protocol):
    """A leave-one-subject-out datamodule."""

    class_names: list[str]
    val_strategy: str

    def folds(self) -> list[str]:
        """The subjects that can be held out, in fold order."""
        ...

    def train_label_counts(self) -> list[int]:
        """Training clips per class (for balanced class weights)."""
        ...

    def train_texts(self) -> list[str]:
        """Every FACS sentence of the training clips (embedded once per fold)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the fold holds (clips per split and class), stored in the fold's ``done.json``."""
        ...


def missing_members(datamodule: object) -> list[str]:
    """The members of :class:`LosoData` that ``datamodule`` lacks (empty when it has them all)."""
    names = ("class_names", "val_strategy", "folds", "train_label_counts", "train_texts", "describe")
    return [name for name in names if not hasattr(datamodule, name)]
