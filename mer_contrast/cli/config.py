"""``mer-contrast config [NAME] [--out DIR]``: the packaged configs, listed, printed or copied.

A wheel installs ``configs/`` as package data (``mer_contrast/configs``), out of sight of a user whose
``fit --config configs/casme2.yaml`` then finds no file. Examples::

    mer-contrast config                             # lists the packaged configs and their parts
    mer-contrast config casme2_cpu                  # prints configs/casme2_cpu.yaml
    mer-contrast config casme2_cpu --out configs    # writes it and the parts it names (model/...)
    mer-contrast fit --config configs/casme2_cpu.yaml --data.init_args.root data/CASME2

A config's sections may name files of their own (``model: model/gridcnn_cpu.yaml``, relative to the
config's folder); ``--out`` copies them along at the same relative paths, so the copy works as the
packaged one does. A file already there with other content is left alone unless ``--force``.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from mer_contrast.cli.tool_parser import ToolParser
from mer_contrast.files import SECTIONS, find_config, section_file

__all__ = ["ConfigNotPackaged", "composed_files", "main", "missing_config_hint", "packaged_configs"]


class ConfigNotPackaged(ValueError):
    """A NAME that is no packaged config; ``str(err)`` is one line naming the close ones."""


def config_folder() -> Path:
    """The packaged configs' folder (a wheel's ``mer_contrast/configs``, else the checkout's ``configs/``)."""
    return find_config("demo.yaml").parent


def packaged_configs() -> list[str]:
    """Every packaged config as its path under the folder: ``casme2.yaml``, ..., ``model/compact3d.yaml``."""
    folder = config_folder()
    found = [path.relative_to(folder).as_posix() for path in folder.rglob("*.yaml")]
    return sorted(found, key=lambda name: (name.count("/"), name))


def resolve(name: str) -> str:
    """The packaged name of ``casme2_cpu`` (or ``casme2_cpu.yaml``, ``configs/casme2_cpu.yaml``)."""
    wanted = name.removeprefix("configs/").removeprefix("./")
    wanted = wanted if wanted.endswith((".yaml", ".yml")) else f"{wanted}.yaml"
    known = packaged_configs()
    if wanted in known:
        return wanted
    close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(c.removesuffix('.yaml') for c in close)}? " if close else ""
    raise ConfigNotPackaged(f"no packaged config {name!r}; {hint}`mer-contrast config` lists them")


def composed_files(name: str) -> list[str]:
    """``name`` and the section files it names (``model/gridcnn_cpu.yaml``), as packaged names."""
    folder = config_folder()
    path = folder / name
    document = yaml.safe_load(path.read_text()) or {}
    parts = []
    if isinstance(document, dict):
        for key in SECTIONS:
            part = section_file(document.get(key), path)
            if part is not None:
                parts.append(part.resolve().relative_to(folder.resolve()).as_posix())
    return [name, *parts]


def missing_config_hint(path: str | Path) -> str:
    """What to add to "config file not found" for ``path``: the command that writes the packaged copy
    where the command line looks for it (``configs/casme2.yaml`` -> ``config casme2 --out configs``)."""
    path = Path(path)
    try:
        known = set(packaged_configs())
    except FileNotFoundError:  # neither packaged nor in a checkout
        return ""
    for depth in (1, 0):  # model/compact3d.yaml, then casme2.yaml
        tail = "/".join(path.parts[-depth - 1 :])
        if len(path.parts) > depth and tail in known:
            command = f"mer-contrast config {tail.removesuffix('.yaml')} --out {path.parents[depth]}"
            return f"; `{command}` writes the packaged copy"
    return "; `mer-contrast config` lists the packaged configs"


def _first_comment(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def _list() -> int:
    folder = config_folder()
    names = packaged_configs()
    width = max(len(name) for name in names) - len(".yaml")
    print(f"packaged configs ({folder}):")
    for name in names:
        print(f"  {name.removesuffix('.yaml'):<{width}}  {_first_comment(folder / name)}")
    print("`mer-contrast config NAME` prints one; with --out DIR it writes it and the parts it names.")
    return 0


def _copy(names: list[str], out: Path, force: bool) -> int:
    folder = config_folder()
    clashes = [
        out / name
        for name in names
        if (out / name).exists() and (out / name).read_bytes() != (folder / name).read_bytes()
    ]
    if clashes and not force:
        print(
            f"error: {clashes[0]} exists with other content; --force replaces it, or pass another --out",
            file=sys.stderr,
        )
        return 2
    for name in names:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((folder / name).read_bytes())
    print(f"wrote {', '.join(str(out / name) for name in names)}")
    print(f"use it: mer-contrast fit --config {out / names[0]}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``mer-contrast config [NAME] [--out DIR] [--force]``; the exit code."""
    parser = ToolParser(prog="mer-contrast config", description=__doc__.splitlines()[0])
    parser.add_argument(
        "name", nargs="?", default=None, help="a packaged config, e.g. casme2_cpu or model/compact3d"
    )
    parser.add_argument("--out", type=Path, default=None, help="write it (and its parts) into this folder")
    parser.add_argument("--force", action="store_true", help="replace files in --out that differ")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.name is None:
        return _list()
    try:
        name = resolve(args.name)
    except ConfigNotPackaged as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    names = composed_files(name)
    if args.out is not None:
        return _copy(names, args.out, args.force)
    sys.stdout.write((config_folder() / name).read_text())
    if len(names) > 1:
        print(
            f"# {name} names {', '.join(names[1:])}: `mer-contrast config {name.removesuffix('.yaml')} "
            "--out DIR` writes them all",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
