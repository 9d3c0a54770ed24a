"""Chunk plans are built lazily: memory does not grow with the number of runs asked for (issue 17)."""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from abm.runner.chunks import Chunk, iter_chunks, iter_round, plan_chunks
from abm.runner.engine import Engine, drive


def test_iter_chunks_is_lazy_and_equals_the_list_plan() -> None:
    plan = iter_chunks([0], 0, 10**12, 1)
    assert isinstance(plan, Iterator) and next(plan) == Chunk(0, 0, 1)
    assert list(iter_chunks([0, 1], 3, 17, 5)) == plan_chunks([0, 1], 3, 17, 5)
    assert list(iter_round([1, 0], {0: 0, 1: 10}, {0: 7, 1: 12}, 3)) == [
        Chunk(1, 10, 12),
        Chunk(0, 0, 3),
        Chunk(0, 3, 6),
        Chunk(0, 6, 7),
    ]


@dataclass
class _Experiment:
    points: list[dict[str, Any]]
    runs: int
    target_ci: None = None
    max_failure_share: float = 1.0


class _Backend:
    """Takes a few tasks from the stream, then stops like an interrupted session."""

    def __init__(self) -> None:
        self.taken: list[Chunk] = []

    def imap_unordered(self, fn, tasks, in_flight=None):
        for task in tasks:
            self.taken.append(task)
            if len(self.taken) == 3:
                raise KeyboardInterrupt
        yield from ()


class _Progress:
    def skip(self, *a: Any) -> None: ...
    def update(self, *a: Any) -> None: ...
    def note(self, *a: Any) -> None: ...
    def grow(self, *a: Any) -> None: ...


def test_the_engine_does_not_build_the_whole_plan_before_the_first_chunk() -> None:
    """300,000 one-run chunks: the old list plan held them all (tens of MB) before dispatching one."""
    backend = _Backend()
    done = {Chunk(0, 0, 1).id: {"rows": 1, "counts": {}, "errors": 0}}
    tracemalloc.start()
    with contextlib.suppress(KeyboardInterrupt):
        drive(Engine(_Experiment([{}], 300_000), backend, lambda c: c, _Progress()), 1, done, print)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert backend.taken == [Chunk(0, 1, 2), Chunk(0, 2, 3), Chunk(0, 3, 4)]  # finished chunk 0 skipped, order kept
    assert peak < 2_000_000, f"peak {peak:,} bytes"
