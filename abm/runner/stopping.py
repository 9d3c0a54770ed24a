"""Sequential stopping: add batches of runs to a point until its intervals are narrow enough.

Deterministic: the decision for a point depends only on its runs [0, n), whose seeds are
fixed, so a resumed or re-run experiment adds exactly the same batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from abm.stats import Z95, wilson


def half_width(count: int, n: int) -> float:
    """Half-width of the Wilson 95% interval of count/n."""
    if n <= 0:
        return math.inf
    low, high = wilson(count, n)
    return (high - low) / 2


def widest(counts: Mapping[str, int], n: int, outcomes: Iterable[str]) -> float:
    """Largest half-width over the outcomes (outcomes with count 0 included)."""
    return max(half_width(counts.get(o, 0), n) for o in outcomes)


def next_total(counts: Mapping[str, int], n: int, outcomes: Iterable[str], target: float, batch: int, cap: int) -> int:
    """Runs the point should have next: n when done, else more (a multiple of `batch`, at most `cap`).

    The jump is sized by the normal approximation n* = z² p(1-p) / W² for the widest outcome,
    so a few rounds usually suffice; Wilson is re-checked after each round.
    """
    outcomes = list(outcomes)
    if n >= cap or widest(counts, n, outcomes) <= target:
        return n
    p_var = max((counts.get(o, 0) / n) * (1 - counts.get(o, 0) / n) for o in outcomes) if n else 0.25
    needed = math.ceil(Z95**2 * max(p_var, 1.0 / max(n, 1)) / target**2)
    step = max(batch, math.ceil((needed - n) / batch) * batch)
    return min(cap, n + step)
