"""The engine: an experiment's chunks through a backend, whatever workers die on the way.

`drive` runs rounds of chunks (one round unless sequential stopping adds batches), skipping
what finished chunks hold, and hands each finished chunk to a `record` callback (the run folder's
writer, or a list in memory): it never depends on completion order, never writes and computes
no statistics but the stopping rule's. `Tasks` builds the task of a chunk (its point's scenario,
its seeds, parameter values, schemas); `Tally` counts runs, outcomes and failures per point;
`dispatch` yields every task's output: a chunk lost with a dead worker process is re-run alone
(so no chunk is blamed for another's crash) up to `retries` more times, then run by run, and a
run that still kills its worker alone is a row with "WorkerDied: worker died (exit code ...)
after N attempts"; each loss is reported (`Losses`). The failed share stops a sweep once it
passes `max_failure_share` (`over_limit`). `chunk_size_for` picks the chunk size, from a timing
pilot unless one is given.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow.compute as pc

from abm.config import Scenario
from abm.defaults import DEFAULT_RETRIES
from abm.model.outcomes import OUTCOMES
from abm.runner import faults, storage
from abm.runner.backends import Backend, Lost, Retried
from abm.runner.chunks import Chunk, auto_chunk_size, iter_gaps, span_of
from abm.runner.errors import RunnerError
from abm.runner.experiment import Experiment
from abm.runner.manifest import utc_now
from abm.runner.progress import Progress
from abm.runner.seeds import run_seeds
from abm.runner.stopping import next_total
from abm.runner.worker import ChunkOutput, ChunkTask, load_simulator, lost_chunk, merge_outputs, run_chunk

Status = Literal["complete", "failed", "stopped", "interrupted"]
MIN_RUNS_FOR_EARLY_STOP = 100  # below this many runs a failure share is too noisy to stop on
PILOT_SECONDS = 0.5


@dataclass
class Tally:
    """Per-point progress the engine needs: runs done, outcome counts, failures."""

    n: Counter[int] = field(default_factory=Counter)
    counts: dict[int, Counter[str]] = field(default_factory=dict)
    errors: Counter[int] = field(default_factory=Counter)
    first_error: str | None = None
    earlier: int = 0  # runs found done by an earlier invocation (a resume): not this one's work

    def add(self, point: int, rows: int, counts: Mapping[str, int], errors: int) -> None:
        self.n[point] += rows
        self.counts.setdefault(point, Counter()).update(counts)
        self.errors[point] += errors

    @property
    def done(self) -> int:
        return sum(self.n.values())

    @property
    def failures(self) -> int:
        return sum(self.errors.values())


class Tasks:
    """Builds the task of a chunk: scenario of its point, its seeds, parameter values, schemas."""

    def __init__(self, experiment: Experiment, simulator: str, run_timeout: float | None = None) -> None:
        if run_timeout is not None and not run_timeout > 0:
            raise RunnerError(f"run timeout: got {run_timeout}; allowed: a number of seconds > 0")
        self.experiment, self.simulator, self.run_timeout = experiment, simulator, run_timeout
        try:
            load_simulator(simulator)
        except (ImportError, AttributeError, ValueError) as exc:
            raise RunnerError(f"simulator {simulator!r} cannot be imported: {exc}") from None
        try:
            self.faults = faults.read_faults()
        except ValueError as exc:
            raise RunnerError(str(exc)) from None
        self.with_point = experiment.kind == "sweep"
        self.types = storage.param_types(experiment.points, experiment.parameters)
        self.runs_schema = storage.runs_schema(self.types, self.with_point)
        self.events_schema = storage.events_schema(self.with_point) if experiment.events else None

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one instance per run, bounded cache
    def scenario(self, point: int) -> Scenario:
        return self.experiment.scenario(point)

    def pilot(self, chunk: Chunk) -> ChunkTask:
        """A task for the timing pilot, run in this process: no fault that would kill or hang it."""
        task = self(chunk)
        return dataclasses.replace(task, faults=faults.for_pilot(task.faults))

    def __call__(self, chunk: Chunk) -> ChunkTask:
        exp = self.experiment
        values = exp.points[chunk.point]
        return ChunkTask(
            chunk=chunk,
            scenario=self.scenario(chunk.point),
            seeds=tuple(run_seeds(exp.seed, exp.point_key(chunk.point), chunk.runs)),
            params={k: storage.param_value(values.get(k), self.types[k]) for k in exp.parameters},
            runs_schema=self.runs_schema,
            events_schema=self.events_schema,
            with_point=self.with_point,
            simulator=self.simulator,
            faults=self.faults,
            run_timeout=self.run_timeout,
        )


def first_error(out: ChunkOutput) -> str | None:
    """The error text of a chunk's first failed run, None without one."""
    if not out.errors:
        return None
    errors = pc.drop_null(out.runs.column("error"))
    return str(errors[0]) if len(errors) else None


