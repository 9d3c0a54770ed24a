"""The Wilson score interval of a proportion: one function, statsmodels underneath, for the whole tool.

Summaries, figures, validation, the hindcast, paired comparisons and sequential stopping all
call this, so every interval in every table is the same computation. statsmodels is imported
on first use (about half a second), so `abm --help` and the workers stay light.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np

ALPHA = 0.05


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
