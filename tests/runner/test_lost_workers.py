"""A worker process lost mid-run is reported: one stderr line per chunk it held, and an entry of
the manifest's `lost_workers` (issue 13 item 7); the results equal an uninterrupted run.

Quick: a scripted backend that loses a chunk as dask does (a `Retried` notice, then a `Lost`
naming the worker), through `run_experiment`, and a killed loky worker (loky does not say
which). Slow, with a real `distributed.LocalCluster` started here and `abm.cli.main`: a worker
that kills itself at a chosen run on a scheduler that allows one failure (the scheduler's own
retry, then the runner's), and a worker process SIGKILLed from outside mid-run on a scheduler
with dask's default allowed-failures (3: the scheduler re-runs the lost chunks by itself).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from abm.cli import main
from abm.runner import points_experiment, run_experiment, run_in_memory
from abm.runner.backends import Lost, Retried
from tests.runner.support import BASELINE, doctrine_sweep

POINTS = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]
DEADLY = "p000001-r000000003-000000006"  # the chunk (chunks of 3) holding run 4 of point 1
REMOVED = "worker died (dask removed it from the cluster)"
KILLED = "worker died (dask KilledWorker; dask does not report the exit code)"
LINE = re.compile(
    r"^abm: warning: (?P<who>dask worker (?P<worker>tcp://\S+)|loky worker) lost while running chunk "
    r"(?P<chunk>p\d{6}-r\d{9}-\d{9}) \(attempt (?P<attempt>\d+) of (?P<of>\d+)\): (?P<reason>.+); "
    r"(?P<then>the scheduler ran it again|retrying it.*|running its \d+ runs one by one|"
    r"its run is recorded as failed)$",
    re.MULTILINE,
)


def faults(monkeypatch, **plan) -> None:
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps(plan))


def lines(err: str) -> list[dict[str, str]]:
    return [m.groupdict() for m in LINE.finditer(err)]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def sweep(short_baseline):
    return points_experiment(short_baseline, POINTS, 12, 5, common_random_numbers=False)


class FlakyCluster:
    """Runs tasks here; the first attempt of a chunk holding a deadly run loses two workers, as
    dask reports it: the scheduler's own retry (`Retried`), then its KilledWorker (`Lost`)."""

    name, jobs = "dask", 2

    def __init__(self, deadly: set[tuple[int, int]]) -> None:
        self.deadly = deadly

    def imap_unordered(self, fn, tasks, in_flight=None):
        for task in tasks:
            if task.attempt == 1 and any((task.chunk.point, run) in self.deadly for run in task.chunk.runs):
                yield Retried(task, REMOVED, "tcp://10.0.0.1:4001")
                yield Lost([task], KILLED, "tcp://10.0.0.2:4002")
            else:
                yield fn(task)

    def close(self) -> None:
        pass


def test_each_lost_chunk_is_one_line_and_one_manifest_entry(tmp_path, monkeypatch, sweep, fake, capsys) -> None:
    reference = run_in_memory(sweep, simulator=fake).runs
    monkeypatch.setattr("abm.runner.run.open_backend", lambda *a, **k: FlakyCluster({(1, 4)}))
    result = run_experiment(sweep, tmp_path, backend="dask", chunk_size=3, progress=False, simulator=fake)
    assert result.status == "complete" and result.failures == 0
    pd.testing.assert_frame_equal(result.runs(), reference)
    err = capsys.readouterr().err
    assert lines(err) == [
        {
            "who": "dask worker tcp://10.0.0.1:4001",
            "worker": "tcp://10.0.0.1:4001",
            "chunk": DEADLY,
            "attempt": "1",
            "of": "3",
            "reason": REMOVED,
            "then": "the scheduler ran it again",
        },
        {
            "who": "dask worker tcp://10.0.0.2:4002",
            "worker": "tcp://10.0.0.2:4002",
            "chunk": DEADLY,
            "attempt": "1",
            "of": "3",
            "reason": KILLED,
            "then": "retrying it once the others are done (lost chunks are re-run one at a time)",
        },
    ]
    assert len(err.strip().splitlines()) == 2  # nothing else is said
    m = manifest(tmp_path)
    entries = m["lost_workers"]
    assert all(
        set(e) == {"time", "chunk", "worker", "backend", "attempt", "attempts", "reason", "then"} for e in entries
    )
    assert [(e["chunk"], e["worker"], e["attempt"], e["attempts"], e["then"]) for e in entries] == [
        (DEADLY, "tcp://10.0.0.1:4001", 1, 3, "retried by the scheduler"),
        (DEADLY, "tcp://10.0.0.2:4002", 1, 3, "re-run alone"),
    ]
    assert all(e["backend"] == "dask" and e["time"].startswith("20") for e in entries)
    assert m["sessions"][-1]["lost_workers"] == 2
    # The folder's history keeps them: an extension (its own session lost nothing) carries them over.
    monkeypatch.setattr("abm.runner.run.open_backend", lambda *a, **k: FlakyCluster(set()))
    bigger = points_experiment(sweep.base, POINTS, 15, 5, common_random_numbers=False)
    run_experiment(bigger, tmp_path, backend="dask", chunk_size=3, progress=False, simulator=fake, extend=True)
    again = manifest(tmp_path)
    assert again["lost_workers"] == entries and "lost_workers" not in again["sessions"][-1]


