"""The lever effect table (issue 15 item 5): each lever row's effect on the time curves, paired.

Every row of a `LeverPlan` is run as `abm compare` runs its arms: one lever at a time from the
scenario, every arm on the same seeds (common random numbers), so the folder holds what compare
writes (runs, summary.csv, curves.csv, comparison*.csv, compare.json: `abm report DIR` works).
On top, per row and for days 90, 180 and the horizon: the paired difference alternative -
reference in P(spiral by day t), P(deal by day t) and P(state track quiet at day t), with its 95%
Newcombe paired interval and McNemar p-value, Holm-adjusted across the whole table (one family:
the question is "which of these levers moves anything"). A row is `detectable` when any of its
adjusted p-values is below alpha; otherwise the verdict says how many pairs could not tell it
from zero, which is a statement about power, not evidence of no effect.

levers.csv is long (one line per row, curve and day: for machines); levers.md is wide (one line
per row: for the README).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from abm.analysis.compare import (
    RUN_FIELDS,
    ComparisonResult,
    Design,
    check_correction,
    compare_curves,
    compare_runs,
    comparison_spec,
    paired_frames,
    plan_comparison,
    write_comparison,
)
from abm.analysis.curves import CURVES, HOT_DAYS, curve_label, indicators
from abm.analysis.effects import Effect, effect_cell, mean_effect, point_of, proportion_effect, verdict, write_csv
from abm.analysis.levers import LeverPlan
from abm.analysis.run_and_read import run_and_read
from abm.analysis.tables import markdown_table, write_text
from abm.config import Scenario
from abm.stats import ALPHA, adjust

LEVER_DAYS: tuple[int, ...] = (90, 180)  # and the horizon (issue 15 item 5)
LEVERS_CSV, LEVERS_MD = "levers.csv", "levers.md"
LEVER_COLUMNS: tuple[str, ...] = (
    "row",
    "lever",
    "reference",
    "alternative",
    "mechanisms",
    "curve",
    "day",
    "n",
    "p_reference",
    "p_alternative",
    "diff",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "test",
    "verdict",
)


def lever_days(horizon: int) -> list[int]:
    """Days 90 and 180 within the horizon, and the horizon itself."""
    return sorted({d for d in LEVER_DAYS if d <= horizon} | {int(horizon)})


def _line(head: Mapping[str, Any], curve: str, day: int, e: Effect) -> dict[str, Any]:
    """One line of the long table: the row's head, what was measured, and its paired effect."""
    return {
        **head,
        "curve": curve,
        "day": day,
        "n": e.n,
        "p_reference": e.a,
        "p_alternative": e.b,
        "diff": e.diff,
        "ci_low": e.ci_low,
        "ci_high": e.ci_high,
        "p_value": e.p_value,
        "test": e.test,
    }


def lever_effects(
    runs: pd.DataFrame,
    design: Design,
    plan: LeverPlan,
    horizons: Sequence[int],
    correction: str = "holm",
    alpha: float = ALPHA,
    seed: int = 0,
) -> pd.DataFrame:
    """The long lever table from a runs table with `point`, `run` (and `state_hot_days` for quiet).

    A row with a carrying quantity adds one line for it (curve = its label, day = the horizon):
    where the lever acts through a track the three curves do not see (militia fire, deaths,
    expulsion), the table says so instead of calling the lever inert.
    """
    records: list[dict[str, Any]] = []
    for i, row in enumerate(plan.rows):
        pa, pb = point_of(design, row.lever, row.ref_index), point_of(design, row.lever, row.alt_index)
        a, b = paired_frames(runs, [(pa, pb)])
        head = {
            "row": i,
            "lever": row.label,
            "reference": row.reference,
            "alternative": row.alternative,
            "mechanisms": row.mechanisms,
        }
        for day in lever_days(min(horizons[pa], horizons[pb])):
            ind_a, ind_b = indicators(a, day), indicators(b, day)
            for curve in (c for c in CURVES if c in ind_a):
                records.append(_line(head, curve, day, proportion_effect(ind_a[curve], ind_b[curve], alpha)))
        if row.quantity is not None:
            q = row.quantity
            x_a, x_b = q.values(a), q.values(b)
            e = proportion_effect(x_a, x_b, alpha) if q.proportion else mean_effect(x_a, x_b, seed, alpha)
            records.append(_line(head, q.label, min(horizons[pa], horizons[pb]), e))
    table = pd.DataFrame(records, columns=[c for c in LEVER_COLUMNS if c not in ("p_adjusted", "verdict")])
    table["p_adjusted"] = adjust(table["p_value"].to_numpy(), correction, alpha)
    verdicts = {
        i: verdict(part["p_adjusted"].tolist(), int(part["n"].min()), alpha) for i, part in table.groupby("row")
    }
    table["verdict"] = table["row"].map(verdicts)
    return table[list(LEVER_COLUMNS)]


