"""``mer-contrast bench suite``: one command, one table, every database, on renders choices never saw.

For each database a "twin" is rendered from its real coding sheet (``mer-contrast synth --from-sheet``)
once per *render* (twin seed) into ``TWINS/<db>/render<k>/`` and reused. Choices (configs, budgets)
are made on the *selection* renders (default 0, 1) only; renders 10-12 are *untouched*. Every row of
``bench quality`` is scored on every render, honest LOSO; the table shows both groups and the gap.

Work units are (database, render, row, seed); the peer/probe rows are deterministic and run once per
(database, render), in one unit that also fills the render's flow cache before its model units start
(two processes never compute the same cache). Units run in ``--jobs`` worker processes with one thread
each; a unit is skipped when its result file exists (written atomically after success), so an
interrupted suite resumes. Writes ``OUT/suite.json`` and ``OUT/suite.md``.

Example::

    mer-contrast bench suite --sheets /data/sheets --databases casme2,samm,mmew --seeds 3 --jobs 2
    mer-contrast bench suite --sheets /data/sheets --databases casme2 --quick     # a smoke run, minutes
    mer-contrast bench suite --twin casme2:0=data/twin_casme2 ... -- --trainer.max_epochs 20
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mer_contrast.cliutil import ToolParser, comma_ints, comma_list, split_overrides
from mer_contrast.quality.bench import MODEL_ROWS, ROWS

#: database -> the file names of its real sheet (first found wins).
SHEETS: dict[str, tuple[str, ...]] = {
    "casme2": ("CASME2-coding-20140508.xlsx",),
    "samm": ("SAMM_Micro_FACS_Codes_v2.xlsx",),
    "mmew": ("MMEW_Micro_Exp.xlsx", "MMEW_Micro_Exp.csv"),
    "casme3": ("cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",),
    "smic": ("combined_3class_gt.csv",),
    "megc2019": ("combined_3class_gt.csv",),
}
DEFAULT_ROWS = ("peer_flow_logreg", "probe_prepared_flow", "mercontrast_full", "mercontrast_lambda0")
ONCE_ROWS = ("peer_flow_logreg", "probe_prepared_flow")  # deterministic: one run per (database, render)
QUICK = {"limit": 60, "seeds": 1, "max_epochs": 3, "max_folds": 3, "ststnet_epochs": 3}
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


def build_parser() -> ToolParser:
    parser = ToolParser(prog="mer-contrast bench suite", description=__doc__, allow_abbrev=False)
    parser.add_argument("--sheets", type=Path, default=None, help="folder of the real coding sheets")
    parser.add_argument("--twins", type=Path, default=None, help="render cache (default OUT/twins)")
    parser.add_argument(
        "--twin",
        action="append",
        default=None,
        help="an already rendered folder, db:render=PATH (repeatable; no sheet needed for it)",
    )
    parser.add_argument(
        "--databases",
        type=comma_list,
        default=["casme2", "samm", "mmew"],
        help=f"comma-separated subset of {', '.join(SHEETS)}",
    )
    parser.add_argument("--renders", type=comma_ints, default=[0, 1, 10, 11, 12], help="twin seeds")
    parser.add_argument(
        "--selection-renders",
        type=comma_ints,
        default=[0, 1],
        help="renders choices are made on; the others are untouched",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 of the seeded rows (default 3)")
    parser.add_argument(
        "--rows",
        type=comma_list,
        default=list(DEFAULT_ROWS),
        help=f"comma-separated subset of {', '.join(ROWS)}",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help="db=PATH, a LightningCLI YAML for one database (repeatable)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes, one thread each (default 2)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run in minutes (not results): truncated twins, 1 render per group, "
        "1 seed, few epochs and folds",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench_suite"), help="output folder")
    parser.add_argument("--workers", type=int, default=2, help="render / flow precompute processes")
    parser.add_argument("--max-folds", type=int, default=None, help="only the first N subjects")
    parser.add_argument("--limit", type=int, default=None, help="render only the first N sheet rows")
    parser.add_argument("--cache-dir", default=None, help="flow cache (default: the config's)")
    parser.add_argument("--ststnet-epochs", type=int, default=None, help="override the STSTNet budget")
    return parser


@dataclass
class Plan:
    databases: list[str]
    renders: list[int]
    selection: list[int]
    seeds: list[int]
    rows: list[str]
    twins: dict[tuple[str, int], Path]  # where each render is (or will be)
    to_render: dict[tuple[str, int], Path]  # sheet of the renders to make
    configs: dict[str, tuple[list[str], list[str]]]  # db -> configs, overrides
    limit: int | None
    max_folds: int | None
    max_epochs: int | None
    ststnet_epochs: int | None


def _pairs(values: Iterable[str] | None, flag: str, form: str) -> list[tuple[str, str]]:
    out = []
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            raise SuiteError(f"{flag} {value!r}: expected {form}")
        out.append((key.strip(), rest.strip()))
    return out


def _default_config(db: str) -> tuple[list[str], list[str]]:
    """``configs/<db>_cpu.yaml``, else ``casme2_cpu.yaml`` with the database and its protocol set."""
    from mer_contrast.config_files import find_config
    from mer_contrast.datasets.protocols import DEFAULT_PROTOCOL

    try:
        return [str(find_config(f"{db}_cpu.yaml"))], []
    except FileNotFoundError:
        pass
    overrides = [f"--data.init_args.dataset={db}"]
    if db in DEFAULT_PROTOCOL:
        overrides.append(f"--data.init_args.protocol={DEFAULT_PROTOCOL[db]}")
    return [str(find_config("casme2_cpu.yaml"))], overrides


def make_plan(args: argparse.Namespace) -> Plan:
    """Check the options and inputs; raises :class:`SuiteError` with the one-line fix."""
    unknown = [db for db in args.databases if db not in SHEETS]
    if unknown:
        raise SuiteError(
            f"--databases: unknown database {', '.join(unknown)}; choose from {', '.join(SHEETS)}"
        )
    bad_rows = [r for r in args.rows if r not in ROWS]
    if bad_rows:
        raise SuiteError(f"--rows: unknown row {', '.join(bad_rows)}; choose from {', '.join(ROWS)}")
    renders, selection = list(args.renders), list(args.selection_renders)
    if len(set(renders)) != len(renders) or any(r < 0 for r in renders):
        raise SuiteError(f"--renders {renders}: expected distinct twin seeds >= 0, e.g. 0,1,10,11,12")
    if not set(selection) <= set(renders):
        raise SuiteError(f"--selection-renders {selection}: each must be one of --renders {renders}")
    untouched = [r for r in renders if r not in selection]
    if not selection or not untouched:
        raise SuiteError(
            f"--renders {renders} with --selection-renders {selection}: need at least one selection and one "
            "untouched render (e.g. --renders 0,1,10,11,12 --selection-renders 0,1)"
        )
    if args.seeds < 1 or args.jobs < 1:
        raise SuiteError("--seeds and --jobs must be at least 1")
    seeds = list(range(args.seeds))
    limit, max_folds, max_epochs, ststnet_epochs = args.limit, args.max_folds, None, args.ststnet_epochs
    if args.quick:
        renders = [min(selection), min(untouched)]
        selection = [min(selection)]
        seeds = seeds[: QUICK["seeds"]]
        limit = limit or QUICK["limit"]
        max_folds = max_folds or QUICK["max_folds"]
        max_epochs = QUICK["max_epochs"]
        ststnet_epochs = ststnet_epochs or QUICK["ststnet_epochs"]
    configs: dict[str, tuple[list[str], list[str]]] = {}
    for db, path in _pairs(args.config, "--config", "db=PATH, e.g. casme2=configs/casme2_cpu.yaml"):
        if db not in SHEETS:
            raise SuiteError(f"--config {db}={path}: unknown database {db}; choose from {', '.join(SHEETS)}")
        if not Path(path).is_file():
            raise SuiteError(f"--config {db}={path}: config file not found")
        configs[db] = ([path], [])
    for db in args.databases:
        if db not in configs:
            try:
                configs[db] = _default_config(db)
            except FileNotFoundError as err:
                raise SuiteError(str(err)) from None
    given: dict[tuple[str, int], Path] = {}
    for key, path in _pairs(args.twin, "--twin", "db:render=PATH, e.g. casme2:0=data/twin_casme2"):
        db, _, render = key.partition(":")
        if db not in SHEETS or not render.isdigit():
            raise SuiteError(
                f"--twin {key}={path}: expected db:render=PATH with db one of {', '.join(SHEETS)}"
            )
        if not Path(path).is_dir():
            raise SuiteError(f"--twin {key}={path}: no such folder; render it or leave --twin out")
        given[(db, int(render))] = Path(path)
    twins_dir = args.twins or args.out / "twins"
    twins, to_render = {}, {}
    for db in args.databases:
        for render in renders:
            if (db, render) in given:
                twins[(db, render)] = given[(db, render)]
                continue
            sub = f"limit{limit}-render{render}" if limit else f"render{render}"
            twins[(db, render)] = twins_dir / db / sub
            if _render_done(twins[(db, render)]):
                continue
            if args.sheets is None:
                raise SuiteError(
                    f"{db}: render {render} is not in {twins_dir / db}; pass --sheets DIR "
                    f"(the folder holding {SHEETS[db][0]}) or --twin {db}:{render}=PATH"
                )
            sheet = next((args.sheets / n for n in SHEETS[db] if (args.sheets / n).is_file()), None)
            if sheet is None:
                raise SuiteError(
                    f"{db}: sheet {' or '.join(SHEETS[db])} not found in {args.sheets}; copy the "
                    "database's coding sheet there or pass --sheets DIR"
                )
            to_render[(db, render)] = sheet
    return Plan(
        args.databases,
        renders,
        selection,
        seeds,
        args.rows,
        twins,
        to_render,
        configs,
        limit,
        max_folds,
        max_epochs,
        ststnet_epochs,
    )


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
            render_from_sheet(
                db, sheet, folder, options=options, limit=plan.limit, workers=max(1, workers), overwrite=True
            )
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
        configs, db_overrides = plan.configs[db]
        for render in plan.renders:
            overrides = [
                f"--data.init_args.root={plan.twins[(db, render)]}",
                *db_overrides,
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
    from mer_contrast.loso.store import write_json
    from mer_contrast.quality.bench import run_model_row, run_peers
    from mer_contrast.quality.data import data_init_args, datamodule, peer_flows, prepared_probe_flows

    begin = time.perf_counter()
    run_dir = Path(unit.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    scored: dict[str, dict[str, Any]] = {}
    if unit.rows and unit.rows[0] in MODEL_ROWS:
        scored[unit.rows[0]] = run_model_row(
            unit.rows[0], unit.configs, unit.overrides, run_dir, [unit.seed or 0], unit.max_folds
        )
    else:
        init_args = data_init_args(unit.configs, unit.overrides)
        if unit.rows:
            scored = run_peers(
                unit.rows, init_args, [unit.seed or 0], unit.workers, unit.max_folds, unit.ststnet_epochs
            )
        else:
            prepared_probe_flows(datamodule(init_args))  # only the model's flow cache
        if unit.prepare and unit.extra.get("ststnet") and "peer_flow_logreg" not in unit.rows:
            peer_flows(datamodule(init_args), unit.workers)  # STSTNet's flow, before its seeds run
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
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results, failures


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0, 1 when a unit failed, 2 for bad options or missing inputs."""
    from mer_contrast.loso.store import write_json
    from mer_contrast.quality.suite_table import aggregate, render_markdown

    parser = build_parser()
    own, extra = split_overrides(argv)
    args = parser.parse_args(own)
    try:
        plan = make_plan(args)
    except SuiteError as err:
        print(f"mer-contrast bench suite: error: {err}", file=sys.stderr)
        return 2
    if args.quick:
        print(
            "QUICK MODE: truncated twins, 1 render per group, 1 seed, few epochs and folds: a smoke run, "
            "NOT results."
        )
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        render_twins(plan, args.workers)
    except SuiteError as err:
        print(f"mer-contrast bench suite: error: {err}", file=sys.stderr)
        return 2
    child_workers = args.workers // args.jobs if args.workers // args.jobs > 1 else 0
    units = make_units(plan, args.out, extra, args.cache_dir, child_workers)
    _, failures = execute(units, args.jobs)
    results = collect(units)
    untouched = [r for r in plan.renders if r not in plan.selection]
    table = {
        "quick": bool(args.quick),
        "databases": plan.databases,
        "selection_renders": plan.selection,
        "untouched_renders": untouched,
        "seeds": plan.seeds,
        "rows": plan.rows,
        "configs": {db: {"configs": c, "overrides": o} for db, (c, o) in plan.configs.items()},
        "twins": {f"{db}:{r}": str(p) for (db, r), p in plan.twins.items()},
        "overrides": extra,
        "units": results,
        "failures": failures,
        "aggregate": aggregate(results, plan.selection),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "note": "oracle_uf1 is optimistic (the test subject's best epoch), never honest",
    }
    name = "suite"
    write_json(args.out / f"{name}.json", table)
    markdown = render_markdown(table)
    (args.out / f"{name}.md").write_text(markdown)
    print(markdown)
    print(
        f"written: {args.out / (name + '.json')}, {args.out / (name + '.md')} ({table['wall_seconds']:.0f} s)"
    )
    for line in failures:
        print(f"mer-contrast bench suite: failed: {line}", file=sys.stderr)
    return 1 if failures else 0


__all__ = ["Plan", "SuiteError", "Unit", "build_parser", "execute", "main", "make_plan"]

if __name__ == "__main__":
    sys.exit(main())
