"""Every interval and test of the tool, in one module at the bottom layer: pure functions on counts and arrays.

* `wilson`: score interval of one proportion (Wilson 1927; good near 0 and 1, Brown, Cai &
  DasGupta 2001), statsmodels' `proportion_confint`. Summaries, curves, figures, validation, the
  hindcast and sequential stopping all call it, so every share in every table has one interval.
* `newcombe_paired_ci`: difference of two paired proportions (the same seeds under two
  settings), Newcombe (1998b) method 10: the Wilson intervals of the two margins combined with
  the correlation phi of the paired table. Checked against Newcombe's Table II (tests/test_stats.py).
* `newcombe_independent_ci`: difference of two independent proportions, Newcombe (1998a)
  method 10, the "square-and-add" of the two Wilson intervals (statsmodels, `method="newcomb"`).
* `mcnemar_pvalue`: McNemar's test of a paired table (statsmodels); `paired_diff` and
  `independent_diff` give one outcome's difference between two arms with its interval and test.
* `adjust`: multiplicity-adjusted p-values, Holm by default (statsmodels `multipletests`).
* `bca_interval`: BCa bootstrap interval of a statistic (scipy), percentile when BCa is undefined;
  `cluster_bootstrap_means` and `percentile_interval`: bootstrap resampling whole clusters.
* `t_half_width`: half-width of the Student t interval of a mean (metric tables, validation).
* `ALPHA` (from `abm.defaults`, where the command line reads it), `Z95`.

Newcombe RG. Improved confidence intervals for the difference between binomial proportions
based on paired data. Stat Med 1998;17:2635-50 (1998b). Newcombe RG. Interval estimation for the
difference between independent proportions: comparison of eleven methods. Stat Med
1998;17:873-90 (1998a).

Imports from the package: `abm.defaults` only (tests/test_layers.py). statsmodels and scipy are
imported on first use, so `abm --help` and the workers, whose sequential stopping calls `wilson`,
stay light (tests/cli/test_cli_imports.py).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from abm.defaults import ALPHA, CORRECTIONS

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975), kept as a number so the runner loads no scipy
EXACT_BELOW = 25  # discordant pairs: below this McNemar uses the exact binomial test
BCA_RESAMPLES = 2000


# ---------------------------------------------------------------------------------------------
# One mean


def t_half_width(x: np.ndarray, alpha: float = ALPHA) -> float:
    """Half-width of the 1 - alpha Student t interval of the mean of `x` (finite values); nan below two values."""
    n = int(x.size)
    if n < 2:
        return math.nan
    from scipy import stats

    return float(stats.t.ppf(1 - alpha / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)


# ---------------------------------------------------------------------------------------------
# One proportion


@overload
def wilson(count: float, n: float, alpha: float = ALPHA) -> tuple[float, float]: ...
@overload
def wilson(count: np.ndarray, n: np.ndarray, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]: ...
def wilson(count: Any, n: Any, alpha: float = ALPHA) -> tuple[Any, Any]:
    """Wilson interval of count/n, clipped to [0, 1] (rounding can leave -1e-17 at a count of 0).

    Scalars give floats, arrays give arrays. `n` may be fractional (a Kish effective sample
    size); a scalar `n <= 0` gives (nan, nan): no runs, no interval.
    """
    from statsmodels.stats.proportion import proportion_confint

    if np.ndim(count) == 0 and np.ndim(n) == 0:
        if n <= 0:
            return math.nan, math.nan
        low, high = proportion_confint(count, n, alpha=alpha, method="wilson")
        return min(max(float(low), 0.0), 1.0), min(max(float(high), 0.0), 1.0)
    low, high = proportion_confint(np.asarray(count, dtype=float), np.asarray(n, dtype=float), alpha, "wilson")
    return np.clip(np.asarray(low, dtype=float), 0.0, 1.0), np.clip(np.asarray(high, dtype=float), 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Two proportions, paired or independent
#
# Why both: with common random numbers run i of arm A and run i of arm B share a seed, so their
# outcomes are correlated and the right analysis works on the paired 2x2 table (McNemar test,
# Newcombe's paired interval). Arms with their own seeds are independent samples (score test,
# Newcombe's square-and-add interval). Convention: `diff = p_b - p_a`, the change in the
# outcome's probability when a setting moves from A to B.


@dataclass(frozen=True, slots=True)
class PairedCounts:
    """2x2 table of paired binary outcomes (arm A by arm B); only `a_only` and `b_only` carry
    information about the difference."""

    both: int
    a_only: int
    b_only: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.a_only + self.b_only + self.neither

    @property
    def count_a(self) -> int:
        return self.both + self.a_only

    @property
    def count_b(self) -> int:
        return self.both + self.b_only

    @classmethod
    def from_arrays(cls, a: np.ndarray, b: np.ndarray) -> PairedCounts:
        """Counts from aligned boolean arrays (element i of each = the same seed in both arms)."""
        a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
        if a.shape != b.shape:
            raise ValueError(f"paired arrays differ in length: {a.shape} vs {b.shape}")
        return cls(int(np.sum(a & b)), int(np.sum(a & ~b)), int(np.sum(~a & b)), int(np.sum(~a & ~b)))


@dataclass(frozen=True, slots=True)
class DiffResult:
    """A difference of proportions with its interval and test."""

    p_a: float
    p_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str


def newcombe_paired_ci(counts: PairedCounts, alpha: float = ALPHA) -> tuple[float, float]:
    """Interval for p_b - p_a from paired data: Newcombe (1998b) method 10.

    The Wilson intervals of the two margins are combined with the correlation phi of the paired
    table. As Newcombe defines method 10, phi's numerator AD - BC is reduced by n/2 when it
    exceeds n/2 and taken as 0 between 0 and n/2 (negative values are kept): without that the
    interval does not reproduce his Table II. Method 11, which this tool does not use, adds
    continuity-corrected Wilson intervals on top.
    """
    n = counts.n
    if n == 0:
        return math.nan, math.nan
    # Newcombe's notation with B as the first margin so that theta = p_b - p_a.
    a, b, c, d = counts.both, counts.b_only, counts.a_only, counts.neither
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, alpha)
    l2, u2 = wilson(a + c, n, alpha)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0
    if margins > 0:
        cross = a * d - b * c
        if cross > n / 2:
            phi = (cross - n / 2) / math.sqrt(margins)
        elif cross < 0:
            phi = cross / math.sqrt(margins)
    theta = p1 - p2
    lower = theta - math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    upper = theta + math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return max(lower, -1.0), min(upper, 1.0)


def newcombe_independent_ci(k1: int, n1: int, k2: int, n2: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Interval for k1/n1 - k2/n2 from independent samples: Newcombe (1998a) method 10, the
    square-and-add of the two Wilson intervals (statsmodels), kept within [-1, 1]."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # statsmodels divides by zero at p = 0 or 1
        low, high = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=alpha)
    return max(float(low), -1.0), min(float(high), 1.0)


def mcnemar_pvalue(counts: PairedCounts, exact_below: int = EXACT_BELOW) -> tuple[float, str]:
    """Two-sided McNemar p-value: exact binomial when few discordant pairs, else chi-square with
    continuity correction (Edwards 1948), both via statsmodels."""
    from statsmodels.stats.contingency_tables import mcnemar

    discordant = counts.a_only + counts.b_only
    if discordant == 0:
        return 1.0, "mcnemar_exact"
    table = [[counts.both, counts.a_only], [counts.b_only, counts.neither]]
    exact = discordant < exact_below
    result = mcnemar(table, exact=exact, correction=True)
    return float(result.pvalue), "mcnemar_exact" if exact else "mcnemar_chi2"


def paired_diff(counts: PairedCounts, alpha: float = ALPHA, exact_below: int = EXACT_BELOW) -> DiffResult:
    """Paired comparison of one outcome: Newcombe method-10 interval and McNemar test."""
    n = counts.n
    if n == 0:
        return DiffResult(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, "none")
    low, high = newcombe_paired_ci(counts, alpha)
    p_value, test = mcnemar_pvalue(counts, exact_below)
    p_a, p_b = counts.count_a / n, counts.count_b / n
    return DiffResult(p_a, p_b, p_b - p_a, low, high, p_value, test)


def independent_diff(count_a: int, n_a: int, count_b: int, n_b: int, alpha: float = ALPHA) -> DiffResult:
    """Independent arms: score test (Miettinen-Nurminen style, statsmodels) and Newcombe's
    square-and-add interval."""
    from statsmodels.stats.proportion import test_proportions_2indep

    if n_a == 0 or n_b == 0:
        return DiffResult(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, "none")
    p_a, p_b = count_a / n_a, count_b / n_b
    low, high = newcombe_independent_ci(count_b, n_b, count_a, n_a, alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # statsmodels divides by zero at p = 0 or 1; handled below
        result = test_proportions_2indep(count_b, n_b, count_a, n_a, method="score", compare="diff")
    p_value = float(result.pvalue)
    if math.isnan(p_value) and p_a == p_b:  # both arms at 0 or 1: no evidence of a difference
        p_value = 1.0
    return DiffResult(p_a, p_b, p_b - p_a, low, high, p_value, "score_2indep")


# ---------------------------------------------------------------------------------------------
# Many tests


def adjust(p_values: Sequence[float], method: str = "holm", alpha: float = ALPHA) -> np.ndarray:
    """Multiplicity-adjusted p-values (statsmodels `multipletests`); NaN rows stay NaN and don't count."""
    from statsmodels.stats.multitest import multipletests

    if method not in CORRECTIONS:
        raise ValueError(f"multiple-testing correction: got {method!r}; allowed: {', '.join(CORRECTIONS)}")
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=alpha, method=method)[1]
    return out


