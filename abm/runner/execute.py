"""Run an experiment: plan chunks, dispatch them to a backend, store results as they arrive.

Two entry points share one engine (`_drive`):

* `run_experiment(experiment, out_dir, ...)` streams every finished chunk to Parquet part
  files under `out_dir`, keeps `manifest.json` current, resumes an interrupted run of the same
  experiment (same hash) by skipping verified chunks, and refuses a different one.
* `run_in_memory(experiment, ...)` / `run_scenario(scenario, runs, seed, ...)` keep the tables
  in memory and need no folder: for tests, `compare` and `validate`.

Neither computes statistics: summaries come from `abm.analysis.summary` (layers point left).
Seeds are fixed per (master seed, point key, run), so any backend, worker count, chunk size
or resume gives the same rows; the engine never depends on completion order.
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from abm.config import Scenario
from abm.model.outcomes import OUTCOMES
from abm.runner import storage
from abm.runner.backends import Backend, open_backend
from abm.runner.chunks import Chunk, auto_chunk_size, plan_chunks
from abm.runner.errors import RunnerError
from abm.runner.experiment import DEFAULT_MAX_FAILURE_SHARE, Experiment, single_experiment
from abm.runner.manifest import MANIFEST_FILE, ManifestWriter, environment, read_manifest, utc_now
from abm.runner.progress import Progress
from abm.runner.seeds import SEED_RULE, run_seeds
from abm.runner.stopping import next_total
from abm.runner.worker import ChunkOutput, ChunkTask, read_faults, resolve_simulator, run_chunk

Status = Literal["complete", "failed", "stopped", "interrupted"]
MIN_RUNS_FOR_EARLY_STOP = 100  # below this many runs a failure share is too noisy to stop on
PILOT_SECONDS = 0.5
MANIFEST_POINTS = 1000  # larger designs are listed in points.csv only


@dataclass
class ExperimentResult:
    """Outcome of `run_experiment`. `status`:

    * complete: every run done, failed share within the limit;
    * failed: every run done, failed share above the limit (tables and summary still valid);
    * stopped: stopped early because the failed share passed the limit (resumable);
    * interrupted: Ctrl-C / SIGTERM (resumable).
    """

    experiment: Experiment
    out_dir: Path
    status: Status
    runs_done: int
    failures: int
    runs_planned: int
    chunks_done: int
    seconds: float
    first_error: str | None = None

    @property
    def failure_share(self) -> float:
        return self.failures / self.runs_done if self.runs_done else 0.0

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def runs(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The runs table, sorted by (point, run)."""
        return read_table(self.out_dir / storage.RUNS_DIR, columns)

    def events(self, columns: list[str] | None = None) -> pd.DataFrame:
        return read_table(self.out_dir / storage.EVENTS_DIR, columns)


@dataclass
class MemoryResult:
    """Outcome of `run_in_memory`: the tables as DataFrames, sorted by (point, run)."""

    runs: pd.DataFrame
    events: pd.DataFrame | None
    status: Status
    failures: int


