"""Bootstrap intervals of mean differences: seeded, sensible, consistent with scipy's rank tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from abm.analysis.metrics_compare import independent_mean_diff, paired_mean_diff


@pytest.fixture
def pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    a = rng.poisson(5, 800).astype(float)
    b = a + rng.poisson(1.0, 800)  # b exceeds a by 1 on average, strongly correlated
    return a, b


def test_paired_is_deterministic_and_covers_the_shift(pairs) -> None:
    a, b = pairs
    first, again = paired_mean_diff(a, b, seed=3), paired_mean_diff(a, b, seed=3)
    assert first == again
    assert first.diff == pytest.approx(b.mean() - a.mean())
    assert first.ci_low < 1.0 < first.ci_high
    assert first.p_value == pytest.approx(stats.wilcoxon(b - a).pvalue)
    assert first.test == "bootstrap_bca+wilcoxon"


def test_pairing_narrows_the_interval(pairs) -> None:
    a, b = pairs
    paired = paired_mean_diff(a, b, seed=1)
    independent = independent_mean_diff(a, b, seed=1)
    assert paired.ci_high - paired.ci_low < 0.5 * (independent.ci_high - independent.ci_low)
    assert independent.p_value == pytest.approx(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)


def test_constant_differences_and_empty_input() -> None:
    a = np.arange(10.0)
    res = paired_mean_diff(a, a + 2, seed=0)
    assert (res.diff, res.ci_low, res.ci_high) == (2.0, 2.0, 2.0)
    same = paired_mean_diff(a, a, seed=0)
    assert same.p_value == 1.0 and same.diff == 0.0
    assert np.isnan(paired_mean_diff(np.array([]), np.array([]), seed=0).diff)
    flat = independent_mean_diff(np.zeros(5), np.zeros(7), seed=0)
    assert (flat.diff, flat.p_value, flat.n, flat.n_b) == (0.0, 1.0, 5, 7)
