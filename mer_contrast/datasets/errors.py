"""Errors raised by the dataset readers.

Every message is one line that names the file (or folder) involved and says what to do about it, so
the ``inspect`` command can print it as is.
"""

from __future__ import annotations

from pathlib import Path

#: Display names of the databases, used in messages.
DATABASE_TITLES: dict[str, str] = {
    "casme2": "CASME II",
    "mmew": "MMEW",
    "samm": "SAMM",
    "casme3": "CAS(ME)^3",
    "megc2019": "MEGC2019 composite",
    "smic": "SMIC-HS",
}


class DatasetNotFoundError(FileNotFoundError):
    """An expected annotation sheet or frame folder is missing.

    The databases are licence-gated: this package never downloads them, so the message says where
    the file was expected and that it must be obtained from the database's authors.
    """

    def __init__(self, dataset: str, expected: str, where: Path | str | None = None) -> None:
        title = DATABASE_TITLES.get(dataset, dataset)
        location = f" in {where}" if where is not None else ""
        target = "`root`" if dataset == "smic" else "`root` (or `sheet`)"  # SMIC ships no sheet
        message = (
            f"{title}: expected {expected}{location} but it does not exist. {title} is licence-gated and is "
            f"never downloaded: obtain it from its authors and point {target} at your copy."
        )
        super().__init__(message)
        self.dataset = dataset
        self.expected = expected
        self.where = None if where is None else Path(where)

    def __str__(self) -> str:
        return str(self.args[0])


class SheetFormatError(ValueError):
    """An annotation sheet lacks a required column (or cannot be read as a table at all)."""

    def __init__(self, sheet: Path | str, column: str, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{sheet}: required column {column!r} not found{extra}; is this the right annotation sheet "
            "for the dataset?"
        )
        self.sheet = Path(sheet)
        self.column = column


class SheetFileError(SheetFormatError):
    """The sheet's file itself is unusable (empty, not a workbook): said first, not as a missing column."""

    def __init__(self, sheet: Path | str, reason: str) -> None:
        ValueError.__init__(self, f"{sheet}: {reason}")
        self.sheet = Path(sheet)
        self.column = ""


class DatasetStrictError(ValueError):
    """Raised with ``strict=True`` instead of skipping a bad row."""

    def __init__(self, sheet: Path | str, row: int, reason: str, clip: str = "") -> None:
        where = f"row {row}" + (f" ({clip})" if clip else "")
        super().__init__(f"{sheet}: {where}: {reason} (strict mode; use strict=False to skip such rows)")
        self.sheet = Path(sheet)
        self.row = row
        self.reason = reason
        self.clip = clip


class AUParseError(ValueError):
    """An action-unit cell that no known coding convention explains (e.g. ``"12X"``)."""

    def __init__(self, raw: object, detail: str) -> None:
        super().__init__(f"cannot parse action units {raw!r}: {detail}")
        self.raw = raw
        self.detail = detail


class WrongSheetError(SheetFormatError):
    """The sheet is another database's (e.g. SAMM's sheet given to the CASME II reader)."""

    def __init__(self, sheet: Path | str, message: str, looks_like: str) -> None:
        ValueError.__init__(self, f"{sheet}: {message}")
        self.sheet = Path(sheet)
        self.column = ""
        self.looks_like = looks_like


class DuplicateClipError(ValueError):
    """Two rows of one sheet annotate the same clip with different labels."""

    def __init__(self, sheet: Path | str, rows: tuple[int, int], clip: str, labels: tuple[str, str]) -> None:
        super().__init__(
            f"{sheet}: rows {rows[0]} and {rows[1]} both annotate clip {clip} but label it "
            f"{labels[0]!r} and {labels[1]!r}: delete the wrong row (or, if they are two clips, fix the "
            f"clip name of one)"
        )
        self.sheet = Path(sheet)
        self.rows = rows
        self.clip = clip
        self.labels = labels


class DataSettingError(ValueError):
    """A data setting that cannot work (``image_size: 0``, a ``test_subject`` the data does not have).

    Raised by the datamodule where it takes its values (constructor, ``prepare_data``, ``setup``);
    ``str(err)`` is one line naming the setting, the value and what would work.
    """


#: What the data (a sheet, a folder) or a data setting is to blame for: a one-line message naming the
#: file or the setting and the fix. jsonargparse wraps what a constructor raises: look in the chain of
#: causes (``clips.errors.find_cause``).
DATA_ERRORS: tuple[type[Exception], ...] = (
    DatasetNotFoundError,
    SheetFormatError,
    DatasetStrictError,
    DuplicateClipError,
    DataSettingError,
)
