"""Lever robustness across a posterior (step 7 of the procedure in `abm.validation.posterior`).

At accepted points spread over the posterior (`spread`) and at the shipped defaults, the lever table
of `abm levers` and from its runs the paired effect of each row on the three outcomes
(`lever_effects_at`); the rows' ranks (`rank_levers`) and how they agree across the points
(`lever_robustness`: Kendall's W from scipy's Friedman statistic, mean pairwise Kendall tau).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import cdist

from abm.config import load_config
from abm.stats import ALPHA, adjust

OUTCOMES: tuple[str, ...] = ("spiral", "deescalation", "deal")
# rank 1 = the most pacifying lever: lowers P(spiral) most, raises P(de-escalation) and P(deal) most
PACIFYING_SIGN = {"spiral": -1.0, "deescalation": 1.0, "deal": 1.0}


def spread(unit: pd.DataFrame, distance: pd.Series, k: int) -> list[Any]:
    """K points spread over a posterior: the best one (smallest D), then greedily the one farthest
    (in the unit cube) from those already chosen (maximin), so the lever table sees the posterior's range."""
    if k <= 0 or unit.empty:
        return []
    order = distance.loc[unit.index].sort_values(kind="stable").index
    chosen = [order[0]]
    coords = unit.to_numpy(dtype=float)
    index = list(unit.index)
    while len(chosen) < min(k, len(unit)):
        nearest = cdist(coords, unit.loc[chosen].to_numpy(dtype=float)).min(axis=1)
        nearest[[index.index(c) for c in chosen]] = -1.0
        chosen.append(index[int(np.argmax(nearest))])
    return chosen


# ---------------------------------------------------------------- levers


