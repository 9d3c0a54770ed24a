"""Lever comparison: build the arms, run them through the runner, test every arm pair.

Design (docs/COMPARE.md): each lever is a dotted key (or a bundle of keys moved together,
`us.demands+us.sanctions_relief_offer=maximal+false,nuclear_only+true`) with two or more
values. By default arms vary one lever at a time (OFAT) from a base point that sets every lever
to its first value; with `full=True` arms are the cross product and a lever's effect is its
main effect, pooled over the other levers' values (pairs matched on (other values, run)).
Within a lever every pair of values is compared (A vs B, A vs C, B vs C).

Paired by default: the arms share seeds (common random numbers, runner option), so run i of
every arm is the same random world and the analysis is on pairs (McNemar, Newcombe paired
interval, paired bootstrap). `paired=False` gives every arm its own seeds and uses the
independent-sample versions. P-values of all outcome rows are adjusted together (Holm by
default); metric rows form a second family, adjusted separately, and the time-curve rows
(P(spiral by day t), P(deal by day t), P(state track quiet at day t) at days 30, 90, 180 and the
horizon: `compare_curves`) a third.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.analysis.curves import CURVES, HOT_DAYS, curve_label, indicators, report_days
from abm.analysis.metrics_compare import independent_mean_diff, paired_mean_diff
from abm.analysis.run_and_read import RunAccount, run_and_read
from abm.config import ConfigError, Scenario
from abm.config.loader import refuse_fixed_and_varied, refuse_repeated
from abm.defaults import CORRECTIONS
from abm.model.outcomes import OUTCOMES
from abm.runner import Experiment, points_experiment

# A lever and its parser live with the one KEY=SPEC parser of sweep, sensitivity and robust;
# `abm compare`, `abm robust`, abm.api and abm.analysis.levers import them from here too.
from abm.runner.designs import Lever
from abm.runner.designs import parse_lever as parse_lever
from abm.runner.designs import value_label as value_label
from abm.stats import ALPHA, PairedCounts, adjust, independent_diff, paired_diff

METRICS: tuple[str, ...] = ("days", "battle_deaths", "state_deaths", "max_rung", "escalation_score")
COMPARISON_COLUMNS: tuple[str, ...] = (
    "lever",
    "value_a",
    "value_b",
    "outcome",
    "n",
    "p_a",
    "p_b",
    "diff",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "test",
    "n_b",
    "a_only",
    "b_only",
)
METRIC_COLUMNS: tuple[str, ...] = (
    "lever",
    "value_a",
    "value_b",
    "metric",
    "n",
    "mean_a",
    "mean_b",
    "diff",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "test",
    "n_b",
)
CURVE_COMPARISON_COLUMNS: tuple[str, ...] = (
    "lever",
    "value_a",
    "value_b",
    "curve",
    "day",
    *COMPARISON_COLUMNS[4:],
)
COMPARISON_FILE, METRICS_FILE, SPEC_FILE = "comparison.csv", "comparison_metrics.csv", "compare.json"
CURVES_COMPARISON_FILE = "comparison_curves.csv"
RUN_FIELDS = ["point", "run", "seed", "outcome", "error", *METRICS]  # and state_hot_days when stored


@dataclass(frozen=True)
class Design:
    """Arms of a comparison: design points and, per point, the value index of every lever."""

    levers: tuple[Lever, ...]
    full: bool
    points: tuple[dict[str, Any], ...]
    arms: tuple[tuple[int, ...], ...]

    def matches(self, lever: int, va: int, vb: int) -> list[tuple[int, int]]:
        """(point of value A, point of value B) pairs that differ only in `lever`."""
        index = {arm: i for i, arm in enumerate(self.arms)}
        out = []
        for arm, point in index.items():
            if arm[lever] != va:
                continue
            other = (*arm[:lever], vb, *arm[lever + 1 :])
            if other in index:
                out.append((point, index[other]))
        return out

    def pairs(self) -> list[tuple[int, int, int]]:
        """(lever, value A, value B) for every pair of values of every lever, in declaration order."""
        return [
            (j, va, vb)
            for j, lever in enumerate(self.levers)
            for va, vb in itertools.combinations(range(len(lever.values)), 2)
        ]


def build_design(levers: Sequence[Lever], full: bool = False) -> Design:
    """OFAT arms from the base (every lever at its first value), or the full cross product."""
    if not levers:
        raise ConfigError("compare: give at least one --lever KEY=A,B")
    keys = [k for lever in levers for k in lever.keys]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(f"--lever: key {repeated[0]!r} appears in two levers; bundle them in one lever instead")
    if full:
        arms = list(itertools.product(*(range(len(lever.values)) for lever in levers)))
    else:
        base = (0,) * len(levers)
        arms = [base] + [
            (*base[:j], k, *base[j + 1 :]) for j, lever in enumerate(levers) for k in range(1, len(lever.values))
        ]
    points = []
    for arm in arms:
        point: dict[str, Any] = {}
        for lever, k in zip(levers, arm, strict=True):
            point.update(lever.assignment(k))
        points.append(point)
    return Design(tuple(levers), full, tuple(points), tuple(arms))


def check_correction(correction: str) -> None:
    """Refuse a multiple-testing correction the tool does not offer, before any run starts."""
    if correction not in CORRECTIONS:
        raise ConfigError(f"--correction: got {correction!r}; allowed: {', '.join(CORRECTIONS)}")


def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["error"].isna()] if "error" in frame else frame


def paired_frames(runs: pd.DataFrame, matches: list[tuple[int, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of arm A and arm B aligned pair by pair (same run index, both finished): the pairs every
    paired test here (and `abm levers`, `abm mechanisms`) works on. `matches` are (point A, point B)."""
    parts_a, parts_b = [], []
    for pa, pb in matches:
        a = runs[runs["point"] == pa].set_index("run")
        b = runs[runs["point"] == pb].set_index("run")
        common = a.index.intersection(b.index)
        a, b = a.loc[common], b.loc[common]
        if "seed" in a and not np.array_equal(a["seed"].to_numpy(), b["seed"].to_numpy()):
            raise ValueError(
                f"points {pa} and {pb} do not share seeds: not run with common random numbers; "
                "use the independent analysis"
            )
        keep = (a["error"].isna() & b["error"].isna()).to_numpy() if "error" in a else np.ones(len(a), bool)
        parts_a.append(a[keep])
        parts_b.append(b[keep])
    return pd.concat(parts_a), pd.concat(parts_b)


