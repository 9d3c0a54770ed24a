"""Work units: a chunk is (point, run range), the unit of dispatch, storage and resume.

Chunk ids are zero-padded so part files sort by (point, first run): reading the dataset
back gives rows in (point, run) order whatever order chunks finished in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

TARGET_CHUNK_SECONDS = 1.5
MIN_CHUNKS_PER_WORKER = 16  # the last chunk leaves a worker idle: with 16 each, ~1/32 of the work at worst


@dataclass(frozen=True, slots=True, order=True)
class Chunk:
    """Runs `start <= run < stop` of design point `point`."""

    point: int
    start: int
    stop: int

    @property
    def id(self) -> str:
        return f"p{self.point:06d}-r{self.start:09d}-{self.stop:09d}"

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def runs(self) -> range:
        return range(self.start, self.stop)


def iter_chunks(points: Iterable[int], start: int, stop: int, size: int) -> Iterator[Chunk]:
    """Runs [start, stop) of each point cut into chunks of at most `size` runs, one at a time:
    memory does not grow with the number of runs planned."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    return (Chunk(p, a, min(a + size, stop)) for p in points for a in range(start, stop, size))


def plan_chunks(points: Iterable[int], start: int, stop: int, size: int) -> list[Chunk]:
    """Cut runs [start, stop) of each point into chunks of at most `size` runs (as a list)."""
    return list(iter_chunks(points, start, stop, size))


def iter_round(points: Iterable[int], begin: Mapping[int, int], stop: Mapping[int, int], size: int) -> Iterator[Chunk]:
    """The chunks of one round: runs [begin[p], stop[p]) of each point p, in (point, run) order, lazily."""
    for p in points:
        yield from iter_chunks([p], begin[p], stop[p], size)


def auto_chunk_size(
    seconds_per_run: float,
    runs_per_point: int,
    total_runs: int,
    jobs: int,
    target_seconds: float = TARGET_CHUNK_SECONDS,
) -> int:
    """Runs per chunk: ~`target_seconds` of work, yet at least a few chunks per worker.

    Big enough that dispatch and file overhead stay small next to the work, small enough that
    progress is smooth, load balances and an interruption loses little.
    """
    by_time = max(1, round(target_seconds / max(seconds_per_run, 1e-6)))
    by_balance = max(1, math.ceil(total_runs / (MIN_CHUNKS_PER_WORKER * max(jobs, 1))))
    return max(1, min(by_time, by_balance, runs_per_point))
