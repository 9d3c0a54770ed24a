"""What runs in a worker process: one chunk of runs in, plain Arrow tables out.

A worker gets the scenario (a pydantic object, picklable), the seeds and the table schemas,
calls the simulator for each run and returns Arrow tables and outcome counts, never models.
A run that raises becomes a row with nulls in the model columns and the error text (type,
message, the last few frames), so failures are counted, not dropped, and the chunk goes on.
A run that exceeds the per-run time limit (`--run-timeout`) is stopped and recorded the same
way ("RunTimeout: timeout after S s"): by `SIGALRM` in a process's main thread (serial, loky),
by a watchdog thread raising into the run otherwise (dask runs tasks in threads).

Test-only hooks, read from the environment:

* `ABM_SIMULATOR`: `module:function` replacing `abm.model.simulate:simulate` (see
  `resolve_simulator`), e.g. a fake model for runner tests.
* the fault plan (`abm.runner.faults`), read once in the parent and sent with each task
  (`ChunkTask.faults`): `faults.inject` runs before each run is simulated.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from abm.config import Scenario
from abm.model.records import RUN_COLUMNS
from abm.runner.chunks import Chunk
from abm.runner.faults import inject

DEFAULT_SIMULATOR = "abm.model.simulate:simulate"
SIMULATOR_ENV = "ABM_SIMULATOR"
TRACE_FRAMES = 3
ERROR_KEY = "error"


@dataclass(frozen=True, slots=True)
class ChunkTask:
    """Everything a worker needs for one chunk; cheap to pickle (a scenario is ~7 kB)."""

    chunk: Chunk
    scenario: Scenario
    seeds: tuple[int, ...]
    params: Mapping[str, Any]
    runs_schema: pa.Schema
    events_schema: pa.Schema | None
    with_point: bool
    simulator: str = DEFAULT_SIMULATOR
    faults: Mapping[str, Any] = field(default_factory=dict)
    run_timeout: float | None = None
    attempt: int = 1


@dataclass(slots=True)
class ChunkOutput:
    """A finished chunk: its tables and the counts the runner needs without reading them."""

    chunk: Chunk
    runs: pa.Table
    events: pa.Table | None
    counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0


def resolve_simulator(spec: str | None = None) -> str:
    """The simulator reference to use: explicit, else `ABM_SIMULATOR`, else the model's."""
    return spec or os.environ.get(SIMULATOR_ENV) or DEFAULT_SIMULATOR


def load_simulator(spec: str) -> Callable[..., Any]:
    """Import `module:function` at call time (so a monkeypatched attribute is honoured)."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "simulate")


class RunTimeout(BaseException):
    """A run exceeded `--run-timeout`. A BaseException so that no `except Exception` in a model
    can swallow it and let the run go on."""

    seconds: float = 0.0

    def __str__(self) -> str:
        return f"timeout after {self.seconds:g} s"


def _timeout_class(seconds: float) -> type[RunTimeout]:
    # The watchdog can only raise a class (no arguments) into another thread: carry the limit on it.
    return type("RunTimeout", (RunTimeout,), {"seconds": seconds})


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise `RunTimeout` inside the block once it has run `seconds` (None or 0: no limit).

    The timer raises at most once and never after the block is left: a run that finishes just
    as the limit passes is either a timeout or a result, never an exception somewhere else.
    """
    if not seconds:
        yield
        return
    exc = _timeout_class(seconds)
    armed = [True]
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def on_alarm(signum: int, frame: Any) -> None:
            if armed[0]:
                armed[0] = False
                raise exc

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            try:
                armed[0] = False
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        return
    # Not the main thread (dask runs tasks in a thread pool): a watchdog raises into this thread
    # at its next bytecode. Pure-Python model code is interrupted promptly; a long C call is not.
    ident = ctypes.c_ulong(threading.get_ident())
    guard = threading.Lock()
    fired = [False]

    def fire() -> None:
        with guard:
            if armed[0]:
                armed[0], fired[0] = False, True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ident, ctypes.py_object(exc))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with guard:
            armed[0] = False
            timer.cancel()
            if fired[0]:  # raised but maybe not delivered yet: drop it rather than let it land elsewhere
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ident, None)


def describe_error(exc: BaseException) -> str:
    """`Type: message` plus the innermost frames, short enough for a table cell."""
    frames = traceback.extract_tb(exc.__traceback__)[-TRACE_FRAMES:]
    where = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in reversed(frames))
    text = f"{type(exc).__name__}: {exc}"
    return f"{text} [at {where}]" if where else text


