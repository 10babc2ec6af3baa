"""One way into a LOSO run: plan -> other-config check -> metadata -> folds -> report (-> W&B study).

``mer-contrast loso``, the demo and the benchmarks all start a run here; from Python::

    from mer_contrast import loso

    code = loso.run(loso.LosoOptions(configs=["configs/casme2_cpu.yaml"], max_folds=2, out="runs/x"))

It raises what stops a run before its first fold (:class:`RunRefused`: a config, a folder, another
config's folds in ``out``; jsonargparse's ``ArgumentError``; an environment fault) and returns the
exit code of the folds (0, or 1 when one failed); :mod:`mer_contrast.cli.exit_codes` maps the rest.

A rerun of a finished run skips the plan (:mod:`~mer_contrast.loso.finished`: no Lightning, no
datamodule) and writes the report again.

A run holds the lock of its output folder (:func:`mer_contrast.files.folder_lock`) from before the
plan to after the report: a second run on the same ``out`` is refused at once, naming the first.
A ``--fold-index`` run (a SLURM array task, a ``--parallel-gpus`` or ``--procs`` child) holds only
its folds' locks (:mod:`~mer_contrast.loso.schedule`), so the tasks of one array run side by side.
CPU folds run under the thread policy (:data:`~mer_contrast.loso.threads.THREAD_POLICY`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from mer_contrast.clips.errors import find_cause, find_fault
from mer_contrast.datasets.errors import DATA_ERRORS
from mer_contrast.files import LOCK_FILE, FolderBusy, FolderUnusable, folder_lock, unusable_folder
from mer_contrast.loggers.quiet import quiet_wandb
from mer_contrast.loso.finished import finished_plan
from mer_contrast.loso.plan import LosoOptions, RunPlan
from mer_contrast.loso.provenance import few, find_conflicts, unknown_note
from mer_contrast.loso.runner import is_rank_zero, make_plan, write_metadata
from mer_contrast.loso.schedule import fold_command, run_folds
from mer_contrast.loso.threads import on_cpu, thread_policy

__all__ = ["BUSY_FIX", "RunRefused", "plan_run", "run"]

log = logging.getLogger(__name__)


class RunRefused(ValueError):
    """A run that cannot start as asked; ``str(err)`` is one line naming what to change (exit 2)."""


OUT_FIX = "pass another --out"
#: What to do about an ``--out`` another run holds.
BUSY_FIX = (
    "wait for it to end (or stop it), or pass another --out; `mer-contrast report DIR` shows its "
    "finished folds meanwhile"
)


def plan_run(options: LosoOptions, *, force: bool = False) -> RunPlan:
    """The plan of ``options``, checked: a usable config, validation for early stopping, and no
    finished folds of another config in the output folder (unless ``force``: those are redone)."""
    try:
        plan = make_plan(options)
    except (FileNotFoundError, ValueError) as err:
        if find_fault(err) is not None:  # a cache folder that cannot be made: the machine's, not the input's
            raise
        data_error = find_cause(err, DATA_ERRORS)  # image_size 0, a sheet of another database, ...
        raise RunRefused(str(data_error or err)) from err
    if (options.procs or 1) > 1 and (options.parallel_gpus or not on_cpu(plan.accelerator)):
        raise RunRefused(
            f"--procs {options.procs} runs folds as CPU processes, but these folds run on a GPU "
            f"(trainer.accelerator {plan.accelerator}); use --parallel-gpus G --procs-per-gpu "
            f"{options.procs} (or --trainer.accelerator cpu)"
        )
    if options.early_stopping and plan.val_strategy == "none":
        raise RunRefused("--early-stopping needs data.init_args.val_strategy holdout_subjects (or test)")
    if plan.val_strategy == "test":
        log.warning(
            "val_strategy=test validates on the test subject: results are stored as "
            "test_selected (optimistic)"
        )
    conflicts = find_conflicts(plan.out, plan.config_hash, plan.data_hash)
    if conflicts.other_config and not force:
        raise RunRefused(
            f"{plan.out} holds {len(conflicts.other_config)} finished fold(s) of another config (other "
            "overrides or config files); use a new --out, or --force to redo them under this config"
        )
    if conflicts.other_data and not force:
        raise RunRefused(
            f"{plan.out} holds {len(conflicts.other_data)} finished fold(s) ({few(conflicts.other_data)}) "
            "made on other data: the sheet's rows or labels or the frame files changed since; use a new "
            "--out, or --force to redo them on this data"
        )
    if conflicts.unknown_data:
        log.warning(unknown_note(conflicts.unknown_data))
    return plan


@contextlib.contextmanager
def _run_lock(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock; a folder made only to hold it is removed again when the run stopped
    before it wrote anything (a missing config, another config's folds, a bad value)."""
    fresh = not out.exists()
    try:
        with folder_lock(out, busy_fix=BUSY_FIX, unusable_fix=OUT_FIX):
            yield
    except (FolderBusy, FolderUnusable) as err:
        raise RunRefused(str(err)) from None
    finally:
        with contextlib.suppress(OSError):
            if fresh and [entry.name for entry in out.iterdir()] == [LOCK_FILE]:
                (out / LOCK_FILE).unlink()
                out.rmdir()


