"""Faults inside one process: runs that raise or hang, workers that die, writes that fail,
damaged part files, a folder in use, results of another model version (docs/RELIABILITY.md).

Every test checks the two promises of issue 6: nothing lost (the rows that could be computed
equal an undisturbed run, row for row) and nothing silently wrong (every failure is a row
with its reason, or a message, and the folder stays resumable).
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from abm.runner import (
    RunnerError,
    engine,
    points_experiment,
    read_table,
    run_experiment,
    run_in_memory,
    single_experiment,
    storage,
)
from abm.runner import lock as folder_lock
from abm.runner import manifest as manifest_module
from abm.runner.backends import Lost
from abm.runner.chunks import Chunk, plan_chunks
from abm.runner.engine import Tasks
from abm.runner.worker import time_limit
from tests.reliability import HANG, RECOVERED, compare_rows, record, refusal
from tests.runner.support import BASELINE, SHORT, subprocess_env

AREA = "faults during a sweep"  # of the reliability tally (tests/reliability.py): each fault is one trial
POINTS = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]


def faults(monkeypatch, **plan) -> None:
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps(plan))


@pytest.fixture
def sweep(short_baseline):
    """2 points x 12 runs with events: small enough for a second per backend."""
    return points_experiment(short_baseline, POINTS, 12, 5, common_random_numbers=False, events=True)


@pytest.fixture
def reference(sweep, fake):
    """The undisturbed tables of `sweep`."""
    result = run_in_memory(sweep, simulator=fake, chunk_size=12)
    assert result.failures == 0
    return result


def go(exp, out: Path, fake: str, **kw):
    kw.setdefault("backend", "serial")
    kw.setdefault("chunk_size", 3)
    return run_experiment(exp, out, progress=False, simulator=fake, **kw)


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def assert_intact(out: Path) -> None:
    """Every part the manifest lists has its recorded rows and sha256; no temporary is left."""
    m = manifest(out)
    for entry in m["chunks"]:
        assert storage.check_part(out / "runs", entry["id"], entry["rows"], entry["sha256"]) is None
    assert not list(out.rglob("*.tmp")), list(out.rglob("*.tmp"))


def same_rows(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Equal row for row and value for value (a column with a failed run's null is float in pandas)."""
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True), check_dtype=False)


