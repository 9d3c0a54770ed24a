"""The posterior calibration's report: markdown tables for docs/VALIDATION.md and posterior_report.md.

Pure formatting of what `abm.validation.posterior.run_posterior` returns; the CSV tables are the
result's own frames (`PosteriorResult.points_table`, `.summary`, ...), written by
experiments/calibration/posterior.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from abm.validation.posterior import LeverSpec, PosteriorResult
from abm.validation.posterior_levers import OUTCOMES

OUTCOME_LABELS = {"spiral": "P(spiral)", "deescalation": "P(de-escalation)", "deal": "P(deal)"}


def _fmt(x: Any, digits: int = 3) -> str:
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        if not math.isfinite(x):
            return "–" if math.isnan(x) else ("∞" if x > 0 else "−∞")
        return f"{x:.{digits}g}"
    return "–" if x is None else str(x)


def _md(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def summary_markdown(summary: pd.DataFrame) -> str:
    """The posterior table for docs/VALIDATION.md."""
    table = pd.DataFrame(
        {
            "parameter": [f"`{p}`" for p in summary["parameter"]],
            "prior": [
                f"{_fmt(lo)}–{_fmt(hi)}" for lo, hi in zip(summary["prior_low"], summary["prior_high"], strict=True)
            ],
            "shipped": summary["shipped"],
            "posterior 5%": summary["post_p5"],
            "50%": summary["post_p50"],
            "95%": summary["post_p95"],
            "width ratio": summary["width_ratio"],
            "KS p (Holm)": summary["ks_p_holm"],
            "verdict": summary["verdict"],
            "shipped in 5–95%": summary["shipped_inside"],
        }
    )
    return _md(table)


def cases_markdown(cases: pd.DataFrame) -> str:
    """The per-case table for docs/VALIDATION.md."""
    table = pd.DataFrame(
        {
            "case": [f"`{c}`" for c in cases["case"]],
            "band": cases["band"],
            "pass (accepted)": cases["pass_accepted"],
            "pass (all points)": cases["pass_all"],
            "median estimate (accepted)": cases["median_accepted"],
            "min z": cases["min_z"],
            "median z (accepted)": cases["median_z_accepted"],
            "shipped estimate": cases.get("shipped_value", pd.Series(math.nan, index=cases.index)),
            "shipped": cases.get("shipped_status", pd.Series("", index=cases.index)),
            "structural miss": cases["structural_miss"],
        }
    )
    return _md(table)


def _range_cell(median: float, low: float, high: float) -> str:
    return f"{median:+.3f} [{low:+.3f}, {high:+.3f}]"


def levers_markdown(lever_summary: pd.DataFrame, effects: pd.DataFrame) -> str:
    """One line per lever row: median [min, max] effect on the three outcomes over the posterior points,
    rank range, points where it is detectable, direction; the shipped defaults' effects for comparison."""
    shipped = effects[effects["point"] == "shipped"].set_index(["row", "outcome"])
    lines = []
    for row, part in lever_summary.groupby("row", sort=True):
        by = part.set_index("outcome")
        k = int(by["points"].iloc[0])
        line: dict[str, Any] = {"lever": by["lever"].iloc[0]}
        for outcome in OUTCOMES:
            r = by.loc[outcome]
            line[f"Δ {OUTCOME_LABELS[outcome]}"] = _range_cell(r["diff_median"], r["diff_min"], r["diff_max"])
        line["rank (spiral / de-esc. / deal)"] = " / ".join(
            f"{_fmt(by.loc[o, 'rank_min'])}–{_fmt(by.loc[o, 'rank_max'])}" for o in OUTCOMES
        )
        line["detectable at"] = (
            f"{int(by['row_detectable_points'].iloc[0])}/{k} ({int(by['table_detectable_points'].iloc[0])}/{k})"
        )
        line["direction (spiral / de-esc. / deal)"] = " / ".join(str(by.loc[o, "direction"]) for o in OUTCOMES)
        if not shipped.empty:
            line["shipped Δ (spiral / de-esc. / deal)"] = " / ".join(
                f"{shipped.loc[(row, o), 'diff']:+.3f}" for o in OUTCOMES
            )
        lines.append(line)
    return _md(pd.DataFrame(lines))


def concordance_markdown(concordance: pd.DataFrame) -> str:
    table = pd.DataFrame(
        {
            "outcome": [OUTCOME_LABELS[o] for o in concordance["outcome"]],
            "points": concordance["points"],
            "levers": concordance["levers"],
            "Kendall's W": concordance["kendall_w"],
            "Friedman p": concordance["friedman_p"],
            "mean Kendall tau": concordance["mean_kendall_tau"],
        }
    )
    return _md(table)


