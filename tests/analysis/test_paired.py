"""Paired and independent tests / intervals against published values and independent formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from abm.stats import PairedCounts, independent_diff, mcnemar_pvalue, newcombe_paired_ci, paired_diff


def table(n11: int, n12: int, n21: int, n22: int) -> PairedCounts:
    """A published paired table [[n11, n12], [n21, n22]] with rows = the reference (their p1+) arm.

    Published intervals are for p1+ - p+1; ours is p_b - p_a, so the row margin is arm B
    (n12 = outcome in B only) and the column margin arm A.
    """
    return PairedCounts(both=n11, a_only=n21, b_only=n12, neither=n22)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Cavo et al. 2012, Fagerland, Lydersen & Laake 2014 (Stat Med 33:2850) / contingencytables R package.
        (table(59, 6, 16, 80), (-0.0621, -0.1186, -0.0046)),
        # Newcombe 1998 (Stat Med 17:2635), Table II example (a): 36, 12, 2, 0.
        (table(36, 12, 2, 0), (0.2000, 0.0569, 0.3404)),
        # Bentur et al. 2009, Fagerland et al. 2014: 1, 1, 7, 12.
        (table(1, 1, 7, 12), (-0.2857, -0.5069, -0.0256)),
    ],
)
def test_newcombe_paired_interval_matches_published_values(counts, expected) -> None:
    res = paired_diff(counts)
    assert (round(res.diff, 4), *np.round(newcombe_paired_ci(counts), 4)) == pytest.approx(expected, abs=1e-4)
    assert (res.ci_low, res.ci_high) == pytest.approx(newcombe_paired_ci(counts))


def test_paired_interval_is_antisymmetric_in_the_arms() -> None:
    c = PairedCounts(30, 7, 19, 44)
    swapped = PairedCounts(30, 19, 7, 44)
    low, high = newcombe_paired_ci(c)
    assert newcombe_paired_ci(swapped) == pytest.approx((-high, -low))


def test_mcnemar_exact_matches_binomial_and_published_value() -> None:
    # inferr (R) test: matrix(c(172, 7, 6, 15), 2) -> exact p = 1.0000, chi2 (uncorrected) = 0.0769
    assert mcnemar_pvalue(PairedCounts(172, 6, 7, 15)) == (1.0, "mcnemar_exact")
    c = PairedCounts(40, 3, 15, 42)
    p, test = mcnemar_pvalue(c)
    assert test == "mcnemar_exact"
    assert p == pytest.approx(stats.binomtest(3, 18, 0.5).pvalue)


def test_mcnemar_uses_corrected_chi2_with_many_discordant_pairs() -> None:
    c = PairedCounts(100, 12, 30, 58)
    p, test = mcnemar_pvalue(c)
    chi2 = (abs(12 - 30) - 1) ** 2 / (12 + 30)
    assert test == "mcnemar_chi2"
    assert p == pytest.approx(stats.chi2.sf(chi2, 1))


def test_no_discordant_pairs_means_no_evidence() -> None:
    res = paired_diff(PairedCounts(5, 0, 0, 95))
    assert res.p_value == 1.0 and res.diff == 0.0
    assert res.ci_low < 0 < res.ci_high
    none = paired_diff(PairedCounts(0, 0, 0, 100))  # outcome never happens in either arm
    assert none.p_value == 1.0 and none.ci_low <= 0 <= none.ci_high


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # Newcombe 1998 (Stat Med 17:873), Table II, method 10: 56/70 - 48/80 and 9/10 - 3/10.
        ((48, 80, 56, 70), (0.0524, 0.3339)),
        ((3, 10, 9, 10), (0.1705, 0.8090)),
    ],
)
def test_independent_newcombe_interval_matches_published_values(args, expected) -> None:
    res = independent_diff(*args)
    assert (res.ci_low, res.ci_high) == pytest.approx(expected, abs=1e-4)
    assert res.test == "score_2indep"


def test_independent_degenerate_arms_give_p_one() -> None:
    assert independent_diff(0, 50, 0, 80).p_value == 1.0
    assert independent_diff(50, 50, 80, 80).p_value == 1.0
    assert independent_diff(0, 0, 3, 10).test == "none"


def test_counts_from_arrays() -> None:
    a = np.array([1, 1, 0, 0, 1], dtype=bool)
    b = np.array([1, 0, 1, 0, 1], dtype=bool)
    c = PairedCounts.from_arrays(a, b)
    assert (c.both, c.a_only, c.b_only, c.neither, c.n) == (2, 1, 1, 1, 5)
    assert (c.count_a, c.count_b) == (3, 3)
    with pytest.raises(ValueError):
        PairedCounts.from_arrays(a, b[:3])