def judged(*pairs: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """One trial of the tally, judged by the rows it left: each (got, undisturbed) pair row for row."""
    compare_rows(AREA, pairs)


def refused(call, error: type[BaseException], pattern: str) -> None:
    """`call` refuses with `error`, its message matching `pattern`: one trial of the tally."""
    found = refusal(AREA, call, error)
    assert re.search(pattern, str(found)), str(found)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- runs that raise or hang ------------------------------------------------------------------


def test_a_hanging_run_is_stopped_at_the_time_limit_and_recorded(tmp_path, monkeypatch, sweep, reference, fake) -> None:
    """In this process (serial) by SIGALRM; in loky and dask workers: see the worker-death tests."""
    faults(monkeypatch, hang_runs=[4], die_points=[1], hang=60)
    result = go(sweep, tmp_path, fake, run_timeout=0.3)
    assert result.status == "complete" and result.failures == 1 and result.seconds < 30
    runs = result.runs()
    bad = (runs["point"] == 1) & (runs["run"] == 4)
    judged((runs[~bad], reference.runs[~bad]))
    assert runs.loc[bad, "error"].iloc[0].startswith("RunTimeout: timeout after 0.3 s")
    same_rows(runs[~bad], reference.runs[~bad])
    assert manifest(tmp_path)["run_timeout"] == 0.3


def test_the_time_limit_also_works_outside_the_main_thread() -> None:
    """dask runs tasks in threads: a watchdog raises into the run instead of SIGALRM."""
    import threading
    import time

    seen: list[str] = []

    def hang() -> None:
        try:
            with time_limit(0.2):
                end = time.monotonic() + 30
                while time.monotonic() < end:
                    time.sleep(0.01)
        except BaseException as exc:
            seen.append(str(exc))

    thread = threading.Thread(target=hang)
    began = time.monotonic()
    thread.start()
    thread.join(10)
    record(AREA, RECOVERED if seen == ["timeout after 0.2 s"] and time.monotonic() - began < 5 else HANG)
    assert seen == ["timeout after 0.2 s"] and time.monotonic() - began < 5


def test_timeouts_above_the_failure_limit_stop_the_sweep_resumably(tmp_path, monkeypatch, short_baseline, fake) -> None:
    exp = single_experiment(short_baseline, 200, 3, max_failure_share=0.05)
    faults(monkeypatch, hang_runs=list(range(0, 200, 4)), hang=60)
    first = go(exp, tmp_path, fake, chunk_size=20, run_timeout=0.02)
    assert first.status == "stopped" and 100 <= first.runs_done < 200
    assert "max_failure_share" in first.stop_reason and "timeout after 0.02 s" in first.first_error
    m = manifest(tmp_path)
    assert m["status"] == "stopped" and m["chunks_done"] == first.runs_done // 20
    assert_intact(tmp_path)
    monkeypatch.delenv("ABM_FAULT_INJECT")  # the cause is fixed: resume and redo the failed runs
    again = go(exp, tmp_path, fake, resume=True, retry_failed=True)
    assert again.status == "complete" and again.failures == 0 and again.runs_done == 200
    clean = run_in_memory(exp, simulator=fake).runs
    judged((again.runs(), clean))
    pd.testing.assert_frame_equal(again.runs(), clean)


# --- worker processes that die ------------------------------------------------------------------


def test_a_worker_killed_mid_run_costs_only_that_run_loky(tmp_path, monkeypatch, sweep, reference, fake) -> None:
    """SIGKILL (a simulated OOM kill) of the worker at one run: its chunk is retried alone, then
    run by run; only that run is lost, with the reason; every other row is the undisturbed one.
    A hanging run in the same sweep is stopped by SIGALRM in the worker."""
    faults(monkeypatch, kill_runs=[4], hang_runs=[9], die_points=[1], hang=60)
    result = go(sweep, tmp_path, fake, backend="loky", jobs=1, retries=1, run_timeout=0.3)
    assert result.status == "failed" and result.failures == 2  # every run done; 2 of 24 is above the 5% limit
    runs = result.runs()
    by_run = runs.set_index(["point", "run"])["error"]
    assert by_run[(1, 4)].startswith("WorkerDied: worker died (exit code SIGKILL(-9)) after 3 attempts"), by_run[(1, 4)]
    assert by_run[(1, 9)].startswith("RunTimeout: timeout after 0.3 s")
    bad = (runs["point"] == 1) & runs["run"].isin([4, 9])
    events = result.events()
    expected = reference.events[~((reference.events["point"] == 1) & reference.events["run"].isin([4, 9]))]
    judged((runs[~bad], reference.runs[~bad]), (events, expected))
    same_rows(runs[~bad], reference.runs[~bad])
    assert not ((events["point"] == 1) & events["run"].isin([4, 9])).any()
    pd.testing.assert_frame_equal(events, expected.reset_index(drop=True))
    assert_intact(tmp_path)


def test_a_worker_that_dies_once_is_retried_and_nothing_is_lost(
    tmp_path, monkeypatch, sweep, reference, fake, capsys
) -> None:
    faults(monkeypatch, exit_runs=[7], die_points=[0], die_attempts=1)  # os._exit(3) on the first attempt only
    result = go(sweep, tmp_path, fake, backend="loky", jobs=1)
    judged((result.runs(), reference.runs), (result.events(), reference.events))
    assert result.status == "complete" and result.failures == 0
    pd.testing.assert_frame_equal(result.runs(), reference.runs)
    pd.testing.assert_frame_equal(result.events(), reference.events)
    assert "worker died (exit code EXIT(3))" in capsys.readouterr().err


@pytest.mark.slow  # a dask cluster and two worker restarts by its nanny: ~10 s
def test_a_dask_worker_that_dies_or_hangs(tmp_path, monkeypatch, sweep, reference, fake) -> None:
    """dask: a killed worker makes the future fail with KilledWorker; the runner retries alone
    (allowed-failures 0), then run by run. The time limit works in dask's worker threads."""
    faults(monkeypatch, exit_runs=[4], hang_runs=[9], die_points=[1], hang=60)
    result = go(sweep, tmp_path, fake, backend="dask", jobs=1, retries=0, run_timeout=0.3)
    assert result.status == "failed" and result.failures == 2  # every run done; 2 of 24 is above the 5% limit
    runs = result.runs().set_index(["point", "run"])
    assert runs.loc[(1, 4), "error"].startswith("WorkerDied: worker died (dask KilledWorker")
    assert runs.loc[(1, 9), "error"].startswith("RunTimeout: timeout after 0.3 s")
    ok = runs["error"].isna()
    expected = reference.runs.set_index(["point", "run"])[ok.values]
    judged((runs[ok], expected))
    pd.testing.assert_frame_equal(runs[ok], expected, check_dtype=False)


class ScriptedBackend:
    """Runs tasks here, but a task holding a deadly run "kills its worker" as loky's pool would
    report it: every task in flight with it comes back in one `Lost`. `deaths` caps how many
    attempts of a deadly run die (a transient fault), None for all."""

    name, jobs = "scripted", 2

    def __init__(self, deadly: set[tuple[int, int]], deaths: int | None = None) -> None:
        self.deadly, self.deaths, self.calls = deadly, deaths, 0

    def _dies(self, task) -> bool:
        hit = any((task.chunk.point, run) in self.deadly for run in task.chunk.runs)
        return hit and (self.deaths is None or task.attempt <= self.deaths)

    def imap_unordered(self, fn, tasks, in_flight=None):
        it = iter(tasks)
        while batch := list(itertools.islice(it, in_flight or 4)):
            if any(self._dies(t) for t in batch):
                yield Lost(batch, "worker died (exit code SIGKILL(-9))")
            else:
                yield from map(fn, batch)

    def close(self) -> None:
        pass


def dispatch(sweep, fake, backend, retries):
    """All outputs of `sweep` through `engine.dispatch`, as one sorted runs table, and the notes."""
    tasks = Tasks(sweep, fake)
    notes: list[str] = []
    outs = list(engine.dispatch(backend, map(tasks, plan_chunks(range(2), 0, 12, 3)), retries, notes.append))
    assert sorted(o.chunk for o in outs) == plan_chunks(range(2), 0, 12, 3)  # each chunk exactly once
    table = pa.concat_tables([o.runs for o in outs]).sort_by([("point", "ascending"), ("run", "ascending")])
    return table.to_pandas(), sum(o.errors for o in outs), notes


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_only_the_deadly_run_is_lost_and_innocent_chunks_are_never_blamed(sweep, reference, fake, retries) -> None:
    runs, errors, notes = dispatch(sweep, fake, ScriptedBackend({(1, 4)}), retries)
    attempts = max(retries + 1, 2)  # a chunk lost among others is always tried once alone
    assert errors == 1
    error = runs.set_index(["point", "run"]).loc[(1, 4), "error"]
    assert error == (
        f"WorkerDied: worker died (exit code SIGKILL(-9)) after {attempts + 1} attempts "
        f"({attempts} in its chunk, then alone)"
    )
    bad = (runs["point"] == 1) & (runs["run"] == 4)
    judged((runs[~bad], reference.runs[~bad]))
    same_rows(runs[~bad], reference.runs[~bad])
    assert any("re-run one at a time" in n for n in notes) and any("one by one" in n for n in notes)


def test_a_transient_death_loses_nothing(sweep, reference, fake) -> None:
    runs, errors, notes = dispatch(sweep, fake, ScriptedBackend({(0, 7), (1, 2)}, deaths=1), retries=2)
    judged((runs, reference.runs))
    assert errors == 0
    same_rows(runs, reference.runs)
    assert not any("one by one" in n for n in notes)


def test_a_chunk_of_one_run_is_recorded_after_its_attempts(sweep, fake) -> None:
    tasks = Tasks(sweep, fake)
    (out,) = engine.dispatch(ScriptedBackend({(0, 5)}), [tasks(Chunk(0, 5, 6))], 2, lambda _: None)
    assert out.errors == 1 and out.runs.column("error")[0].as_py().endswith("after 3 attempts")


def test_serial_cannot_survive_a_dying_run(tmp_path, sweep, reference, fake) -> None:
    """The documented limit (docs/RELIABILITY.md): serial runs chunks in the main process, so a run
    that ends its process (`os._exit(3)`) ends the sweep; the chunks before it stay, and a resume
    finishes the sweep equal to an undisturbed one. Should serial ever survive, update the doc."""
    code = (
        "from abm.config import load_config\n"
        "from abm.runner import points_experiment, run_experiment\n"
        f"exp = points_experiment(load_config({str(BASELINE)!r}, {SHORT!r}), {POINTS!r}, 12, 5,"
        " common_random_numbers=False, events=True)\n"
        f"run_experiment(exp, {str(tmp_path)!r}, backend='serial', chunk_size=3, progress=False, simulator={fake!r})\n"
    )
    env = {**subprocess_env(fake=True), "ABM_FAULT_INJECT": json.dumps({"exit_runs": [7], "die_points": [0]})}
    died = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert died.returncode == 3, died.stderr  # the run's exit code is the sweep's: nothing caught it
    m = manifest_module.with_journal(manifest(tmp_path), tmp_path)  # the chunks journalled before the death
    assert m["status"] == "running" and [c["rows"] for c in m["chunks"]] == [3, 3]  # runs 0-5 of point 0
    assert len(list((tmp_path / "runs").glob("part-*.parquet"))) == 2 and not list(tmp_path.glob("*/.part-*"))
    again = go(sweep, tmp_path, fake, resume=True)
    judged((again.runs(), reference.runs), (again.events(), reference.events))
    assert again.status == "complete" and again.failures == 0
    pd.testing.assert_frame_equal(again.runs(), reference.runs)
    pd.testing.assert_frame_equal(again.events(), reference.events)


# --- writes that fail -----------------------------------------------------------------------------


def test_disk_full_mid_sweep_stops_resumably_and_damages_nothing(tmp_path, monkeypatch, sweep, reference, fake) -> None:
    faults(monkeypatch, write_error=3)  # the 3rd part write fails half-way: "No space left on device"
    first = go(sweep, tmp_path, fake)
    assert first.status == "stopped" and "No space left on device" in first.stop_reason
    assert "resume" in first.stop_reason
    m = manifest(tmp_path)
    assert m["status"] == "stopped" and m["chunks_done"] == 2 and "No space left" in m["stop_reason"]
    assert_intact(tmp_path)
    assert len(read_table(tmp_path / "runs")) == 6
    monkeypatch.delenv("ABM_FAULT_INJECT")
    again = go(sweep, tmp_path, fake, resume=True)
    judged((again.runs(), reference.runs), (again.events(), reference.events))
    assert again.status == "complete"
    pd.testing.assert_frame_equal(again.runs(), reference.runs)
    pd.testing.assert_frame_equal(again.events(), reference.events)


def test_a_writer_refused_by_the_file_system_stops_resumably(tmp_path, monkeypatch, sweep, reference, fake) -> None:
    """A monkeypatched writer raising EACCES on the 4th part (the folder made read-only mid-way)."""
    real = storage.write_part_file
    calls = {"n": 0}

    def refusing(directory, chunk_id, table, **kw):
        calls["n"] += 1
        if calls["n"] == 4:
            raise PermissionError(errno.EACCES, "Permission denied", str(directory / f"part-{chunk_id}.parquet"))
        return real(directory, chunk_id, table, **kw)

    monkeypatch.setattr(storage, "write_part_file", refusing)
    first = go(sweep, tmp_path, fake)
    assert first.status == "stopped" and "Permission denied" in first.stop_reason
    assert_intact(tmp_path)
    monkeypatch.setattr(storage, "write_part_file", real)
    again = go(sweep, tmp_path, fake)
    judged((again.runs(), reference.runs))
    pd.testing.assert_frame_equal(again.runs(), reference.runs)


def test_a_manifest_that_cannot_be_written_stops_resumably(tmp_path, monkeypatch, sweep, reference, fake) -> None:
    monkeypatch.setattr(manifest_module, "FLUSH_SECONDS", 0.0)  # flush after every chunk
    monkeypatch.setattr(manifest_module, "FLUSH_SHARE", float("inf"))
    real = manifest_module.write_json_atomic
    calls = {"n": 0}

    def full(path, data):
        calls["n"] += 1
        if calls["n"] >= 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(manifest_module, "write_json_atomic", full)
    first = go(sweep, tmp_path, fake)
    assert first.status == "stopped" and "No space left on device" in first.stop_reason
    assert manifest(tmp_path)["status"] == "running"  # the last manifest that could be written, complete
    assert_intact(tmp_path)
    monkeypatch.setattr(manifest_module, "write_json_atomic", real)
    again = go(sweep, tmp_path, fake, resume=True)
    judged((again.runs(), reference.runs))
    assert again.status == "complete"
    pd.testing.assert_frame_equal(again.runs(), reference.runs)


def test_a_folder_that_cannot_be_written_at_all_is_a_clear_error(tmp_path, monkeypatch, sweep, fake) -> None:
    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(manifest_module, "write_json_atomic", full)
    refused(lambda: go(sweep, tmp_path / "out", fake), RunnerError, r"cannot write results .*No space left on device")
    (tmp_path / "file").write_text("x")
    refused(lambda: go(sweep, tmp_path / "file", fake), RunnerError, "is a file")


# --- damaged part files found on resume -------------------------------------------------------------


def test_damaged_parts_are_found_on_resume_recomputed_and_reported(tmp_path, sweep, reference, fake, capsys) -> None:
    go(sweep, tmp_path, fake)
    runs, events = tmp_path / "runs", tmp_path / "events"
    ids = storage.part_ids(runs)
    flipped = storage.part_path(runs, ids[0])
    data = bytearray(flipped.read_bytes())
    first = pq.read_metadata(flipped).row_group(0).column(0)
    data[first.data_page_offset + first.total_compressed_size // 2] ^= 0xFF  # a byte in a data page: the footer reads
    flipped.write_bytes(bytes(data))
    truncated = storage.part_path(runs, ids[1])
    truncated.write_bytes(truncated.read_bytes()[:-40])
    short = storage.part_path(runs, ids[2])
    pq.write_table(pq.read_table(short).slice(0, 1), short)  # a valid file with the wrong row count
    storage.part_path(runs, ids[3]).unlink()
    damaged_events = storage.part_path(events, ids[4])
    damaged_events.write_bytes(damaged_events.read_bytes()[:100])
    stray = storage.part_path(runs, "p000000-r000000001-000000002")  # from another chunking: would duplicate run 1
    pq.write_table(pq.read_table(storage.part_path(runs, ids[5])).slice(1, 1), stray)
    capsys.readouterr()
    again = go(sweep, tmp_path, fake, resume=True)
    err = capsys.readouterr().err
    judged((again.runs(), reference.runs), (again.events(), reference.events))  # 6 damaged parts: one trial
    assert again.status == "complete"
    assert "checksum (sha256) differs" in err and "unreadable" in err and "1 rows where the manifest records 3" in err
    assert "missing" in err and f"events/part-{ids[4]}.parquet: unreadable" in err
    assert err.count("recomputing it") == 5
    pd.testing.assert_frame_equal(again.runs(), reference.runs)
    pd.testing.assert_frame_equal(again.events(), reference.events)
    assert not stray.exists()
    assert_intact(tmp_path)


# --- one writer per folder -------------------------------------------------------------------------


def test_a_folder_in_use_is_refused(tmp_path, sweep, fake) -> None:
    tmp_path.mkdir(exist_ok=True)
    held = folder_lock.acquire(tmp_path, command="abm sweep other.yaml")
    with held:
        refused(
            lambda: go(sweep, tmp_path, fake), folder_lock.FolderLocked, rf"pid {os.getpid()} .*abm sweep other.yaml"
        )
    assert not (tmp_path / "manifest.json").exists() and not (tmp_path / ".lock").exists()
    assert go(sweep, tmp_path, fake).status == "complete"
    assert not (tmp_path / ".lock").exists()  # released after the run


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_warning(tmp_path, sweep, reference, fake, capsys) -> None:
    pid = dead_pid()
    holder = {"pid": pid, "host": socket.gethostname(), "started": "2020-01-03T00:00:00+00:00", "command": "abm"}
    (tmp_path / ".lock").write_text(json.dumps(holder))
    result = go(sweep, tmp_path, fake)
    judged((result.runs(), reference.runs))
    assert result.status == "complete"
    pd.testing.assert_frame_equal(result.runs(), reference.runs)
    err = capsys.readouterr().err
    assert f"taking over a lock left by pid {pid}" in err and "no longer running" in err


def test_without_flock_the_recorded_pid_decides(tmp_path, monkeypatch, sweep, fake, capsys) -> None:
    def no_flock(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(folder_lock.fcntl, "flock", no_flock)
    here = socket.gethostname()
    (tmp_path / ".lock").write_text(json.dumps({"pid": os.getppid(), "host": here, "started": "t"}))
    refused(lambda: go(sweep, tmp_path, fake), folder_lock.FolderLocked, "delete")
    (tmp_path / ".lock").write_text(json.dumps({"pid": dead_pid(), "host": here, "started": "t"}))
    assert go(sweep, tmp_path, fake).status == "complete"
    assert "taking over" in capsys.readouterr().err


# --- provenance: no silent mix of versions ------------------------------------------------------------


def test_resuming_results_of_another_model_version_needs_allow_version_mix(
    tmp_path, sweep, reference, fake, capsys
) -> None:
    first = go(sweep, tmp_path, fake)
    m = manifest(tmp_path)
    assert m["abm_version"] and m["git_commit"] is not None and len(m["model_hash"]) == 64
    assert m["versions"] == [manifest_module.writer_version()]
    assert m["version_mix"] is False and first.status == "complete"
    m["model_hash"], m["abm_version"], m["git_commit"] = "0" * 64, "0.0.1", "abc"
    m["versions"] = [{"abm_version": "0.0.1", "model_hash": "0" * 64, "git_commit": "abc"}]
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    refused(
        lambda: go(sweep, tmp_path, fake),
        RunnerError,
        r"another version of abm \(abm version 0.0.1 there.*model code hash 000000",
    )
    capsys.readouterr()
    mixed = go(sweep, tmp_path, fake, allow_version_mix=True)
    assert mixed.status == "complete"
    assert "--allow-version-mix: this folder now mixes results of two versions" in capsys.readouterr().err
    m = manifest(tmp_path)
    assert m["version_mix"] is True and m["versions"][0]["abm_version"] == "0.0.1"
    assert len(m["versions"]) == 2 and m["sessions"][-1]["model_hash"] == m["model_hash"] != "0" * 64
    judged((mixed.runs(), reference.runs))
    pd.testing.assert_frame_equal(mixed.runs(), reference.runs)


def test_resuming_with_another_simulator_is_refused(tmp_path, sweep, fake) -> None:
    go(sweep, tmp_path, fake)
    refused(lambda: run_experiment(sweep, tmp_path, backend="serial", progress=False), RunnerError, "simulator")


def test_an_unimportable_simulator_is_a_clear_error_before_anything_runs(tmp_path, sweep) -> None:
    refused(lambda: go(sweep, tmp_path / "out", "no.such.module:simulate"), RunnerError, "cannot be imported")
    assert not (tmp_path / "out").exists()
