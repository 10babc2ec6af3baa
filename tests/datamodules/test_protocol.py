"""MERDataModule is a LosoData; a datamodule that is not is named with what it lacks."""

from __future__ import annotations

from lightning.pytorch import LightningDataModule

from mer_contrast.datamodules import MERDataModule
from mer_contrast.datamodules.protocol import LosoData, missing_members


def test_mer_datamodule_has_what_the_runner_needs() -> None:
    datamodule = MERDataModule(root="nowhere")  # reading starts at prepare_data/setup, not here
    assert isinstance(datamodule, LosoData) and missing_members(datamodule) == []


def test_a_plain_datamodule_is_named_with_its_missing_members() -> None:
    class Plain(LightningDataModule):
        class_names = ("a", "b")

        def folds(self) -> list[str]:
            return ["s1"]

    assert not isinstance(Plain(), LosoData)
    assert missing_members(Plain()) == ["val_strategy", "train_label_counts", "train_texts", "describe"]
