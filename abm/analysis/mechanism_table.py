"""The mechanism effect table run (MODEL.md §6, issue 15 item 6): each switch off vs on, paired.

Per scenario, the switches whose rows (`abm.analysis.mechanisms`) use it are run as `abm compare`
would run levers `mechanisms.<name>=true,false` one at a time: all of them on in the base arm,
one off in each other arm, every arm on the same seeds (common random numbers). Effect = off -
on on the aligned pairs: a share gets Newcombe's paired interval and McNemar's test, a mean the
paired BCa bootstrap and Wilcoxon's signed-rank test (`abm.analysis.effects`); the p-values are
adjusted across the whole table (Holm by default), whose rows are every switch of the schema:
one without a row says so (NO_ROW) instead of being dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from abm.analysis.compare import RUN_FIELDS, Design, Lever, check_correction, paired_frames, plan_comparison
from abm.analysis.curves import HOT_DAYS
from abm.analysis.effects import (
    Effect,
    effect_cell,
    mean_effect,
    point_of,
    proportion_effect,
    row_seed,
    verdict,
    write_csv,
)
from abm.analysis.mechanisms import MechanismRow, switches
from abm.analysis.run_and_read import RunAccount, run_and_read
from abm.analysis.tables import markdown_table, write_text
from abm.config import ConfigError, Scenario, load_config
from abm.config.loader import same_value
from abm.stats import ALPHA, adjust

MECHANISMS_CSV, MECHANISMS_MD = "mechanisms.csv", "mechanisms.md"
NO_ROW = "no exercising scenario listed"
MECHANISM_COLUMNS: tuple[str, ...] = (
    "mechanism",
    "scenario",
    "quantity",
    "n",
    "on",
    "off",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "test",
    "verdict",
    "why",
)


@dataclass(frozen=True)
class MechanismGroup:
    """The rows run on one scenario: one lever `mechanisms.<name>` = true (base), false per row."""

    name: str
    scenario: Scenario
    rows: tuple[MechanismRow, ...]

    @property
    def levers(self) -> tuple[Lever, ...]:
        return tuple(Lever((f"mechanisms.{row.mechanism}",), ((True,), (False,))) for row in self.rows)


@dataclass(frozen=True)
class MechanismPlan:
    """Groups to run, the switches with no row, notes on rows left out."""

    groups: tuple[MechanismGroup, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...]


def plan_mechanisms(
    rows: Sequence[MechanismRow],
    *,
    config: str | Path | None = None,
    only: Sequence[str] = (),
    fixed: Mapping[str, Any] | None = None,
) -> MechanismPlan:
    """Group the rows by scenario (every row on `config` when given), load and check each scenario
    with the --set values `fixed`; `only` keeps those switches. Nothing is run."""
    known = switches()
    unknown = sorted(set(only) - set(known))
    if unknown:
        raise ConfigError(f"--mechanism {unknown[0]}: no such switch; known: {', '.join(known)}")
    wanted = [s for s in known if not only or s in only]
    listed = {row.mechanism: row for row in rows}
    notes: list[str] = []
    by_path: dict[Path, list[MechanismRow]] = {}
    for name in (s for s in wanted if s in listed):
        row = listed[name]
        path = Path(config).resolve() if config is not None else row.scenario
        pinned = [k for k, v in (fixed or {}).items() if same_value({}, k, f"mechanisms.{name}", [v]) is not None]
        if pinned:
            notes.append(f"{name}: skipped, fixed by --set {pinned[0]}")
            continue
        by_path.setdefault(path, []).append(row)
    groups, names = [], set()
    for path, group_rows in by_path.items():
        scenario = load_config(path, dict(fixed or {}))
        for row in group_rows:
            if row.quantity.day is not None and row.quantity.day > scenario.horizon_days:
                raise ConfigError(
                    f"{row.mechanism}: quantity {row.quantity.label} is after the horizon of {scenario.name} "
                    f"({scenario.horizon_days} days)"
                )
        name, n = scenario.name, 2
        while name in names:
            name, n = f"{scenario.name}-{n}", n + 1
        names.add(name)
        groups.append(MechanismGroup(name, scenario, tuple(group_rows)))
    missing = tuple(s for s in wanted if s not in listed)
    return MechanismPlan(tuple(groups), missing, tuple(notes))


def row_effect(runs: pd.DataFrame, design: Design, lever: int, row: MechanismRow, seed: int, alpha: float) -> Effect:
    """Off - on for one row, on the pairs of its two arms (the base, every switch of the group on, and
    the arm with this one off)."""
    on, off = paired_frames(runs, [(point_of(design, lever, 0), point_of(design, lever, 1))])
    x_on, x_off = row.quantity.values(on), row.quantity.values(off)
    if row.quantity.proportion:
        return proportion_effect(x_on, x_off, alpha)
    return mean_effect(x_on, x_off, seed, alpha)


@dataclass
class MechanismTableResult(RunAccount):
    """The mechanism table (empty when the runs did not finish) and how the runs went, summed over
    the groups (`RunAccount`; `out_dir` is the table's folder, each group's runs in a subfolder)."""

    table: pd.DataFrame
    markdown: str = ""
    written: list[Path] = field(default_factory=list)


def _record(row: MechanismRow, scenario: str, e: Effect) -> dict[str, Any]:
    return {
        "mechanism": row.mechanism,
        "scenario": scenario,
        "quantity": row.quantity.label,
        "n": e.n,
        "on": e.a,
        "off": e.b,
        "effect": e.diff,
        "ci_low": e.ci_low,
        "ci_high": e.ci_high,
        "p_value": e.p_value,
        "test": e.test,
        "why": row.why,
    }


def run_mechanism_table(
    plan: MechanismPlan,
    runs: int,
    seed: int,
    *,
    correction: str = "holm",
    alpha: float = ALPHA,
    out_dir: str | Path | None = None,
    jobs: int | None = 1,
    backend: str = "serial",
    scheduler: str | None = None,
    progress: bool = False,
    max_failure_share: float | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> MechanismTableResult:
    """Run every group (each in DIR/<scenario name>/ with `out_dir`, resumable) and build the table;
    with `out_dir`, write mechanisms.csv and mechanisms.md there. Every arm is validated first."""
    check_correction(correction)
    planned = [
        (
            group,
            *plan_comparison(
                group.scenario, group.levers, runs, seed, max_failure_share=max_failure_share, overrides=overrides
            ),
        )
        for group in plan.groups
    ]
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    went = RunAccount(status="complete", runs_done=0, failures=0, out_dir=None if out_dir is None else Path(out_dir))
    for group, design, experiment in planned:
        columns = [
            *RUN_FIELDS,
            *dict.fromkeys(c for r in group.rows for c in r.quantity.columns if c not in RUN_FIELDS),
        ]
        sub = None if out_dir is None else Path(out_dir) / group.name
        ran = run_and_read(
            experiment,
            sub,
            columns,
            jobs=jobs,
            backend=backend,
            scheduler=scheduler,
            progress=progress,
            optional=[HOT_DAYS],
        )
        went.runs_done += ran.runs_done
        went.failures += ran.failures
        went.seconds += ran.seconds
        went.first_error = went.first_error or ran.first_error
        if ran.runs is None:
            return MechanismTableResult(
                pd.DataFrame(columns=list(MECHANISM_COLUMNS)), **{**went.account(), "status": ran.status}
            )
        went.status = "failed" if ran.status == "failed" else went.status
        for j, row in enumerate(group.rows):
            index = switches().index(row.mechanism)
            effect = row_effect(ran.runs, design, j, row, row_seed(seed, index), alpha)
            records.append(_record(row, group.scenario.name, effect))
    table = mechanism_table(records, plan.missing, correction, alpha)
    n = int(table["n"].min()) if table["n"].notna().any() else 0
    markdown = mechanism_markdown(table, plan.notes, mechanism_title(n, correction, alpha))
    result = MechanismTableResult(table, markdown, **went.account())
    if out_dir is not None:
        folder = Path(out_dir)
        result.written = [write_csv(table, folder / MECHANISMS_CSV), write_text(folder / MECHANISMS_MD, markdown)]
    return result


def mechanism_table(
    records: Sequence[Mapping[str, Any]], missing: Sequence[str], correction: str = "holm", alpha: float = ALPHA
) -> pd.DataFrame:
    """Rows in MODEL.md §6 order, p adjusted across the table, a verdict each; switches without a row
    stay in the table with NO_ROW as verdict."""
    table = pd.DataFrame([*records, *({"mechanism": m} for m in missing)])
    table = table.reindex(columns=[c for c in MECHANISM_COLUMNS if c not in ("p_adjusted", "verdict")])
    order = {name: i for i, name in enumerate(switches())}
    table = table.sort_values("mechanism", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    table["p_adjusted"] = adjust(table["p_value"].to_numpy(dtype=float), correction, alpha)
    table["verdict"] = [
        NO_ROW if not math.isfinite(n) else verdict([p], int(n), alpha)
        for n, p in zip(table["n"].to_numpy(dtype=float), table["p_adjusted"], strict=True)
    ]
    return table[list(MECHANISM_COLUMNS)]


def mechanism_title(n: int, correction: str, alpha: float) -> str:
    return (
        f"Mechanism effects: each switch off − on in the scenario built to exercise it, over {n} paired runs "
        f"(common random numbers); 95% interval: Newcombe paired (shares) or paired BCa bootstrap (means); "
        f"p-values (McNemar, Wilcoxon) {correction}-adjusted across the table (verdict at alpha {alpha:g})."
    )


def _value(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.3f}"


def mechanism_markdown(table: pd.DataFrame, notes: Sequence[str] = (), title: str = "") -> str:
    """One line per switch: scenario, quantity, on, off, effect [95% CI] p, verdict (for the docs)."""
    shown = pd.DataFrame(
        {
            "Mechanism": table["mechanism"].map(lambda m: f"`{m}`"),
            "Scenario": table["scenario"].fillna(""),
            "Quantity": table["quantity"].fillna(""),
            "On": table["on"].map(_value),
            "Off": table["off"].map(_value),
            "Effect off − on [95% CI]": [
                "" if not math.isfinite(d) else effect_cell(d, lo, hi, p)
                for d, lo, hi, p in zip(
                    table["effect"].astype(float), table["ci_low"], table["ci_high"], table["p_adjusted"], strict=True
                )
            ],
            "Verdict": table["verdict"],
        }
    )
    head = f"{title}\n\n" if title else ""
    tail = "".join(f"\n- {note}" for note in notes)
    return head + markdown_table(shown, None) + ("\n\nNotes:" + tail if tail else "") + "\n"


__all__ = [
    "MECHANISMS_CSV",
    "MECHANISMS_MD",
    "MECHANISM_COLUMNS",
    "NO_ROW",
    "MechanismGroup",
    "MechanismPlan",
    "MechanismTableResult",
    "mechanism_markdown",
    "mechanism_table",
    "plan_mechanisms",
    "row_effect",
    "run_mechanism_table",
]
