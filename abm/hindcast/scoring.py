"""Proper scores, skill and bootstrap intervals for probability forecasts of yes/no events.

Pure functions of arrays (no model, no files), so the arithmetic can be checked on hand-made
cases. Conventions:

* Brier score: (p - o)^2 per forecast, averaged; 0 is perfect, 0.25 is p = 0.5 every time.
* Log score: -ln(p) if the event happened, -ln(1 - p) if not, in nats, averaged (the
  "ignorance" form: lower is better, 0 is perfect). Probabilities are clipped to
  [EPS, 1 - EPS] with EPS = 0.01 first, so one confident miss costs at most ln(100) = 4.6 nats
  instead of infinity. A Monte Carlo p of 0 (no run out of N had the event) is common, so
  clipping is needed; the Brier score uses the unclipped p.
* Skill score: 1 - score_model / score_baseline; > 0 beats the baseline, 1 is perfect,
  undefined (NaN) when the baseline scores 0.
* Bootstrap (`abm.stats.cluster_bootstrap_means`, `percentile_interval`): forecasts are resampled
  by cluster (the forecast date: every question asked on a date goes together), B resamples,
  percentile interval. The generator is seeded, so the same inputs and seed give the same
  interval. Forecasts made a week apart with overlapping 30-day windows are not independent,
  so these intervals are too narrow, not too wide.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from abm.defaults import HINDCAST_BOOTSTRAP as N_BOOT
from abm.defaults import HINDCAST_EPS as EPS
from abm.stats import ALPHA, cluster_bootstrap_means, percentile_interval, wilson

LEVEL = 1 - ALPHA  # 0.95
RELIABILITY_BINS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def clip(p: np.ndarray | float, eps: float = EPS) -> np.ndarray:
    """Probabilities clipped to [eps, 1 - eps]."""
    return np.clip(np.asarray(p, dtype=float), eps, 1.0 - eps)


def brier(p: np.ndarray | float, o: np.ndarray | float) -> np.ndarray:
    """Squared error of each forecast: (p - o)^2."""
    return (np.asarray(p, dtype=float) - np.asarray(o, dtype=float)) ** 2


def log_loss(p: np.ndarray | float, o: np.ndarray | float, eps: float = EPS) -> np.ndarray:
    """Negative log-likelihood of each outcome in nats, after clipping p to [eps, 1 - eps]."""
    q = clip(p, eps)
    o = np.asarray(o, dtype=float)
    return -(o * np.log(q) + (1.0 - o) * np.log(1.0 - q))


def skill(model: float, baseline: float) -> float:
    """1 - model / baseline (NaN when the baseline is 0 or either is NaN)."""
    if not np.isfinite(model) or not np.isfinite(baseline) or baseline == 0.0:
        return float("nan")
    return 1.0 - model / baseline


def stable_key(*parts: object) -> int:
    """A process-independent integer key for seeding (Python's hash() is salted per process)."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def skill_replicates(model: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """1 - model / baseline, replicate by replicate (NaN where the baseline is 0)."""
    model, baseline = np.asarray(model, dtype=float), np.asarray(baseline, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(baseline > 0.0, 1.0 - model / baseline, np.nan)


def score_block(
    p: np.ndarray,
    o: np.ndarray,
    clusters: np.ndarray,
    baselines: dict[str, np.ndarray],
    n_boot: int = N_BOOT,
    seed: int | Sequence[int] = 0,
    level: float = LEVEL,
    eps: float = EPS,
) -> dict[str, float]:
    """Scores of one set of forecasts with bootstrap intervals; `baselines` maps name -> probabilities.

    Returns n, n_events, mean_p, event_rate, brier (+ interval), log_score (+ interval), and for
    each baseline its brier and log score and the model's Brier and log skill against it (Brier
    skill with an interval: model and baseline are resampled together, paired by forecast).
    """
    p, o, clusters = np.asarray(p, dtype=float), np.asarray(o, dtype=float), np.asarray(clusters)
    out: dict[str, float] = {"n": float(len(p)), "n_events": float(o.sum()) if len(o) else 0.0}
    if len(p) == 0:
        return out
    names = list(baselines)
    columns = [brier(p, o), log_loss(p, o, eps)]
    for name in names:
        columns += [brier(baselines[name], o), log_loss(baselines[name], o, eps)]
    table = np.column_stack(columns)
    means = table.mean(axis=0)
    reps = cluster_bootstrap_means(table, clusters, n_boot, seed)
    out.update(mean_p=float(p.mean()), event_rate=float(o.mean()), brier=float(means[0]), log_score=float(means[1]))
    out["brier_ci_low"], out["brier_ci_high"] = percentile_interval(reps[:, 0], level)
    out["log_ci_low"], out["log_ci_high"] = percentile_interval(reps[:, 1], level)
    for i, name in enumerate(names):
        b, lg = 2 + 2 * i, 3 + 2 * i
        out[f"brier_{name}"], out[f"log_{name}"] = float(means[b]), float(means[lg])
        out[f"skill_{name}"] = skill(means[0], means[b])
        out[f"skill_{name}_ci_low"], out[f"skill_{name}_ci_high"] = percentile_interval(
            skill_replicates(reps[:, 0], reps[:, b]), level
        )
        out[f"log_skill_{name}"] = skill(means[1], means[lg])
    return out


def reliability(p: np.ndarray, o: np.ndarray, bins: Sequence[float] = RELIABILITY_BINS) -> pd.DataFrame:
    """Calibration table: per probability bin the count, mean forecast, observed frequency, Wilson 95%.

    Bins are closed on the left, the last one on both sides; empty bins are left out.
    """
    p, o = np.asarray(p, dtype=float), np.asarray(o, dtype=float)
    edges = np.asarray(bins, dtype=float)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        sel = which == b
        n = int(sel.sum())
        if n == 0:
            continue
        k = float(o[sel].sum())
        low, high = wilson(k, n)
        rows.append(
            {
                "bin_low": edges[b],
                "bin_high": edges[b + 1],
                "n": n,
                "mean_p": float(p[sel].mean()),
                "observed": k / n,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows, columns=["bin_low", "bin_high", "n", "mean_p", "observed", "ci_low", "ci_high"])