def _check_record(record: Mapping[str, Any]) -> None:
    """Refuse what Arrow would silently mangle: a fractional value in an integer column."""
    missing = [k for k in RUN_COLUMNS if k not in record]
    if missing:
        raise TypeError(f"simulate returned a record without columns {missing}")
    for key, kind in RUN_COLUMNS.items():
        value = record[key]
        if kind.startswith("int") and isinstance(value, float) and not float(value).is_integer():
            raise TypeError(f"record column {key!r} is {kind} but got {value!r}")


def _event_row(event: Any) -> Mapping[str, Any]:
    return event.as_row() if hasattr(event, "as_row") else event


def run_chunk(task: ChunkTask) -> ChunkOutput:
    """Run every seed of the chunk; failures are recorded per run, never raised."""
    began = time.perf_counter()
    simulate = load_simulator(task.simulator)
    faults = task.faults
    chunk = task.chunk
    want_events = task.events_schema is not None
    lead: dict[str, Any] = {"point": chunk.point} if task.with_point else {}
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    errors = 0
    for run, seed in zip(chunk.runs, task.seeds, strict=True):
        row: dict[str, Any] = {**lead, "run": run, "seed": seed, **task.params}
        try:
            with time_limit(task.run_timeout):
                inject(faults, chunk.point, run, task.attempt)
                result = simulate(task.scenario, seed, want_events)
            _check_record(result.record)
            run_events = [{**lead, "run": run, **_event_row(e)} for e in result.events] if want_events else []
        except (Exception, RunTimeout) as exc:
            errors += 1
            rows.append({**row, ERROR_KEY: describe_error(exc)})
            continue
        rows.append({**row, **{k: result.record[k] for k in RUN_COLUMNS}, ERROR_KEY: None})
        counts[str(result.record["outcome"])] += 1
        events.extend(run_events)
    runs_table, rejected = _runs_table(rows, task.runs_schema)
    for bad in rejected:
        counts[str(bad["outcome"])] -= 1
        errors += 1
    if rejected:
        bad_runs = {bad["run"] for bad in rejected}
        events = [e for e in events if e["run"] not in bad_runs]
    events_table = _events_table(events, task.events_schema) if want_events else None
    return ChunkOutput(chunk, runs_table, events_table, dict(counts), errors, time.perf_counter() - began)


def lost_chunk(task: ChunkTask, reason: str) -> ChunkOutput:
    """The output of a chunk none of whose runs could be completed: every run a row with `reason`."""
    chunk = task.chunk
    lead: dict[str, Any] = {"point": chunk.point} if task.with_point else {}
    rows = [
        {**lead, "run": run, "seed": seed, **task.params, ERROR_KEY: reason}
        for run, seed in zip(chunk.runs, task.seeds, strict=True)
    ]
    events = _events_table([], task.events_schema) if task.events_schema is not None else None
    return ChunkOutput(chunk, pa.Table.from_pylist(rows, schema=task.runs_schema), events, {}, len(rows), 0.0)


def merge_outputs(chunk: Chunk, parts: list[ChunkOutput]) -> ChunkOutput:
    """One chunk's output from the outputs of its runs done one by one (in run order)."""
    parts = sorted(parts, key=lambda o: o.chunk.start)
    counts: Counter[str] = Counter()
    for out in parts:
        counts.update(out.counts)
    events = [o.events for o in parts if o.events is not None]
    return ChunkOutput(
        chunk,
        pa.concat_tables([o.runs for o in parts]),
        pa.concat_tables(events) if events else None,
        dict(counts),
        sum(o.errors for o in parts),
        sum(o.seconds for o in parts),
    )


def _runs_table(rows: list[dict[str, Any]], schema: pa.Schema) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Build the chunk's table; a record Arrow cannot store becomes an error row (returned)."""
    try:
        return pa.Table.from_pylist(rows, schema=schema), []
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    rejected = []
    for i, row in enumerate(rows):
        try:
            pa.Table.from_pylist([row], schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            rejected.append(row)
            rows[i] = {k: row.get(k) for k in schema.names if k not in RUN_COLUMNS}
            rows[i][ERROR_KEY] = f"record does not fit the table schema: {describe_error(exc)}"
    return pa.Table.from_pylist(rows, schema=schema), rejected


def _events_table(events: list[dict[str, Any]], schema: pa.Schema | None) -> pa.Table:
    """Event rows in the fixed schema (keys the schema does not name are dropped)."""
    assert schema is not None
    return pa.Table.from_pylist(events, schema=schema)