def read_table(directory: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet dataset written by the runner (part files sort by point, then run)."""
    return pd.read_parquet(directory, columns=columns)


@dataclass
class _Tally:
    """Per-point progress the engine needs: runs done, outcome counts, failures."""

    n: Counter[int] = field(default_factory=Counter)
    counts: dict[int, Counter[str]] = field(default_factory=dict)
    errors: Counter[int] = field(default_factory=Counter)
    first_error: str | None = None

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


class _Tasks:
    """Builds the task of a chunk: scenario of its point, its seeds, parameter values, schemas."""

    def __init__(self, experiment: Experiment, simulator: str) -> None:
        self.experiment, self.simulator = experiment, simulator
        self.faults = read_faults()
        self.with_point = experiment.kind == "sweep"
        self.types = storage.param_types(experiment.points, experiment.parameters)
        self.runs_schema = storage.runs_schema(self.types, self.with_point)
        self.events_schema = storage.events_schema(self.with_point) if experiment.events else None

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one instance per run, bounded cache
    def scenario(self, point: int) -> Scenario:
        return self.experiment.scenario(point)

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
        )


def _first_error(out: ChunkOutput) -> str | None:
    if not out.errors:
        return None
    errors = pc.drop_null(out.runs.column("error"))
    return str(errors[0]) if len(errors) else None


def _over_limit(tally: _Tally, planned: int, limit: float, final: bool) -> bool:
    """Failed share above the limit, once enough runs are done to say so (or at the end)."""
    done = tally.done
    if not done or (not final and (done < MIN_RUNS_FOR_EARLY_STOP or done >= planned)):
        return False
    return tally.failures / done > limit


def _drive(
    experiment: Experiment,
    backend: Backend,
    tasks: _Tasks,
    chunk_size: int,
    done: Mapping[str, Mapping[str, Any]],
    record: Callable[[ChunkOutput], None],
    progress: Progress,
    tally: _Tally,
) -> Status:
    """The engine: rounds of chunks (one round unless sequential stopping adds batches)."""
    exp = experiment
    target = dict.fromkeys(range(len(exp.points)), exp.runs)
    begin = dict.fromkeys(target, 0)
    active = list(target)
    while active:
        chunks = [c for p in active for c in plan_chunks([p], begin[p], target[p], chunk_size)]
        todo = []
        for c in chunks:
            entry = done.get(c.id)
            if entry is None:
                todo.append(c)
            else:
                tally.add(c.point, int(entry["rows"]), entry["counts"], int(entry["errors"]))
                tally.first_error = tally.first_error or entry.get("first_error")
                progress.skip(int(entry["rows"]), int(entry["errors"]))
        with contextlib.closing(backend.imap_unordered(run_chunk, map(tasks, todo))) as results:
            for out in results:
                record(out)
                tally.add(out.chunk.point, out.chunk.size, out.counts, out.errors)
                tally.first_error = tally.first_error or _first_error(out)
                progress.update(out.chunk.size, out.errors)
                if _over_limit(tally, sum(target.values()), exp.max_failure_share, final=False):
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
    return "failed" if _over_limit(tally, tally.done, exp.max_failure_share, final=True) else "complete"


def _pilot_seconds(tasks: _Tasks) -> float:
    """Median seconds per run of point 0, after one untimed warm-up run (imports, caches)."""
    run_chunk(tasks(Chunk(0, 0, 1)))
    times: list[float] = []
    for run in range(1, 6):
        began = time.perf_counter()
        run_chunk(tasks(Chunk(0, run, run + 1)))
        times.append(time.perf_counter() - began)
        if sum(times) > PILOT_SECONDS:
            break
    return statistics.median(times)


def _chunk_size(experiment: Experiment, tasks: _Tasks, jobs: int, requested: int | None, timed: bool = True) -> int:
    """Requested size, else ~1.5 s of work per chunk from a pilot; untimed: one chunk per point and worker."""
    size = requested or experiment.chunk_size
    if size:
        return size
    total = experiment.runs * len(experiment.points)
    if not timed:
        return max(1, min(experiment.runs, -(-total // jobs)))
    return auto_chunk_size(_pilot_seconds(tasks), experiment.runs, total, jobs)


def _verified(previous: Mapping[str, Any], out_dir: Path, events: bool) -> dict[str, dict[str, Any]]:
    """Chunks of an earlier session whose part files exist with the recorded row counts."""
    good = {}
    for entry in previous.get("chunks", []):
        cid = entry["id"]
        if storage.part_rows(out_dir / storage.RUNS_DIR, cid) != entry["rows"]:
            continue
        if events and storage.part_rows(out_dir / storage.EVENTS_DIR, cid) != entry.get("events"):
            continue
        good[cid] = entry
    return good


def check_folder(out_dir: Path, experiment: Experiment, resume: bool = False) -> dict[str, Any] | None:
    """The earlier manifest to resume from, or None for a fresh start; refuse anything else."""
    previous = read_manifest(out_dir)
    if previous is None:
        if resume:
            raise RunnerError(f"{out_dir}: nothing to resume (no readable {MANIFEST_FILE})")
        if out_dir.exists() and any(out_dir.iterdir()):
            raise RunnerError(f"{out_dir}: exists and is not an abm results folder; choose another --out")
        return None
    if previous.get("experiment_hash") != experiment.hash:
        raise RunnerError(
            f"{out_dir}: holds a different experiment ({previous.get('name')!r}, hash "
            f"{str(previous.get('experiment_hash'))[:12]}); this one has hash {experiment.hash[:12]}. "
            "Resuming would mix results: choose another --out."
        )
    return previous


def _manifest_data(experiment: Experiment, chunk_size: int, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    exp = experiment
    data: dict[str, Any] = {
        "format": 1,
        "kind": exp.kind,
        "name": exp.name,
        "status": "running",
        "experiment_hash": exp.hash,
        "config_hash": exp.config_hash,
        "experiment": dict(exp.declaration),
        "config": exp.base.model_dump(mode="json"),
        "overrides": dict(exp.overrides),
        "master_seed": exp.seed,
        "seed_rule": SEED_RULE,
        "common_random_numbers": exp.common_random_numbers,
        "runs": exp.runs,
        "points": len(exp.points),
        "parameters": list(exp.parameters),
        "points_file": storage.POINTS_FILE if exp.kind == "sweep" else None,
        "design_points": [dict(p) for p in exp.points] if len(exp.points) <= MANIFEST_POINTS else None,
        "events": exp.events,
        "max_failure_share": exp.max_failure_share,
        "target_ci": exp.target_ci,
        "max_runs": exp.run_cap if exp.target_ci is not None else None,
        "chunk_size": chunk_size,
        **environment(),
        "started": utc_now(),
        "finished": None,
        "sessions": [],
        "runs_done": 0,
        "failures": 0,
        "chunks_done": 0,
        "chunks": [],
    }
    if previous:
        data["started"] = previous.get("started", data["started"])
        data["sessions"] = list(previous.get("sessions", []))
    return data


def run_experiment(
    experiment: Experiment,
    out_dir: str | Path,
    *,
    jobs: int | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool | Progress = True,
    chunk_size: int | None = None,
    simulator: str | None = None,
) -> ExperimentResult:
    """Run (or resume) an experiment into `out_dir`: `runs/`, `events/`, `points.csv`, `manifest.json`.

    Resumes automatically when `out_dir` holds the same experiment (same hash); `resume=True`
    additionally requires that there is something to resume. Raises `RunnerError` (nothing run)
    for a folder holding something else or an unusable backend. Returns the status instead of
    raising when runs fail or the user interrupts. `summary.csv` is written by
    `abm.analysis.summary.write_summary(out_dir)`.
    """
    out_dir = Path(out_dir)
    previous = check_folder(out_dir, experiment, resume)
    tasks = _Tasks(experiment, resolve_simulator(simulator))
    started = time.monotonic()
    session = {"started": utc_now(), "backend": backend, "jobs": jobs}
    engine = open_backend(backend, jobs, scheduler)
    session["jobs"] = engine.jobs
    try:
        if previous:
            size = int(previous["chunk_size"])
            if chunk_size and chunk_size != size:
                print(f"abm: resuming with the folder's chunk size {size} (ignoring {chunk_size})", file=sys.stderr)
            done = _verified(previous, out_dir, experiment.events)
        else:
            size, done = _chunk_size(experiment, tasks, engine.jobs, chunk_size), {}
        out_dir.mkdir(parents=True, exist_ok=True)
        storage.clean_temporaries(out_dir)
        if experiment.kind == "sweep":
            storage.write_points(out_dir, experiment.points, experiment.parameters)
        manifest = ManifestWriter(out_dir, _manifest_data(experiment, size, previous))
        entries: dict[str, dict[str, Any]] = dict(done)
        tally = _Tally()

        def record(out: ChunkOutput) -> None:
            cid = out.chunk.id
            rows = storage.write_part(out_dir / storage.RUNS_DIR, cid, out.runs)
            events = storage.write_part(out_dir / storage.EVENTS_DIR, cid, out.events) if out.events else None
            entries[cid] = {
                "id": cid,
                "point": out.chunk.point,
                "start": out.chunk.start,
                "stop": out.chunk.stop,
                "rows": rows,
                "events": events,
                "errors": out.errors,
                "counts": out.counts,
                "seconds": round(out.seconds, 3),
                "first_error": _first_error(out),
            }
            _sync(manifest, entries, tally, force=False)

        bar = (
            progress
            if isinstance(progress, Progress)
            else Progress(experiment.runs * len(experiment.points), enabled=bool(progress), label=experiment.name)
        )
        _sync(manifest, entries, tally, force=True)
        try:
            status: Status = _drive(experiment, engine, tasks, size, done, record, bar, tally)
        except KeyboardInterrupt:
            status = "interrupted"
        except BaseException:
            manifest.data["status"] = "crashed"
            _sync(manifest, entries, tally, force=True)
            raise
        finally:
            bar.close()
        session["ended"] = utc_now()
        session["runs"] = tally.done - sum(int(e["rows"]) for e in done.values())
        manifest.data["sessions"].append(session)
        manifest.data["status"] = status
        if status in ("complete", "failed"):
            manifest.data["finished"] = utc_now()
        manifest.data["first_error"] = tally.first_error
        _sync(manifest, entries, tally, force=True)
    finally:
        engine.close()
    return ExperimentResult(
        experiment=experiment,
        out_dir=out_dir,
        status=status,
        runs_done=tally.done,
        failures=tally.failures,
        runs_planned=max(tally.done, experiment.runs * len(experiment.points)),
        chunks_done=len(entries),
        seconds=time.monotonic() - started,
        first_error=tally.first_error,
    )


def _sync(manifest: ManifestWriter, entries: Mapping[str, Mapping[str, Any]], tally: _Tally, force: bool) -> None:
    """Copy progress into the manifest and flush it (throttled unless forced)."""
    if not force and not manifest.due():
        return
    manifest.data["chunks"] = [entries[k] for k in sorted(entries)]
    manifest.data["chunks_done"] = len(entries)
    manifest.data["runs_done"] = sum(int(e["rows"]) for e in entries.values())
    manifest.data["failures"] = sum(int(e["errors"]) for e in entries.values())
    manifest.flush()


def run_in_memory(
    experiment: Experiment,
    *,
    jobs: int | None = 1,
    backend: str = "serial",
    scheduler: str | None = None,
    chunk_size: int | None = None,
    simulator: str | None = None,
    progress: bool = False,
) -> MemoryResult:
    """Run an experiment without touching the disk; tables come back sorted by (point, run)."""
    tasks = _Tasks(experiment, resolve_simulator(simulator))
    engine = open_backend(backend, jobs, scheduler)
    runs: list[pa.Table] = []
    events: list[pa.Table] = []

    def record(out: ChunkOutput) -> None:
        runs.append(out.runs)
        if out.events is not None:
            events.append(out.events)

    try:
        size = _chunk_size(experiment, tasks, engine.jobs, chunk_size, timed=engine.jobs > 1)
        bar = Progress(experiment.runs * len(experiment.points), enabled=progress, label=experiment.name)
        tally = _Tally()
        try:
            status = _drive(experiment, engine, tasks, size, {}, record, bar, tally)
        finally:
            bar.close()
    finally:
        engine.close()
    keys = [("point", "ascending")] if tasks.with_point else []
    keys.append(("run", "ascending"))
    runs_table = pa.concat_tables(runs) if runs else tasks.runs_schema.empty_table()
    frame = runs_table.sort_by(keys).to_pandas()
    events_frame = None
    if tasks.events_schema is not None:
        table = pa.concat_tables(events) if events else tasks.events_schema.empty_table()
        events_frame = table.to_pandas()
        if len(events_frame):
            order = [k for k, _ in keys]
            events_frame = events_frame.sort_values(order, kind="stable").reset_index(drop=True)
    return MemoryResult(frame, events_frame, status, tally.failures)


def run_scenario(
    scenario: Scenario,
    runs: int,
    seed: int,
    *,
    jobs: int | None = 1,
    backend: str = "serial",
    max_failure_share: float = 1.0,
    chunk_size: int | None = None,
    simulator: str | None = None,
) -> pd.DataFrame:
    """Runs table (`run, seed` + RUN_COLUMNS + `error`) of one scenario, in memory.

    Run i gets `run_seed(seed, 0, i)`, the same seed as run i of `abm run --seed seed`.
    Failed runs are rows with an error (the default limit never stops early). For events, use
    `run_in_memory(single_experiment(..., events=True))`.
    """
    experiment = single_experiment(scenario, runs, seed, max_failure_share=max_failure_share)
    return run_in_memory(experiment, jobs=jobs, backend=backend, chunk_size=chunk_size, simulator=simulator).runs


__all__ = [
    "DEFAULT_MAX_FAILURE_SHARE",
    "ExperimentResult",
    "MemoryResult",
    "check_folder",
    "read_table",
    "run_experiment",
    "run_in_memory",
    "run_scenario",
]
