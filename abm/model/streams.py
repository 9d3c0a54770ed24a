"""Random streams indexed by (agent, day, purpose), drawn in one block per agent and run.

Why: paired lever comparisons need common random numbers. If draws were consumed in order
from one generator, a lever that adds one draw early would shift every later draw. Here the
uniform used for, say, Iran's choice on day 12 is a fixed cell of Iran's own block, keyed by
the agent's id (not its position), whatever else happened in the run. Drawing a whole block
at once is also far cheaper than scalar draws (MESA_NOTES.md: scalar draws dominate cost).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from enum import IntEnum

import numpy as np
from scipy.special import ndtri


class Draw(IntEnum):
    """Columns of an agent's block: one uniform per purpose per day."""

    DELIBERATE = 0  # whether to take a decision today
    CHOOSE = 1  # which option (inverse-CDF of the logit probabilities)
    TARGET = 2  # which site or commander
    CASUALTY = 3  # whether a hit kills anyone
    SIZE = 4  # how many (through a normal quantile)
    WARN = 5  # whether a warning is passed
    ATTRIBUTE = 6  # whether a proxy attack is pinned on the patron
    SUCCESS = 7  # whether a killing succeeds
    ACCIDENT = 8  # accident under high alert
    ENTRY = 9  # third-party entry
    TALK = 10  # negotiation session
    NUCLEAR = 11  # nuclear step
    BELIEF = 12  # noise on belief updates
    VOTE = 13  # Iraqi parliament vote
    ATTACK = 14  # militia attack on its own


N_DRAWS = len(Draw)


def stream_key(name: str) -> int:
    """Stable 32-bit key of a stream name (crc32, not Python's salted hash)."""
    return zlib.crc32(name.encode())


def generator(seed: int, name: str) -> np.random.Generator:
    """The generator of stream `name` within run `seed`."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream_key(name),)))


class Streams:
    """Per-agent uniform blocks for one run, plus normal quantiles of the SIZE column."""

    def __init__(self, seed: int, names: Iterable[str], days: int) -> None:
        self.seed = seed
        self.blocks: dict[str, np.ndarray] = {}
        self.normals: dict[str, np.ndarray] = {}
        for name in names:
            block = generator(seed, name).random((days + 1, N_DRAWS))
            self.blocks[name] = block
            self.normals[name] = ndtri(block[:, Draw.SIZE])

    def activation_seed(self) -> int:
        """Seed for Mesa's own `random.Random` (activation order), as a Python int."""
        return int(generator(self.seed, "__activation__").integers(2**62))
