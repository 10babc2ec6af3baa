"""Shared constants of the LOSO tests."""

from __future__ import annotations

from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "conf"


def overrides(base_args: list[str]) -> list[str]:
    """``base_args`` without the ``--config`` pair (for `mer-contrast loso ... -- <overrides>`)."""
    return base_args[2:]