def lever_effects_at(
    scenario_path: str | Path,
    lever_file: str | Path,
    point: Mapping[str, Any],
    runs: int,
    seed: int,
    *,
    alpha: float = ALPHA,
    jobs: int = 1,
    backend: str = "serial",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """The lever table at one parameter point: per row and outcome the paired effect at the horizon.

    The runs are those of `abm levers` (`run_lever_table`, every arm on the same seeds, the point's
    values set like --set); P(de-escalation) is not one of its curves, so the three outcome shares
    are tested here on its runs with the same paired machinery, Holm-adjusted across the table."""
    from abm.analysis.compare import paired_frames
    from abm.analysis.effects import DETECTABLE, point_of, proportion_effect
    from abm.analysis.lever_table import run_lever_table
    from abm.analysis.levers import load_levers, plan_levers

    fixed = dict(point)
    scenario = load_config(scenario_path, fixed)
    plan = plan_levers(scenario, load_levers(lever_file), fixed)
    result = run_lever_table(
        scenario, plan, runs, seed, alpha=alpha, jobs=jobs, backend=backend, scheduler=scheduler, overrides=fixed
    )
    ran = result.comparison
    if ran.runs is None or result.table.empty:
        raise RuntimeError(f"lever table at {fixed}: the runs did not finish ({ran.status}: {ran.first_error})")
    table_verdict = result.table.groupby("row")["verdict"].first()
    records = []
    for i, row in enumerate(plan.rows):
        pa = point_of(ran.design, row.lever, row.ref_index)
        pb = point_of(ran.design, row.lever, row.alt_index)
        a, b = paired_frames(ran.runs, [(pa, pb)])
        for outcome in OUTCOMES:
            e = proportion_effect(a["outcome"].eq(outcome).to_numpy(), b["outcome"].eq(outcome).to_numpy(), alpha)
            records.append(
                {
                    "row": i,
                    "lever": f"{row.label}: {row.reference} → {row.alternative}",
                    "outcome": outcome,
                    "n": e.n,
                    "p_reference": e.a,
                    "p_alternative": e.b,
                    "diff": e.diff,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "p_value": e.p_value,
                    "table_verdict": table_verdict.get(i, ""),
                }
            )
    out = pd.DataFrame(records)
    out["p_adjusted"] = adjust(out["p_value"].to_numpy(), "holm", alpha)
    out["detectable"] = out["p_adjusted"] < alpha
    out["row_detectable"] = out.groupby("row")["detectable"].transform("any")
    out["table_detectable"] = out["table_verdict"].eq(DETECTABLE)
    return out


def rank_levers(effects: pd.DataFrame) -> pd.Series:
    """Rank of each lever row within its point and outcome: 1 = most pacifying (lowers P(spiral) or
    raises P(de-escalation) / P(deal) the most); ties share the average rank."""
    score = effects["diff"] * effects["outcome"].map(PACIFYING_SIGN)
    return score.groupby([effects["point"], effects["outcome"]]).rank(ascending=False, method="average")


def kendall_w(matrix: np.ndarray) -> tuple[float, float]:
    """Kendall's W of the rankings in `matrix` (rows: points = judges, columns: levers = items) and the
    Friedman test's p-value, from scipy's tie-corrected Friedman statistic: W = chi2 / (m (n - 1))."""
    m, n = matrix.shape
    if m < 2 or n < 3:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = stats.friedmanchisquare(*matrix.T)
        except ValueError:
            return math.nan, math.nan
    if not math.isfinite(res.statistic):
        return math.nan, math.nan
    return float(res.statistic) / (m * (n - 1)), float(res.pvalue)


def mean_kendall_tau(matrix: np.ndarray) -> float:
    """Mean Kendall tau-b between every pair of points' lever scores (scipy)."""
    taus = []
    for i, j in itertools.combinations(range(matrix.shape[0]), 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            tau = stats.kendalltau(matrix[i], matrix[j]).statistic
        if math.isfinite(tau):
            taus.append(tau)
    return float(np.mean(taus)) if taus else math.nan


def _direction(diffs: pd.Series, detectable: pd.Series) -> str:
    """`holds (+)`/`holds (-)` when every detectable effect has one sign, `flips` when they disagree,
    `never detected` when none is detectable."""
    signs = set(np.sign(diffs[detectable.to_numpy()]).astype(int)) - {0}
    if not detectable.any():
        return "never detected"
    if len(signs) > 1:
        return "flips"
    return "holds (+)" if signs == {1} else "holds (-)" if signs == {-1} else "never detected"


def lever_robustness(effects: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per lever row and outcome across posterior points: effect range, ranks, direction, detectability;
    and per outcome the rank concordance (Kendall's W, Friedman p, mean Kendall tau).

    `effects`: `lever_effects_at` tables stacked with a `point` column (posterior points only)."""
    effects = effects.assign(rank=rank_levers(effects))
    k = effects["point"].nunique()
    rows = []
    for (row, outcome), part in effects.groupby(["row", "outcome"], sort=True):
        rows.append(
            {
                "row": row,
                "lever": part["lever"].iloc[0],
                "outcome": outcome,
                "points": k,
                "diff_median": float(part["diff"].median()),
                "diff_min": float(part["diff"].min()),
                "diff_max": float(part["diff"].max()),
                "rank_median": float(part["rank"].median()),
                "rank_min": float(part["rank"].min()),
                "rank_max": float(part["rank"].max()),
                "detectable_points": int(part["detectable"].sum()),
                "row_detectable_points": int(part["row_detectable"].sum()),
                "table_detectable_points": int(part["table_detectable"].sum()) if "table_detectable" in part else 0,
                "same_sign_share": _same_sign_share(part["diff"]),
                "direction": _direction(part["diff"], part["detectable"]),
            }
        )
    summary = pd.DataFrame(rows)
    concord = []
    for outcome in OUTCOMES:
        part = effects[effects["outcome"] == outcome]
        if part.empty:
            continue
        score = part.assign(score=part["diff"] * PACIFYING_SIGN[outcome]).pivot(
            index="point", columns="row", values="score"
        )
        w, p = kendall_w(score.to_numpy(dtype=float))
        concord.append(
            {
                "outcome": outcome,
                "points": score.shape[0],
                "levers": score.shape[1],
                "kendall_w": w,
                "friedman_p": p,
                "mean_kendall_tau": mean_kendall_tau(score.to_numpy(dtype=float)),
            }
        )
    return summary, pd.DataFrame(concord)


def _same_sign_share(diffs: pd.Series) -> float:
    """Share of points whose effect has the most common sign (zeros count with neither)."""
    signs = np.sign(diffs.to_numpy(dtype=float))
    return float(max((signs > 0).sum(), (signs < 0).sum()) / len(signs)) if len(signs) else math.nan
