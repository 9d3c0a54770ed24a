"""Run an experiment: plan chunks, dispatch them to a backend, store results as they arrive.

The runner's entry points; the work is done in rooms with one job each: `abm.runner.engine`
(tasks, dispatch to the backend, lost workers, tally, failure limit, chunk size),
`abm.runner.folder` (what the run folder allows: checks, versions, verified chunks, the
manifest's data), `abm.runner.results` (what a run returns) and `abm.runner.faults` (the
test-only fault plan); the lock is `abm.runner.lock`, part files and checksums
`abm.runner.storage`. A run into a locked folder is one `Session`. Two entry points share one
engine (`engine.drive`):

* `run_experiment(experiment, out_dir, ...)` streams every finished chunk to Parquet part
  files under `out_dir`, keeps `manifest.json` current, resumes an interrupted run of the same
  experiment (same hash) by skipping verified chunks, and refuses a different one, except, with
  `extend=True`, the same experiment with more runs or points (`abm.runner.extend`). A finished
  folder with nothing left to do is left untouched (`ExperimentResult.untouched`).
* `run_in_memory(experiment, ...)` / `run_scenario(scenario, runs, seed, ...)` keep the tables
  in memory and need no folder: for tests, `compare` and `validate`.

Neither computes statistics: summaries come from `abm.analysis.summary` (layers point left).
Seeds are fixed per (master seed, point key, run), so any backend, worker count, chunk size
or resume gives the same rows; the engine never depends on completion order. What is left to
run is what no finished chunk covers (`chunks.iter_gaps`), so chunks of another shape (an
extension, parts merged by `abm compact`) are kept and never run twice.

Faults (docs/RELIABILITY.md lists each with its test):

* a run that raises or exceeds `run_timeout` is a row with its error; the sweep goes on, and
  stops ("stopped", resumable) once the failed share passes `max_failure_share`;
* a worker process that dies loses only the chunks in flight: each is re-run alone (so no chunk
  is blamed for another's crash) up to `retries` more times, then run by run, and a run that
  still kills its worker alone is a row with "WorkerDied: worker died (exit code ...) after N
  attempts"; the `serial` backend runs in this process and cannot survive such a run;
* the main process killed at any moment (even between a part's write and its rename): each
  finished chunk is journalled as it lands (`ManifestWriter.append`), so the manifest and its
  journal list every complete part and only those; temporaries are hidden and removed, and a
  resume recomputes only what is missing, damaged (row count, sha256) or unlisted (in flight);
* a write that fails (disk full, folder made read-only) stops the sweep ("stopped", with the
  reason, "disk full: …" for ENOSPC) without touching what was written; nothing written yet:
  `RunnerError`;
* one writer per folder (`abm.runner.lock`), and no resume across versions of abm, its model
  code, Python, numpy, Mesa or pyarrow unless `allow_version_mix` (the manifest then lists every
  version, and each chunk names the one it was written with).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from abm.config import Scenario
from abm.defaults import DEFAULT_RETRIES
from abm.runner import faults, lock, storage
from abm.runner.backends import Backend, open_backend
from abm.runner.engine import Engine, Status, Tasks, chunk_size_for, drive, first_error
from abm.runner.errors import RunnerError
from abm.runner.experiment import DEFAULT_MAX_FAILURE_SHARE, Experiment, single_experiment
from abm.runner.folder import (
    WriteFailed,
    already_complete,
    check_folder,
    manifest_data,
    resume_notes,
    storage_message,
    sync,
    verified,
)
from abm.runner.manifest import LOST_KEY, ManifestWriter, utc_now, writer_version
from abm.runner.progress import Progress
from abm.runner.results import ExperimentResult, MemoryResult, read_table
from abm.runner.worker import ChunkOutput, resolve_simulator


@dataclass
class Session:
    """One run into a locked folder (`run_experiment`): the experiment and its folder, the opened
    backend, the task builder, the progress bar, this session's entry of the manifest's `sessions`
    (filled in as it goes), when the call began, and the options it was given."""

    experiment: Experiment
    out_dir: Path
    backend: Backend
    tasks: Tasks
    bar: Progress
    entry: dict[str, Any]
    started: float
    resume: bool = False
    chunk_size: int | None = None
    retries: int = DEFAULT_RETRIES
    retry_failed: bool = False
    allow_version_mix: bool = False
    extend: bool = False


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
    run_timeout: float | None = None,
    retries: int = DEFAULT_RETRIES,
    retry_failed: bool = False,
    allow_version_mix: bool = False,
    extend: bool = False,
) -> ExperimentResult:
    """Run (or resume) an experiment into `out_dir`: `runs/`, `events/`, `points.csv`, `manifest.json`.

    Resumes automatically when `out_dir` holds the same experiment (same hash); `resume=True`
    additionally requires that there is something to resume. `extend=True` also accepts a folder
    holding this experiment with fewer runs per point or fewer points (`abm.runner.extend`): its
    finished chunks are kept and the rest is run, so the folder ends as a fresh run would. A
    folder that is already complete (verified) is read, not written: `untouched` is set.
    Raises `RunnerError` (nothing run) for a folder holding something else, in use by another
    process, written by another model version (unless `allow_version_mix`) or not writable, and
    for an unusable backend. Returns the status instead of raising when runs fail, writing fails
    mid-way or the user interrupts.
    `run_timeout` (seconds) stops a run that takes longer; `retries` bounds the re-runs of a
    chunk whose worker died; `retry_failed` recomputes chunks of earlier sessions that had failed
    runs. `summary.csv` is written by `abm.analysis.summary.write_summary(out_dir)`.
    """
    out_dir = Path(out_dir)
    if retries < 0:
        raise RunnerError(f"retries: got {retries}; allowed: a whole number >= 0")
    simulator = resolve_simulator(simulator)
    started = time.monotonic()
    previous = check_folder(out_dir, experiment, resume, allow_version_mix, simulator, extend)  # before anything
    chunks = already_complete(out_dir, experiment, previous, retry_failed) if previous else None
    if previous and chunks is not None:
        return _untouched(experiment, out_dir, previous, chunks, started)
    tasks = Tasks(experiment, simulator, run_timeout)
    entry: dict[str, Any] = {"started": utc_now(), "backend": backend, "jobs": jobs, **writer_version()}
    pool = open_backend(backend, jobs, scheduler)
    entry["jobs"] = pool.jobs
    bar = (
        progress
        if isinstance(progress, Progress)
        else Progress(experiment.runs * len(experiment.points), enabled=bool(progress), label=experiment.name)
    )
    try:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunnerError(f"{out_dir}: cannot create the results folder: {exc.strerror}") from None
        with lock.acquire(out_dir, warn=lambda message: bar.note(f"warning: {message}")):
            session = Session(
                experiment,
                out_dir,
                pool,
                tasks,
                bar,
                entry,
                started,
                resume=resume,
                chunk_size=chunk_size,
                retries=retries,
                retry_failed=retry_failed,
                allow_version_mix=allow_version_mix,
                extend=extend,
            )
            return _run_locked(session)
    finally:
        pool.close()
        bar.close()


def _untouched(
    experiment: Experiment, out_dir: Path, previous: Mapping[str, Any], chunks: list[Mapping[str, Any]], started: float
) -> ExperimentResult:
    """The result of a folder already complete (`folder.already_complete`): read, not written."""
    runs = sum(int(c["rows"]) for c in chunks)
    return ExperimentResult(
        experiment=experiment,
        out_dir=out_dir,
        status="complete",
        runs_done=runs,
        failures=sum(int(c.get("errors") or 0) for c in chunks),
        runs_planned=runs,
        chunks_done=len(chunks),
        seconds=time.monotonic() - started,
        first_error=previous.get("first_error"),
        runs_earlier=runs,
        untouched=True,
    )


def _run_locked(session: Session) -> ExperimentResult:
    """`run_experiment` once the folder is locked."""
    experiment, out_dir, tasks, bar = session.experiment, session.out_dir, session.tasks, session.bar
    previous = check_folder(  # under the lock
        out_dir, experiment, session.resume, session.allow_version_mix, tasks.simulator, session.extend
    )
    for note in resume_notes(out_dir, experiment, previous, session.resume):
        bar.note(note)
    size: int | None = None
    done: dict[str, dict[str, Any]] = {}
    try:
        storage.clean_temporaries(out_dir)
        if previous:
            size = int(previous["chunk_size"]) if previous.get("chunk_size") else None
            if session.chunk_size and size and session.chunk_size != size:
                bar.note(f"resuming with the folder's chunk size {size} (ignoring {session.chunk_size})")
            done = verified(previous, out_dir, experiment.events, session.retry_failed, bar.note)
    except OSError as exc:
        raise RunnerError(storage_message(exc, out_dir)) from None
    settings = {"simulator": tasks.simulator, "run_timeout": tasks.run_timeout, "retries": session.retries}
    manifest = ManifestWriter(out_dir, manifest_data(experiment, size, previous, settings))
    entries: dict[str, dict[str, Any]] = dict(done)
    try:
        sync(manifest, entries, force=True)  # the manifest first: it marks the folder as ours
        if size is None:
            size = chunk_size_for(experiment, tasks, session.backend.jobs, session.chunk_size)
            manifest.data["chunk_size"] = size
            sync(manifest, entries, force=True)
        if experiment.kind == "sweep":
            storage.write_points(out_dir, experiment.points, experiment.parameters)
    except OSError as exc:
        raise RunnerError(storage_message(exc, out_dir)) from None
    written = [0]

    def record(out: ChunkOutput) -> None:
        cid = out.chunk.id
        written[0] += 1
        try:
            hooks = faults.writer_hooks(tasks.faults, written[0])
            runs = storage.write_part_file(out_dir / storage.RUNS_DIR, cid, out.runs, **hooks)
            events = storage.write_part_file(out_dir / storage.EVENTS_DIR, cid, out.events) if out.events else None
            entries[cid] = {
                "id": cid,
                "point": out.chunk.point,
                "start": out.chunk.start,
                "stop": out.chunk.stop,
                "rows": runs.rows,
                "sha256": runs.sha256,
                "events": events.rows if events else None,
                "events_sha256": events.sha256 if events else None,
                "errors": out.errors,
                "counts": out.counts,
                "seconds": round(out.seconds, 3),
                "first_error": first_error(out),
                "v": manifest.data["writer"],
            }
            manifest.append(entries[cid])  # durable now: a crash from here on keeps this chunk
            sync(manifest, entries, force=False)
        except OSError as exc:
            entries.pop(cid, None)
            raise WriteFailed(storage_message(exc, out_dir)) from exc

    def lost(entry: dict[str, Any]) -> None:  # a chunk lost with a worker: kept with the folder's history
        manifest.data.setdefault(LOST_KEY, []).append(entry)
        session.entry[LOST_KEY] = session.entry.get(LOST_KEY, 0) + 1

    engine = Engine(experiment, session.backend, tasks, bar, session.retries, lost)
    tally = engine.tally
    stop_reason = None
    try:
        status: Status = drive(engine, size, done, record)
    except KeyboardInterrupt:
        status = "interrupted"
    except WriteFailed as exc:
        status, stop_reason = "stopped", str(exc)
    except BaseException:
        manifest.data["status"] = "crashed"
        with contextlib.suppress(OSError):
            sync(manifest, entries, force=True)
        raise
    if status == "stopped" and stop_reason is None:
        stop_reason = f"failed share of runs above max_failure_share {experiment.max_failure_share:g}"
    session.entry["ended"] = utc_now()
    session.entry["runs"] = tally.done - sum(int(e["rows"]) for e in done.values())
    manifest.data["sessions"].append(session.entry)
    manifest.data["status"] = status
    manifest.data["stop_reason"] = stop_reason
    if status in ("complete", "failed"):
        manifest.data["finished"] = utc_now()
    manifest.data["first_error"] = tally.first_error
    try:
        sync(manifest, entries, force=True)
        manifest.close(finished=True)
    except OSError as exc:
        manifest.close(finished=False)  # the journal keeps what the manifest could not take
        status, stop_reason = "stopped", storage_message(exc, out_dir)
    return ExperimentResult(
        experiment=experiment,
        out_dir=out_dir,
        status=status,
        runs_done=tally.done,
        failures=tally.failures,
        runs_planned=max(tally.done, experiment.runs * len(experiment.points)),
        chunks_done=len(entries),
        seconds=time.monotonic() - session.started,
        first_error=tally.first_error,
        stop_reason=stop_reason,
        runs_earlier=tally.earlier,
    )


def run_in_memory(
    experiment: Experiment,
    *,
    jobs: int | None = 1,
    backend: str = "serial",
    scheduler: str | None = None,
    chunk_size: int | None = None,
    simulator: str | None = None,
    progress: bool = False,
    run_timeout: float | None = None,
    retries: int = DEFAULT_RETRIES,
) -> MemoryResult:
    """Run an experiment without touching the disk; tables come back sorted by (point, run).

    Failures are handled as in `run_experiment` (`run_timeout`, `retries` of chunks whose worker died).
    """
    if retries < 0:
        raise RunnerError(f"retries: got {retries}; allowed: a whole number >= 0")
    tasks = Tasks(experiment, resolve_simulator(simulator), run_timeout)
    pool = open_backend(backend, jobs, scheduler)
    runs: list[pa.Table] = []
    events: list[pa.Table] = []
    lost: list[dict[str, Any]] = []

    def record(out: ChunkOutput) -> None:
        runs.append(out.runs)
        if out.events is not None:
            events.append(out.events)

    try:
        size = chunk_size_for(experiment, tasks, pool.jobs, chunk_size, timed=pool.jobs > 1)
        bar = Progress(experiment.runs * len(experiment.points), enabled=progress, label=experiment.name)
        engine = Engine(experiment, pool, tasks, bar, retries, lost.append)
        try:
            status = drive(engine, size, {}, record)
        finally:
            bar.close()
    finally:
        pool.close()
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
    return MemoryResult(frame, events_frame, status, engine.tally.failures, lost)


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
    "Session",
    "check_folder",
    "read_table",
    "run_experiment",
    "run_in_memory",
    "run_scenario",
]
