"""The work units of ``mer-contrast bench suite`` (see :mod:`mer_contrast.bench.suite`) and the twins.

A :class:`Unit` is one (database, render, row, seed), or the deterministic peer/probe rows of one
(database, render) together with its flow cache (the render's *prepare* unit). :func:`make_units`
lists them, :func:`execute` runs the unfinished ones in ``--jobs`` spawned worker processes with one
thread each (:func:`one_thread`), a render's model units only after its prepare unit, and
:func:`run_unit` (in the worker) writes one result file per row atomically after success: the marker
that lets an interrupted suite resume. :func:`collect` reads the results back. :func:`render_twins`
renders the missing twins first, each with a done marker beside its folder.

Workers unpickle :class:`Unit` and call the runner by module path, so both live at module level here
(re-exported by :mod:`.suite` for runs started before the split).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mer_contrast.bench.quality import MODEL_ROWS

if TYPE_CHECKING:
    from mer_contrast.bench.suite import Plan

ONCE_ROWS = ("peer_flow_logreg", "probe_prepared_flow")  # deterministic: one run per (database, render)
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class SuiteError(ValueError):
    """A bad option or a missing input: one line naming the file and the fix (exit 2)."""


@dataclass
class Unit:
    """One piece of work. ``rows`` is one model/STSTNet row, or the (deterministic) peer/probe rows of a
    render (empty: only fill the flow cache); ``seed`` None for the deterministic ones."""

    database: str
    render: int
    rows: list[str]
    seed: int | None
    configs: list[str]
    overrides: list[str]
    run_dir: str
    results: list[str]  # one result file per row (a marker written after success)
    max_folds: int | None = None
    workers: int = 0
    ststnet_epochs: int | None = None
    prepare: bool = False  # the render's first unit (flow cache); the others wait for it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        what = ",".join(self.rows) or "flow cache"
        return f"{self.database} render{self.render} {what}" + (
            "" if self.seed is None else f" seed{self.seed}"
        )

    def done(self) -> bool:
        return all(Path(p).is_file() for p in self.results)


def _done_marker(folder: Path) -> Path:
    return folder.with_name(folder.name + ".done.json")


def _render_done(folder: Path) -> bool:
    return _done_marker(folder).is_file() and folder.is_dir()


def render_twins(plan: Plan, workers: int, log: Callable[[str], None] = print) -> None:
    """Render the missing twins (a done marker beside each folder; a half-made folder is redone)."""
    from mer_contrast.loso.store import write_json
    from mer_contrast.synth.sheet_twin import TwinOptions, render_from_sheet

    for (db, render), sheet in plan.to_render.items():
        folder = plan.twins[(db, render)]
        folder.parent.mkdir(parents=True, exist_ok=True)
        begin = time.perf_counter()
        options = TwinOptions(seed=render, raw=not plan.limit)
        try:
            render_from_sheet(  # the database's own face sizes, as `synth --from-sheet` renders it
                db, sheet, folder, options=options, limit=plan.limit, workers=max(1, workers), overwrite=True,
                database_sizes=True,
            )  # fmt: skip
        except (ValueError, FileExistsError) as err:
            raise SuiteError(f"{db} render {render} from {sheet}: {err}") from None
        seconds = time.perf_counter() - begin
        write_json(
            _done_marker(folder),
            {"sheet": str(sheet), "seed": render, "limit": plan.limit, "seconds": round(seconds, 1)},
        )
        log(f"[render] {db} render{render}: {folder} ({seconds:.1f} s)")


def make_units(
    plan: Plan, out: Path, extra: list[str], cache_dir: str | None, child_workers: int
) -> list[Unit]:
    """Every unit of the suite, each render's prepare unit first."""
    units: list[Unit] = []
    tag = "quick" if plan.max_epochs is not None else "full"
    for db in plan.databases:
        configs = [plan.configs[db]]
        for render in plan.renders:
            overrides = [
                f"--data.init_args.root={plan.twins[(db, render)]}",
                f"--data.init_args.precompute_workers={child_workers}",
            ]
            if cache_dir:
                overrides.append(f"--data.init_args.cache_dir={cache_dir}")
            if plan.max_epochs is not None:
                overrides.append(f"--trainer.max_epochs={plan.max_epochs}")
            overrides += extra
            base = out / "units" / tag / db / f"render{render}"
            common = (list(configs), overrides, base, plan, child_workers)
            units.append(_unit(db, render, [r for r in ONCE_ROWS if r in plan.rows], None, common, True))
            for seed in plan.seeds:
                units += [
                    _unit(db, render, [r], seed, common)
                    for r in ("peer_ststnet", *MODEL_ROWS)
                    if r in plan.rows
                ]
    return units


def _unit(
    db: str, render: int, rows: list[str], seed: int | None, common: tuple[Any, ...], prepare: bool = False
) -> Unit:
    configs, overrides, base, plan, child_workers = common
    where = base / ("once" if seed is None else f"seed{seed}")
    results = [str(where / f"{r}.json") for r in rows] or [str(where / "flow_cache.json")]
    return Unit(
        db,
        render,
        rows,
        seed,
        list(configs),
        list(overrides),
        str(where),
        results,
        plan.max_folds,
        child_workers,
        plan.ststnet_epochs,
        prepare,
        {"ststnet": "peer_ststnet" in plan.rows},
    )


