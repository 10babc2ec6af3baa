"""Which folds run where: all in this process, one (``--fold-index``), or N GPUs in parallel."""

from __future__ import annotations

import gc
import logging
import traceback
from collections.abc import Sequence
from typing import Any

from mer_contrast.loso.progress import FoldProgress
from mer_contrast.loso.runner import FoldSpec, LosoOptions, RunPlan, is_done, is_rank_zero, run_fold
from mer_contrast.loso.store import fold_dir, read_predictions

__all__ = ["fold_metrics", "run_folds"]

log = logging.getLogger(__name__)


def fold_metrics(plan: RunPlan, spec: FoldSpec, done: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per-selection scores of a finished fold (for the progress line)."""
    from mer_contrast.loso.metrics import pooled_metrics

    folder = fold_dir(plan.out, spec.seed, spec.subject)
    scores = {}
    for key, info in done.get("selections", {}).items():
        rows = read_predictions(folder / info["file"])
        scores[key] = pooled_metrics([r["label"] for r in rows], [r["pred"] for r in rows], len(plan.classes))
    return scores


def _free_accelerator_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_folds(
    options: LosoOptions,
    plan: RunPlan,
    *,
    fold_index: int | None = None,
    gpus: int = 0,
    procs_per_gpu: int = 1,
    child_argv: Sequence[str] = (),
    report: bool = True,
) -> int:
    """Run the plan's unfinished folds, then write (and print) the report; returns the exit code."""
    if fold_index is not None:
        if not 0 <= fold_index < len(plan.folds):
            log.error(
                "--fold-index %d: this run has folds 0..%d (seeds x subjects)",
                fold_index,
                len(plan.folds) - 1,
            )
            return 2
        spec = plan.folds[fold_index]
        if is_done(plan, options, spec):
            log.info("seed%d/%s is already done; nothing to do", spec.seed, spec.subject)
            return 0
        run_fold(options, plan, spec)
        return 0

    pending = [spec for spec in plan.folds if not is_done(plan, options, spec)]
    skipped = len(plan.folds) - len(pending)
    if skipped:
        log.info("%d of %d folds already done (same config): skipped", skipped, len(plan.folds))
    progress = FoldProgress(len(plan.folds), skipped=skipped)
    failed: list[FoldSpec] = []
    if gpus > 0 and pending:
        from mer_contrast.loso.parallel import run_parallel

        failed = run_parallel(plan, pending, child_argv, gpus, progress, procs_per_gpu)
    else:
        for spec in pending:
            name = f"seed{spec.seed}/{spec.subject}"
            progress.start(name)
            try:
                done = run_fold(options, plan, spec)
            except KeyboardInterrupt:
                raise
            except Exception:
                # One broken fold must not lose the others; the report lists it as missing.
                traceback.print_exc()
                failed.append(spec)
                progress.finish(name, ok=False)
                if len(failed) == progress.ran:  # nothing has worked yet: likely the config, stop early
                    log.error(
                        "the first fold failed; fix the error above and rerun (finished folds are kept)"
                    )
                    return 1
                continue
            finally:
                _free_accelerator_memory()
            progress.finish(name, fold_metrics(plan, spec, done) if done else None)
    if failed:
        names = ", ".join(f"seed{s.seed}/{s.subject} (--fold-index {s.index})" for s in failed)
        log.error("%d fold(s) failed: %s; rerun the same command to retry them", len(failed), names)
    if report and is_rank_zero():
        from mer_contrast.loso.report import print_report, write_report

        try:
            summary = write_report(plan.out)
        except FileNotFoundError as err:
            log.error("%s", err)
            return 1
        print_report(summary)
        print(f"report: {plan.out / 'summary.md'} (json, confusion_*.png alongside)")
    return 1 if failed else 0
