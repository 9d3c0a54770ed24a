"""Run an experiment: plan chunks, dispatch them to a backend, store results as they arrive.

Two entry points share one engine (`_drive`):

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
import dataclasses
import errno
import functools
import os
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from abm.config import Scenario
from abm.defaults import DEFAULT_RETRIES
from abm.model.outcomes import OUTCOMES
from abm.runner import lock, storage
from abm.runner.backends import Backend, Lost, Retried, open_backend
from abm.runner.chunks import Chunk, auto_chunk_size, iter_gaps, span_of
from abm.runner.errors import RunnerError
from abm.runner.experiment import DEFAULT_MAX_FAILURE_SHARE, Experiment, single_experiment
from abm.runner.extend import extension_of, why_not_extension
from abm.runner.manifest import (
    COMPARED,
    DISCARDED_KEY,
    LOST_KEY,
    MANIFEST_FILE,
    ManifestWriter,
    chunk_versions,
    environment,
    read_manifest,
    recorded_version,
    utc_now,
    version_differences,
    with_journal,
    writer_version,
)
from abm.runner.progress import Progress
from abm.runner.seeds import SEED_RULE, run_seeds
from abm.runner.stopping import next_total
from abm.runner.worker import (
    PROCESS_FAULTS,
    ChunkOutput,
    ChunkTask,
    load_simulator,
    lost_chunk,
    merge_outputs,
    read_faults,
    resolve_simulator,
    run_chunk,
)

Status = Literal["complete", "failed", "stopped", "interrupted"]
MIN_RUNS_FOR_EARLY_STOP = 100  # below this many runs a failure share is too noisy to stop on
PILOT_SECONDS = 0.5
MANIFEST_POINTS = 1000  # larger designs are listed in points.csv only
HISTORY = ("extensions", "compactions", LOST_KEY)  # manifest lists a resume or an extension carries over


@dataclass
class ExperimentResult:
    """Outcome of `run_experiment`. `status`:

    * complete: every run done, failed share within the limit;
    * failed: every run done, failed share above the limit (tables and summary still valid);
    * stopped: stopped early because the failed share passed the limit, or because results
      could not be written (`stop_reason` says which; resumable);
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
    stop_reason: str | None = None
    runs_earlier: int = 0  # of runs_done, those an earlier invocation had finished (resume)
    untouched: bool = False  # nothing was left to run: the folder was only read, not written

    @property
    def failure_share(self) -> float:
        return self.failures / self.runs_done if self.runs_done else 0.0

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def runs(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The runs table, sorted by (point, run), read back through the one reader (`read_table`): only the
        parts the manifest lists, each checked (sha256, row count) before it is parsed."""
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
    lost_workers: list[dict[str, Any]] = field(default_factory=list)  # as the manifest's `lost_workers`


def read_table(directory: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """`columns` (default: all) of a results folder's `DIR/runs` or `DIR/events`, rows in (point, run) order.

    Read through the one reader (`abm.runner.reader.open_folder`): only the parts the manifest lists,
    each checked against its sha256 and row count before it is parsed. A stray, missing or damaged part
    (or a missing or damaged manifest) raises `FolderError`, a `RunnerError` naming the files (exit 2 in
    the CLI); an unfinished folder gives the chunks its manifest records as finished."""
    from abm.runner.reader import SUBDIRS, FolderError, open_folder

    directory = Path(directory)
    if directory.name not in SUBDIRS:
        raise FolderError(f"{directory}: give the runs/ or events/ folder of a results folder (DIR/runs, DIR/events)")
    return open_folder(directory.parent).read(directory.name, columns)


@dataclass
class _Tally:
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


class _Tasks:
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
            self.faults = read_faults()
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
        return dataclasses.replace(task, faults={k: v for k, v in task.faults.items() if k not in PROCESS_FAULTS})

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


def _first_error(out: ChunkOutput) -> str | None:
    if not out.errors:
        return None
    errors = pc.drop_null(out.runs.column("error"))
    return str(errors[0]) if len(errors) else None


@dataclass
class _Losses:
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


def _dispatch(
    backend: Backend,
    tasks: Iterable[ChunkTask],
    retries: int,
    note: Callable[[str], None],
    record: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[ChunkOutput]:
    """Every task's output, in any order, whatever workers die on the way.

    Chunks lost with a dead worker are run again one at a time once the others are done, so a
    death is pinned on the chunk that causes it; see `_alone`. Each loss is reported (`_Losses`).
    """
    losses = _Losses(backend, max(retries + 1, 2), note, record)
    suspects: list[ChunkTask] = []
    with contextlib.closing(backend.imap_unordered(run_chunk, tasks)) as results:
        for item in results:
            if isinstance(item, Retried):
                losses.retried(item)
            elif isinstance(item, Lost):
                then = "retrying it once the others are done (lost chunks are re-run one at a time)"
                for task in item.tasks:
                    losses(item, task, then, "re-run alone")
                suspects.extend(item.tasks)
            else:
                yield item
    for task in suspects:
        yield _alone(backend, task, losses)


def _one(backend: Backend, task: ChunkTask, losses: _Losses) -> ChunkOutput | Lost:
    with contextlib.closing(backend.imap_unordered(run_chunk, [task], in_flight=1)) as results:
        for item in results:
            if isinstance(item, Retried):
                losses.retried(item)
            else:
                return item
    raise RunnerError(f"backend {backend.name!r} returned nothing for chunk {task.chunk.id}")


def _alone(backend: Backend, task: ChunkTask, losses: _Losses) -> ChunkOutput:
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
    with contextlib.closing(backend.imap_unordered(run_chunk, subtasks, in_flight=1)) as results:
        for item in results:
            if isinstance(item, Retried):
                losses.retried(item)
            elif isinstance(item, Lost):
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
    retries: int = DEFAULT_RETRIES,
    lost: Callable[[dict[str, Any]], None] | None = None,
) -> Status:
    """The engine: rounds of chunks (one round unless sequential stopping adds batches).

    A round runs [begin[p], target[p]) of each active point p, except the runs finished chunks
    (`done`) hold; those are counted, in the round their first run falls in. `lost` receives an
    entry for each chunk lost with a dead worker (`_Losses`)."""
    exp = experiment
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
        with contextlib.closing(_dispatch(backend, map(tasks, todo), retries, progress.note, lost)) as results:
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
    run_chunk(tasks.pilot(Chunk(0, 0, 1)))
    times: list[float] = []
    for run in range(1, 6):
        began = time.perf_counter()
        run_chunk(tasks.pilot(Chunk(0, run, run + 1)))
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


def _verified(
    previous: Mapping[str, Any], out_dir: Path, events: bool, retry_failed: bool, note: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """Chunks of earlier sessions whose part files are intact (row count and, where recorded,
    sha256); every other part file is removed, so it is recomputed and never read twice."""
    good = {}
    retried = 0
    for entry in previous.get("chunks", []):
        cid = entry["id"]
        if span_of(cid, entry) is None:
            note(f"chunk {cid} does not say which runs it holds; recomputing them")
            continue
        problems = []
        why = storage.check_part(out_dir / storage.RUNS_DIR, cid, entry["rows"], entry.get("sha256"))
        if why:
            problems.append(f"{storage.RUNS_DIR}/{storage.part_path(Path(), cid)}: {why}")
        if events and entry.get("events") is not None:
            why = storage.check_part(out_dir / storage.EVENTS_DIR, cid, entry["events"], entry.get("events_sha256"))
            if why:
                problems.append(f"{storage.EVENTS_DIR}/{storage.part_path(Path(), cid)}: {why}")
        if problems:
            note(f"chunk {cid} cannot be trusted ({'; '.join(problems)}); recomputing it")
            continue
        if retry_failed and int(entry.get("errors") or 0):
            retried += 1
            continue
        good[cid] = entry
    if retried:
        note(f"--retry-failed: recomputing {retried} chunk(s) that had failed runs")
    for sub in (storage.RUNS_DIR, storage.EVENTS_DIR):
        for cid in storage.part_ids(out_dir / sub):
            if cid not in good:  # damaged, retried, or written after the last manifest flush
                storage.remove_part(out_dir / sub, cid)
    return good


def _leftovers_only(out_dir: Path) -> bool:
    """A folder holding nothing but what a sweep killed before its first manifest leaves (its lock)."""
    if not out_dir.is_dir():
        return False
    names = {p.name for p in out_dir.iterdir() if not (p.name.startswith(".") and p.name.endswith(".tmp"))}
    return names <= {lock.LOCK_FILE}  # empty: killed between creating the folder and locking it


def _visible(out_dir: Path) -> list[Path]:
    return [p for p in out_dir.iterdir() if not (p.name == lock.LOCK_FILE or p.name.endswith(".tmp"))]


def version_mismatch(previous: Mapping[str, Any]) -> str | None:
    """How the versions that wrote a folder's finished chunks differ from this process's (abm,
    model code, Python, numpy, Mesa, pyarrow), as "KEY OLD there, NEW here; …", or None.

    Once a folder has been allowed to mix versions (`version_mix`), resuming it with one of the
    versions already there adds nothing new and is not a mismatch."""
    now = writer_version()
    olds = chunk_versions(previous)
    changed = {k: [] for k in COMPARED}
    for old in olds:
        for key in version_differences(old, now):
            shown = _shown(key, old.get(key))
            if shown not in changed[key]:
                changed[key].append(shown)
    if not any(changed.values()):
        return None
    if previous.get("version_mix") is True and any(not version_differences(old, now) for old in olds):
        return None
    return "; ".join(
        f"{COMPARED[k]} {' and '.join(v)} there, {_shown(k, now[k])} here" for k, v in changed.items() if v
    )


def _shown(key: str, value: Any) -> str:
    if value is None:
        return "not recorded"
    return str(value)[:12] if key == "model_hash" else str(value)


def check_folder(
    out_dir: Path,
    experiment: Experiment,
    resume: bool = False,
    allow_version_mix: bool = False,
    simulator: str | None = None,
    extend: bool = False,
) -> dict[str, Any] | None:
    """The earlier manifest to resume (or, with `extend`, to extend) from, or None for a fresh
    start; refuse anything else.

    Refused (RunnerError): a folder holding something else, another experiment (with `extend`:
    anything but the folder's experiment with more runs or points, `abm.runner.extend`),
    results of another model version (unless `allow_version_mix`), or, with `resume` or
    `extend`, nothing to resume or extend.
    """
    out_dir = Path(out_dir)
    if extend and read_manifest(out_dir) is None and not (out_dir / MANIFEST_FILE).exists():
        raise RunnerError(
            f"{out_dir}: nothing to extend (no results folder there); run the same command without --extend to start it"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise RunnerError(f"{out_dir}: is a file, not a results folder; choose another --out")
    previous = read_manifest(out_dir)
    if previous is not None and not isinstance(previous, dict):
        raise RunnerError(
            f"{out_dir / MANIFEST_FILE}: damaged: not a mapping of the folder's record; the folder cannot be "
            "resumed safely. Choose another --out"
        )
    if isinstance(previous, dict):
        _check_chunk_list(previous, out_dir)
        previous = with_journal(previous, out_dir)  # chunks finished after the manifest's last rewrite
    if previous is None:
        if (out_dir / MANIFEST_FILE).exists():
            raise RunnerError(
                f"{out_dir / MANIFEST_FILE}: unreadable; the folder cannot be resumed safely. Choose another --out"
            )
        if _leftovers_only(out_dir):
            return None  # a sweep killed before it wrote anything: start it afresh
        if resume and not out_dir.exists():
            raise RunnerError(
                f"{out_dir}: nothing to resume: the folder does not exist (a run stopped before it created the "
                "folder, or a mistyped --out); nothing was kept, so run the same command without --resume to start "
                "again"
            )
        if resume:
            raise RunnerError(f"{out_dir}: nothing to resume (no readable {MANIFEST_FILE})")
        if out_dir.exists() and _visible(out_dir):
            raise RunnerError(f"{out_dir}: exists and is not an abm results folder; choose another --out")
        return None
    if previous.get("experiment_hash") != experiment.hash:
        _check_extension(out_dir, previous, experiment, extend)
    if simulator is not None and previous.get("simulator", simulator) != simulator:
        raise RunnerError(
            f"{out_dir}: was run with simulator {previous.get('simulator')!r}, this run uses {simulator!r}; "
            "resuming would mix results: choose another --out."
        )
    mismatch = version_mismatch(previous)
    if mismatch and not allow_version_mix:
        raise RunnerError(
            f"{out_dir}: was written by {_whose(mismatch)} ({mismatch}). Resuming would mix results of two "
            "versions in one folder: choose another --out, or give --allow-version-mix to continue anyway "
            "(the manifest then records both versions, and which chunks each wrote)."
        )
    return previous


def _check_chunk_list(previous: Mapping[str, Any], out_dir: Path) -> None:
    """A resume trusts the chunk list only after the reader's field checks and a whole `errors` count per chunk."""
    from abm.runner.reader import FolderError, checked_entries

    where = out_dir / MANIFEST_FILE
    try:
        checked_entries(previous, where)
    except FolderError as exc:
        raise RunnerError(f"{exc}; choose another --out") from None
    for i, chunk in enumerate(previous["chunks"]):
        errors = chunk.get("errors")
        if isinstance(errors, bool) or not isinstance(errors, int) or errors < 0:
            raise RunnerError(
                f"{where}: damaged: chunk {i} has an invalid 'errors' count ({str(errors)[:40]!r}); the folder "
                "cannot be resumed safely. Choose another --out"
            )


def _check_extension(out_dir: Path, previous: Mapping[str, Any], experiment: Experiment, extend: bool) -> None:
    """Refuse a folder holding another experiment, unless `extend` and it is this one with fewer runs or points."""
    why = why_not_extension(previous, experiment)
    if why is None and extend:
        return
    if why is None:
        raise RunnerError(
            f"{out_dir}: holds a different experiment: this one extends it ({extension_of(previous, experiment)}). "
            "Give --extend to add the new runs and points (the finished ones are kept, not re-run), or choose "
            "another --out."
        )
    if extend:
        raise RunnerError(
            f"{out_dir}: cannot be extended to this experiment: {why}. Only runs (--runs) and points may be "
            "added; choose another --out for anything else."
        )
    raise RunnerError(
        f"{out_dir}: holds a different experiment ({previous.get('name')!r}, hash "
        f"{str(previous.get('experiment_hash'))[:12]}); this one has hash {experiment.hash[:12]}. "
        "Resuming would mix results: choose another --out."
    )


def _whose(mismatch: str) -> str:
    code = mismatch.startswith((COMPARED["abm_version"], COMPARED["model_hash"]))
    libraries = any(f"{COMPARED[k]} " in mismatch for k in ("python", "numpy", "mesa", "pyarrow"))
    if code and libraries:
        return "another version of abm and of Python or its libraries"
    return "another version of abm" if code else "another version of Python or its libraries"


def _version_index(versions: list[dict[str, Any]], record: Mapping[str, Any]) -> int:
    """Index of `record` in `versions`, appended if new. An entry of an older format that agrees on
    every key it has (no libraries recorded) is that record: the keys it lacks are added, none changed."""
    for i, known in enumerate(versions):
        if all(known.get(k) == v for k, v in record.items() if k in known):
            for k, v in record.items():
                known.setdefault(k, v)
            return i
    versions.append(dict(record))
    return len(versions) - 1


def _manifest_data(
    experiment: Experiment, chunk_size: int | None, previous: Mapping[str, Any] | None, settings: Mapping[str, Any]
) -> dict[str, Any]:
    exp = experiment
    data: dict[str, Any] = {
        "format": 2,
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
        **settings,
        **environment(),
        "started": utc_now(),
        "finished": None,
        "sessions": [],
        "runs_done": 0,
        "failures": 0,
        "chunks_done": 0,
        "chunks": [],
    }
    current = writer_version()
    versions: list[dict[str, Any]] = []
    if previous:
        data["started"] = previous.get("started", data["started"])
        data["sessions"] = list(previous.get("sessions", []))
        for key in HISTORY:  # what `abm compact` and earlier extensions did: kept
            if isinstance(previous.get(key), list):
                data[key] = list(previous[key])
        if previous.get("experiment_hash") != exp.hash:  # an extension (check_folder allowed it)
            grown = extension_of(previous, exp)
            data.setdefault("extensions", []).append(
                {
                    "at": utc_now(),
                    "from_hash": previous.get("experiment_hash"),
                    "runs": grown.runs,
                    "points": grown.points,
                }
            )
        versions = [v for v in previous.get("versions") or [] if isinstance(v, dict)]  # never rewritten
        last = _version_index(versions, recorded_version(previous))  # the last writer (the top level is rewritten)
        for entry in previous.get("chunks") or []:  # chunks recorded before per-chunk versions: the last writer's
            if isinstance(entry, dict) and type(entry.get("v")) is not int:
                entry["v"] = last  # (the same dicts are the resumed entries)
    data["writer"] = _version_index(versions, current)  # `v` of the chunks this session writes
    data["versions"] = versions
    data["version_mix"] = any(version_differences(a, b) for a in versions for b in versions)
    return data


class _WriteFailed(Exception):
    """Results could not be written; the sweep stops with what is on disk intact."""


def _storage_message(exc: OSError, out_dir: Path) -> str:
    what = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    hint = " free some space," if full else ""
    head = "disk full: " if full else ""
    return f"{head}cannot write results in {out_dir}: {what}{where}; finished chunks are kept intact:{hint} then resume"


def _writer_hooks(faults: Mapping[str, Any], n: int) -> dict[str, Any]:
    """Test-only writer faults for the n-th part of this session (see abm.runner.worker)."""
    hooks: dict[str, Any] = {}
    if faults.get("write_sleep") or faults.get("write_kill") == n:

        def before_rename(tmp: Path) -> None:
            time.sleep(float(faults.get("write_sleep") or 0))
            if faults.get("write_kill") == n:
                os.kill(os.getpid(), signal.SIGKILL)

        hooks["before_rename"] = before_rename
    if faults.get("write_error") == n:

        def write(fh: Any, data: bytes) -> None:
            fh.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), fh.name)

        hooks["write"] = write
    return hooks


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
    done = _already_complete(out_dir, experiment, previous, started, retry_failed) if previous else None
    if done is not None:
        return done
    tasks = _Tasks(experiment, simulator, run_timeout)
    session: dict[str, Any] = {"started": utc_now(), "backend": backend, "jobs": jobs, **writer_version()}
    engine = open_backend(backend, jobs, scheduler)
    session["jobs"] = engine.jobs
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
            return _run_locked(
                experiment,
                out_dir,
                engine,
                tasks,
                bar,
                session,
                started,
                resume,
                chunk_size,
                retries,
                retry_failed,
                allow_version_mix,
                extend,
            )
    finally:
        engine.close()
        bar.close()


