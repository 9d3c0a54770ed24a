"""Random streams indexed by (agent, day, purpose), drawn in one block per agent and run.

Why: paired lever comparisons need common random numbers. If draws were consumed in order
from one generator, a lever that adds one draw early would shift every later draw. Here the
uniform used for, say, Iran's choice on day 12 is a fixed cell of Iran's own block, keyed by
the agent's id (not its position), whatever else happened in the run. Drawing a whole block
at once is also far cheaper than scalar draws (MESA_NOTES.md: scalar draws dominate cost).

The daily activation order is drawn the same way: each agent has one sort key per day in
its own block (`Draw.ORDER`), and the day's order is the agents sorted by key. Iid keys make every order
equally likely (what Mesa's `shuffle_do` gives), the whole run's orders cost one `argsort`
instead of a `random.shuffle` a day, and adding an agent (a lever that adds a militia) leaves
the relative order of the others unchanged, so common random numbers reach activation too.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from enum import IntEnum
from statistics import NormalDist

import numpy as np


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
    ORDER = 15  # sort key of the agent's place in the day's activation order
    ACCEPT = 16  # whether an offer is accepted in talks


N_DRAWS = len(Draw)


def stream_key(name: str) -> int:
    """Stable 32-bit key of a stream name (crc32, not Python's salted hash)."""
    return zlib.crc32(name.encode())


SEGMENT = 2**64  # draws reserved for each named stream, far beyond what a run uses


def run_bits(seed: int) -> np.random.PCG64:
    """The run's bit generator; named streams are disjoint segments of its sequence."""
    return np.random.PCG64(np.random.SeedSequence(seed))


def generator(seed: int, name: str) -> np.random.Generator:
    """The generator of stream `name` within run `seed` (segment `stream_key(name)` of the run's sequence).

    Block splitting of one PCG64 sequence: a segment starts `stream_key(name) * 2**64` draws
    in, so streams with different keys never overlap. Jumping there costs ~1 us; building a
    generator per stream from its own SeedSequence cost ~15 us, a tenth of a run's set-up.
    """
    bits = run_bits(seed)
    bits.advance(stream_key(name) * SEGMENT)
    return np.random.Generator(bits)


_STANDARD_NORMAL = NormalDist()


def normal_quantile(u: float) -> float:
    """Standard normal quantile of a uniform draw in [0, 1) (0 is clamped to the smallest positive float)."""
    return _STANDARD_NORMAL.inv_cdf(min(max(u, 1e-300), 1.0 - 1e-16))


class Streams:
    """Per-agent uniform blocks for one run, and the activation order of every day.

    `blocks[name][day, purpose]` is the uniform of one agent, day and purpose; `order[day]`
    lists indices into `names` in the order the agents act that day.
    """

    def __init__(self, seed: int, names: Sequence[str], days: int) -> None:
        self.blocks: dict[str, np.ndarray] = {}
        keys = np.empty((days + 1, len(names)))
        bits = run_bits(seed)
        start = bits.state
        gen = np.random.Generator(bits)
        for i, name in enumerate(names):
            bits.state = start  # the same positions as generator(seed, name), without rebuilding it
            bits.advance(stream_key(name) * SEGMENT)
            block = self.blocks[name] = gen.random((days + 1, N_DRAWS))
            keys[:, i] = block[:, Draw.ORDER]
        self.order: list[list[int]] = np.argsort(keys, axis=1, kind="stable").tolist()
