"""Config files whose sections are files of their own (``model: model/compact3d.yaml``); shipped configs.

jsonargparse reads a section given as a path relative to the folder of the config that names it
(``configs/casme2.yaml`` -> ``configs/model/compact3d.yaml``). The package's own readers of config
files (the pre-check of keys, the LOSO config hash, ``bench quality``'s data arguments,
``MERContrastModule.from_config``) follow those references the same way through this module. It
imports only ``yaml``, so the early checks stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SECTIONS = ("trainer", "model", "data")


def find_config(name: str) -> Path:
    """A shipped config by name (``demo.yaml``, ``model/compact3d.yaml``): the copy a wheel installs as
    package data (``mer_contrast/configs``, from the repository's ``configs/``), else ``configs/<name>``
    of the source checkout (an editable install has no packaged copy)."""
    from importlib import resources

    shipped = Path(str(resources.files("mer_contrast") / "configs" / name))
    checkout = Path(__file__).resolve().parents[1] / "configs" / name
    for candidate in (shipped, checkout):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"configs/{name} not found: not packaged with mer_contrast nor in a source checkout; pass --config"
    )


def section_file(value: Any, config: str | Path) -> Path | None:
    """The file a section names (``model: model/x.yaml``), relative to ``config``'s folder; else None."""
    if not isinstance(value, str) or not value.endswith((".yaml", ".yml")):
        return None
    path = Path(config).parent / value
    return path if path.is_file() else None


def load_config(path: str | Path) -> dict[str, Any]:
    """A config file's YAML mapping with every section that names a file replaced by that file's content."""
    path = Path(path)
    document = yaml.safe_load(path.read_text()) or {}
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a YAML mapping of keys, got {type(document).__name__}")
    for key in SECTIONS:
        part = section_file(document.get(key), path)
        if part is not None:
            document[key] = yaml.safe_load(part.read_text()) or {}
    return document


def config_texts(path: str | Path, ignore: tuple[str, ...] = ()) -> list[str]:
    """The text of a config file and of each section file it names (what a run's result depends on).

    A file holding one of the ``ignore`` keys is represented by its mapping without them (sorted YAML),
    so editing those keys does not change the texts; any other file by its text as written.
    """
    path = Path(path)
    text = path.read_text()
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        return [text]
    if any(key in document for key in ignore):
        text = yaml.safe_dump({k: v for k, v in document.items() if k not in ignore}, sort_keys=True)
    return [text, *(part.read_text() for key in SECTIONS if (part := section_file(document.get(key), path)))]
