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
import contextlib
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mer_contrast.bench.quality import ROWS

# Units, their execution and the twins' rendering: suite_units (re-exported here, pickles name them so)
from mer_contrast.bench.suite_units import (
    SuiteError,
    Unit,
    _render_done,
    child_threads,
    collect,
    execute,
    make_units,
    one_thread,
    render_twins,
    run_unit,
)

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
QUICK = {"limit": 60, "seeds": 1, "max_epochs": 3, "max_folds": 3, "ststnet_epochs": 3}


@dataclass
class Plan:
    databases: list[str]
    renders: list[int]
    selection: list[int]
    seeds: list[int]
    rows: list[str]
    twins: dict[tuple[str, int], Path]  # where each render is (or will be)
    to_render: dict[tuple[str, int], Path]  # sheet of the renders to make
    configs: dict[str, str]  # db -> its config
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


def _default_config(db: str) -> str:
    """The database's own CPU recipe, ``configs/<db>_cpu.yaml`` (every database ships one)."""
    from mer_contrast.files import find_config

    return str(find_config(f"{db}_cpu.yaml"))


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
    configs: dict[str, str] = {}
    for db, path in _pairs(args.config, "--config", "db=PATH, e.g. casme2=configs/casme2_cpu.yaml"):
        if db not in SHEETS:
            raise SuiteError(f"--config {db}={path}: unknown database {db}; choose from {', '.join(SHEETS)}")
        if not Path(path).is_file():
            raise SuiteError(f"--config {db}={path}: config file not found")
        configs[db] = path
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


def run(args: argparse.Namespace, extra: list[str]) -> int:
    """``bench suite`` with its parsed options and LightningCLI overrides: 0, or 1 when a unit failed.

    Bad options or missing inputs raise :class:`SuiteError`, SIGTERM :class:`SuiteTerminated` (the
    workers are stopped, finished units kept). The suite holds ``--out``'s lock
    (:func:`mer_contrast.files.folder_lock`): a second suite on it is a :class:`SuiteError` naming the first.
    """
    from mer_contrast.files import FolderBusy, FolderUnusable, folder_lock

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(
                folder_lock(
                    args.out,
                    busy_fix="wait for it to end, or pass another --out",
                    unusable_fix="pass another --out",
                )
            )
        except (FolderBusy, FolderUnusable) as err:
            raise SuiteError(str(err)) from None
        return _run_held(args, extra)


def _run_held(args: argparse.Namespace, extra: list[str]) -> int:
    from mer_contrast.bench.suite_table import aggregate, render_markdown
    from mer_contrast.loso.store import write_json

    plan = make_plan(args)
    if args.quick:
        print(
            "QUICK MODE: truncated twins, 1 render per group, 1 seed, few epochs and folds: a smoke run, "
            "NOT results."
        )
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    render_twins(plan, args.workers)
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
        "configs": plan.configs,
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


__all__ = [
    "Plan",
    "SuiteError",
    "Unit",
    "child_threads",
    "collect",
    "execute",
    "make_plan",
    "make_units",
    "one_thread",
    "render_twins",
    "run",
    "run_unit",
]