def run_unit(unit: Unit) -> list[dict[str, Any]]:
    """Run one unit (in a worker process); returns and writes one result per row."""
    from mer_contrast.bench.quality import run_model_row, run_peers
    from mer_contrast.bench.quality_data import datamodule, peer_flows, prepared_probe_flows
    from mer_contrast.loso.store import write_json

    begin = time.perf_counter()
    run_dir = Path(unit.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    scored: dict[str, dict[str, Any]] = {}
    if unit.rows and unit.rows[0] in MODEL_ROWS:
        scored[unit.rows[0]] = run_model_row(
            unit.rows[0],
            unit.configs,
            unit.overrides,
            run_dir,
            [unit.seed or 0],
            unit.max_folds,
            procs=1,  # the suite's jobs are the parallelism: no fold processes of a unit's own
        )
    else:
        dm = datamodule(unit.configs, unit.overrides)
        if unit.rows:
            scored = run_peers(
                unit.rows, dm, [unit.seed or 0], unit.workers, unit.max_folds, unit.ststnet_epochs
            )
        else:
            prepared_probe_flows(dm)  # only the model's flow cache
        if unit.prepare and unit.extra.get("ststnet") and "peer_flow_logreg" not in unit.rows:
            peer_flows(dm, unit.workers)  # STSTNet's flow, before its seeds run
    seconds = round(time.perf_counter() - begin, 1)
    results = []
    for row, path in zip(unit.rows or ["flow_cache"], unit.results, strict=True):
        got = scored.get(row, {})
        per_seed = (got.get("per_seed") or [{}])[0]
        oracle = (got.get("oracle") or {}).get("per_seed") or [{}]
        result = {
            "database": unit.database,
            "render": unit.render,
            "row": row,
            "seed": unit.seed,
            **{m: per_seed.get(m) for m in ("uf1", "uar", "accuracy")},
            "n": per_seed.get("n"),
            "oracle_uf1": oracle[0].get("uf1"),
            "seconds": got.get("seconds", seconds),
            "unit_seconds": seconds,
            "n_clips": got.get("n_clips"),
            "loso_dir": got.get("loso_dir"),
        }
        write_json(path, result)  # atomic: the marker of a finished unit
        results.append(result)
    return results


def one_thread() -> None:
    """Initializer of the worker processes: one BLAS/OpenMP/torch thread each."""
    for name in THREAD_ENV:
        os.environ[name] = "1"
    import torch

    torch.set_num_threads(1)


def child_threads(unit: Any) -> dict[str, Any]:
    """A diagnostic unit: the threads a worker process runs with."""
    import torch

    return {"threads": torch.get_num_threads(), "omp": os.environ.get("OMP_NUM_THREADS"), "unit": unit}


def execute(
    units: Sequence[Unit],
    jobs: int,
    runner: Callable[[Any], Any] | None = None,
    log: Callable[[str], None] = print,
) -> tuple[list[Any], list[str]]:
    """Run the unfinished units in ``jobs`` one-thread processes; a render's units wait for its prepare
    unit. Returns the runner's results and the failures (one line each)."""
    from mer_contrast.clips.precompute import _main_module_hidden, worker_context

    runner = runner or run_unit
    todo = [u for u in units if not u.done()]
    for u in units:
        if u.done():
            log(f"[skip] {u.name}: done ({u.results[0]})")
    if not todo:
        return [], []
    ready = {(u.database, u.render) for u in units if u.prepare and u.done()}
    waiting = [u for u in todo if not u.prepare and (u.database, u.render) not in ready]
    queue = [u for u in todo if u.prepare or (u.database, u.render) in ready]
    results: list[Any] = []
    failures: list[str] = []
    running: dict[Future[Any], tuple[Unit, float]] = {}
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=worker_context("spawn"), initializer=one_thread)
    previous = signal.signal(signal.SIGTERM, _terminated) if _main_thread() else None
    finished_cleanly = False
    try:
        while queue or running:
            while queue and len(running) < jobs:
                unit = queue.pop(0)
                with _main_module_hidden():
                    running[pool.submit(runner, unit)] = (unit, time.perf_counter())
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                unit, begin = running.pop(future)
                seconds = time.perf_counter() - begin
                try:
                    got = future.result()
                except Exception as err:  # one unit's failure must not stop the others
                    failures.append(f"{unit.name}: {type(err).__name__}: {' '.join(str(err).split())}")
                    log(f"[fail] {failures[-1]}")
                    if unit.prepare:
                        dropped = [
                            u for u in waiting if (u.database, u.render) == (unit.database, unit.render)
                        ]
                        waiting = [u for u in waiting if u not in dropped]
                        failures += [f"{u.name}: not run (its render's first unit failed)" for u in dropped]
                    continue
                results.append(got)
                log(f"[done] {unit.name}: {_brief(got)} ({seconds:.1f} s)")
                if unit.prepare:
                    queue += [u for u in waiting if (u.database, u.render) == (unit.database, unit.render)]
                    waiting = [u for u in waiting if u not in queue]
        finished_cleanly = True
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if not finished_cleanly:  # SIGTERM, Ctrl-C or a crash: no worker may go on training alone
            stop_workers(pool)
        pool.shutdown(wait=finished_cleanly, cancel_futures=True)
    return results, failures


class SuiteTerminated(Exception):
    """SIGTERM reached the suite: its workers are stopped, finished units are kept."""


def _terminated(signum: int, frame: object) -> None:
    raise SuiteTerminated


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes (a unit in flight is redone on the next run)."""
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        if process.is_alive():
            process.terminate()
    for process in list(processes.values()):
        process.join(timeout=10)


def _brief(got: Any) -> str:
    if isinstance(got, list):
        return (
            ", ".join(f"{r['row']} UF1 {100 * r['uf1']:.1f}" for r in got if r.get("uf1") is not None) or "ok"
        )
    return str(got)


def collect(units: Sequence[Unit]) -> list[dict[str, Any]]:
    """Every finished row result of the units (the flow-cache markers left out)."""
    from mer_contrast.loso.store import read_json

    found = []
    for unit in units:
        for path in unit.results:
            if Path(path).is_file() and unit.rows:
                found.append(read_json(path))
    return found
