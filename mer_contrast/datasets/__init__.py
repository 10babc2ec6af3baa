"""Readers of the micro-expression databases' real on-disk formats.

``read_dataset("casme2", root="/data/CASME2")`` (or ``read_dataset("smic", root="/data/SMIC")``, SMIC-HS
having no sheet) returns a :class:`ReadResult` of
:class:`SampleRecord` s; :mod:`.protocols` turns emotions into class labels; ``python -m
mer_contrast.datasets.inspection`` summarises a dataset on disk.
"""

from __future__ import annotations

import inspect as _inspect
from collections.abc import Callable
from pathlib import Path

from mer_contrast.datasets import casme2, casme3, megc2019, mmew, samm, smic
from mer_contrast.datasets.aus import au_numbers, format_aus, parse_aus
from mer_contrast.datasets.errors import (
    AUParseError,
    DatasetNotFoundError,
    DatasetStrictError,
    DuplicateClipError,
    SheetFormatError,
    WrongSheetError,
)
from mer_contrast.datasets.protocols import (
    DEFAULT_PROTOCOL,
    PROTOCOLS,
    ClassProtocol,
    apply_protocol,
    custom_protocol,
    get_protocol,
    list_protocols,
)
from mer_contrast.datasets.records import ActionUnit, ReadResult, SampleRecord, SkippedRow

#: Reader of each dataset: ``read(root=None, sheet=None, *, strict=False, **options) -> ReadResult``.
READERS: dict[str, Callable[..., ReadResult]] = {
    "casme2": casme2.read,
    "mmew": mmew.read,
    "samm": samm.read,
    "casme3": casme3.read,
    "megc2019": megc2019.read,
    "smic": smic.read,
}
#: Readers that read folders only: the database has no annotation sheet (``sheet`` is refused).
SHEETLESS: frozenset[str] = frozenset({"smic"})


def read_dataset(
    name: str,
    root: Path | str | None = None,
    sheet: Path | str | None = None,
    *,
    strict: bool = False,
    **options: object,
) -> ReadResult:
    """Read dataset ``name`` (a key of :data:`READERS`); ``options`` go to its reader.

    Raises ValueError for an unknown dataset or an option the reader does not take.
    """
    try:
        reader = READERS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(READERS)}") from None
    accepted = set(_inspect.signature(reader).parameters) - {"root", "sheet", "strict"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(f"{name}: unknown reader option(s) {unknown}; accepted: {sorted(accepted)}")
    return reader(
        None if root is None else Path(root),
        None if sheet is None else Path(sheet),
        strict=strict,
        **options,
    )


__all__ = [
    "DEFAULT_PROTOCOL",
    "PROTOCOLS",
    "READERS",
    "SHEETLESS",
    "AUParseError",
    "ActionUnit",
    "ClassProtocol",
    "DatasetNotFoundError",
    "DatasetStrictError",
    "DuplicateClipError",
    "ReadResult",
    "SampleRecord",
    "SheetFormatError",
    "SkippedRow",
    "WrongSheetError",
    "apply_protocol",
    "au_numbers",
    "custom_protocol",
    "format_aus",
    "get_protocol",
    "list_protocols",
    "parse_aus",
    "read_dataset",
]