def report_markdown(result: PosteriorResult, command: str, commit: str) -> str:
    """posterior_report.md: how it was run, the rule, and the tables ready for docs/VALIDATION.md."""
    spec, acc, v = result.spec, result.spec.acceptance, result.verdicts
    n_acc = int(result.accepted.sum())
    ref = result.reference_verdict
    pinned = result.summary.loc[result.summary["verdict"] == "pinned", "parameter"].tolist()
    constrained = result.summary.loc[result.summary["verdict"] == "constrained", "parameter"].tolist()
    outside = result.summary.loc[~result.summary["shipped_inside"].isin(["inside", "n/a"]), "parameter"].tolist()
    far = result.case_table.loc[result.case_table["min_z"] > acc.cutoff, "case"].tolist()
    parts = [
        "# Posterior calibration (ABC rejection + history matching)",
        "",
        f"Command: `{command}`  ",
        f"Commit: `{commit}`; {len(result.params)} parameters, {spec.points} Latin hypercube points, "
        f"{len(result.cases)} in-sample cases, {spec.runs} runs per config per point, seed {spec.seed} at every "
        f"point (common random numbers); {result.seconds.get('total', 0) / 60:.1f} min.",
        "",
        "**Acceptance rule** (abm/validation/posterior.py): per case z = distance outside the band / "
        f"sqrt(MC se² + t²), t = max({acc.tolerance:g} × crossed bound, {acc.floor:g}); cases that no design "
        "point passes are structural misses and left out; a point is accepted when its "
        f"{'second-' if acc.rank == 2 else f'rank-{acc.rank} '}largest z is at most {acc.cutoff:g} (history "
        f"matching) and its summed z is within the best {acc.quantile:g} quantile of the design (ABC rejection, "
        f"D ≤ {v.threshold:.3g}).",
        "",
        f"**Accepted:** {n_acc} of {spec.points} points "
        f"({int(v.points['non_implausible'].sum())} non-implausible, {int(v.points['abc'].sum())} within the ABC "
        "quantile).",
        "",
        f"**Pinned down** (KS Holm p < {spec.pinning.alpha:g} and width ratio ≤ {spec.pinning.width_ratio:g}): "
        + (", ".join(f"`{p}`" for p in pinned) or "none")
        + ". **Constrained** (KS significant, wider): "
        + (", ".join(f"`{p}`" for p in constrained) or "none")
        + ".",
        "",
        "**Structural misses** (passed by no design point; left out of the acceptance): "
        + (", ".join(f"`{c}`" for c in v.structural) or "none")
        + ". Of these, no point comes within z ≤ "
        f"{acc.cutoff:g} of the band: " + (", ".join(f"`{c}`" for c in far) or "none") + ".",
        "",
        f"**Shipped defaults** ({spec.defaults_from}): summed z {ref['distance']:.3g} (rank {ref['distance_rank']} "
        f"among the {spec.points} design points), implausibility {ref['implausibility']:.3g}; "
        + ("they would be accepted" if ref["accepted"] else "they would not be accepted")
        + ". Outside their posterior 5–95% range: "
        + (", ".join(f"`{p}`" for p in outside) or "none")
        + ".",
        "",
        "## Posterior of the world parameters",
        "",
        "Width ratio: posterior 5–95% width over the prior's (on the unit coordinate). KS: one-sample "
        "Kolmogorov–Smirnov of the accepted points against the uniform prior, Holm-adjusted.",
        "",
        summary_markdown(result.summary),
        "",
        "## Cases across the posterior",
        "",
        "pass: share of points whose estimate passes the case's own rule; z: standardised distance from the band.",
        "",
        cases_markdown(result.case_table),
        "",
    ]
    if not result.lever_summary.empty and spec.levers is not None:
        parts.append(
            lever_section(
                spec.levers, result.lever_points, result.lever_summary, result.lever_effects, result.concordance
            )
        )
    return "\n".join(parts)


def lever_section(
    levers: LeverSpec,
    points: Sequence[Any],
    lever_summary: pd.DataFrame,
    effects: pd.DataFrame,
    concordance: pd.DataFrame,
) -> str:
    """The report's lever part (also rebuilt from lever_robustness.csv: every input is in it)."""
    return "\n".join(
        [
            "## Lever effects across the posterior",
            "",
            f"{levers.file} on {levers.scenario} at {len(points)} accepted points spread over the "
            f"posterior (points {', '.join(map(str, points))}), {levers.runs} paired runs per arm; "
            "Δ = alternative − reference at the horizon, median [min, max] over the points; rank 1 = most "
            "pacifying (lowers P(spiral), raises P(de-escalation) or P(deal) most); detectable: any of the three "
            f"outcomes with Holm-adjusted McNemar p < {levers.alpha:g} within the point's table (in brackets: "
            "the `abm levers` verdict, which also counts the row's carrying quantity and the quiet curve); "
            "direction: the sign of the detectable effects (`flips` when they disagree).",
            "",
            levers_markdown(lever_summary, effects),
            "",
            "Rank concordance across the points (Kendall's W from the Friedman statistic; 1 = identical rankings):",
            "",
            concordance_markdown(concordance),
            "",
        ]
    )