@dataclass
class Losses:
    """Reports each chunk lost with a dead worker process: one line through `note` (stderr) and
    one entry through `record` (the manifest's `lost_workers`): when, which chunk, which worker
    (dask's address; loky does not say), which attempt of how many, why, and what happens next."""

    backend: Backend
    attempts: int  # attempts of a chunk, alone after the first, before it is run run by run
    note: Callable[[str], None]
    record: Callable[[dict[str, Any]], None] | None = None

    def __call__(self, item: Lost | Retried, task: ChunkTask, then: str, action: str) -> None:
        of = max(self.attempts, task.attempt)
        name = self.backend.name
        who = f"{name} worker {item.worker}" if item.worker else f"{name} worker"
        self.note(
            f"warning: {who} lost while running chunk {task.chunk.id} (attempt {task.attempt} of {of}): "
            f"{item.reason}; {then}"
        )
        if self.record is not None:
            self.record(
                {
                    "time": utc_now(),
                    "chunk": task.chunk.id,
                    "worker": item.worker,
                    "backend": name,
                    "attempt": task.attempt,
                    "attempts": of,
                    "reason": item.reason,
                    "then": action,
                }
            )

    def retried(self, item: Retried) -> None:
        """A task the backend ran again by itself (dask's scheduler, within its allowed-failures)."""
        self(item, item.task, "the scheduler ran it again", "retried by the scheduler")


