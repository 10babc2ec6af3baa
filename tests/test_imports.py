"""The package's import graph has no cycle (static: every ``import`` in every module, function-level too).

A cycle works only while each module of it happens to be imported in a suitable order, and a lazy
(function-level) import that closes one hides it until the function runs. ``if TYPE_CHECKING:``
imports are left out: they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import mer_contrast

PACKAGE = Path(mer_contrast.__file__).parent

# Cycles known and not yet broken; fixing one means deleting it here (a new one fails the test).
KNOWN_CYCLES: list[list[str]] = []  # none: a new cycle fails the test


def module_names() -> dict[str, Path]:
    """``{dotted name: file}`` of every module of the package (a package is its ``__init__``)."""
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("mer_contrast", *path.relative_to(PACKAGE).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree``, at any depth, except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports(ast.Module([child], [])))
            continue
        yield from _imports(node)


def import_base(node: ast.Import | ast.ImportFrom, package: str) -> tuple[str, list[str]]:
    """``(base, names)`` of one import statement of a module of ``package``: ``import a.b`` gives
    ``("", ["a.b"])``, ``from ..x import y`` in package ``p.q`` gives ``("p.x", ["y"])``."""
    if isinstance(node, ast.Import):
        return "", [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    return base, [alias.name for alias in node.names]


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that ``name`` imports, each as the most specific module it names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        base, names = import_base(node, package)
        # `from pkg import sub` imports the submodule; `from pkg import name` only pkg.
        targets = [f"{base}.{n}" if f"{base}.{n}" in modules else base for n in names] if base else names
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a non-module c: a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_cycle_finder_sees_function_level_imports(tmp_path: Path) -> None:
    a = "import os\n\ndef f():\n    from mer_contrast.b import g\n"
    b = "import typing\nif typing.TYPE_CHECKING:\n    import mer_contrast.c\nimport mer_contrast.a\n"
    c = "from . import a\n"
    modules = {f"mer_contrast.{n}": tmp_path / f"{n}.py" for n in "abc"}
    for (_, path), text in zip(modules.items(), (a, b, c), strict=True):
        path.write_text(text)
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    assert graph == {"mer_contrast.a": {"mer_contrast.b"}, "mer_contrast.b": {"mer_contrast.a"},
                     "mer_contrast.c": {"mer_contrast.a"}}  # fmt: skip
    assert cycles(graph) == [["mer_contrast.a", "mer_contrast.b"]]


def test_graph_covers_the_package() -> None:
    graph = import_graph()
    assert "mer_contrast.clips.precompute" in graph["mer_contrast.clips"]
    assert "mer_contrast.clips.cache" in graph["mer_contrast.clips.precompute"]


def test_no_import_cycle_among_package_modules() -> None:
    assert cycles(import_graph()) == KNOWN_CYCLES


# Floors, top first: a module imports only from its own floor or the floors below it. The front door
# (cli) parses command lines and picks exit codes; the measuring wing (bench) takes parsed options;
# then the runs (LOSO, spotting, the task), the parts they assemble, the data, and the top-level
# modules every floor uses.
LAYERS: list[tuple[str, ...]] = [
    ("__main__", "cli"),
    ("bench",),
    ("loso", "spot", "trainers"),
    ("datamodules", "models", "losses", "synth", "loggers"),
    ("clips", "datasets", "text"),
    ("", "metrics", "files"),  # "": the package itself (``__version__``)
]


def floor_of(module: str) -> int:
    """The index in :data:`LAYERS` of ``mer_contrast.<part>...``'s first part."""
    part = module.split(".")[1] if "." in module else ""
    for index, parts in enumerate(LAYERS):
        if part in parts:
            return index
    raise AssertionError(f"{module}: its package {part!r} is on no floor of LAYERS; add it there")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``"a -> b"`` for every import of a module ``b`` on a floor above ``a``'s."""
    return sorted(
        f"{name} -> {target}"
        for name, targets in graph.items()
        for target in targets
        if floor_of(target) < floor_of(name)
    )


def test_layer_check_sees_an_import_running_back_up() -> None:
    graph = {
        "mer_contrast.loso.runner": {"mer_contrast.trainers.module", "mer_contrast.clips.cache"},
        "mer_contrast.bench.demo": {"mer_contrast.loso.runner"},
        "mer_contrast.loso.demo": {"mer_contrast.bench.quality"},
    }
    assert upward_imports(graph) == ["mer_contrast.loso.demo -> mer_contrast.bench.quality"]


def test_no_import_runs_from_a_lower_floor_back_up() -> None:
    assert upward_imports(import_graph()) == []


def test_the_top_level_keeps_at_most_four_modules() -> None:
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(modules) <= 4, modules