def test_no_entry_while_no_worker_is_lost(tmp_path, sweep, fake) -> None:
    run_experiment(sweep, tmp_path, backend="serial", chunk_size=3, progress=False, simulator=fake)
    assert "lost_workers" not in manifest(tmp_path)


def test_in_memory_runs_return_their_lost_workers(monkeypatch, sweep, fake, capsys) -> None:
    monkeypatch.setattr("abm.runner.run.open_backend", lambda *a, **k: FlakyCluster({(0, 7)}))
    result = run_in_memory(sweep, backend="dask", chunk_size=3, simulator=fake)
    assert [(e["chunk"], e["then"]) for e in result.lost_workers] == [
        ("p000000-r000000006-000000009", "retried by the scheduler"),
        ("p000000-r000000006-000000009", "re-run alone"),
    ]
    assert len(lines(capsys.readouterr().err)) == 2


def test_a_lost_loky_worker_is_reported_without_an_address(tmp_path, monkeypatch, sweep, fake, capsys) -> None:
    """loky says how its worker died (the exit code), not which one it was: `worker` is null."""
    reference = run_in_memory(sweep, simulator=fake).runs  # here, in this process: before the fault is set
    faults(monkeypatch, exit_runs=[7], die_points=[0], die_attempts=1)  # os._exit(3), first attempt only
    result = run_experiment(sweep, tmp_path, backend="loky", jobs=1, chunk_size=3, progress=False, simulator=fake)
    assert result.status == "complete" and result.failures == 0
    pd.testing.assert_frame_equal(result.runs(), reference)
    reported = lines(capsys.readouterr().err)
    chunk = "p000000-r000000006-000000009"
    # loky may hold more than one chunk in flight with its worker: each has its line, in any order
    line = next(r for r in reported if r["chunk"] == chunk)
    assert {"who": "loky worker", "worker": None, "attempt": "1", "of": "3"}.items() <= line.items()
    assert all(r["reason"] == "worker died (exit code EXIT(3))" for r in reported)
    entries = manifest(tmp_path)["lost_workers"]
    assert {(e["chunk"], e["worker"], e["backend"], e["then"]) for e in entries} >= {
        (chunk, None, "loky", "re-run alone")
    }
    assert len(entries) == len(reported)  # every chunk in flight with the dead worker, one line and one entry each


# ---------------------------------------------------------------- a real dask cluster


SWEEP = doctrine_sweep(12, 3, "--seed", "5", horizon=60)


def local_cluster(allowed_failures: int | None = None):
    distributed = pytest.importorskip("distributed")
    import dask

    settings = {} if allowed_failures is None else {"distributed.scheduler.allowed-failures": allowed_failures}
    with dask.config.set(settings):  # read by the scheduler when it starts
        return distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.CRITICAL
        )


def same_runs(left: Path, right: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(left / "runs"), pd.read_parquet(right / "runs"))


