"""The datamodule's values checked where it takes them: each bad one a one-line :class:`DataSettingError`.

Counts are checked in the constructor, before any data is read (``image_size: 0``, ``batch_size:
0``); the held-out subject once the sheet is read, before the flow precompute (``test_subject:
sub99`` names the subjects the data has). The command line maps the error to one line and status 2,
also when jsonargparse has wrapped it (it is then in the chain of causes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mer_contrast.clips.prepare import ClipConfig
from mer_contrast.datasets.errors import DataSettingError

#: The least value each count of ``MERDataModule`` may take.
MINIMUM = {"batch_size": 1, "val_subjects": 1, "num_workers": 0, "precompute_workers": 0}


def check_counts(**values: int) -> None:
    """Raise for the first of ``values`` below its :data:`MINIMUM`."""
    for name, value in values.items():
        least = MINIMUM[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise DataSettingError(f"data.{name} must be a whole number of at least {least}, got {value!r}")


def clip_config(**values: Any) -> ClipConfig:
    """``ClipConfig(**values)``; a value it refuses (``image_size: 0``) is a DataSettingError."""
    try:
        return ClipConfig(**values)
    except ValueError as err:
        raise DataSettingError(f"data: {err}") from None


def check_test_subject(test_subject: str | None, subjects: Sequence[str], protocol: str) -> None:
    """Raise when ``test_subject`` has no clip under ``protocol`` (``subjects``: those that do)."""
    if test_subject is None or test_subject in subjects:
        return
    shown = ", ".join(subjects[:12]) + (f" ... ({len(subjects)} in all)" if len(subjects) > 12 else "")
    raise DataSettingError(
        f"data.test_subject {test_subject!r} is not a subject of this data under protocol {protocol}; "
        f"the subjects are: {shown or 'none'}"
    )
