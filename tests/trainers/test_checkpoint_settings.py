"""The data settings a checkpoint was trained with are checked before test/predict, one setting at a time,
and the option the refusal suggests is one the command line takes; a `test` prints no device or
checkpoint-folder chatter (``loggers/quiet.py``).
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from test_checkpoint import RECORDED, OtherClips, cli_error

import mer_contrast
from mer_contrast.cli.main import main
from mer_contrast.trainers import checkpoint as ckpt_module

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_cli_suggested_fix_is_accepted_and_restores_every_setting(
    fitted: Path, cli_args: list[str], in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each setting a test run changes is named with both values, and the line's fix makes the run pass."""
    changed = {
        "--data.init_args.span": ("onset_apex_offset", "span onset_apex"),
        "--data.init_args.crop": ("detect", "crop auto"),
        "--data.init_args.register": ("none", "register translation"),
        "--data.init_args.flow.pairs": ("onset", "flow_pairs consecutive"),
        "--data.init_args.flow.channels": ("uv_magnitude", "flow_channels uv"),
        "--data.init_args.flow.size": ("24", "flow_size None"),  # fixed by --data.init_args.flow '{..}'
        "--data.init_args.flow.winsize": ("9", "flow_winsize 15"),
        "--data.init_args.flow_bound": ("2.5", "flow_bound None"),
    }
    argv = ["test", *cli_args, f"--ckpt_path={fitted}"]
    for flag, (value, _) in changed.items():
        argv += [flag, value]
    line = cli_error(argv, capsys)
    assert line.startswith(f"error: {fitted}: trained with "), line
    trained = line.split("; this run has ")[0]
    for _value, recorded in changed.values():
        assert recorded in trained, (recorded, line)
    fix = shlex.split(line.split(": use the training config, or ")[1])
    assert "--data.init_args.flow" in fix and "{size: null}" in fix  # jsonargparse refuses flow.size null
    assert set(fix[::2]) == set(changed) - {"--data.init_args.flow.size"} | {"--data.init_args.flow"}, fix
    assert main([*argv, *fix]) == 0


@pytest.mark.parametrize(
    ("change", "reason", "fix"),
    [
        ({"crop": "none"}, "crop auto; this run has crop none", "--data.init_args.crop auto"),
        ({"span": "whole"}, "span onset_apex; this run has span whole", "--data.init_args.span onset_apex"),
        ({"register": "none"}, "register translation; this run has register none",
         "--data.init_args.register translation"),
        ({"align": "landmarks"}, "align none; this run has align landmarks", "--data.init_args.align none"),
        ({"num_frames": 6}, "num_frames 4; this run has num_frames 6", "--data.init_args.num_frames 4"),
        ({"flow.method": "dis"}, "flow_method farneback; this run has flow_method dis",
         "--data.init_args.flow.method farneback"),
        ({"flow.size": 64}, "flow_size None; this run has flow_size 64",
         "--data.init_args.flow '{size: null}'"),
        ({"flow.pairs": "onset_apex"}, "flow_pairs consecutive; this run has flow_pairs onset_apex",
         "--data.init_args.flow.pairs consecutive"),
        ({"flow.channels": "uv_strain"}, "flow_channels uv; this run has flow_channels uv_strain",
         "--data.init_args.flow.channels uv"),
        ({"flow.poly_sigma": 1.5}, "flow_poly_sigma 1.2; this run has flow_poly_sigma 1.5",
         "--data.init_args.flow.poly_sigma 1.2"),
        ({"strain_bound": 0.5}, "strain_bound None; this run has strain_bound 0.5",
         "--data.init_args.strain_bound null"),
    ],
)  # fmt: skip
def test_each_data_setting_is_checked(change: dict[str, object], reason: str, fix: str) -> None:
    data = OtherClips()
    clip, flow = {"image_size": 32}, {}
    for key, value in change.items():
        if key.startswith("flow."):
            flow[key.removeprefix("flow.")] = value
        elif key in ("num_frames", "strain_bound"):
            setattr(data, key, value)
        else:
            clip[key] = value
    data.clip_config = replace(data.clip_config, **clip, flow=replace(data.clip_config.flow, **flow))
    recorded = {"mer_contrast": {"clip_settings": RECORDED}}
    message = ckpt_module.settings_mismatch("x.ckpt", recorded, data)
    assert message == f"trained with {reason}: use the training config, or {fix}"


def test_a_checkpoint_recording_fewer_settings_is_checked_on_those() -> None:
    """Checkpoints from before crop and the flow's size were recorded: the rest is still compared."""
    older = {
        k: v for k, v in RECORDED.items() if k in ("image_size", "num_frames", "flow_method", "protocol")
    }
    data = OtherClips()
    data.clip_config = replace(data.clip_config, image_size=32, crop="none")
    assert ckpt_module.settings_mismatch("x.ckpt", {"mer_contrast": {"clip_settings": older}}, data) is None
    data.clip_config = replace(data.clip_config, flow=replace(data.clip_config.flow, method="dis"))
    message = ckpt_module.settings_mismatch("x.ckpt", {"mer_contrast": {"clip_settings": older}}, data)
    assert message is not None and message.startswith("trained with flow_method farneback; this run has")


def test_cli_test_prints_no_device_or_checkpoint_folder_chatter(
    fitted: Path, cli_args: list[str], tmp_path: Path
) -> None:
    """`test` in another folder than fit's: Lightning's "dirpath has changed" and "GPU available: False"."""
    argv = [sys.executable, "-m", "mer_contrast", "test", *cli_args, f"--ckpt_path={fitted}"]
    env = {**os.environ, "PYTHONPATH": str(Path(mer_contrast.__file__).parents[1])}  # this checkout
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    chatter = [
        "GPU available",
        "TPU available",
        "HPU available",
        "dirpath has changed",
        "exists and is not empty",
    ]
    assert [text for text in chatter if text in output] == [], output
    assert "test_uf1" in output and "Restoring states from the checkpoint" in output


def test_device_lines_and_checkpoint_folder_warnings_stay_where_they_matter() -> None:
    from mer_contrast.loggers import quiet

    def shown(message: str) -> bool:
        record = logging.LogRecord("lightning.pytorch", logging.INFO, __file__, 1, message, None, None)
        return quiet.RunFilter().filter(record)

    assert not shown("GPU available: False, used: False")
    assert not shown("TPU available: False, using: 0 TPU cores")
    assert shown("GPU available: True (cuda), used: False")  # a GPU left unused: worth a line
    assert shown("TPU available: True, using: 8 TPU cores")
    for evaluating, expected in ((False, 1), (True, 0)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # what the run's filters let through is recorded
            with quiet.quiet_run(evaluating=evaluating):
                warnings.warn("The dirpath has changed from 'a' to 'b'", UserWarning, stacklevel=1)
                warnings.warn("Checkpoint directory b exists and is not empty.", UserWarning, stacklevel=1)
        assert len([w for w in caught if "dirpath" in str(w.message)]) == expected
        assert len([w for w in caught if "not empty" in str(w.message)]) == expected
