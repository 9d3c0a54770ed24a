"""Differences of continuous run metrics between two arms: bootstrap interval of the mean, rank test.

Why a bootstrap: deaths and escalation scores are heavy-tailed and zero-inflated, so a
t-interval is unreliable; the BCa bootstrap (`abm.stats.bca_interval`, scipy) adapts to the
skew. Resampling is seeded, so the same data always give the same interval. Paired arms
(common random numbers) resample pairs, i.e. the per-seed differences, which keeps the
correlation CRN creates; independent arms resample each arm on its own.

The p-value comes from a rank test (Wilcoxon signed-rank for pairs, Mann-Whitney U for
independent arms): robust to the tails, but it tests a shift in location, not the mean, so
on skewed metrics it can disagree with the interval of the mean difference. Both are reported.

Convention: `diff = mean_b - mean_a`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from abm.stats import ALPHA, bca_interval


@dataclass(frozen=True, slots=True)
class MeanDiff:
    """A difference of means with its interval and rank-test p-value."""

    n: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def paired_mean_diff(a: np.ndarray, b: np.ndarray, seed: int, alpha: float = ALPHA) -> MeanDiff:
    """Paired arms: BCa bootstrap of the mean of per-pair differences b - a; Wilcoxon signed-rank."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired arrays differ in length: {a.shape} vs {b.shape}")
    n = len(a)
    if n == 0:
        return MeanDiff(0, 0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, "none")
    d = b - a
    diff = float(d.mean())
    if np.ptp(d) == 0:  # every pair differs by the same amount: no sampling variation to resample
        low = high = diff
    else:
        low, high = bca_interval((d,), _mean, seed, alpha)
    p_value = 1.0
    if np.any(d != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p_value = float(stats.wilcoxon(d).pvalue)
    return MeanDiff(n, n, float(a.mean()), float(b.mean()), diff, low, high, p_value, "bootstrap_bca+wilcoxon")


def independent_mean_diff(a: np.ndarray, b: np.ndarray, seed: int, alpha: float = ALPHA) -> MeanDiff:
    """Independent arms: BCa bootstrap resampling each arm separately; Mann-Whitney U."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) == 0 or len(b) == 0:
        return MeanDiff(len(a), len(b), math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, "none")
    diff = float(b.mean() - a.mean())
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        low = high = diff
    else:
        low, high = bca_interval((b, a), _mean_diff, seed, alpha)
    p_value = 1.0
    if np.ptp(np.concatenate([a, b])) != 0:
        p_value = float(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)
    return MeanDiff(
        len(a), len(b), float(a.mean()), float(b.mean()), diff, low, high, p_value, "bootstrap_bca+mannwhitney"
    )