def _independent_frames(runs: pd.DataFrame, matches: list[tuple[int, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    a = pd.concat([_ok(runs[runs["point"] == pa]) for pa, _ in matches])
    b = pd.concat([_ok(runs[runs["point"] == pb]) for _, pb in matches])
    return a, b


def _row_seed(seed: int, *key: int) -> int:
    return int(np.random.SeedSequence([seed, *key]).generate_state(1)[0])


def _proportion_row(hit_a: np.ndarray, hit_b: np.ndarray, paired: bool, alpha: float) -> dict[str, Any]:
    """Statistics of one share compared between arms: McNemar + Newcombe paired interval on aligned
    pairs, or the independent score test and interval; the columns of a comparison row after its key."""
    if paired:
        counts = PairedCounts.from_arrays(hit_a, hit_b)
        res = paired_diff(counts, alpha)
        extra = {"n": counts.n, "n_b": counts.n, "a_only": counts.a_only, "b_only": counts.b_only}
    else:
        res = independent_diff(int(hit_a.sum()), len(hit_a), int(hit_b.sum()), len(hit_b), alpha)
        extra = {"n": len(hit_a), "n_b": len(hit_b), "a_only": math.nan, "b_only": math.nan}
    return {
        "p_a": res.p_a,
        "p_b": res.p_b,
        "diff": res.diff,
        "ci_low": res.ci_low,
        "ci_high": res.ci_high,
        "p_value": res.p_value,
        "test": res.test,
        **extra,
    }


def compare_runs(
    runs: pd.DataFrame,
    design: Design,
    paired: bool = True,
    correction: str = "holm",
    alpha: float = ALPHA,
    seed: int = 0,
    metrics: Sequence[str] = METRICS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outcome and metric comparison tables from a runs table with `point` and `run` columns."""
    outcome_rows: list[dict[str, Any]] = []
    metric_rows: list[dict[str, Any]] = []
    for pair_index, (j, va, vb) in enumerate(design.pairs()):
        lever = design.levers[j]
        head = {"lever": lever.label, "value_a": lever.value_label(va), "value_b": lever.value_label(vb)}
        matches = design.matches(j, va, vb)
        a, b = (paired_frames if paired else _independent_frames)(runs, matches)
        for outcome in OUTCOMES:
            hit_a, hit_b = (a["outcome"] == outcome).to_numpy(), (b["outcome"] == outcome).to_numpy()
            outcome_rows.append({**head, "outcome": outcome, **_proportion_row(hit_a, hit_b, paired, alpha)})
        for m, metric in enumerate(metrics):
            xa, xb = a[metric].to_numpy(dtype=float), b[metric].to_numpy(dtype=float)
            row_seed = _row_seed(seed, pair_index, m)
            md = paired_mean_diff(xa, xb, row_seed, alpha) if paired else independent_mean_diff(xa, xb, row_seed, alpha)
            metric_rows.append(
                {
                    **head,
                    "metric": metric,
                    "n": md.n,
                    "n_b": md.n_b,
                    "mean_a": md.mean_a,
                    "mean_b": md.mean_b,
                    "diff": md.diff,
                    "ci_low": md.ci_low,
                    "ci_high": md.ci_high,
                    "p_value": md.p_value,
                    "test": md.test,
                }
            )
    outcomes = pd.DataFrame(outcome_rows, columns=[c for c in COMPARISON_COLUMNS if c != "p_adjusted"])
    outcomes["p_adjusted"] = adjust(outcomes["p_value"].to_numpy(), correction, alpha)
    metric_table = pd.DataFrame(metric_rows, columns=[c for c in METRIC_COLUMNS if c != "p_adjusted"])
    metric_table["p_adjusted"] = adjust(metric_table["p_value"].to_numpy(), correction, alpha)
    return outcomes[list(COMPARISON_COLUMNS)], metric_table[list(METRIC_COLUMNS)]


def compare_curves(
    runs: pd.DataFrame,
    design: Design,
    horizons: Sequence[int],
    paired: bool = True,
    correction: str = "holm",
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Lever effects on the time curves: P(spiral by day t), P(deal by day t), P(state track quiet at t).

    For every lever pair and day t of `report_days` (30, 90, 180 and the horizon, up to the
    shorter horizon of the two arms; `horizons[point]`), the per-run events of
    `abm.analysis.curves.indicators` are compared like outcomes: on the same pairs (McNemar,
    Newcombe paired interval) or as independent arms. The rows are their own family for
    `correction`. Quiet rows need `state_hot_days` in the runs table."""
    rows: list[dict[str, Any]] = []
    for j, va, vb in design.pairs():
        lever = design.levers[j]
        head = {"lever": lever.label, "value_a": lever.value_label(va), "value_b": lever.value_label(vb)}
        matches = design.matches(j, va, vb)
        a, b = (paired_frames if paired else _independent_frames)(runs, matches)
        horizon = min(int(horizons[p]) for pair in matches for p in pair)
        for day in report_days(horizon):
            ind_a, ind_b = indicators(a, day), indicators(b, day)
            for curve in (c for c in CURVES if c in ind_a and c in ind_b):
                stats = _proportion_row(ind_a[curve], ind_b[curve], paired, alpha)
                rows.append({**head, "curve": curve, "day": day, **stats})
    table = pd.DataFrame(rows, columns=[c for c in CURVE_COMPARISON_COLUMNS if c != "p_adjusted"])
    table["p_adjusted"] = adjust(table["p_value"].to_numpy(), correction, alpha)
    return table[list(CURVE_COMPARISON_COLUMNS)]


@dataclass
class ComparisonResult(RunAccount):
    """Tables of a comparison and how the runs went (`RunAccount`)."""

    outcomes: pd.DataFrame
    metrics: pd.DataFrame
    design: Design
    spec: dict[str, Any]
    runs: pd.DataFrame | None = field(default=None, repr=False)
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)


def comparison_spec(
    design: Design,
    *,
    paired: bool,
    correction: str,
    alpha: float,
    runs: int,
    seed: int,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What `compare.json` records: enough for `abm report` to label arms and for a reader to redo it."""
    return {
        "design": "full" if design.full else "ofat",
        "paired": paired,
        "common_random_numbers": paired,
        "correction": correction,
        "alpha": alpha,
        "runs": runs,
        "seed": seed,
        "set": dict(overrides or {}),
        "levers": [
            {"label": lv.label, "keys": list(lv.keys), "values": [lv.value_label(i) for i in range(len(lv.values))]}
            for lv in design.levers
        ],
        "arms": [
            {"point": i, "values": {lv.label: lv.value_label(k) for lv, k in zip(design.levers, arm, strict=True)}}
            for i, arm in enumerate(design.arms)
        ],
    }


def plan_comparison(
    scenario: Scenario,
    levers: Sequence[Lever],
    runs: int,
    seed: int,
    *,
    paired: bool = True,
    full: bool = False,
    events: bool = False,
    max_failure_share: float | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Design, Experiment]:
    """The arms and the runner experiment, every arm validated as a scenario (nothing is run).

    `overrides` are the --set values already applied to `scenario`: a lever on one of them, or two
    levers on one key under two spellings (`us.doctrine`, `states.us.doctrine`), is refused."""
    design = build_design(levers, full)
    raw = scenario.model_dump(mode="json")
    varied = {k: [arm[i] for arm in lever.values] for lever in levers for i, k in enumerate(lever.keys)}
    refuse_repeated(raw, varied, "command line", "--lever")
    refuse_fixed_and_varied(raw, overrides or {}, varied, "command line", "--set", "--lever")
    options: dict[str, Any] = {"events": events}
    if max_failure_share is not None:
        options["max_failure_share"] = max_failure_share
    experiment = points_experiment(
        scenario, design.points, runs, seed, common_random_numbers=paired, name=f"{scenario.name}-compare", **options
    )
    return design, experiment


def run_comparison(
    scenario: Scenario,
    levers: Sequence[Lever],
    runs: int,
    seed: int,
    *,
    paired: bool = True,
    full: bool = False,
    correction: str = "holm",
    alpha: float = ALPHA,
    out_dir: str | Path | None = None,
    jobs: int | None = 1,
    backend: str = "serial",
    scheduler: str | None = None,
    events: bool = False,
    progress: bool = False,
    max_failure_share: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    simulator: str | None = None,
) -> ComparisonResult:
    """Run every arm (CRN unless `paired=False`) and compare; with `out_dir`, stream runs to disk and
    write comparison.csv, comparison_metrics.csv, comparison_curves.csv, compare.json, summary.csv
    and curves.csv there."""
    check_correction(correction)
    design, experiment = plan_comparison(
        scenario,
        levers,
        runs,
        seed,
        paired=paired,
        full=full,
        events=events,
        max_failure_share=max_failure_share,
        overrides=overrides,
    )
    spec = comparison_spec(
        design, paired=paired, correction=correction, alpha=alpha, runs=runs, seed=seed, overrides=overrides
    )
    ran = run_and_read(
        experiment,
        out_dir,
        RUN_FIELDS,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        simulator=simulator,
        optional=[HOT_DAYS],
    )
    if ran.runs is None:
        empty = pd.DataFrame()
        return ComparisonResult(empty, empty, design, spec, **ran.account())
    table = ran.runs
    outcomes, metric_table = compare_runs(table, design, paired, correction, alpha, seed)
    horizons = [experiment.scenario(i).horizon_days for i in range(len(experiment.points))]
    curve_table = compare_curves(table, design, horizons, paired, correction, alpha)
    result = ComparisonResult(outcomes, metric_table, design, spec, table, curve_table, **ran.account())
    if out_dir is not None:
        write_comparison(Path(out_dir), result)
    return result


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.parent / f".{path.name}.tmp"
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def write_comparison(out_dir: Path, result: ComparisonResult) -> None:
    """comparison.csv, comparison_metrics.csv, comparison_curves.csv and compare.json (each written atomically)."""
    _write_csv(result.outcomes, out_dir / COMPARISON_FILE)
    _write_csv(result.metrics, out_dir / METRICS_FILE)
    _write_csv(result.curves, out_dir / CURVES_COMPARISON_FILE)
    tmp = out_dir / f".{SPEC_FILE}.tmp"
    tmp.write_text(json.dumps(result.spec, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / SPEC_FILE)


def _fmt(x: float, digits: int = 3) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.{digits}f}"


def format_p(p: float) -> str:
    """A p-value for people: 3 decimals, `<0.001` below."""
    if not math.isfinite(p):
        return "nan"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_comparison(table: pd.DataFrame, metrics: bool = False) -> str:
    """Aligned text of a comparison table (outcomes, metrics or curves) for the terminal."""
    if table.empty:
        return "(no comparisons)"
    what = "metric" if metrics else "curve" if "curve" in table else "outcome"
    left, right = ("mean_a", "mean_b") if metrics else ("p_a", "p_b")
    digits = 2 if metrics else 3
    label = table[what]
    if what == "curve":  # "spiral by day 30", "quiet at day 30"
        pairs = zip(table["curve"], table["day"], strict=True)
        label = pd.Series([curve_label(c, d) for c, d in pairs], index=table.index)
    shown = pd.DataFrame(
        {
            "lever": table["lever"],
            "A -> B": table["value_a"] + " -> " + table["value_b"],
            what: label,
            "n": table["n"].astype(int),
            left: table[left].map(lambda x: _fmt(x, digits)),
            right: table[right].map(lambda x: _fmt(x, digits)),
            "diff [95% CI]": [
                f"{_fmt(d, digits)} [{_fmt(lo, digits)}, {_fmt(hi, digits)}]"
                for d, lo, hi in zip(table["diff"], table["ci_low"], table["ci_high"], strict=True)
            ],
            "p": table["p_value"].map(format_p),
            "p_adj": table["p_adjusted"].map(format_p),
            "test": table["test"],
        }
    )
    return shown.to_string(index=False)
