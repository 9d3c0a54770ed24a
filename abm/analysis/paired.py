"""Tests and intervals for a difference of two proportions, paired or independent: pure functions on counts.

Why both: with common random numbers run i of arm A and run i of arm B share a seed, so their
outcomes are correlated and the right analysis works on the paired 2x2 table (McNemar test,
Newcombe's paired score interval). Arms with their own seeds are independent samples (score
test, Newcombe's hybrid score interval). Treating paired data as independent would waste the
variance reduction CRN buys; treating independent data as paired would be wrong.

Convention everywhere: `diff = p_b - p_a`, the change in the outcome's probability when the
lever moves from value A to value B.

Paired table of one outcome over n pairs (`PairedCounts`): `both` (outcome in A and B),
`a_only`, `b_only`, `neither`. Only the discordant cells `a_only` and `b_only` carry
information about the difference.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from abm.analysis.intervals import wilson

ALPHA = 0.05
EXACT_BELOW = 25  # discordant pairs: below this McNemar uses the exact binomial test


@dataclass(frozen=True, slots=True)
class PairedCounts:
    """2x2 table of paired binary outcomes (arm A by arm B)."""

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


def mcnemar_pvalue(counts: PairedCounts, exact_below: int = EXACT_BELOW) -> tuple[float, str]:
    """Two-sided McNemar p-value: exact binomial when few discordant pairs, else chi-square with
    continuity correction (Edwards 1948), both via statsmodels."""
    discordant = counts.a_only + counts.b_only
    if discordant == 0:
        return 1.0, "mcnemar_exact"
    table = [[counts.both, counts.a_only], [counts.b_only, counts.neither]]
    exact = discordant < exact_below
    result = mcnemar(table, exact=exact, correction=True)
    return float(result.pvalue), "mcnemar_exact" if exact else "mcnemar_chi2"


def newcombe_paired_ci(counts: PairedCounts, alpha: float = ALPHA) -> tuple[float, float]:
    """Interval for p_b - p_a from paired data: Newcombe (1998) method 10, "square-and-add" score.

    Newcombe RG. Improved confidence intervals for the difference between binomial proportions
    based on paired data. Stat Med 1998;17:2635-50. The Wilson intervals of the two marginal
    proportions are combined with the correlation phi of the paired table; phi gets Newcombe's
    continuity correction (AD - BC reduced by n/2 when it exceeds n/2, zero in between), as in
    Fagerland, Lydersen & Laake (2014, Stat Med 33:2850), whose worked examples the tests use.
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
    """Independent arms: score test (Miettinen-Nurminen style, statsmodels) and Newcombe's hybrid
    score interval (Newcombe 1998, Stat Med 17:873, method 10)."""
    if n_a == 0 or n_b == 0:
        return DiffResult(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, "none")
    p_a, p_b = count_a / n_a, count_b / n_b
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # statsmodels divides by zero at p = 0 or 1; handled below
        low, high = confint_proportions_2indep(
            count_b, n_b, count_a, n_a, method="newcomb", compare="diff", alpha=alpha
        )
        result = test_proportions_2indep(count_b, n_b, count_a, n_a, method="score", compare="diff")
    p_value = float(result.pvalue)
    if math.isnan(p_value) and p_a == p_b:  # both arms at 0 or 1: no evidence of a difference
        p_value = 1.0
    return DiffResult(p_a, p_b, p_b - p_a, float(low), float(high), p_value, "score_2indep")
