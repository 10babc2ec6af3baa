"""A config check that runs before Lightning loads, so a misspelled key fails in well under a second.

:func:`check` merges the ``--config`` YAML files and ``--key value`` overrides in LightningCLI's order
and compares every key with the ``__init__`` parameters of the ``class_path`` it sits under, read from
the class's source with :mod:`ast` (nothing is imported). It reports only what is certainly wrong: a
class it cannot read (``**kwargs``, a C extension, an ambiguous short name) is left to jsonargparse,
whose long errors :func:`condense` turns into one line.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import functools
import importlib.util
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from mer_contrast.files import section_file

__all__ = ["check", "condense", "describe"]

SUBCLASS_KEYS = {"class_path", "init_args", "dict_kwargs", "__path__"}
TRAINER = "lightning.pytorch.trainer.trainer.Trainer"
SECTIONS = {"model": None, "data": None, "optimizer": None, "lr_scheduler": None, "trainer": TRAINER}
TOP_LEVEL = {"config", "seed_everything", "loso", *SECTIONS}  # loso: mer_contrast/loso/options.py
# LightningCLI leaves these method arguments out of each subcommand (they are the built objects).
METHOD_SKIP = {"model", "train_dataloaders", "val_dataloaders", "dataloaders", "datamodule"}
# Packages whose classes a YAML may name by short name (importing them registers the names).
SHORT_NAME_HOMES = (
    *(f"mer_contrast.{package}" for package in ("models", "trainers", "datamodules", "loggers")),
    "lightning.pytorch.callbacks",
    "lightning.pytorch.loggers",
)

Path_ = tuple[str | int, ...]

# MERDataModule's flat arguments that became fields of its typed groups (``flow:``, ``augmentation:``).
MOVED = {f"flow_{name}": f"flow.{name}" for name in ("method", "size", "pairs", "channels")}
MOVED |= {name: f"augmentation.{name}" for name in ("flip_prob", "spatial_jitter", "temporal_jitter")}
MOVED |= {"flow_params": "flow", "augment": "augmentation"}  # augmentation: null turns it off


class Origin(NamedTuple):
    """Where a key was written: a file (with its line) or the command line."""

    source: str
    keys: Path_
    line: int | None = None

    def describe(self, replace_last: str | None = None) -> str:
        keys = self.keys if replace_last is None else (*self.keys[:-1], replace_last)
        dotted = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys).lstrip(".")
        return f"--{dotted}" if self.source == "command line" else dotted


class ConfigProblem(Exception):
    """A config error worth one line."""


# --- reading the classes' signatures from source -------------------------------------------------


def _module_file(module: str) -> Path | None:
    top, *rest = module.split(".")
    spec = importlib.util.find_spec(top)  # a top-level name: located, not imported
    if spec is None or not spec.submodule_search_locations:
        return Path(spec.origin) if spec and spec.origin and not rest else None
    folder = Path(next(iter(spec.submodule_search_locations)))
    for i, part in enumerate(rest):
        if (folder / part / "__init__.py").is_file():
            folder = folder / part
        elif (folder / f"{part}.py").is_file() and i == len(rest) - 1:
            return folder / f"{part}.py"
        else:
            return None
    return folder / "__init__.py"


@functools.lru_cache(maxsize=256)
def _parse(module: str) -> tuple[ast.Module, bool] | None:
    file = _module_file(module)
    if file is None or not file.is_file():
        return None
    return ast.parse(file.read_text(encoding="utf-8")), file.name == "__init__.py"


def _find_class(module: str, name: str, depth: int = 0) -> tuple[ast.ClassDef, str] | None:
    """The class statement of ``module.name``, following ``from ... import`` re-exports."""
    parsed = _parse(module) if depth < 8 else None
    if parsed is None:
        return None
    tree, is_package = parsed
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == name:
            return stmt, module
    # A lazy package names its classes under `if TYPE_CHECKING:` (mer_contrast.datamodules, loggers).
    checked = [
        s for stmt in tree.body if isinstance(stmt, ast.If) and _type_checking(stmt.test) for s in stmt.body
    ]
    for stmt in [*tree.body, *checked]:
        if isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                if (alias.asname or alias.name) == name:
                    return _find_class(_absolute(module, is_package, stmt), alias.name, depth + 1)
    return None


def _type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _absolute(module: str, is_package: bool, stmt: ast.ImportFrom) -> str:
    if not stmt.level:
        return stmt.module or ""
    parts = module.split(".")[: len(module.split(".")) - stmt.level + is_package]
    return ".".join([*parts, stmt.module] if stmt.module else parts)


def _init_params(cls: ast.ClassDef, module: str, depth: int = 0) -> frozenset[str] | None:
    if cls.decorator_list or depth > 8:  # dataclasses and the like build __init__ themselves
        return None
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
            args = stmt.args
            if args.kwarg is not None:  # jsonargparse follows **kwargs further than this reads
                return None
            return frozenset(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs][1:])
    if not cls.bases:
        return frozenset()
    base = cls.bases[0]
    found = _find_class(module, base.id) if isinstance(base, ast.Name) else None
    return _init_params(found[0], found[1], depth + 1) if found else None


@functools.lru_cache(maxsize=256)
def _class(class_path: str) -> tuple[ast.ClassDef, str] | None:
    if "." in class_path:
        module, name = class_path.rsplit(".", 1)
        return _find_class(module, name)
    found = [c for home in SHORT_NAME_HOMES if (c := _find_class(home, class_path))]
    return found[0] if len(found) == 1 else None


def class_params(class_path: str) -> frozenset[str] | None:
    """The keyword arguments of ``class_path``'s ``__init__``, or None when the source does not tell."""
    found = _class(class_path)
    return _init_params(*found) if found else None