def dispatch(
    backend: Backend,
    tasks: Iterable[ChunkTask],
    retries: int,
    note: Callable[[str], None],
    record: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[ChunkOutput]:
    """Every task's output, in any order, whatever workers die on the way.

    Chunks lost with a dead worker are run again one at a time once the others are done, so a
    death is pinned on the chunk that causes it; see `_alone`. Each loss is reported (`Losses`).
    """
    losses = Losses(backend, max(retries + 1, 2), note, record)
    suspects: list[ChunkTask] = []
    with contextlib.closing(_results(backend, tasks, losses)) as results:
        for item in results:
            if isinstance(item, Lost):
                then = "retrying it once the others are done (lost chunks are re-run one at a time)"
                for task in item.tasks:
                    losses(item, task, then, "re-run alone")
                suspects.extend(item.tasks)
            else:
                yield item
    for task in suspects:
        yield _alone(backend, task, losses)


def _results(
    backend: Backend, tasks: Iterable[ChunkTask], losses: Losses, in_flight: int | None = None
) -> Iterator[ChunkOutput | Lost]:
    """The backend's outputs and losses, in any order; a task the backend re-ran by itself is
    reported (`Losses.retried`) here, the one place, and not passed on."""
    options = {} if in_flight is None else {"in_flight": in_flight}
    with contextlib.closing(backend.imap_unordered(run_chunk, tasks, **options)) as results:
        for item in results:
            if isinstance(item, Retried):
                losses.retried(item)
            else:
                yield item


def _one(backend: Backend, task: ChunkTask, losses: Losses) -> ChunkOutput | Lost:
    with contextlib.closing(_results(backend, [task], losses, in_flight=1)) as results:
        for item in results:
            return item
    raise RunnerError(f"backend {backend.name!r} returned nothing for chunk {task.chunk.id}")


def _alone(backend: Backend, task: ChunkTask, losses: Losses) -> ChunkOutput:
    """A chunk whose worker died: re-run alone up to `retries` times (at least once), then run by run."""
    attempts, note = losses.attempts, losses.note
    for attempt in range(2, attempts + 1):
        task = dataclasses.replace(task, attempt=attempt)
        out = _one(backend, task, losses)
        if not isinstance(out, Lost):
            if attempt > 2:
                note(f"chunk {task.chunk.id} completed at attempt {attempt}")
            return out
        if attempt < attempts:
            losses(out, task, "retrying it alone", "re-run alone")
    assert isinstance(out, Lost)  # the last attempt was lost too
    reason = out.reason
    if task.chunk.size == 1:
        losses(out, task, "its run is recorded as failed", "recorded as failed")
        return lost_chunk(task, f"WorkerDied: {reason} after {attempts} attempts")
    losses(out, task, f"running its {task.chunk.size} runs one by one", "run by run")
    subtasks = [
        dataclasses.replace(task, chunk=Chunk(task.chunk.point, run, run + 1), seeds=(seed,), attempt=attempts + 1)
        for run, seed in zip(task.chunk.runs, task.seeds, strict=True)
    ]
    parts: list[ChunkOutput] = []
    with contextlib.closing(_results(backend, subtasks, losses, in_flight=1)) as results:
        for item in results:
            if isinstance(item, Lost):
                for sub in item.tasks:
                    losses(item, sub, "its run is recorded as failed", "recorded as failed")
                    why = (
                        f"WorkerDied: {item.reason} after {attempts + 1} attempts ({attempts} in its chunk, then alone)"
                    )
                    parts.append(lost_chunk(sub, why))
            else:
                parts.append(item)
    failed = sum(p.errors for p in parts)
    note(f"chunk {task.chunk.id}: run by run, {failed} of {task.chunk.size} runs failed")
    return merge_outputs(task.chunk, parts)


def over_limit(tally: Tally, planned: int, limit: float, final: bool) -> bool:
    """Failed share above the limit, once enough runs are done to say so (or at the end)."""
    done = tally.done
    if not done or (not final and (done < MIN_RUNS_FOR_EARLY_STOP or done >= planned)):
        return False
    return tally.failures / done > limit


@dataclass
class Engine:
    """One experiment on one opened backend: what `drive` needs besides the chunk size, the
    finished chunks and what to do with each new one. `lost` receives an entry for each chunk
    lost with a dead worker (`Losses`); `tally` counts what is done, earlier chunks included."""

    experiment: Experiment
    backend: Backend
    tasks: Tasks
    progress: Progress
    retries: int = DEFAULT_RETRIES
    lost: Callable[[dict[str, Any]], None] | None = None
    tally: Tally = field(default_factory=Tally)


def drive(
    engine: Engine, chunk_size: int, done: Mapping[str, Mapping[str, Any]], record: Callable[[ChunkOutput], None]
) -> Status:
    """Rounds of chunks (one round unless sequential stopping adds batches); each finished chunk goes
    to `record`, then into the tally.

    A round runs [begin[p], target[p]) of each active point p, except the runs finished chunks
    (`done`) hold; those are counted, in the round their first run falls in."""
    exp, tally, progress = engine.experiment, engine.tally, engine.progress
    tasks, backend, retries, lost = engine.tasks, engine.backend, engine.retries, engine.lost
    target = dict.fromkeys(range(len(exp.points)), exp.runs)
    begin = dict.fromkeys(target, 0)
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for cid, entry in done.items():
        span = span_of(cid, entry)
        if span is not None:
            spans.setdefault(span.point, []).append((span.start, span.stop, cid))
    active = list(target)
    while active:
        for p in active:  # finished chunks first, as before
            for start, _, cid in sorted(spans.get(p, ())):
                if begin[p] <= start < target[p]:
                    entry = done[cid]
                    tally.add(p, int(entry["rows"]), entry["counts"], int(entry["errors"]))
                    tally.earlier += int(entry["rows"])
                    tally.first_error = tally.first_error or entry.get("first_error")
                    progress.skip(int(entry["rows"]), int(entry["errors"]))
        todo = (
            c
            for p in active
            for c in iter_gaps(p, begin[p], target[p], [(a, b) for a, b, _ in spans.get(p, ())], chunk_size)
        )  # lazily
        with contextlib.closing(dispatch(backend, map(tasks, todo), retries, progress.note, lost)) as results:
            for out in results:
                record(out)
                tally.add(out.chunk.point, out.chunk.size, out.counts, out.errors)
                tally.first_error = tally.first_error or first_error(out)
                progress.update(out.chunk.size, out.errors)
                if over_limit(tally, sum(target.values()), exp.max_failure_share, final=False):
                    return "stopped"
        if exp.target_ci is None:
            break
        grown = []
        for p in active:
            new = next_total(tally.counts.get(p, {}), tally.n[p], OUTCOMES, exp.target_ci, exp.runs, exp.run_cap)
            if new > target[p]:
                begin[p], target[p] = target[p], new
                progress.grow(new - begin[p])
                grown.append(p)
        active = grown
    return "failed" if over_limit(tally, tally.done, exp.max_failure_share, final=True) else "complete"


def pilot_seconds(tasks: Tasks) -> float:
    """Median seconds per run of point 0, after one untimed warm-up run (imports, caches)."""
    run_chunk(tasks.pilot(Chunk(0, 0, 1)))
    times: list[float] = []
    for run in range(1, 6):
        began = time.perf_counter()
        run_chunk(tasks.pilot(Chunk(0, run, run + 1)))
        times.append(time.perf_counter() - began)
        if sum(times) > PILOT_SECONDS:
            break
    return statistics.median(times)


def chunk_size_for(experiment: Experiment, tasks: Tasks, jobs: int, requested: int | None, timed: bool = True) -> int:
    """Requested size, else ~1.5 s of work per chunk from a pilot; untimed: one chunk per point and worker."""
    size = requested or experiment.chunk_size
    if size:
        return size
    total = experiment.runs * len(experiment.points)
    if not timed:
        return max(1, min(experiment.runs, -(-total // jobs)))
    return auto_chunk_size(pilot_seconds(tasks), experiment.runs, total, jobs)


__all__ = [
    "Engine",
    "Losses",
    "Status",
    "Tally",
    "Tasks",
    "chunk_size_for",
    "dispatch",
    "drive",
    "first_error",
    "over_limit",
    "pilot_seconds",
]