def _already_complete(
    out_dir: Path, experiment: Experiment, previous: Mapping[str, Any], started: float, retry_failed: bool
) -> ExperimentResult | None:
    """The result of a folder that holds this very experiment, complete, every part verified
    (listing, row counts, sha256): nothing to run and nothing to write. None otherwise (a
    folder to resume, repair or retry, one left by an interrupted `abm compact`, or one of
    another version re-run with `allow_version_mix`, whose session the manifest records)."""
    from abm.runner.reader import FolderError, open_folder

    if previous.get("status") != "complete" or previous.get("experiment_hash") != experiment.hash:
        return None
    chunks = previous.get("chunks") or []
    failures = sum(int(c.get("errors") or 0) for c in chunks)
    if previous.get("journalled") or previous.get(DISCARDED_KEY) or (retry_failed and failures):
        return None
    if version_mismatch(previous):  # written by another version (allowed): the session is recorded, as before
        return None
    try:
        folder = open_folder(out_dir)
        folder.verify()
    except FolderError:
        return None  # damaged, missing or stray parts: the run below repairs them and says so
    runs = sum(int(c["rows"]) for c in chunks)
    return ExperimentResult(
        experiment=experiment,
        out_dir=out_dir,
        status="complete",
        runs_done=runs,
        failures=failures,
        runs_planned=runs,
        chunks_done=len(chunks),
        seconds=time.monotonic() - started,
        first_error=previous.get("first_error"),
        runs_earlier=runs,
        untouched=True,
    )


