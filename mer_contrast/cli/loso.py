"""``mer-contrast loso``: leave-one-subject-out training and testing, one fresh model per fold.

Examples::

    mer-contrast loso --config configs/casme2.yaml                       # all folds, honest selection
    mer-contrast loso --config configs/casme2.yaml --selection both --seeds 0,1,2
    mer-contrast loso --config configs/casme2.yaml --folds sub01,sub05 -- --trainer.max_epochs=3
    mer-contrast loso --config configs/casme2.yaml --fold-index $SLURM_ARRAY_TASK_ID   # one fold, exit
    mer-contrast loso --config configs/casme2.yaml --parallel-gpus 4     # 4 folds at a time, 1 GPU each
    mer-contrast loso --config configs/casme2.yaml --parallel-gpus 1 --procs-per-gpu 6   # 6 folds on 1 GPU
    mer-contrast loso --config configs/casme2_cpu.yaml --procs 4     # 4 CPU processes, 1 thread each
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
from typing import Any, Literal

from mer_contrast.cli.exit_codes import Wording, run_command
from mer_contrast.cli.tool_parser import ToolParser, comma_ints, comma_list, split_overrides
from mer_contrast.loso.options import FIELDS, LosoSectionError, check_settings, read_section, setting_type

__all__ = ["main", "parse_args"]


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
        "--fold-index",
        type=comma_ints,
        default=None,
        metavar="K[,K...]",
        help="run only fold K (seed-major order), or folds K,L,... one after another, and exit",
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


def _log_to_stderr() -> None:
    """Show the runner's INFO messages; only ``mer_contrast`` (Lightning has its own handler)."""
    package = logging.getLogger("mer_contrast")
    if not package.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        package.addHandler(handler)
        package.setLevel(logging.INFO)


#: How ``loso`` (and the tools that run one: demo, bench loso) words an early end.
LOSO_WORDING = Wording(
    terminated="terminated (SIGTERM): finished folds are kept, the current one is redone; rerun to resume",
    interrupted="interrupted: finished folds are kept; rerun the same command to resume",
    kept="finished folds are kept, rerun to resume",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mer-contrast loso``; returns the exit code (:mod:`mer_contrast.cli.exit_codes`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return run_command(lambda: _main(argv), usage=(LosoSectionError,))


def _main(argv: list[str]) -> int:
    args, overrides = parse_args(argv)
    from mer_contrast.cli.config_check import check, describe

    cli_args = [*(arg for config in args.config for arg in ("--config", config)), *overrides]
    problem = check("fit", cli_args)  # before Lightning loads: a typo costs well under a second
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    _log_to_stderr()
    from mer_contrast.loggers.quiet import quiet_run
    from mer_contrast.loso import LosoOptions, RunRefused, run

    settings = {name: getattr(args, name) for name in FIELDS}
    options = LosoOptions(configs=list(args.config), overrides=overrides, **settings)
    with quiet_run():
        return run_command(
            lambda: run(options, fold_index=args.fold_index, force=args.force, report=not args.no_report),
            wording=LOSO_WORDING,
            usage=(RunRefused,),
            describe=lambda text: describe(text, cli_args),
        )


if __name__ == "__main__":
    sys.exit(main())
