"""The tools' options in YAML as on the command line (``--options FILE``, ``--print_options``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mer_contrast.cli.loso import parse_args
from mer_contrast.cli.main import main
from mer_contrast.cli.synth import build_parser as synth_parser
from mer_contrast.cli.tool_parser import split_overrides

REPO = Path(__file__).resolve().parents[2]
CPU_CONFIG = str(REPO / "configs" / "casme2_cpu.yaml")

# Every tool, with flags of each kind: ints, choices, paths, comma lists, pairs, nargs, appends.
TOOLS = {
    "synth": (["synth", "--layout", "samm", "--out", "o", "--clips-per-subject", "3", "--amplitudes", "1,2"],
              {"layout": "samm", "clips_per_subject": 3, "amplitudes": [1.0, 2.0]}),
    "inspect": (["inspect", "--dataset", "casme2", "--root", "r", "-o", "frames=raw", "--json"],
                {"dataset": "casme2", "option": ["frames=raw"], "json": True}),
    "report": (["report", "runs/x", "--no-plots"], {"out": "runs/x", "no_plots": True}),
    "demo": (["demo", "--folds", "2", "--epochs", "1"], {"folds": 2, "epochs": 1}),
    "loso": (["loso", "--config", CPU_CONFIG, "--seeds", "0,1", "--folds", "sub01,sub02"],
             {"seeds": [0, 1], "folds": ["sub01", "sub02"], "selection": "honest"}),
    "bench loso": (["bench", "loso", "--config", "c.yaml", "--seeds", "0,1"], {"seeds": [0, 1]}),
    "bench quality": (["bench", "quality", "--rows", "peer_flow_logreg", "--seeds", "1"],
                      {"rows": ["peer_flow_logreg"], "seeds": 1}),
    "bench flow": (["bench", "flow", "--clips", "3", "--method", "dis"], {"clips": 3, "method": "dis"}),
    "bench train": (["bench", "train", "--sections", "text", "--steps", "2"],
                    {"sections": ["text"], "steps": 2}),
    "bench spot": (["bench", "spot", "--seeds", "1", "2"], {"seeds": [1, 2]}),
    "predict-video": (["predict-video", "v.avi", "--z", "3"], {"z": 3.0}),
    "predict-clips": (["predict-clips", "clips", "--crop", "none"], {"crop": "none"}),
}  # fmt: skip


def printed(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code = main([*argv, "--print_options"])
    except SystemExit as stop:  # jsonargparse prints and exits; `inspect` returns the status instead
        code = stop.code
    assert code in (0, None)
    return capsys.readouterr().out


@pytest.mark.parametrize("tool", list(TOOLS))
def test_every_tool_reads_its_options_from_yaml(
    tool: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, expected = TOOLS[tool]
    text = printed(argv, capsys)
    options = yaml.safe_load(text)
    assert {key: options[key] for key in expected} == expected
    path = tmp_path / "options.yaml"
    path.write_text(text)
    command = argv[:2] if argv[0] == "bench" else argv[:1]
    assert printed([*command, "--options", str(path)], capsys) == text  # the file alone: the same options


def test_the_command_line_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "synth.yaml"
    path.write_text("layout: casme2\nout: data/x\nclips_per_subject: 3\ncrop_sizes: [160, 200]\n")
    args = synth_parser().parse_args(["--options", str(path), "--clips-per-subject", "5"])
    assert args.layout == "casme2" and args.out == Path("data/x")
    assert args.clips_per_subject == 5 and tuple(args.crop_sizes) == (160, 200)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("layout: casme2\nout: o\nclips_per_subjct: 3\n", "unknown option clips_per_subjct (did you mean "),
        ("layout: casme2\nout: o\nclips_per_subject: many\n", '"clips_per_subject"'),
        ("layout: [casme2\n", "Problems parsing config"),
    ],
)
def test_a_bad_options_file_is_one_line_naming_it(
    text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "synth.yaml"
    path.write_text(text)
    with pytest.raises(SystemExit) as stop:
        main(["synth", "--options", str(path)])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"mer-contrast synth: error: {path}: ") and expected in err[0]


def test_a_missing_required_option_names_its_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["synth", "--out", "o"])
    assert "required: --layout;" in capsys.readouterr().err


def test_loso_options_file_sits_between_the_section_and_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "exp.yaml"
    document = yaml.safe_load(Path(CPU_CONFIG).read_text())
    document["model"] = str(REPO / "configs" / "model" / "gridcnn_cpu.yaml")
    document["loso"] = {"seeds": [1, 2], "selection": "both", "max_folds": 4}
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    options = tmp_path / "loso.yaml"
    options.write_text("seeds: [7]\nkeep_best_only: true\n")
    args, extra = parse_args(["-c", str(config), "--options", str(options), "--max-folds", "2", "--data.x=1"])
    assert args.seeds == [7] and args.keep_best_only  # the file over the section
    assert args.selection == "both"  # the section where nothing else says
    assert args.max_folds == 2 and extra == ["--data.x=1"]  # the command line over both


def test_split_overrides_keeps_command_line_order() -> None:
    argv = ["--seeds", "0", "--trainer.max_epochs", "3", "--data.init_args.root=r", "--force"]
    own, extra = split_overrides([*argv, "--", "--model.a=1"])
    assert own == ["--seeds", "0", "--force"]
    assert extra == ["--trainer.max_epochs", "3", "--data.init_args.root=r", "--model.a=1"]


@pytest.mark.parametrize("fps", ["-200", "0", "nan"])
def test_predict_video_refuses_a_frame_rate_not_above_zero_in_one_line(
    fps: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:  # before the recording or the checkpoint is opened
        main(["predict-video", str(tmp_path), "--ckpt_path", str(tmp_path / "x.ckpt"), "--fps", fps])
    assert stopped.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith(
        f"argument --fps: must be above 0, got {fps}; see `mer-contrast predict-video --help`"
    )
