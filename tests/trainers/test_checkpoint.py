"""Checkpoints: unusable files fail in one line, loading is weights_only=True, clip settings are checked.

The CLI cases run the real ``mer-contrast`` entry (``mer_contrast.cli.main.main``) on tests/conf/casme2.yaml
over a tiny synthetic CASME II, as `mer-contrast fit|test|predict` would.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from unittest import mock

import pytest
import torch
from lightning.pytorch import LightningDataModule, Trainer
from torch.utils.data import DataLoader

from mer_contrast.cli.main import main
from mer_contrast.clips.flow import METHOD_FIELDS, FlowConfig
from mer_contrast.clips.prepare import ClipConfig
from mer_contrast.trainers import MERContrastModule
from mer_contrast.trainers import checkpoint as ckpt_module
from mer_contrast.trainers.checkpoint import CheckpointError, read_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CONF = Path(__file__).resolve().parents[1] / "conf"
WORDS = "inner outer brow raiser lowerer lip corner puller depressor chin cheek lid tightener nose".split()
CLASSES = ["happiness", "disgust", "repression", "surprise", "others"]
FIX = "pass a last.ckpt written by `mer-contrast fit`"
RECORDED = {
    "image_size": 32,
    "num_frames": 4,
    "span": "onset_apex",
    "crop": "auto",
    "register": "translation",
    "align": "none",
    "flow_method": "farneback",
    "flow_pairs": "consecutive",
    "flow_channels": "uv",
    "flow_size": None,
    **{f"flow_{name}": getattr(FlowConfig(), name) for name in METHOD_FIELDS["farneback"]},
    "flow_bound": None,
    "strain_bound": None,
    "protocol": "casme2-5class",
    "class_names": CLASSES,
}


def bad_file(kind: str, folder: Path) -> tuple[Path, str]:
    """A file that is no usable checkpoint, and the reason its message must give."""
    path = folder / f"{kind}.ckpt"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "not a checkpoint (0 bytes)"
    if kind == "random":
        path.write_bytes(random.Random(0).randbytes(4000))
        return path, "not a checkpoint (4000 bytes, not a PyTorch archive)"
    if kind == "truncated":
        torch.save({"state_dict": {"w": torch.zeros(4096)}}, path)
        path.write_bytes(path.read_bytes()[:3000])
        return path, "truncated checkpoint (3000 bytes, the end is missing"
    if kind == "foreign_zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "hello")
        return path, "damaged checkpoint ("
    if kind == "not_lightning":
        torch.save([1, 2, 3], path)
        return path, "a PyTorch file but not a Lightning checkpoint (no state_dict)"
    if kind == "folder":
        path.mkdir()
        return path, "is a folder, not a checkpoint"
    assert kind == "missing"
    return path, "no such file"


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize(
    "kind", ["empty", "random", "truncated", "foreign_zip", "not_lightning", "folder", "missing"]
)
def test_read_checkpoint_names_the_file_and_the_fault(kind: str, tmp_path: Path) -> None:
    path, reason = bad_file(kind, tmp_path)
    with pytest.raises(CheckpointError) as caught:
        read_checkpoint(path)
    message = one_line(str(caught.value))
    assert message.startswith(f"{path}: {reason}") and message.endswith(FIX), message


def test_unsafe_checkpoint_is_refused_unless_vouched(tmp_path: Path) -> None:
    path = tmp_path / "unsafe.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"args": argparse.Namespace(lr=1.0)}}, path)
    with pytest.raises(CheckpointError, match=r"weights_only=True \(it pickles argparse.Namespace"):
        read_checkpoint(path)
    assert read_checkpoint(path, weights_only=False)["hyper_parameters"]["args"].lr == 1.0


# ------------------------------------------------------------------------------------- real CLI
def cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI expecting a refusal: status 2 and one stderr line, no traceback."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return one_line(err)


@pytest.mark.parametrize(
    ("subcommand", "kind"),
    [
        ("test", "empty"),
        ("predict", "truncated"),
        ("validate", "random"),
        ("test", "missing"),
        ("fit", "empty"),
    ],
)
def test_cli_bad_ckpt_path_is_one_line(
    subcommand: str, kind: str, cli_args: list[str], in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, reason = bad_file(kind, in_tmp)
    line = cli_error([subcommand, *cli_args, f"--ckpt_path={path}"], capsys)
    assert line.startswith(f"error: {path}: {reason}") and line.endswith(FIX), line


def test_checkpoint_records_clip_settings_and_loads_weights_only(fitted: Path) -> None:
    saved = torch.load(fitted, map_location="cpu", weights_only=True)  # plain types only
    assert saved["mer_contrast"]["clip_settings"] == RECORDED
    with mock.patch("torch.load", wraps=torch.load) as spy, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MERContrastModule.load_from_checkpoint(fitted)
    assert model.model.class_names == CLASSES
    assert spy.call_args_list and all(c.kwargs.get("weights_only") is True for c in spy.call_args_list)
    assert not [w for w in caught if "weights_only" in str(w.message)]  # no notice about unsafe loading


def test_test_time_flip_is_a_setting_of_the_checkpoint(fitted: Path, tmp_path: Path) -> None:
    from mer_contrast.models import MERRecognizer

    saved = torch.load(fitted, map_location="cpu", weights_only=True)
    assert saved["hyper_parameters"]["test_time_flip"] is False  # written by the fit: the default
    assert MERContrastModule.load_from_checkpoint(fitted).model.test_time_flip is False
    flipping, older = tmp_path / "flipping.ckpt", tmp_path / "older.ckpt"
    torch.save({**saved, "hyper_parameters": {**saved["hyper_parameters"], "test_time_flip": True}}, flipping)
    older_hparams = {k: v for k, v in saved["hyper_parameters"].items() if k != "test_time_flip"}
    torch.save({**saved, "hyper_parameters": older_hparams}, older)  # before the setting existed
    assert MERContrastModule.load_from_checkpoint(flipping).model.test_time_flip is True
    assert MERRecognizer.from_checkpoint(flipping).test_time_flip is True  # the plain recognizer too
    assert MERContrastModule.load_from_checkpoint(older).model.test_time_flip is False
    assert MERRecognizer.from_checkpoint(older).test_time_flip is False


def test_load_from_checkpoint_bad_and_unsafe_files(fitted: Path, tmp_path: Path) -> None:
    for kind in ("empty", "truncated", "missing"):
        path, reason = bad_file(kind, tmp_path)
        with pytest.raises(CheckpointError, match="^" + re.escape(f"{path}: {reason}")):
            MERContrastModule.load_from_checkpoint(path)
    unsafe = tmp_path / "unsafe.ckpt"
    saved = torch.load(fitted, map_location="cpu", weights_only=True)
    saved["hyper_parameters"]["note"] = argparse.Namespace(why="pickled object")
    torch.save(saved, unsafe)
    with pytest.raises(CheckpointError, match="cannot be loaded with weights_only=True"):
        MERContrastModule.load_from_checkpoint(unsafe)
    assert MERContrastModule.load_from_checkpoint(unsafe, weights_only=False).model.class_names == CLASSES


def test_cli_other_clip_settings_are_one_line(
    fitted: Path, cli_args: list[str], in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["test", *cli_args, f"--ckpt_path={fitted}", "--data.image_size", "48", "--data.num_frames", "5"]
    assert cli_error(argv, capsys) == (
        f"error: {fitted}: trained with image_size 32, num_frames 4; this run has image_size 48, "
        "num_frames 5: use the training config, or --data.init_args.image_size 32 "
        "--data.init_args.num_frames 4"
    )
    argv = ["predict", *cli_args, f"--ckpt_path={fitted}", "--data.protocol", "casme2-3class"]
    line = cli_error(argv, capsys)
    assert "trained with protocol casme2-5class, class_names [happiness, disgust," in line
    assert line.endswith("--data.init_args.protocol casme2-5class"), line


def test_cli_test_loads_weights_only_and_old_checkpoint_warns_once(
    fitted: Path, cli_args: list[str], in_tmp: Path
) -> None:
    with (
        mock.patch("torch.load", wraps=torch.load) as spy,
        mock.patch.object(ckpt_module.log, "warning") as warn,
    ):
        assert main(["test", *cli_args, f"--ckpt_path={fitted}"]) == 0
    ours = [c for c in spy.call_args_list if "weights_only" in c.kwargs]
    assert len(ours) >= 2 and all(c.kwargs["weights_only"] is True for c in ours)  # ours and Lightning's
    assert warn.call_count == 0
    old = in_tmp / "old.ckpt"
    saved = torch.load(fitted, map_location="cpu", weights_only=True)
    del saved["mer_contrast"]
    torch.save(saved, old)
    with mock.patch.object(ckpt_module.log, "warning") as warn:
        assert main(["test", *cli_args, f"--ckpt_path={old}", "--data.image_size", "48"]) == 0
    assert warn.call_count == 1 and "records no clip settings" in warn.call_args.args[0]


class OtherClips(LightningDataModule):
    """Stands in for an MERDataModule that prepares 48 px clips; never yields a batch."""

    def __init__(self) -> None:
        super().__init__()
        flow = FlowConfig(method="farneback", pairs="consecutive")
        self.clip_config = ClipConfig(num_frames=4, image_size=48, register="translation", flow=flow)
        self.num_frames, self.protocol_name, self.class_names = 4, "casme2-5class", CLASSES

    def test_dataloader(self) -> DataLoader:
        return DataLoader([])


def test_trainer_test_with_other_clip_settings_raises(fitted: Path) -> None:
    model = MERContrastModule.load_from_checkpoint(fitted)
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    with pytest.raises(CheckpointError, match=r"trained with image_size 32; this run has image_size 48"):
        trainer.test(model, datamodule=OtherClips(), ckpt_path=fitted)


def test_other_database_with_the_same_classes_is_not_a_mismatch() -> None:
    """Cross-database MER: trained on CASME II 3-class, tested on SAMM 3-class (same classes)."""
    three = ["negative", "positive", "surprise"]
    recorded = {
        "mer_contrast": {"clip_settings": {**RECORDED, "protocol": "casme2-3class", "class_names": three}}
    }
    samm = OtherClips()
    samm.clip_config = ClipConfig(
        num_frames=4, image_size=32, span="onset_apex", register="translation",
        flow=FlowConfig(method="farneback", pairs="consecutive"),
    )  # fmt: skip
    samm.protocol_name, samm.class_names = "samm-3class", three
    assert ckpt_module.settings_mismatch("x.ckpt", recorded, samm) is None
    samm.class_names = ["negative", "positive", "surprise", "others"]
    reason = ckpt_module.settings_mismatch("x.ckpt", recorded, samm)
    assert reason is not None and reason.startswith("trained with protocol casme2-3class, class_names [neg")


# ------------------------------------------------------------------------- the plain torch model
def _clip_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs of tests/conf/casme2.yaml's model (32 px, T = 4, uv flow of consecutive pairs)."""
    gen = torch.Generator().manual_seed(0)
    return torch.rand(2, 4, 3, 32, 32, generator=gen), torch.randn(2, 3, 2, 32, 32, generator=gen)


