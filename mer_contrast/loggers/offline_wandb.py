"""Loggers that behave well on a researcher's cluster: W&B never blocks on a login prompt."""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import WandbLogger

__all__ = ["OfflineSafeWandbLogger", "wandb_credentials_available", "wandb_offline"]


def wandb_credentials_available() -> bool:
    """True when a W&B API key is set in the environment or stored by ``wandb login`` (~/.netrc)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        rc = netrc.netrc(os.environ.get("NETRC", str(Path.home() / ".netrc")))
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False
    return any("wandb" in host for host in rc.hosts)


def wandb_offline(offline: bool | None = None) -> bool:
    """Whether a W&B run should be written offline: ``offline`` when given, else ``WANDB_MODE``
    (``offline``/``disabled``), else when no API key is available (``online`` forces it on)."""
    if offline is not None:
        return offline
    mode = os.environ.get("WANDB_MODE", "")
    return mode in ("offline", "disabled") or (mode != "online" and not wandb_credentials_available())


class OfflineSafeWandbLogger(WandbLogger):
    """A :class:`~lightning.pytorch.loggers.WandbLogger` that goes offline when no API key is set.

    Without credentials, ``wandb.init`` would ask for a key on stdin and hang a batch job; here the
    run is written to ``save_dir/wandb`` instead and can be uploaded later with ``wandb sync``.
    ``WANDB_MODE`` set by the user always wins.

    Args:
        project: W&B project.
        group: groups the runs of one LOSO experiment (the runner sets it).
        name: run name (the runner sets it per fold).
        save_dir: where the run files go.
        offline: force offline mode; None decides from the available credentials.
        log_model: upload checkpoints as artifacts (never when offline).
        tags: run tags.
    """

    def __init__(
        self,
        project: str = "mer-contrast",
        group: str | None = None,
        name: str | None = None,
        save_dir: str = "runs",
        offline: bool | None = None,
        log_model: bool = False,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        offline = wandb_offline(offline)
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        super().__init__(
            project=project,
            group=group,
            name=name,
            save_dir=save_dir,
            offline=offline,
            log_model=False if offline else log_model,
            tags=tags,
            **kwargs,
        )
        # Lightning passes anonymous=None, which W&B >= 0.19 answers with a deprecation on every run.
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)
