"""The aggregate and the markdown of ``mer-contrast bench suite`` (see :mod:`mer_contrast.bench.suite`).

A unit result is one scored run: ``{"database", "render", "row", "seed", "uf1", "uar", "accuracy",
"oracle_uf1", "seconds"}`` (``seed`` None for the deterministic peer/probe rows, ``oracle_uf1`` None
where there is no oracle). Per database and row, the units split by render into the *selection* group
(the renders choices were made on) and the *untouched* group (never used for a choice); each group is
summarised with the package's :func:`~mer_contrast.loso.metrics.mean_std` over every seed x render of
that group. The gap is selection UF1 - untouched UF1 (positive: the choices fitted the selection
renders). Derived lines: full - peer 1 (per group) and the text gain full - lambda0 (per database and
group, and its mean over the databases that have both rows).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mer_contrast.bench.quality import DESCRIPTIONS
from mer_contrast.loso.metrics import mean_std

GROUPS = ("selection", "untouched")
ROW_ORDER = (
    "peer_flow_logreg",
    "peer_ststnet",
    "probe_prepared_flow",
    "mercontrast_full",
    "mercontrast_lambda0",
)
FULL, LAMBDA0, PEER1 = "mercontrast_full", "mercontrast_lambda0", "peer_flow_logreg"


def group_of(render: int, selection: Iterable[int]) -> str:
    """``selection`` for a render choices were made on, else ``untouched``."""
    return GROUPS[0] if int(render) in {int(r) for r in selection} else GROUPS[1]


def _summary(units: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"runs": len(units), **mean_std(units)}


def _diff(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return None
    return a - b


def _mean_uf1(row: Mapping[str, Any] | None, group: str) -> float | None:
    if not row or not row[group]["runs"]:
        return None
    return float(row[group]["mean"]["uf1"])


def aggregate(units: Iterable[Mapping[str, Any]], selection: Iterable[int]) -> dict[str, Any]:
    """``{"databases": {db: {"rows": {row: ...}, "full_minus_peer1": ..., "text_gain": ...}},
    "text_gain_mean": {group: value}}`` of the unit results (see the module docstring)."""
    selection = list(selection)
    by_db: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for unit in units:
        by_db.setdefault(unit["database"], {}).setdefault(unit["row"], []).append(unit)
    databases: dict[str, Any] = {}
    for db, rows in by_db.items():
        table: dict[str, Any] = {}
        for name in sorted(rows, key=lambda r: ROW_ORDER.index(r) if r in ROW_ORDER else len(ROW_ORDER)):
            found = rows[name]
            split = {g: [u for u in found if group_of(u["render"], selection) == g] for g in GROUPS}
            oracle = [{"uf1": u["oracle_uf1"]} for u in found if u.get("oracle_uf1") is not None]
            entry: dict[str, Any] = {g: _summary(split[g]) for g in GROUPS}
            entry["gap_uf1"] = _diff(_mean_uf1(entry, "selection"), _mean_uf1(entry, "untouched"))
            entry["oracle_uf1"] = {"runs": len(oracle), **mean_std(oracle, ("uf1",))} if oracle else None
            entry["seconds"] = round(sum(float(u.get("seconds") or 0.0) for u in found), 1)
            table[name] = entry
        databases[db] = {
            "rows": table,
            "full_minus_peer1": {
                g: _diff(_mean_uf1(table.get(FULL), g), _mean_uf1(table.get(PEER1), g)) for g in GROUPS
            },
            "text_gain": {
                g: _diff(_mean_uf1(table.get(FULL), g), _mean_uf1(table.get(LAMBDA0), g)) for g in GROUPS
            },
        }
    gains: dict[str, float | None] = {}
    for g in GROUPS:
        values = [d["text_gain"][g] for d in databases.values() if d["text_gain"][g] is not None]
        gains[g] = sum(values) / len(values) if values else None
    return {"databases": databases, "text_gain_mean": gains}


def _pct(value: float | None, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{100 * value:+.1f}" if sign else f"{100 * value:.1f}"


def _cell(section: Mapping[str, Any] | None, metric: str) -> str:
    if not section or not section.get("runs"):
        return "–"
    return f"{_pct(section['mean'][metric])} ± {_pct(section['std'][metric])}"


def render_markdown(table: Mapping[str, Any]) -> str:
    """``suite.md``: one table per database, then the derived lines; figures in %."""
    agg = table["aggregate"]
    lines = [
        "# mer-contrast bench suite",
        "",
    ]
    if table.get("quick"):
        lines += [
            "**QUICK MODE: a smoke run (truncated twins, few folds and epochs, one seed). These figures are "
            "not results; run without --quick for the table.**",
            "",
        ]
    lines += [
        "Honest LOSO (the last epoch of a fixed budget, pooled over the test clips), in %. "
        f"Selection renders {_renders(table['selection_renders'])} (choices were made on them), "
        f"untouched renders {_renders(table['untouched_renders'])} (never used for a choice); "
        f"mean ± std over seeds x renders (seeds {_renders(table['seeds'])}; "
        "the peer/probe rows are deterministic: one run per render). "
        "Gap = selection UF1 - untouched UF1. "
        "Oracle = the test subject's best epoch: optimistic, never honest.",
        "",
    ]
    head = (
        "| row | selection UF1 | selection UAR | selection accuracy | untouched UF1 | untouched UAR "
        "| untouched accuracy | gap UF1 | oracle UF1 (optimistic) | wall s |"
    )
    for db, entry in agg["databases"].items():
        lines += [f"## {db}", "", head, "|---|" + "---:|" * 9]
        for name, row in entry["rows"].items():
            cells = [_cell(row[g], m) for g in GROUPS for m in ("uf1", "uar", "accuracy")]
            oracle = _cell(row["oracle_uf1"], "uf1") if row["oracle_uf1"] else "–"
            lines.append(
                f"| {DESCRIPTIONS.get(name, name)} | "
                + " | ".join(cells)
                + f" | {_pct(row['gap_uf1'], sign=True)} | {oracle} | {row['seconds']:.0f} |"
            )
        fp, tg = entry["full_minus_peer1"], entry["text_gain"]
        lines += [
            "",
            f"- full - peer 1 (UF1): selection {_pct(fp['selection'], True)}, "
            f"untouched {_pct(fp['untouched'], True)}",
            f"- text gain, full - lambda0 (UF1): selection {_pct(tg['selection'], True)}, "
            f"untouched {_pct(tg['untouched'], True)}",
            "",
        ]
    gain = agg["text_gain_mean"]
    lines.append(
        f"Text gain averaged over databases (UF1): selection {_pct(gain['selection'], True)}, "
        f"untouched {_pct(gain['untouched'], True)}"
    )
    return "\n".join(lines) + "\n"


def _renders(values: Sequence[int]) -> str:
    return ", ".join(map(str, values)) if values else "none"


__all__ = ["GROUPS", "aggregate", "group_of", "render_markdown"]
