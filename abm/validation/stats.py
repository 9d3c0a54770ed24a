"""Interval estimates behind the validation quantities (95% by default), as `Estimate`s.

* shares of runs: Wilson score interval (`abm.stats.wilson`);
* differences of shares: Newcombe's method 10 for independent samples (Newcombe 1998a) and for
  paired samples, i.e. the same seeds under two settings (Newcombe 1998b), which uses the
  correlation of the pairs (`abm.stats.newcombe_independent_ci`, `newcombe_paired_ci`);
* means and paired mean differences: Student t; unpaired: Welch;
* quantiles: distribution-free interval from order statistics (binomial);
* shares of events: a ratio estimator with runs as clusters (events of one run are not
  independent), as a Wilson interval on the Kish effective sample size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from abm.stats import ALPHA, PairedCounts, newcombe_independent_ci, newcombe_paired_ci, t_half_width, wilson


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its interval; `n` counts the units it rests on (runs or events)."""

    value: float
    low: float
    high: float
    n: int
    method: str
    note: str = ""

    @property
    def defined(self) -> bool:
        return math.isfinite(self.value)


def undefined(n: int, method: str, note: str) -> Estimate:
    return Estimate(math.nan, math.nan, math.nan, n, method, note)


def share(mask: np.ndarray, alpha: float = ALPHA) -> Estimate:
    n = int(mask.size)
    if n == 0:
        return undefined(0, "Wilson", "no runs meet the condition 'given'")
    k = int(mask.sum())
    low, high = wilson(k, n, alpha)
    return Estimate(k / n, low, high, n, "Wilson")


def mean(x: np.ndarray, alpha: float = ALPHA) -> Estimate:
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return undefined(0, "t", "no values")
    m = float(x.mean())
    if n == 1:
        return Estimate(m, math.nan, math.nan, 1, "t", "one value: no interval")
    half = t_half_width(x, alpha)
    return Estimate(m, m - half, m + half, n, "t")


def quantile(x: np.ndarray, q: float, alpha: float = ALPHA) -> Estimate:
    """Sample quantile with the order-statistic interval [x_(j), x_(k)], coverage >= 1 - alpha."""
    x = np.sort(x[np.isfinite(x)])
    n = int(x.size)
    if n == 0:
        return undefined(0, "order statistics", "no values")
    j = int(stats.binom.ppf(alpha / 2, n, q))
    k = int(stats.binom.ppf(1 - alpha / 2, n, q)) + 1
    low = float(x[max(j, 1) - 1])
    high = float(x[min(k, n) - 1])
    return Estimate(float(np.quantile(x, q)), low, high, n, "order statistics")


def clustered_share(successes: np.ndarray, trials: np.ndarray, alpha: float = ALPHA) -> Estimate:
    """Share sum(successes)/sum(trials) over clusters (runs), with a design-effect Wilson interval."""
    keep = trials > 0
    y, m = successes[keep].astype(float), trials[keep].astype(float)
    clusters, total = int(keep.sum()), float(m.sum())
    if total == 0:
        return undefined(0, "clustered Wilson", "no events match 'events'")
    p = float(y.sum() / total)
    deff = 1.0
    if clusters > 1 and 0.0 < p < 1.0:
        var_cluster = clusters / (clusters - 1) * float(((y - p * m) ** 2).sum()) / total**2
        deff = max(1.0, var_cluster / (p * (1 - p) / total))
    n_eff = total / deff
    low, high = wilson(p * n_eff, n_eff, alpha)
    note = f"{int(total)} events in {clusters} runs, design effect {deff:.2f}"
    return Estimate(p, low, high, int(total), "clustered Wilson", note)


def newcombe_unpaired(k1: int, n1: int, k2: int, n2: int, alpha: float = ALPHA) -> Estimate:
    """p1 - p2 for independent samples, Newcombe (1998a) method 10."""
    if n1 == 0 or n2 == 0:
        return undefined(min(n1, n2), "Newcombe", "an arm has no runs")
    low, high = newcombe_independent_ci(k1, n1, k2, n2, alpha)
    return Estimate(k1 / n1 - k2 / n2, low, high, n1 + n2, "Newcombe (independent)")


def newcombe_paired(x: np.ndarray, y: np.ndarray, alpha: float = ALPHA) -> Estimate:
    """mean(x) - mean(y) for paired 0/1 outcomes, Newcombe (1998b) method 10."""
    counts = PairedCounts.from_arrays(y, x)  # arm A = y, arm B = x: the difference is p_x - p_y
    n = counts.n
    if n == 0:
        return undefined(0, "Newcombe (paired)", "no pairs")
    low, high = newcombe_paired_ci(counts, alpha)
    note = f"discordant pairs: {counts.b_only} only in the first arm, {counts.a_only} only in the second"
    return Estimate(counts.count_b / n - counts.count_a / n, low, high, n, "Newcombe (paired)", note)


def paired_mean_difference(x: np.ndarray, y: np.ndarray, alpha: float = ALPHA) -> Estimate:
    d = x - y
    est = mean(d, alpha)
    return Estimate(est.value, est.low, est.high, est.n, "paired t", est.note)


def welch(x: np.ndarray, y: np.ndarray, alpha: float = ALPHA) -> Estimate:
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    n1, n2 = int(x.size), int(y.size)
    if n1 < 2 or n2 < 2:
        return undefined(n1 + n2, "Welch", "an arm has fewer than two values")
    d = float(x.mean() - y.mean())
    v1, v2 = float(x.var(ddof=1)) / n1, float(y.var(ddof=1)) / n2
    se = math.sqrt(v1 + v2)
    if se == 0.0:
        return Estimate(d, d, d, n1 + n2, "Welch")
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    half = float(stats.t.ppf(1 - alpha / 2, df)) * se
    return Estimate(d, d - half, d + half, n1 + n2, "Welch")
