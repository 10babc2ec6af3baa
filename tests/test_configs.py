"""The shipped configs are compositions of their parts, and the wheel ships them all.

``configs/<database>.yaml`` name their model and data sections as files (``model: model/compact3d.yaml``,
read relative to the config's folder); the sections a config writes out (the trainer with its W&B tags,
the data of the CPU recipes, the whole of ``tests/conf/casme2.yaml``) must equal the parts plus the
differences listed here, so no copy drifts. Every comparison is of ``--print_config`` text, printed from
another working directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from mer_contrast.cli.config_check import check
from mer_contrast.cli.main import main

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
TESTS_CONF = REPO / "tests" / "conf"

GPU = {"trainer": "configs/trainer/gpu.yaml", "model": "configs/model/gridcnn_cpu.yaml"}
CPU = {"trainer": "configs/trainer/cpu.yaml", "model": "configs/model/gridcnn_cpu.yaml"}
VIDEO_ONLY = "configs/model/gridcnn_cpu_video.yaml"  # SMIC (no AU codes): the recipe without the text
MODELS = {"smic": VIDEO_ONLY}
TINY = {"trainer": "tests/conf/trainer/tiny.yaml", "model": "tests/conf/model/tiny.yaml"}
DATABASES = {"casme2": "5class", "casme3": "7class", "megc2019": "3class", "mmew": "7class", "samm": "5class",
             "smic": "3class"}  # fmt: skip


def _tags(*tags: str) -> str:
    return f"--trainer.logger.init_args.tags=[{', '.join(tags)}]"


# one-file config -> (its parts, what it adds to them); a section without a part is taken as written
COMPOSITIONS: dict[str, tuple[dict[str, str], list[str]]] = {
    # what a user runs by name: the measured recipe on a GPU, and the same on the CPU
    **{
        f"configs/{db}.yaml": (
            {**GPU, "model": MODELS.get(db, GPU["model"]), "data": f"configs/data/{db}.yaml"},
            [_tags(db, classes)],
        )
        for db, classes in DATABASES.items()
    },
    **{
        f"configs/{db}_cpu.yaml": (
            {**CPU, "model": MODELS.get(db, CPU["model"]), "data": f"configs/data/{db}.yaml"},
            [],
        )
        for db in DATABASES
        if db != "casme2"
    },
    # The CASME II CPU recipe and the demo keep their data written out (the demo reads it from the file).
    "configs/casme2_cpu.yaml": (CPU, ["--trainer.logger.init_args.save_dir=runs/casme2_cpu"]),
    "configs/demo.yaml": (
        CPU,
        ["--trainer.logger.init_args.save_dir=runs/demo", "--trainer.enable_progress_bar=true"],
    ),
    # the paper-sized network, unmeasured: its trainer and data written out
    "configs/casme2_compact3d.yaml": ({"model": "configs/model/compact3d.yaml"}, []),
    **{
        f"tests/conf/{name}.yaml": ({**TINY, "data": f"tests/conf/data/{name}.yaml"}, [])
        for name in ("casme2", "casme3", "megc2019", "mmew", "samm")
    },
}
OVERLAYS = {"configs/trainer/ddp.yaml"}  # a `--config` overlay (trainer and data), not a section file


def printed(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["fit", *args, "--print_config"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_every_config_and_part_is_covered() -> None:
    def names(pattern: str) -> set[str]:
        return {p.relative_to(REPO).as_posix() for p in [*CONFIGS.glob(pattern), *TESTS_CONF.glob(pattern)]}

    assert names("*.yaml") == set(COMPOSITIONS)
    parts = names("*/*.yaml")  # configs/{data,model,trainer}/, tests/conf/{data,model,trainer}/
    used = {part for sections, _ in COMPOSITIONS.values() for part in sections.values()}
    assert parts - OVERLAYS == used


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_a_config_is_its_parts(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the parts a config names are found relative to it, not to the cwd
    sections, additions = COMPOSITIONS[name]
    written = yaml.safe_load((REPO / name).read_text())
    args = []
    for section in ("trainer", "model", "data"):
        if section in sections:
            path = REPO / sections[section]
            assert isinstance(written[section], dict) or (REPO / name).parent / written[section] == path
        else:  # written out in the config itself: compared as it stands
            path = tmp_path / f"{section}.yaml"
            path.write_text(yaml.safe_dump(written[section]))
        args += [f"--{section}", str(path)]
    assert printed(["--config", str(REPO / name)], capsys) == printed([*args, *additions], capsys)


def test_the_video_only_network_is_the_recipe_without_the_text(capsys: pytest.CaptureFixture[str]) -> None:
    recipe = ["--model", str(REPO / CPU["model"]), "--model.init_args.contrastive_weight=0.0"]
    assert printed(["--model", str(REPO / VIDEO_ONLY)], capsys) == printed(recipe, capsys)


def test_a_relative_config_path_from_another_folder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = printed(["--config", str(CONFIGS / "casme2.yaml")], capsys)
    monkeypatch.chdir(REPO / "tests")
    assert printed(["--config", "../configs/casme2.yaml"], capsys) == expected


def test_the_early_check_reads_the_parts_a_config_names(tmp_path: Path) -> None:
    for name in ("casme2.yaml", "model/gridcnn_cpu.yaml", "data/casme2.yaml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(CONFIGS / name, tmp_path / name)
    config = ["--config", str(tmp_path / "casme2.yaml")]
    assert check("fit", config) is None
    part = tmp_path / "model" / "gridcnn_cpu.yaml"
    text = part.read_text()
    part.write_text(text.replace("  embed_dim: 64\n", "  embed_dm: 64\n"))
    line = 1 + text.splitlines().index("  embed_dim: 64")
    assert check("fit", config) == (
        f"{part}:{line}: unknown key model.init_args.embed_dm (did you mean model.init_args.embed_dim?)"
    )
    part.write_text(text)
    data = tmp_path / "data" / "casme2.yaml"
    data.write_text(data.read_text().replace("  image_size: 48\n", "  imge_size: 48\n"))
    assert "unknown key data.init_args.imge_size (did you mean data.init_args.image_size?)" in str(
        check("fit", config)
    )


def _source_tree(dest: Path) -> Path:
    """What setuptools reads to build the wheel, copied so the build leaves nothing in the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("mer_contrast", "configs"):
        shutil.copytree(REPO / folder, dest / folder, ignore=ignore)
    return dest


