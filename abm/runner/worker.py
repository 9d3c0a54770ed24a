"""What runs in a worker process: one chunk of runs in, plain Arrow tables out.

A worker gets the scenario (a pydantic object, picklable), the seeds and the table schemas,
calls the simulator for each run and returns Arrow tables and outcome counts, never models.
A run that raises becomes a row with nulls in the model columns and the error text (type,
message, the last few frames), so failures are counted, not dropped, and the chunk goes on.

Test-only hooks, read from the environment in the worker:

* `ABM_FAULT_INJECT`: JSON such as `{"fail_runs": [3, 17], "fail_points": [1], "fail_every": 10,
  "sleep": 0.05}`; matching runs raise `RuntimeError` before the simulator is called, and
  `sleep` slows every run (to interrupt a sweep mid-way). Read once in the parent and sent
  with each task (worker pools outlive environment changes). Never set it for real work.
* `ABM_SIMULATOR`: `module:function` replacing `abm.model.simulate:simulate` (see
  `resolve_simulator`), e.g. a fake model for runner tests.
"""

from __future__ import annotations

import importlib
import json
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from abm.config import Scenario
from abm.model.records import RUN_COLUMNS
from abm.runner.chunks import Chunk

DEFAULT_SIMULATOR = "abm.model.simulate:simulate"
FAULT_ENV, SIMULATOR_ENV = "ABM_FAULT_INJECT", "ABM_SIMULATOR"
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


def read_faults() -> dict[str, Any]:
    """The test-only fault plan from `ABM_FAULT_INJECT` (empty when unset)."""
    text = os.environ.get(FAULT_ENV)
    return json.loads(text) if text else {}


def _inject(faults: Mapping[str, Any], point: int, run: int) -> None:
    """Test-only fault hook: see the module docstring."""
    if faults.get("sleep"):
        time.sleep(float(faults["sleep"]))
    every = faults.get("fail_every")
    if (
        run in faults.get("fail_runs", ())
        or point in faults.get("fail_points", ())
        or (every and run % int(every) == 0)
    ):
        raise RuntimeError(f"injected fault ({FAULT_ENV}) at point {point}, run {run}")


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
            _inject(faults, chunk.point, run)
            result = simulate(task.scenario, seed, want_events)
            _check_record(result.record)
            run_events = [{**lead, "run": run, **_event_row(e)} for e in result.events] if want_events else []
        except Exception as exc:
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