def _run_locked(
    experiment: Experiment,
    out_dir: Path,
    engine: Backend,
    tasks: _Tasks,
    bar: Progress,
    session: dict[str, Any],
    started: float,
    resume: bool,
    chunk_size: int | None,
    retries: int,
    retry_failed: bool,
    allow_version_mix: bool,
    extend: bool = False,
) -> ExperimentResult:
    """`run_experiment` once the folder is locked."""
    previous = check_folder(out_dir, experiment, resume, allow_version_mix, tasks.simulator, extend)  # under the lock
    if previous is not None and previous.get("experiment_hash") != experiment.hash:
        bar.note(
            f"extending {out_dir}: {extension_of(previous, experiment)}; the "
            f"{sum(int(c.get('rows') or 0) for c in previous.get('chunks') or [])} runs finished there are kept"
        )
    if previous is None and resume:
        bar.note(f"{out_dir}: the earlier session stopped before finishing any chunk; starting from the beginning")
    if previous is not None and previous.get("status") == "running":
        bar.note(f"{out_dir}: the earlier session ended without closing the folder (killed?); resuming")
    mismatch = version_mismatch(previous) if previous else None
    if mismatch:
        bar.note(f"warning: --allow-version-mix: this folder now mixes results of two versions ({mismatch})")
    size: int | None = None
    done: dict[str, dict[str, Any]] = {}
    try:
        storage.clean_temporaries(out_dir)
        if previous:
            size = int(previous["chunk_size"]) if previous.get("chunk_size") else None
            if chunk_size and size and chunk_size != size:
                bar.note(f"resuming with the folder's chunk size {size} (ignoring {chunk_size})")
            done = _verified(previous, out_dir, experiment.events, retry_failed, bar.note)
    except OSError as exc:
        raise RunnerError(_storage_message(exc, out_dir)) from None
    settings = {"simulator": tasks.simulator, "run_timeout": tasks.run_timeout, "retries": retries}
    manifest = ManifestWriter(out_dir, _manifest_data(experiment, size, previous, settings))
    entries: dict[str, dict[str, Any]] = dict(done)
    tally = _Tally()
    try:
        _sync(manifest, entries, tally, force=True)  # the manifest first: it marks the folder as ours
        if size is None:
            size = _chunk_size(experiment, tasks, engine.jobs, chunk_size)
            manifest.data["chunk_size"] = size
            _sync(manifest, entries, tally, force=True)
        if experiment.kind == "sweep":
            storage.write_points(out_dir, experiment.points, experiment.parameters)
    except OSError as exc:
        raise RunnerError(_storage_message(exc, out_dir)) from None
    written = [0]

    def record(out: ChunkOutput) -> None:
        cid = out.chunk.id
        written[0] += 1
        try:
            hooks = _writer_hooks(tasks.faults, written[0]) if tasks.faults else {}
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
                "first_error": _first_error(out),
                "v": manifest.data["writer"],
            }
            manifest.append(entries[cid])  # durable now: a crash from here on keeps this chunk
            _sync(manifest, entries, tally, force=False)
        except OSError as exc:
            entries.pop(cid, None)
            raise _WriteFailed(_storage_message(exc, out_dir)) from exc

    def lost(entry: dict[str, Any]) -> None:  # a chunk lost with a worker: kept with the folder's history
        manifest.data.setdefault(LOST_KEY, []).append(entry)
        session[LOST_KEY] = session.get(LOST_KEY, 0) + 1

    stop_reason = None
    try:
        status: Status = _drive(experiment, engine, tasks, size, done, record, bar, tally, retries, lost)
    except KeyboardInterrupt:
        status = "interrupted"
    except _WriteFailed as exc:
        status, stop_reason = "stopped", str(exc)
    except BaseException:
        manifest.data["status"] = "crashed"
        with contextlib.suppress(OSError):
            _sync(manifest, entries, tally, force=True)
        raise
    if status == "stopped" and stop_reason is None:
        stop_reason = f"failed share of runs above max_failure_share {experiment.max_failure_share:g}"
    session["ended"] = utc_now()
    session["runs"] = tally.done - sum(int(e["rows"]) for e in done.values())
    manifest.data["sessions"].append(session)
    manifest.data["status"] = status
    manifest.data["stop_reason"] = stop_reason
    if status in ("complete", "failed"):
        manifest.data["finished"] = utc_now()
    manifest.data["first_error"] = tally.first_error
    try:
        _sync(manifest, entries, tally, force=True)
        manifest.close(finished=True)
    except OSError as exc:
        manifest.close(finished=False)  # the journal keeps what the manifest could not take
        status, stop_reason = "stopped", _storage_message(exc, out_dir)
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
        stop_reason=stop_reason,
        runs_earlier=tally.earlier,
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
    run_timeout: float | None = None,
    retries: int = DEFAULT_RETRIES,
) -> MemoryResult:
    """Run an experiment without touching the disk; tables come back sorted by (point, run).

    Failures are handled as in `run_experiment` (`run_timeout`, `retries` of chunks whose worker died).
    """
    if retries < 0:
        raise RunnerError(f"retries: got {retries}; allowed: a whole number >= 0")
    tasks = _Tasks(experiment, resolve_simulator(simulator), run_timeout)
    engine = open_backend(backend, jobs, scheduler)
    runs: list[pa.Table] = []
    events: list[pa.Table] = []
    lost: list[dict[str, Any]] = []

    def record(out: ChunkOutput) -> None:
        runs.append(out.runs)
        if out.events is not None:
            events.append(out.events)

    try:
        size = _chunk_size(experiment, tasks, engine.jobs, chunk_size, timed=engine.jobs > 1)
        bar = Progress(experiment.runs * len(experiment.points), enabled=progress, label=experiment.name)
        tally = _Tally()
        try:
            status = _drive(experiment, engine, tasks, size, {}, record, bar, tally, retries, lost.append)
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
    return MemoryResult(frame, events_frame, status, tally.failures, lost)


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
