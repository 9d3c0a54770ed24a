"""Per-run seeds derived up front from (master seed, point key, run index).

A run's seed depends on nothing else: not on chunking, worker count, backend, completion
order or resumption, so run i is the same stream in every setting (serial = parallel).
Point key is the design point index for sweeps, or 0 for every point with common random
numbers (run i of every point then shares its seed, which paired comparisons need).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

SEED_RULE = "SeedSequence([master, point_key, run]).generate_state(1, uint64)[0] >> 1"
DESIGN_KEY = 2**32 - 1  # spawn key for design samplers (LHS, Sobol); never a point index in practice


def run_seed(master: int, point_key: int, run: int) -> int:
    """Seed of one run: a Python int in [0, 2**63) as Mesa requires (numpy ints are refused)."""
    state = np.random.SeedSequence([master, point_key, run]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def run_seeds(master: int, point_key: int, runs: Iterable[int]) -> list[int]:
    """Seeds of several runs of one point, in the order given."""
    return [run_seed(master, point_key, r) for r in runs]


def design_seed(master: int) -> int:
    """Seed for a design sampler, kept apart from every run's stream."""
    return int(np.random.SeedSequence([master, DESIGN_KEY]).generate_state(1, np.uint32)[0])
