"""Interval formulas against published values and basic properties."""

from __future__ import annotations

import numpy as np
import pytest

from abm.stats import wilson
from abm.validation import stats


def test_wilson_matches_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    for k, n in [(0, 10), (3, 10), (10, 10), (81, 263)]:
        low, high = wilson(k, n)
        ref = proportion_confint(k, n, method="wilson")
        assert (low, high) == pytest.approx(ref, abs=1e-9)


def test_newcombe_unpaired_published_example() -> None:
    # Newcombe (1998a), Table II example: 56/70 vs 48/80 -> 0.2000 [0.0524, 0.3339]
    est = stats.newcombe_unpaired(56, 70, 48, 80)
    assert est.value == pytest.approx(0.2)
    assert (est.low, est.high) == pytest.approx((0.0524, 0.3339), abs=5e-4)


def test_newcombe_paired_uses_correlation() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(400) < 0.3
    x = y | (rng.random(400) < 0.1)  # x is y plus a few extra successes: strongly correlated
    paired = stats.newcombe_paired(x, y)
    unpaired = stats.newcombe_unpaired(int(x.sum()), 400, int(y.sum()), 400)
    assert paired.value == pytest.approx(unpaired.value)
    assert paired.low <= paired.value <= paired.high
    assert paired.high - paired.low < unpaired.high - unpaired.low
    assert paired.low > 0  # every discordant pair goes one way


def test_identical_arms_give_zero_difference() -> None:
    x = np.array([1, 0, 1, 1, 0] * 20, dtype=bool)
    est = stats.newcombe_paired(x, x)
    assert est.value == 0 and est.low <= 0 <= est.high


def test_quantile_interval_covers_the_median() -> None:
    x = np.arange(1, 102, dtype=float)  # median 51
    est = stats.quantile(x, 0.5)
    assert est.value == 51
    assert est.low < 51 < est.high
    assert est.low >= 40 and est.high <= 62


def test_clustered_share_widens_for_clustered_events() -> None:
    # 20 runs: half with 10 successes of 10, half with 0 of 10 -> share 0.5, strongly clustered
    y = np.array([10] * 10 + [0] * 10)
    m = np.full(20, 10)
    clustered = stats.clustered_share(y, m)
    independent = stats.share(np.array([1] * 100 + [0] * 100, dtype=bool))
    assert clustered.value == pytest.approx(0.5)
    assert clustered.high - clustered.low > 2 * (independent.high - independent.low)


def test_empty_inputs_are_undefined_not_errors() -> None:
    assert not stats.share(np.array([], dtype=bool)).defined
    assert not stats.mean(np.array([])).defined
    assert not stats.quantile(np.array([]), 0.5).defined
    assert not stats.clustered_share(np.array([]), np.array([])).defined
