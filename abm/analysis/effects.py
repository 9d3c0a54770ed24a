"""One paired effect (setting B minus setting A on the same seeds) and how the effect tables show it.

`abm levers` and `abm mechanisms` both report, per row, the change in one quantity when one
setting moves, on runs paired by common random numbers. The statistics are those of `abm
compare` (`abm.stats`: Newcombe's paired interval and McNemar for proportions;
`abm.analysis.metrics_compare`: paired BCa bootstrap and Wilcoxon for means); this module only
puts them in one shape (`Effect`) and writes the verdict and the table cells the same way for
both commands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from abm.analysis.compare import Design, format_p
from abm.analysis.metrics_compare import paired_mean_diff
from abm.analysis.tables import write_text
from abm.stats import ALPHA, PairedCounts, paired_diff

NOT_TOLD = "not told from zero at {n} paired runs"
DETECTABLE = "detectable"


@dataclass(frozen=True, slots=True)
class Effect:
    """The quantity under A and under B, their paired difference B - A with its interval, and the test."""

    n: int
    a: float
    b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str


def proportion_effect(hit_a: np.ndarray, hit_b: np.ndarray, alpha: float = ALPHA) -> Effect:
    """A share on aligned pairs: Newcombe paired score interval and McNemar test."""
    counts = PairedCounts.from_arrays(hit_a, hit_b)
    res = paired_diff(counts, alpha)
    return Effect(counts.n, res.p_a, res.p_b, res.diff, res.ci_low, res.ci_high, res.p_value, res.test)


def mean_effect(x_a: np.ndarray, x_b: np.ndarray, seed: int, alpha: float = ALPHA) -> Effect:
    """A mean on aligned pairs (pairs with a missing value left out): paired BCa bootstrap, Wilcoxon."""
    x_a, x_b = np.asarray(x_a, dtype=float), np.asarray(x_b, dtype=float)
    keep = np.isfinite(x_a) & np.isfinite(x_b)
    res = paired_mean_diff(x_a[keep], x_b[keep], seed, alpha)
    return Effect(res.n, res.mean_a, res.mean_b, res.diff, res.ci_low, res.ci_high, res.p_value, res.test)


def point_of(design: Design, lever: int, value: int) -> int:
    """The design point (one lever at a time from the base) where `lever` is at its `value`-th value
    and every other lever at its first: the two arms of a row are compared on these points only."""
    arm = tuple(value if j == lever else 0 for j in range(len(design.levers)))
    return design.arms.index(arm)


def row_seed(seed: int, index: int) -> int:
    """The bootstrap seed of one table row: fixed by the master seed and the row, whatever else runs."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def verdict(p_adjusted: Sequence[float], n: int, alpha: float = ALPHA) -> str:
    """`detectable` when any adjusted p of the row is below alpha, else how many pairs failed to tell it."""
    if any(math.isfinite(p) and p < alpha for p in p_adjusted):
        return DETECTABLE
    return NOT_TOLD.format(n=n)


def signed(x: float, digits: int = 3) -> str:
    """A difference with its sign (+0.012, -0.030, 0.000), `nan` when undefined."""
    if not math.isfinite(x):
        return "nan"
    text = f"{x:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def effect_cell(diff: float, low: float, high: float, p_adjusted: float, digits: int = 3) -> str:
    """`+0.012 [-0.004, +0.028] p=0.41` for a Markdown cell (p adjusted)."""
    return f"{signed(diff, digits)} [{signed(low, digits)}, {signed(high, digits)}] p={format_p(p_adjusted)}"


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """A table as CSV, atomically (a reader never sees half a file)."""
    return write_text(path, frame.to_csv(index=False))