def method_params(class_path: str, method: str) -> frozenset[str] | None:
    found = _class(class_path)
    for stmt in found[0].body if found else ():
        if isinstance(stmt, ast.FunctionDef) and stmt.name == method and stmt.args.kwarg is None:
            return frozenset(a.arg for a in [*stmt.args.args, *stmt.args.kwonlyargs][1:])
    return None


# --- merging the config sources -------------------------------------------------------------------


def _yaml_lines(node: Any, keys: Path_, lines: dict[Path_, int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            lines[(*keys, key_node.value)] = key_node.start_mark.line + 1
            _yaml_lines(value, (*keys, key_node.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*keys, i)] = item.start_mark.line + 1
            _yaml_lines(item, (*keys, i), lines)


def _load_yaml(path: str) -> tuple[Any, dict[Path_, int]]:
    import yaml

    if not Path(path).is_file():
        from mer_contrast.cli.config import missing_config_hint

        raise ConfigProblem(f"{path}: config file not found{missing_config_hint(path)}")
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        lines: dict[Path_, int] = {}
        _yaml_lines(yaml.compose(text, Loader=yaml.SafeLoader), (), lines)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigProblem(f"{path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    return data, lines


class Config:
    """The merged tree and, per key, where it was last written."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.origins: dict[Path_, Origin] = {}

    def merge(self, data: Mapping[Any, Any], source: str, lines: Mapping[Path_, int] | None = None) -> None:
        self._merge(self.tree, data, (), (), source, lines or {})

    def _merge(
        self, node: dict[str, Any], data: Mapping[Any, Any], canon: Path_, shown: Path_, source: str,
        lines: Mapping[Path_, int],
    ) -> None:  # fmt: skip
        new_class = data.get("class_path")
        if isinstance(new_class, str) and new_class != node.get("class_path"):
            node.pop("init_args", None)  # a new class: jsonargparse drops the old class's arguments
        subclass = "class_path" in node or isinstance(new_class, str)
        for raw_key, value in data.items():
            key = str(raw_key)
            target, at = node, canon
            if subclass and key not in SUBCLASS_KEYS:  # `--data.image_size` means data.init_args.image_size
                if not isinstance(node.get("init_args"), dict):
                    node["init_args"] = {}
                target, at = node["init_args"], (*canon, "init_args")
            keys, typed = (*at, key), (*shown, key)
            self.origins[keys] = Origin(source, typed, lines.get(typed))
            child = target.get(key)
            if isinstance(value, str) and isinstance(child, dict) and "class_path" in child:
                value = {"class_path": value}  # `--model.init_args.visual OtherClass`
            if isinstance(value, Mapping):
                if not isinstance(child, dict):
                    child = target[key] = {}
                self._merge(child, value, keys, typed, source, lines)
            elif isinstance(value, list):
                target[key] = value
                for i in range(len(value)):
                    self.origins[(*keys, i)] = Origin(source, (*typed, i), lines.get((*typed, i)))
            else:
                target[key] = value


def _override(config: Config, option: str, value: str | None) -> None:
    import yaml

    keys = option[2:].split(".")
    if not all(keys) or any(not re.fullmatch(r"[A-Za-z_][\w]*", k) for k in keys):
        return  # `--trainer.callbacks+=...` and other forms: jsonargparse's business
    try:
        parsed = yaml.safe_load(value) if value is not None else True
    except yaml.YAMLError:
        parsed = value
    if isinstance(parsed, str) and parsed.endswith((".yaml", ".yml")) and Path(parsed).is_file():
        parsed, _ = _load_yaml(parsed)  # a section given as its own config file
    data: Any = parsed
    for key in reversed(keys):
        data = {key: data}
    config.merge(data, "command line")


def gather(args: Sequence[str]) -> Config | None:
    """Merge ``args`` (after the subcommand) like LightningCLI; None when they hold what this cannot read."""
    config = Config()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-h", "--help", "--print_config") or arg.startswith("--print_config="):
            return None  # help and printing go straight to jsonargparse
        option, eq, value = arg.partition("=")
        has_value = eq or (i + 1 < len(args) and not args[i + 1].startswith("--"))
        if not eq and has_value:
            value = args[i + 1]
        i += 1 if eq or not has_value else 2
        if option in ("-c", "--config"):
            data, lines = _load_yaml(value)
            if not isinstance(data, Mapping):
                raise ConfigProblem(f"{value}: expected a YAML mapping of keys, got {type(data).__name__}")
            parts = {key: part for key in SECTIONS if (part := section_file(data.get(key), value))}
            config.merge({k: v for k, v in data.items() if k not in parts}, value, lines)
            for key, part in parts.items():
                section, part_lines = _load_yaml(str(part))
                config.merge({key: section}, str(part), {(key, *k): n for k, n in part_lines.items()})
        elif option.startswith("--"):
            _override(config, option, value if has_value else None)
        else:
            return None
    return config


# --- checking ---------------------------------------------------------------------------------------


def _unknown(config: Config, keys: Path_, options: frozenset[str], owner: str | None = None) -> ConfigProblem:
    origin = config.origins.get(keys) or Origin("command line", keys)
    match = difflib.get_close_matches(str(keys[-1]), sorted(options), n=1, cutoff=0.6)
    hint = f" (did you mean {origin.describe(match[0])}?)" if match else ""
    moved = MOVED.get(str(keys[-1]))
    if moved is not None and moved.split(".")[0] in options:
        hint = f" (it moved into a group: write {origin.describe(moved)})"
    if not match and owner and len(options) <= 6:
        hint = f" ({owner} takes {', '.join(sorted(options)) or 'no arguments'})"
    where = origin.source + (f":{origin.line}" if origin.line else "")
    return ConfigProblem(f"{where}: unknown key {origin.describe()}{hint}")


def _check_class(config: Config, node: Any, keys: Path_, class_path: str | None) -> None:
    if not isinstance(node, dict):
        return
    if class_path is None:  # subclass mode: the node names its class
        class_path = node.get("class_path") if isinstance(node.get("class_path"), str) else None
        if class_path is None:
            return
        node = node.get("init_args") if isinstance(node.get("init_args"), dict) else {}
        keys = (*keys, "init_args")
    params = class_params(class_path)
    for key, value in node.items():
        if params is not None and not _known(config, (*keys, key), params):
            raise _unknown(config, (*keys, key), params, class_path.rsplit(".", 1)[-1])
        _check_value(config, value, (*keys, key))


def _known(config: Config, keys: Path_, options: frozenset[str] | set[str]) -> bool:
    key = str(keys[-1])
    if key in options:
        return True
    origin = config.origins.get(keys)
    # argparse takes a unique prefix on the command line (`--trainer.max_epoch 3`)
    return origin is not None and origin.source == "command line" and any(o.startswith(key) for o in options)


def _check_value(config: Config, value: Any, keys: Path_) -> None:
    if isinstance(value, dict) and isinstance(value.get("class_path"), str):
        _check_class(config, value, keys, None)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(config, item, (*keys, i))


def top_level_keys(subcommand: str) -> set[str] | None:
    """The keys a ``subcommand`` config may have at its top (the sections and the method's arguments)."""
    method = method_params(TRAINER, subcommand)
    return TOP_LEVEL | (method - METHOD_SKIP) if method is not None else None


def check(subcommand: str, args: Sequence[str]) -> str | None:
    """The first certain mistake in a LightningCLI command line (after ``subcommand``), or None."""
    try:
        config = gather(args)
        if config is None:
            return None
        allowed = top_level_keys(subcommand)
        for key, value in config.tree.items():
            if allowed is not None and not _known(config, (key,), allowed):
                problem, section = _unknown(config, (key,), frozenset(allowed)), key.split(".")[0]
                if section != key and section in SECTIONS:  # jsonargparse would drop the section's part
                    nest = f"nest it under {section}: or write it in the section's own file"
                    raise ConfigProblem(f"{problem}: a dotted key in a file replaces its section; {nest}")
                raise problem
            if key in SECTIONS:
                _check_class(config, value, (key,), SECTIONS[key])
    except ConfigProblem as problem:
        return str(problem)
    except Exception:  # anything else is jsonargparse's to judge
        return None
    return None


# --- jsonargparse's own errors, in one line ------------------------------------------------------

_NOISE = re.compile(
    r"^(Subtypes:|Errors:|Expected a <class 'NoneType'>|Given value type:|"
    r"Does not validate against any of the Union subtypes|Problem with given class_path)"
)


def condense(message: str) -> tuple[str, str]:
    """jsonargparse's multi-line parse error as ``(dotted key, innermost reason)``; key may be ''."""
    keys: list[str] = []
    reasons: list[str] = []
    given = ""
    for raw in str(message).splitlines():
        line = raw.strip().removeprefix("- ").strip()
        key = re.fullmatch(r'Parser key "([^"]+)":\s*(.*)', line)
        if key:
            keys.append(key.group(1))
            line = key.group(2)
        if line.startswith("Given value:"):
            given = line.removeprefix("Given value:").strip()
        elif line and not _NOISE.match(line):
            reasons.append(line)
    unknown = re.fullmatch(r"Option '([\w.]+)' is not accepted", " ".join(reasons))
    if unknown:
        keys.append(unknown.group(1))
        reasons = ["unknown key"]
    reason = re.sub(r"<class '([\w.]+)'>", r"\1", " ".join(reasons) or str(message))
    reason = re.sub(r"Expected an? (.+?)\. Got value: ", r"expected \1, got ", reason)
    reason = re.sub(r"^Expected an? ", "expected ", reason)
    if given and ", got " not in reason and not given.startswith("NestedArg"):
        reason += f", got {given}"
    return ".".join(keys), re.sub(r"\s+", " ", reason).strip()


def describe(message: str, args: Sequence[str]) -> str:
    """One line for a jsonargparse error: where the key was written (file:line or command line), the
    key and the reason."""
    dotted, reason = condense(message)
    if not dotted:
        return reason
    config = None
    with contextlib.suppress(Exception):  # no origins: the key alone
        config = gather(args)
    for keys, origin in reversed(list(config.origins.items()) if config else []):
        if ".".join(str(k) for k in keys if k != "init_args") == dotted.replace(".init_args", ""):
            where = origin.source + (f":{origin.line}" if origin.line else "")
            return f"{where}: {origin.describe()}: {reason}"
    return f"{dotted}: {reason}"