def test_the_wheel_ships_every_module_and_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("setuptools")
    source = _source_tree(tmp_path / "src")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PIP_NO_INDEX": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.perf_counter() - started < 60  # ~1 s on 2 cores: offline and no build isolation
    (wheel,) = (tmp_path / "dist").glob("mer_contrast-*.whl")
    listed = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "mer_contrast").rglob("*.py")}
    assert modules <= listed, f"subpackages missing from pyproject's packages: {sorted(modules - listed)}"
    configs = {f"mer_contrast/configs/{p.relative_to(CONFIGS).as_posix()}" for p in CONFIGS.rglob("*.yaml")}
    assert configs <= listed

    # Installed (a pure-Python wheel is its unpacked zip): the demo finds its shipped config, whose
    # model part resolves next to it.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import mer_contrast; from mer_contrast.cli.config_check import check; "
        "from mer_contrast.files import find_config; "
        "found = find_config('demo.yaml'); print(mer_contrast.__file__); print(found); "
        "print(check('fit', ['--config', str(found)]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    package_file, found, problem = run.stdout.splitlines()
    assert Path(package_file).is_relative_to(site) and Path(found) == site / "mer_contrast/configs/demo.yaml"
    assert problem == "None"
    expected = printed(["--config", str(CONFIGS / "demo.yaml")], capsys)
    assert printed(["--config", found], capsys) == expected


# ------------------------------------------------------- readers that follow a section's file
def _copy_configs(tmp_path: Path) -> Path:
    folder = tmp_path / "configs"
    shutil.copytree(CONFIGS, folder)
    return folder


def test_loso_config_hash_changes_with_a_section_file(tmp_path: Path) -> None:
    from mer_contrast.loso.plan import config_hash

    folder = _copy_configs(tmp_path)
    config = str(folder / "casme2.yaml")
    before = config_hash([config], [])
    part = folder / "model" / "gridcnn_cpu.yaml"
    part.write_text(part.read_text().replace("embed_dim: 64", "embed_dim: 32"))
    assert "embed_dim: 32" in part.read_text()
    assert config_hash([config], []) != before  # resuming would pool folds of two models
    assert config_hash([str(folder / "casme2_compact3d.yaml")], []) == config_hash(
        [str(CONFIGS / "casme2_compact3d.yaml")], []
    )  # a config that does not name the changed part


def test_bench_quality_and_from_config_read_section_files() -> None:
    from mer_contrast.bench.quality_data import datamodule
    from mer_contrast.trainers.config import read_model_config

    dm = datamodule([CONFIGS / "casme2.yaml"], ["--data.init_args.image_size=48"])
    assert dm.dataset == "casme2" and dm.clip_config.image_size == 48 and dm.test_subject is None
    whole = read_model_config(CONFIGS / "casme2.yaml")
    assert whole == read_model_config(CONFIGS / "model" / "gridcnn_cpu.yaml")
    assert whole["visual"]["class_path"].endswith("TwoStreamVisual")


def test_bench_quality_gets_its_datamodule_from_the_data_only_cli() -> None:
    from mer_contrast.bench.quality_data import datamodule

    dm = datamodule(
        [CONFIGS / "casme2_cpu.yaml"],
        ["--data.init_args.flow.method=dis", "--data.init_args.facs_template.include_emotion=true"],
    )
    assert dm.clip_config.flow.method == "dis"  # the config says tvl1: the override wins
    assert dm.clip_config.flow.channels == "uv_magnitude_strain"  # the rest of the config's group is kept
    assert dm.facs_template is not None and dm.facs_template.include_emotion