@pytest.mark.slow  # two worker deaths and restarts by their nannies: ~10 s
def test_a_dask_worker_killed_at_a_run_is_reported_and_nothing_is_lost(tmp_path, monkeypatch, capsys) -> None:
    """The worker running run 4 of point 1 SIGKILLs itself (first runner attempt only). The scheduler
    (allowed-failures 1) runs the chunk again on the other worker, which dies too; then KilledWorker,
    and the runner re-runs it alone: two lines and two entries for that chunk, naming both workers."""
    with local_cluster(allowed_failures=1) as cluster:
        address = cluster.scheduler_address
        faults(monkeypatch, kill_runs=[4], die_points=[1], die_attempts=1)
        code = main([*SWEEP, "--backend", "dask", "--scheduler", address, "--out", str(tmp_path / "dask")])
        err = capsys.readouterr().err
    assert code == 0, err
    reported = [line for line in lines(err) if line["chunk"] == DEADLY]
    assert [(r["attempt"], r["of"], r["reason"], r["then"]) for r in reported] == [
        ("1", "3", REMOVED, "the scheduler ran it again"),
        ("1", "3", KILLED, "retrying it once the others are done (lost chunks are re-run one at a time)"),
    ], err
    first, second = (r["worker"] for r in reported)
    assert first != second  # one death on each of the two workers
    entries = manifest(tmp_path / "dask")["lost_workers"]
    mine = [(e["worker"], e["then"]) for e in entries if e["chunk"] == DEADLY]
    assert mine == [(first, "retried by the scheduler"), (second, "re-run alone")]
    assert len(entries) == len(lines(err))  # an innocent chunk queued on a dying worker: a line and an entry too
    monkeypatch.delenv("ABM_FAULT_INJECT")
    assert main([*SWEEP, "--backend", "serial", "--out", str(tmp_path / "serial")]) == 0
    same_runs(tmp_path / "dask", tmp_path / "serial")


COMPARE = [
    "compare",
    str(BASELINE),
    "--lever",
    "us.doctrine=lethal_red_line,massive",
    "--runs",
    "60",
    "--seed",
    "7",
    "--set",
    "horizon_days=60",
    "-q",
]


def kill_a_busy_worker(cluster, killed: list[str], stop: threading.Event) -> None:
    """SIGKILL the process of the first worker seen running a task, a moment into it."""
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        busy = [ws for ws in list(cluster.scheduler.workers.values()) if ws.processing]
        if busy:
            time.sleep(0.3)  # mid-run: each run sleeps 20 ms (fault hook), a chunk holds several
            if busy[0].processing:
                killed.append(busy[0].address)
                os.kill(busy[0].pid, signal.SIGKILL)
                return
        time.sleep(0.02)


@pytest.mark.slow  # ~10 s: a compare of 120 slowed runs on two workers, one killed and restarted
def test_a_dask_worker_process_killed_mid_run_is_reported_and_nothing_is_lost(tmp_path, monkeypatch, capsys) -> None:
    """`kill -9` of a worker process from outside while it runs a chunk of `abm compare`: the scheduler
    (dask's default allowed-failures, 3) runs its chunks again on the other worker; each is reported
    with the dead worker's address, and the tables equal the serial command's."""
    with local_cluster() as cluster:
        faults(monkeypatch, sleep=0.02)
        killed: list[str] = []
        stop = threading.Event()
        killer = threading.Thread(target=kill_a_busy_worker, args=(cluster, killed, stop), daemon=True)
        killer.start()
        argv = [*COMPARE, "--backend", "dask", "--scheduler", cluster.scheduler_address]
        try:
            code = main([*argv, "--out", str(tmp_path / "dask")])
        finally:
            stop.set()
            killer.join()
        err = capsys.readouterr().err
    assert code == 0, err
    assert len(killed) == 1, "no worker was busy"
    reported = lines(err)
    assert reported, err
    for line in reported:
        assert (line["worker"], line["attempt"], line["reason"]) == (killed[0], "1", REMOVED)
        assert line["then"] == "the scheduler ran it again"
    entries = manifest(tmp_path / "dask")["lost_workers"]
    assert [(e["chunk"], e["worker"], e["then"]) for e in entries] == [
        (r["chunk"], killed[0], "retried by the scheduler") for r in reported
    ]
    monkeypatch.delenv("ABM_FAULT_INJECT")
    assert main([*COMPARE, "--backend", "serial", "--out", str(tmp_path / "serial")]) == 0
    same_runs(tmp_path / "dask", tmp_path / "serial")
    for name in ("comparison.csv", "comparison_metrics.csv", "comparison_curves.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "dask" / name), pd.read_csv(tmp_path / "serial" / name))