# ---------------------------------------------------------------------------------------------
# Bootstrap


def bca_interval(
    data: tuple[np.ndarray, ...],
    statistic: Callable[..., np.ndarray],
    seed: int,
    alpha: float = ALPHA,
    paired: bool = False,
    resamples: int = BCA_RESAMPLES,
) -> tuple[float, float]:
    """BCa bootstrap interval of a vectorised statistic (scipy), seeded; the percentile interval
    when BCa is undefined (e.g. almost no variation), (nan, nan) when neither is."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns on degenerate BCa; the fallback handles it
            result = stats.bootstrap(
                data,
                statistic,
                n_resamples=resamples,
                method=method,
                paired=paired,
                confidence_level=1 - alpha,
                random_state=rng,
                vectorized=True,
            )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return low, high
    return math.nan, math.nan


def cluster_bootstrap_counts(n_clusters: int, n_boot: int, seed: int | Sequence[int]) -> np.ndarray:
    """(n_boot, n_clusters) matrix: how often each cluster is drawn in each resample."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    draws = rng.integers(0, n_clusters, size=(n_boot, n_clusters))
    counts = np.zeros((n_boot, n_clusters), dtype=np.int64)
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1)
    return counts


def cluster_bootstrap_means(
    values: np.ndarray, clusters: np.ndarray, n_boot: int, seed: int | Sequence[int]
) -> np.ndarray:
    """Bootstrap replicates of mean(values) for each column of `values`, resampling whole clusters.

    `values` is (n_rows,) or (n_rows, k); returns (n_boot,) or (n_boot, k). Each resample draws
    clusters with replacement and takes every row of a drawn cluster as often as it was drawn.
    """
    values = np.asarray(values, dtype=float)
    squeeze = values.ndim == 1
    table = values[:, None] if squeeze else values
    labels, idx = np.unique(np.asarray(clusters), return_inverse=True)
    counts = cluster_bootstrap_counts(len(labels), n_boot, seed)
    weights = counts[:, idx].astype(float)  # (n_boot, n_rows)
    means = weights @ table / weights.sum(axis=1, keepdims=True)
    return means[:, 0] if squeeze else means


def percentile_interval(replicates: np.ndarray, level: float = 1 - ALPHA) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (NaNs dropped)."""
    r = np.asarray(replicates, dtype=float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(r, [tail, 1.0 - tail])
    return float(low), float(high)
