"""Loggers that behave well on a researcher's cluster (:mod:`~mer_contrast.loggers.offline_wandb`) and the
runs' log hygiene (:mod:`~mer_contrast.loggers.quiet`).

``OfflineSafeWandbLogger`` and ``wandb_credentials_available`` are loaded on first use: importing
``mer_contrast.loggers.quiet`` (every command does) must not import Lightning, which takes seconds
(a finished ``loso`` rerun needs none of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mer_contrast.loggers.offline_wandb import (
        OfflineSafeWandbLogger,
        wandb_credentials_available,
        wandb_offline,
    )

__all__ = ["OfflineSafeWandbLogger", "wandb_credentials_available", "wandb_offline"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mer_contrast.loggers import offline_wandb

        return getattr(offline_wandb, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
