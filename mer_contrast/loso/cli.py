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
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mer_contrast.cliutil import OneLineParser
from mer_contrast.loso.options import LosoSectionError, read_section

if TYPE_CHECKING:  # the runner imports Lightning: only when a run starts
    from mer_contrast.loso.runner import LosoOptions

__all__ = ["main", "parse_args"]

log = logging.getLogger(__name__)

PASS_THROUGH = ("--trainer.", "--model.", "--data.", "--trainer=", "--model=", "--data=")


def _csv(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def _seeds(text: str) -> list[int]:
    try:
        return [int(t) for t in _csv(text)]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"seeds must be integers: {text!r}") from err


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``mer-contrast loso``."""
    parser = OneLineParser(
        prog="mer-contrast loso",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Extra LightningCLI overrides go after `--`, e.g. `-- --trainer.max_epochs=3`.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--config", "-c", action="append", required=True, help="LightningCLI YAML (repeatable)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: runs/loso/<config name>)"
    )
    parser.add_argument("--folds", type=_csv, default=None, help="only these subjects, e.g. sub01,sub05")
    parser.add_argument("--max-folds", type=int, default=None, help="only the first N folds (quick checks)")
    parser.add_argument(
        "--seeds", type=_seeds, default=None, help="seeds, e.g. 0,1,2 (default: seed_everything)"
    )
    parser.add_argument(
        "--selection",
        choices=("honest", "oracle", "both"),
        default="honest",
        help="honest: last epoch, or best val_uf1 on held-out training subjects (default); "
        "oracle: per-subject best TEST epoch (optimistic, labelled as such); both",
    )
    parser.add_argument(
        "--oracle-metric",
        choices=("accuracy", "uf1"),
        default="accuracy",
        help="test score the oracle maximises",
    )
    parser.add_argument(
        "--early-stopping", type=int, default=0, metavar="PATIENCE",
        help="stop when val_uf1 has not improved for PATIENCE epochs (needs a validation set; 0 = off)",
    )  # fmt: skip
    parser.add_argument(
        "--keep-best-only", action="store_true", help="delete last.ckpt when best.ckpt exists"
    )
    parser.add_argument(
        "--fold-index", type=int, default=None, help="run only fold K (seed-major order) and exit"
    )
    parser.add_argument("--parallel-gpus", type=int, default=0, help="run folds as subprocesses on N GPUs")
    parser.add_argument(
        "--procs-per-gpu", type=int, default=1, help="folds sharing each GPU at once (with --parallel-gpus)"
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
    runner's options; the command line overrides them.
    """
    argv = list(argv)
    overrides: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, overrides = argv[:cut], argv[cut + 1 :]
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    section = read_section(args.config)
    if section:
        parser = build_parser()
        parser.set_defaults(**{k: Path(v) if k == "out" and v is not None else v for k, v in section.items()})
        args, unknown = parser.parse_known_args(argv)
    rest = []
    for i, arg in enumerate(unknown):
        # `--trainer.max_epochs 3` (space-separated value) follows a pass-through flag.
        if arg.startswith(PASS_THROUGH) or (
            i and unknown[i - 1].startswith(PASS_THROUGH) and "=" not in unknown[i - 1]
        ):
            overrides.append(arg)
        else:
            rest.append(arg)
    if rest:
        build_parser().error(
            f"unrecognized arguments: {' '.join(rest)} (LightningCLI overrides go after `--`)"
        )
    return args, overrides


def fold_command(options: LosoOptions, force: bool = False) -> list[str]:
    """The ``loso`` arguments of one fold's child process (``--fold-index K`` is put in front).

    Built from the options rather than from the parent's argv, so a child is told exactly what the
    parent decided (its configs' ``loso:`` sections give the same values again) and nothing about
    scheduling; LightningCLI overrides follow ``--``.
    """
    argv = [arg for config in options.configs for arg in ("--config", str(config))]
    argv += ["--out", str(options.output_dir()), "--selection", options.selection]
    argv += ["--oracle-metric", options.oracle_metric, "--early-stopping", str(options.early_stopping)]
    if options.folds:
        argv += ["--folds", ",".join(options.folds)]
    if options.max_folds is not None:
        argv += ["--max-folds", str(options.max_folds)]
    if options.seeds:
        argv += ["--seeds", ",".join(str(seed) for seed in options.seeds)]
    if options.keep_best_only:
        argv.append("--keep-best-only")
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


def other_config_folds(out: Path, config_hash: str) -> int:
    """How many finished folds under ``out`` were made with a config other than ``config_hash``."""
    from mer_contrast.loso.store import done_paths, read_json

    count = 0
    for done_path in done_paths(out):
        try:
            other = read_json(done_path).get("config_hash")
        except ValueError:
            continue  # a damaged done.json is redone by the runner anyway
        count += other is not None and other != config_hash
    return count


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

    options = LosoOptions(
        configs=list(args.config),
        overrides=overrides,
        out=args.out,
        folds=args.folds,
        max_folds=args.max_folds,
        seeds=args.seeds,
        selection=args.selection,
        oracle_metric=args.oracle_metric,
        early_stopping=args.early_stopping,
        keep_best_only=args.keep_best_only,
    )
    from mer_contrast.clips.errors import EnvironmentFault, find_fault

    try:
        plan = make_plan(options)
    except Exception as err:
        fault = find_fault(err)  # a cache folder that cannot be made, raised inside the datamodule
        if fault is not None:
            print(f"error: {fault}", file=sys.stderr)
            return 1
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
    conflict = other_config_folds(plan.out, plan.config_hash)
    if conflict and not args.force:
        print(
            f"error: {plan.out} holds {conflict} finished fold(s) of another config (other overrides or "
            "config files); use a new --out, or --force to redo them under this config",
            file=sys.stderr,
        )
        return 2
    write_metadata(plan, options)
    from mer_contrast.loso.schedule import run_folds

    try:
        return run_folds(
            options, plan, fold_index=args.fold_index, gpus=args.parallel_gpus,
            procs_per_gpu=args.procs_per_gpu, child_argv=fold_command(options, args.force),
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
