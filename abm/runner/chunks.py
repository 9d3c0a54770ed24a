"""Work units: a chunk is (point, run range), the unit of dispatch, storage and resume.

Chunk ids are zero-padded so part files sort by (point, first run): reading the dataset
back gives rows in (point, run) order whatever order chunks finished in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

CHUNK_ID = re.compile(r"p(\d{6,})-r(\d{9,})-(\d{9,})")
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


def iter_gaps(point: int, begin: int, stop: int, covered: Iterable[tuple[int, int]], size: int) -> Iterator[Chunk]:
    """Runs [begin, stop) of `point` that no (start, stop) range in `covered` holds, cut into chunks
    of at most `size` runs from the start of each gap.

    With nothing covered this is `iter_chunks([point], begin, stop, size)`; with the chunks of an
    earlier session of the same chunk size, the chunks that session had planned. Chunks of any
    other shape (a folder extended to more runs, parts merged by `abm compact`) leave gaps that
    are filled exactly: seeds are per run, so any cut gives the same rows.
    """
    at = begin
    for start, end in sorted(covered):
        if end <= at:
            continue
        if start >= stop:
            break
        if start > at:
            yield from iter_chunks([point], at, start, size)
        at = end
    if at < stop:
        yield from iter_chunks([point], at, stop, size)


def span_of(chunk_id: str, entry: Mapping[str, Any]) -> Chunk | None:
    """The runs a manifest entry holds, from its `point`, `start`, `stop` or else its id; None if unknown."""
    fields = [entry.get(k) for k in ("point", "start", "stop")]
    if all(type(v) is int and v >= 0 for v in fields):
        span = Chunk(*fields)
    else:
        match = CHUNK_ID.fullmatch(chunk_id)
        if match is None:
            return None
        span = Chunk(*map(int, match.groups()))
    return span if span.stop > span.start else None


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