def run(
    options: LosoOptions,
    *,
    fold_index: int | Sequence[int] | None = None,
    force: bool = False,
    report: bool = True,
    child_argv: Sequence[str] | None = None,
) -> int:
    """Plan, check, write ``loso.json``, run the unfinished folds and write the report.

    ``fold_index``: only that fold (seed-major order), or those, as a ``--fold-index`` child does;
    ``force``: redo another config's folds in ``out``; ``child_argv``: the ``loso`` arguments of the
    child processes (``--parallel-gpus``, ``--procs``; default: built from ``options``). Returns the
    exit code.
    """
    with contextlib.ExitStack() as held:
        if fold_index is None and is_rank_zero():  # a DDP fold's other ranks run under rank 0's lock
            held.enter_context(_run_lock(options.output_dir()))
        finished = finished_plan(options) if fold_index is None and not force else None
        plan = finished or plan_run(options, force=force)  # finished: nothing to build (loso.finished)
        try:
            if finished is None:
                write_metadata(plan, options)
        except OSError as err:  # a --fold-index run: no lock made the folder first
            raise RunRefused(str(unusable_folder(plan.out, err, OUT_FIX))) from err
        held.enter_context(quiet_wandb())  # the folds' and the study's runs: no W&B banners
        # CPU folds in this process: one torch thread (a finished rerun runs none and loads no torch)
        with thread_policy(plan.accelerator) if finished is None else contextlib.nullcontext():
            code = run_folds(
                options,
                plan,
                fold_index=fold_index,
                gpus=options.parallel_gpus,
                procs_per_gpu=options.procs_per_gpu,
                procs=options.procs,
                child_argv=fold_command(options, force) if child_argv is None else child_argv,
                report=report,
            )
        # A finished rerun logged its study when it finished (`report --wandb` logs it again).
        if plan.logger == "wandb" and report and fold_index is None and finished is None and is_rank_zero():
            _log_study(plan)
        return code


def _log_study(plan: RunPlan) -> None:
    """The study's W&B summary run (:mod:`~mer_contrast.loso.wandb_study`) and where the runs are.

    The study's files are already written: W&B failing (a network error online) is said in one line.
    """
    from mer_contrast.loso.wandb_study import log_study, sync_hint

    try:
        log_study(plan.out, plan.wandb)
    except FileNotFoundError:  # no fold finished: the report said so
        return
    except Exception as err:  # W&B's own errors have no common base class
        log.warning("W&B: the study's summary run was not written: %s", str(err).splitlines()[0])
    hint = sync_hint(plan.out)
    if hint is not None:
        print(hint)
