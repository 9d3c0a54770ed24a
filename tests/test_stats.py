"""`abm.stats` against published worked examples, and every layer getting the same numbers from it."""

from __future__ import annotations

import numpy as np
import pytest

from abm import defaults, stats
from abm.validation import stats as validation_stats


def newcombe_table(e: int, f: int, g: int, h: int) -> stats.PairedCounts:
    """Newcombe's paired table: e both +, f first + only, g second + only, h both -, for p1 - p2
    with p1 = (e + f) / n; ours is p_b - p_a, so the first member of the pair is arm B."""
    return stats.PairedCounts(both=e, a_only=g, b_only=f, neither=h)


# Newcombe RG (1998b), Stat Med 17:2635-50, Table II, method 10 (score intervals of the margins,
# phi with AD - BC reduced by n/2): the four worked examples and their 95% limits.
TABLE_II_METHOD_10 = [
    ((36, 12, 2, 0), 0.2000, (0.0569, 0.3404)),
    ((18, 12, 2, 18), 0.2000, (0.0562, 0.3290)),
    ((53, 0, 0, 1), 0.0000, (-0.0729, 0.0729)),
    ((0, 30, 0, 0), 1.0000, (0.8395, 1.0000)),
]


@pytest.mark.parametrize(("cells", "diff", "limits"), TABLE_II_METHOD_10)
def test_newcombe_paired_method_10_reproduces_table_ii(cells, diff, limits) -> None:
    counts = newcombe_table(*cells)
    low, high = stats.newcombe_paired_ci(counts)
    assert (round(low, 4), round(high, 4)) == limits
    assert stats.paired_diff(counts).diff == pytest.approx(diff)


def test_the_phi_correction_is_what_table_ii_needs() -> None:
    """Example (b) is the one where AD - BC (300) exceeds n/2 (25): with phi uncorrected, the
    variant `abm.validation.stats` used before, the limits would be [0.0618, 0.3239]."""
    low, high = stats.newcombe_paired_ci(newcombe_table(18, 12, 2, 18))
    assert (round(low, 4), round(high, 4)) == (0.0562, 0.3290)


def test_one_paired_interval_everywhere() -> None:
    """The table of issue 14 (30/5/15/50) gives one interval, whichever layer asks."""
    counts = newcombe_table(30, 15, 5, 50)
    low, high = stats.newcombe_paired_ci(counts)
    assert (round(low, 4), round(high, 4)) == (0.0122, 0.1849)
    x = np.array([1] * 30 + [1] * 15 + [0] * 5 + [0] * 50, dtype=bool)  # the first member of each pair
    y = np.array([1] * 30 + [0] * 15 + [1] * 5 + [0] * 50, dtype=bool)
    est = validation_stats.newcombe_paired(x, y)
    assert est.value == pytest.approx(0.1) and (est.low, est.high) == (low, high)
    assert est.note == "discordant pairs: 15 only in the first arm, 5 only in the second"


def test_newcombe_independent_method_10_reproduces_newcombe_1998a() -> None:
    # Newcombe RG (1998a), Stat Med 17:873-90, Table II, method 10: 56/70 - 48/80 and 9/10 - 3/10.
    assert np.round(stats.newcombe_independent_ci(56, 70, 48, 80), 4).tolist() == [0.0524, 0.3339]
    assert np.round(stats.newcombe_independent_ci(9, 10, 3, 10), 4).tolist() == [0.1705, 0.8090]
    assert stats.newcombe_independent_ci(0, 200, 300, 300)[0] == -1.0  # kept within [-1, 1]
    est = validation_stats.newcombe_unpaired(56, 70, 48, 80)
    assert (est.low, est.high) == stats.newcombe_independent_ci(56, 70, 48, 80)
    res = stats.independent_diff(48, 80, 56, 70)
    assert (res.ci_low, res.ci_high) == stats.newcombe_independent_ci(56, 70, 48, 80)


def test_wilson_published_example() -> None:
    # Newcombe RG (1998c), Stat Med 17:857-72, Table I: 81/263 -> 0.2553 to 0.3662 (method 3, score).
    assert np.round(stats.wilson(81, 263), 4).tolist() == [0.2553, 0.3662]
    assert stats.wilson(0, 10)[0] == 0.0
    low, high = stats.wilson(np.array([0, 5]), np.array([10, 10]))
    assert list(zip(low.tolist(), high.tolist(), strict=True)) == [stats.wilson(0, 10), stats.wilson(5, 10)]


def test_alpha_is_one_number_and_z95_is_its_normal_quantile() -> None:
    from scipy.stats import norm

    assert stats.ALPHA is defaults.ALPHA == 0.05
    assert float(norm.ppf(1 - stats.ALPHA / 2)) == stats.Z95


def test_holm_adjustment_matches_statsmodels_and_skips_nan() -> None:
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    out = stats.adjust(p)
    assert np.isnan(out[2])
    assert out[~np.isnan(p)] == pytest.approx(multipletests(p[~np.isnan(p)], method="holm")[1])
    with pytest.raises(ValueError, match="sidak"):
        stats.adjust(p, "sidak")


def test_bca_interval_brackets_the_mean_and_is_seeded() -> None:
    x = np.random.default_rng(4).exponential(size=200)
    first = stats.bca_interval((x,), lambda s, axis=-1: np.mean(s, axis=axis), seed=9)
    again = stats.bca_interval((x,), lambda s, axis=-1: np.mean(s, axis=axis), seed=9)
    assert first == again and first[0] < x.mean() < first[1]


def test_t_half_width_is_the_student_interval_of_the_mean() -> None:
    """One t interval for metric tables and validation: [1, 2, 3, 4] gives 2.5 ± 3.182446 × 1.290994 / 2 = 2.0543."""
    import math

    import numpy as np

    from abm.stats import t_half_width

    assert t_half_width(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(3.182446 * 1.290994 / 2, abs=1e-5)
    assert t_half_width(np.array([1.0, 2.0, 3.0, 4.0]), alpha=0.5) < t_half_width(np.array([1.0, 2.0, 3.0, 4.0]))
    assert math.isnan(t_half_width(np.array([7.0]))) and math.isnan(t_half_width(np.array([])))
