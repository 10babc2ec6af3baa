"""``mer-contrast loso``: leave-one-subject-out training and testing, one fresh model per fold.

Examples::

    mer-contrast loso --config configs/casme2.yaml                       # all folds, honest selection
    mer-contrast loso --config configs/casme2.yaml --selection both --seeds 0,1,2
    mer-contrast loso --config configs/casme2.yaml --folds sub01,sub05 -- --trainer.max_epochs=3
    mer-contrast loso --config configs/casme2.yaml --fold-index $SLURM_ARRAY_TASK_ID   # one fold, exit
    mer-contrast loso --config configs/casme2.yaml --parallel-gpus 4     # 4 folds at a time, 1 GPU each
    mer-contrast loso --config configs/casme2.yaml --parallel-gpus 1 --procs-per-gpu 6   # 6 folds on 1 GPU
    mer-contrast report runs/loso/casme2                                 # pool whatever folds are done

Arguments after ``--`` (or any ``--trainer.*``, ``--model.*``, ``--data.*`` argument) go to every
fold's LightningCLI. Results: ``DIR/summary.{json,md}``, ``DIR/confusion_<selection>.png``, and per
fold ``DIR/seed{S}/{subject}/`` with checkpoints, prediction CSVs and ``done.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mer_contrast.cliutil import ToolParser, comma_ints, comma_list, split_overrides
from mer_contrast.loso.options import FIELDS, LosoSectionError, check_settings, read_section, setting_type

if TYPE_CHECKING:  # the runner imports Lightning: only when a run starts
    from mer_contrast.loso.runner import LosoOptions

__all__ = ["main", "parse_args"]

log = logging.getLogger(__name__)

# How the parent runs its folds, not what a fold computes: a fold's child process is not told.
SCHEDULING = ("parallel_gpus", "procs_per_gpu")


def _flag(setting: dataclasses.Field[Any]) -> dict[str, Any]:
    """``add_argument`` keywords of a ``LosoSettings`` field (options.py): its type, default and help."""
    kind = setting_type(setting.name)
    keywords: dict[str, Any] = {"default": setting.default, **setting.metadata}
    if kind is bool:
        return {**keywords, "action": "store_true"}
    if typing.get_origin(kind) is Literal:
        return {**keywords, "choices": typing.get_args(kind)}
    members = set(typing.get_args(kind)) or {kind}
    if list[int] in members:
        return {**keywords, "type": comma_ints}
    if list[str] in members:
        return {**keywords, "type": comma_list}
    return {**keywords, "type": Path if Path in members else int}


def build_parser() -> ToolParser:
    """The parser of ``mer-contrast loso``; the settings' flags come from ``LosoSettings``."""
    parser = ToolParser(
        prog="mer-contrast loso",
        description=__doc__,
        epilog="Extra LightningCLI overrides go after `--`, e.g. `-- --trainer.max_epochs=3`.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--config", "-c", action="append", required=True, help="LightningCLI YAML (repeatable)"
    )
    for setting in FIELDS.values():
        parser.add_argument(f"--{setting.name.replace('_', '-')}", **_flag(setting))
    parser.add_argument(
        "--fold-index", type=int, default=None, help="run only fold K (seed-major order) and exit"
    )
    parser.add_argument("--no-report", action="store_true", help="do not write/print the report at the end")
    parser.add_argument(
        "--force", action="store_true",
        help="reuse an --out made with another config: its folds are redone, never pooled with these",
    )  # fmt: skip
    return parser


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split ``argv`` into the runner's options and the LightningCLI overrides.

    The configs' ``loso:`` sections (:mod:`mer_contrast.loso.options`) are the defaults of the
    runner's options; an ``--options`` file overrides them and the command line overrides both.
    """
    own, overrides = split_overrides(argv)
    # First only to learn the configs (--print_options waits for their sections), then with them.
    configs = build_parser().parse_args([arg for arg in own if not arg.startswith("--print_options")]).config
    parser = build_parser()
    section = read_section(configs)
    parser.set_defaults(**{k: Path(v) if k == "out" and v is not None else v for k, v in section.items()})
    args = parser.parse_args(own)
    check_settings(vars(args))  # before Lightning loads: --max-folds -1 would drop the last subject
    return args, overrides


def fold_command(options: LosoOptions, force: bool = False) -> list[str]:
    """The ``loso`` arguments of one fold's child process (``--fold-index K`` is put in front).

    Built from the options rather than from the parent's argv, so a child is told exactly what the
    parent decided (its configs' ``loso:`` sections give the same values again) and nothing about
    scheduling; LightningCLI overrides follow ``--``.
    """
    argv = [arg for config in options.configs for arg in ("--config", str(config))]
    argv += ["--out", str(options.output_dir())]
    for setting in FIELDS.values():
        value = getattr(options, setting.name)
        if setting.name in ("out", *SCHEDULING) or value is None or value is False:
            continue
        flag = f"--{setting.name.replace('_', '-')}"
        if value is True:
            argv.append(flag)
        else:
            argv += [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    if force:
        argv.append("--force")
    return [*argv, "--", *options.overrides]


def _log_to_stderr() -> None:
    """Show the runner's INFO messages; only ``mer_contrast`` (Lightning has its own handler)."""
    package = logging.getLogger("mer_contrast")
    if not package.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        package.addHandler(handler)
        package.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mer-contrast loso``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, overrides = parse_args(argv)
    except LosoSectionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from mer_contrast.config_check import check

    cli_args = [*(arg for config in args.config for arg in ("--config", config)), *overrides]
    problem = check("fit", cli_args)  # before Lightning loads: a typo costs well under a second
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    _log_to_stderr()
    from mer_contrast.quiet import quiet_run

    with quiet_run():
        return _run(args, overrides, cli_args)


def _run(args: argparse.Namespace, overrides: list[str], cli_args: list[str]) -> int:
    from mer_contrast.loso.runner import LosoOptions, make_plan, write_metadata

    settings = {name: getattr(args, name) for name in FIELDS}
    options = LosoOptions(configs=list(args.config), overrides=overrides, **settings)
    from mer_contrast.clips.errors import EnvironmentFault, find_cause, find_fault
    from mer_contrast.datasets.errors import DATA_ERRORS

    try:
        plan = make_plan(options)
    except Exception as err:
        fault = find_fault(err)  # a cache folder that cannot be made, raised inside the datamodule
        if fault is not None:
            print(f"error: {fault}", file=sys.stderr)
            return 1
        data_error = find_cause(err, DATA_ERRORS)  # image_size 0, a sheet of another database, ...
        if data_error is not None:
            print(f"error: {data_error}", file=sys.stderr)
            return 2
        if isinstance(err, argparse.ArgumentError):  # jsonargparse's (exit_on_error=False): one line
            from mer_contrast.config_check import describe

            print(f"error: {describe(str(err), cli_args)}", file=sys.stderr)
            return 2
        if isinstance(err, (FileNotFoundError, ValueError)):
            print(f"error: {err}", file=sys.stderr)
            return 2
        raise
    if options.early_stopping and plan.val_strategy == "none":
        print(
            "error: --early-stopping needs data.init_args.val_strategy holdout_subjects (or test)",
            file=sys.stderr,
        )
        return 2
    if plan.val_strategy == "test":
        log.warning(
            "val_strategy=test validates on the test subject: results are stored as "
            "test_selected (optimistic)"
        )
    from mer_contrast.loso.provenance import find_conflicts, unknown_note

    conflicts = find_conflicts(plan.out, plan.config_hash, plan.data_hash)
    if conflicts.other_config and not args.force:
        print(
            f"error: {plan.out} holds {len(conflicts.other_config)} finished fold(s) of another config "
            "(other overrides or config files); use a new --out, or --force to redo them under this config",
            file=sys.stderr,
        )
        return 2
    if conflicts.other_data and not args.force:
        shown = ", ".join(conflicts.other_data[:3]) + (" ..." if len(conflicts.other_data) > 3 else "")
        print(
            f"error: {plan.out} holds {len(conflicts.other_data)} finished fold(s) ({shown}) made on other "
            "data: the sheet's rows or labels or the frame files changed since; use a new --out, or "
            "--force to redo them on this data",
            file=sys.stderr,
        )
        return 2
    if conflicts.unknown_data:
        log.warning(unknown_note(conflicts.unknown_data))
    write_metadata(plan, options)
    from mer_contrast.loso.schedule import run_folds

    try:
        return run_folds(
            options, plan, fold_index=args.fold_index, gpus=options.parallel_gpus,
            procs_per_gpu=options.procs_per_gpu, child_argv=fold_command(options, args.force),
            report=not args.no_report,
        )  # fmt: skip
    except KeyboardInterrupt:
        print("interrupted: finished folds are kept; rerun the same command to resume", file=sys.stderr)
        return 130
    except EnvironmentFault as fault:  # the machine, not a fold: every later fold would fail the same way
        print(f"error: {fault}; finished folds are kept, rerun to resume", file=sys.stderr)
        return 1
    except SystemExit as stop:
        # Lightning turns SIGTERM (SLURM, Kubernetes) into SystemExit() at the next step: status 0,
        # which a scheduler would record as success with the fold unfinished.
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        if not isinstance(stop, SIGTERMException):
            raise
        print(
            "terminated (SIGTERM): finished folds are kept, the current one is redone; rerun to resume",
            file=sys.stderr,
        )
        return 143