def test_recognizer_loads_without_lightning_and_matches_the_task(fitted: Path, tmp_path: Path) -> None:

    rgb, flow = _clip_batch()
    torch.save({"rgb": rgb, "flow": flow}, tmp_path / "batch.pt")
    task = MERContrastModule.load_from_checkpoint(fitted).eval()
    with torch.no_grad():
        expected = task(rgb, flow)
    script = (
        "import sys, torch\n"
        "from mer_contrast.models import MERRecognizer\n"
        f"model = MERRecognizer.from_checkpoint({str(fitted)!r}).eval()\n"
        f"batch = torch.load({str(tmp_path / 'batch.pt')!r})\n"
        "with torch.no_grad():\n"
        "    torch.save(model(batch['rgb'], batch['flow']), sys.argv[1])\n"
        "loaded = [m for m in sys.modules if m.startswith(('lightning', 'pytorch_lightning'))]\n"
        "assert not loaded, loaded\n"
        "print(model.class_names)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "logits.pt")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert torch.allclose(torch.load(tmp_path / "logits.pt"), expected, atol=1e-6)
    assert str(CLASSES) in done.stdout


def old_layout(state: dict[str, torch.Tensor], era: str) -> dict[str, torch.Tensor]:
    """Today's state dict with the keys an earlier mer-contrast wrote (the inverse of ``migrate``)."""
    old = {
        ("objective.contrastive_loss.logit_scale" if k == "model.logit_scale" else k): v
        for k, v in state.items()
    }
    if era == "logit_scale in the loss":  # up to c83fa28
        return old
    old = {k.removeprefix("objective."): v for k, v in old.items()}
    if era == "losses on the task":
        return old
    return {k.removeprefix("model."): v for k, v in old.items()}  # before the model/task split


@pytest.mark.parametrize("era", ["logit_scale in the loss", "losses on the task", "before the split"])
def test_checkpoints_of_earlier_layouts_load_through_migrate(
    era: str, fitted: Path, cli_args: list[str], in_tmp: Path
) -> None:
    from mer_contrast.models import MERRecognizer

    saved = torch.load(fitted, map_location="cpu", weights_only=True)
    assert "model.logit_scale" in saved["state_dict"]  # the recognizer owns the temperature
    saved["state_dict"] = old_layout(saved["state_dict"], era)
    assert "model.logit_scale" not in saved["state_dict"] and "logit_scale" not in saved["state_dict"]
    legacy = in_tmp / "legacy.ckpt"
    torch.save(saved, legacy)
    rgb, flow = _clip_batch()
    with torch.no_grad():
        current = MERContrastModule.load_from_checkpoint(fitted).eval()
        loaded = MERContrastModule.load_from_checkpoint(legacy).eval()  # strict: every key in place
        new, old = current(rgb, flow), loaded(rgb, flow)
        plain = MERRecognizer.from_checkpoint(legacy)
    assert torch.equal(new, old) and torch.equal(new, plain.eval()(rgb, flow))
    assert loaded.model.logit_scale is not None and current.model.logit_scale is not None
    assert torch.equal(loaded.model.logit_scale, current.model.logit_scale)
    assert plain.temperature == current.model.temperature
    if era == "logit_scale in the loss":  # the CLI's --ckpt_path (Lightning's strict restore) too
        assert main(["predict", *cli_args, f"--ckpt_path={legacy}"]) == 0


def test_recognizer_without_text_has_no_joint_space() -> None:
    from mer_contrast.models import Compact3DCNN, MERRecognizer, TwoStreamVisual

    visual = TwoStreamVisual(
        Compact3DCNN(widths=(4, 8)), Compact3DCNN(in_channels=2, widths=(4,), input_norm="none")
    )
    model = MERRecognizer(visual, None, num_classes=3).eval()
    rgb, flow = _clip_batch()
    feat = model.features(rgb, flow)
    assert model(rgb, flow).shape == (2, 3) and model.explain(feat) == [[], []]
    with pytest.raises(RuntimeError, match="no joint space"):
        model.embed(rgb, flow)
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        MERRecognizer(visual, None, num_classes=1)