def lever_markdown(table: pd.DataFrame, notes: Sequence[str] = (), title: str = "") -> str:
    """One line per lever row, one `diff [95% CI] p=` cell per curve and day: ready for the README."""
    rows = []
    for _, part in table.groupby("row", sort=True):
        first = part.iloc[0]
        line = {
            "Lever": f"`{first['lever']}`",
            "Reference → alternative": f"{first['reference']} → {first['alternative']}",
            "Mechanisms (MODEL.md §6)": first["mechanisms"] or "-",
        }
        carried = "-"
        for r in part.itertuples(index=False):
            cell = effect_cell(r.diff, r.ci_low, r.ci_high, r.p_adjusted)
            if r.curve in CURVES:
                line[f"Δ {curve_label(r.curve, r.day)}"] = cell
            else:
                carried = f"{r.curve}: {r.p_reference:.3g} → {r.p_alternative:.3g}, {cell}"
        line["Δ carrying quantity"] = carried
        line["Verdict"] = first["verdict"]
        rows.append(line)
    text = markdown_table(pd.DataFrame(rows), None) if rows else "(no lever rows)"
    head = f"{title}\n\n" if title else ""
    tail = "".join(f"\n- {note}" for note in notes)
    return head + text + ("\n\nNotes:" + tail if tail else "") + "\n"


def lever_title(scenario: str, n: int, correction: str, alpha: float) -> str:
    return (
        f"Lever effects in {scenario}: paired difference alternative − reference over {n} paired runs "
        f"(common random numbers), with its 95% Newcombe paired interval and the McNemar p-value, "
        f"{correction}-adjusted across the table (verdict at alpha {alpha:g})."
    )


@dataclass
class LeverTableResult:
    """The lever table, the comparison behind it and how the runs went."""

    table: pd.DataFrame
    comparison: ComparisonResult
    plan: LeverPlan
    markdown: str = ""
    written: list[Path] = field(default_factory=list)


def run_lever_table(
    scenario: Scenario,
    plan: LeverPlan,
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
) -> LeverTableResult:
    """Run the plan's arms on common random numbers; with `out_dir`, write what `abm compare` writes
    there plus levers.csv and levers.md. The table is empty when the runs did not finish."""
    check_correction(correction)
    design, experiment = plan_comparison(
        scenario,
        plan.levers,
        runs,
        seed,
        paired=True,
        max_failure_share=max_failure_share,
        overrides=overrides,
    )
    spec = comparison_spec(
        design, paired=True, correction=correction, alpha=alpha, runs=runs, seed=seed, overrides=overrides
    )
    spec["lever_rows"] = [
        {"lever": r.label, "reference": r.reference, "alternative": r.alternative, "mechanisms": r.mechanisms}
        for r in plan.rows
    ]
    extra = dict.fromkeys(c for r in plan.rows if r.quantity for c in r.quantity.columns if c not in RUN_FIELDS)
    columns = [*RUN_FIELDS, *extra]
    ran = run_and_read(
        experiment,
        out_dir,
        columns,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        optional=[HOT_DAYS],
    )
    empty = pd.DataFrame()
    result = ComparisonResult(empty, empty, design, spec, **ran.account())
    if ran.runs is None:
        return LeverTableResult(pd.DataFrame(columns=list(LEVER_COLUMNS)), result, plan)
    horizons = [experiment.scenario(i).horizon_days for i in range(len(experiment.points))]
    result.runs = ran.runs
    result.outcomes, result.metrics = compare_runs(
        ran.runs.drop(columns=list(extra)), design, True, correction, alpha, seed
    )
    result.curves = compare_curves(ran.runs, design, horizons, True, correction, alpha)
    table = lever_effects(ran.runs, design, plan, horizons, correction, alpha, seed)
    n = int(table["n"].min()) if len(table) else 0
    markdown = lever_markdown(table, plan.notes, lever_title(scenario.name, n, correction, alpha))
    out = LeverTableResult(table, result, plan, markdown)
    if out_dir is not None:
        folder = Path(out_dir)
        write_comparison(folder, result)
        out.written = [write_csv(table, folder / LEVERS_CSV), write_text(folder / LEVERS_MD, markdown)]
    return out


__all__ = [
    "LEVERS_CSV",
    "LEVERS_MD",
    "LEVER_COLUMNS",
    "LeverTableResult",
    "lever_days",
    "lever_effects",
    "lever_markdown",
    "run_lever_table",
]
