"""The main process SIGKILLed at moments of its start-up and mid-run: nothing it started may
outlive it (issue 17), and a script waiting for its output gets it back.

`abm sweep` (or `abm run`) runs the fake model with `--jobs 2` under
`subprocess.run(capture_output=True)`, as a script would run it, in a thread; the test
SIGKILLs the main process (only it: its workers are left to notice) at a moment, then checks
that within `GRACE` seconds no process it started is left, and that `subprocess.run`
returns (an orphan that holds the pipes makes it wait for ever).

A process counts as the killed command's if the test saw it below the command in the process
tree while the command lived (pid and start time), or if its environment carries this case's
`TAG` (every process started below the command inherits it, however late it started, even
after the test's last look at the tree). Whatever is found is killed at the end, so a
failing case leaves nothing behind on the machine either.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.reliability import HANG, ORPHAN, OTHER, RECOVERED, record
from tests.runner.support import BASELINE, subprocess_env

AREA = "orphans"  # of the reliability tally (tests/reliability.py): each kill is one trial
TAG = "ORPHAN_TEST_TAG"
GRACE = 8.0  # seconds after the kill within which every process it started must be gone
RUN_LIMIT = 180.0  # a bound on the whole `subprocess.run`, never reached when it works
WORKER_MARKS = {"loky": "popen_loky_posix", "dask": "spawn_main"}  # in a worker process's command line


def command(kind: str, backend: str, out: Path) -> list[str]:
    """Enough work to keep both workers busy for ~10 s (fake model slowed to 50 ms a run)."""
    common = ["--seed", "3", "--set", "horizon_days=40", "--chunk-size", "5", "--jobs", "2"]
    common += ["--backend", backend, "--out", str(out), "-q"]
    sweep = ["--grid", "us.doctrine=proportional,massive", "--runs", "200"]
    design = sweep if kind == "sweep" else ["--runs", "400"]
    return [sys.executable, "-m", "abm.cli", kind, str(BASELINE), *design, *common]


class Session:
    """One command run by `subprocess.run(..., capture_output=True)` in a thread, so that the test
    can kill the command while `run` waits for its output."""

    def __init__(self, cmd: list[str], tag: str) -> None:
        env = subprocess_env(fake=True)
        env["ABM_FAULT_INJECT"] = json.dumps({"sleep": 0.05})
        env[TAG] = tag
        self.tag = tag
        self.result: subprocess.CompletedProcess | subprocess.TimeoutExpired | None = None
        self.seen: dict[int, tuple[float, str]] = {}  # pid -> (start time, command line)
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, args=(cmd, env), daemon=True)
        self.thread.start()
        self.pid = self._find(cmd)

    def _run(self, cmd: list[str], env: dict[str, str]) -> None:
        try:
            self.result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_LIMIT)
        except subprocess.TimeoutExpired as exc:
            self.result = exc

    def _find(self, cmd: list[str]) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for child in psutil.Process().children():
                try:
                    if child.cmdline() == cmd:
                        return child.pid
                except psutil.Error:
                    continue
            time.sleep(0.002)
        pytest.fail("the command never started")

    def record(self) -> None:
        """Note every process below the command (the tree cannot be walked once it is dead)."""
        try:
            below = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            return
        for proc in below:
            try:
                created, line = proc.create_time(), " ".join(proc.cmdline())
            except psutil.Error:
                continue
            if self.seen.setdefault(proc.pid, (created, line))[0] == created:
                # Seen again: a worker forked by loky has its parent's command line until its exec; without
                # this update a worker first seen before its exec was never counted as one ("workers" moments).
                self.seen[proc.pid] = (created, line)

    def workers(self, backend: str) -> int:
        return sum(WORKER_MARKS[backend] in line for _, line in self.seen.values())

    def alive(self) -> list[psutil.Process]:
        """Processes of the command (but the killed one itself) that still run."""
        found: dict[int, psutil.Process] = {}
        for pid, (created, _) in self.seen.items():
            with _gone():
                proc = psutil.Process(pid)
                if proc.create_time() == created:
                    found[pid] = proc
        for proc in psutil.process_iter():
            with _gone():
                if proc.pid not in found and proc.environ().get(TAG) == self.tag:
                    found[proc.pid] = proc
        live = []
        for pid, proc in found.items():
            with _gone():
                if pid != self.pid and proc.status() != psutil.STATUS_ZOMBIE:
                    live.append(proc)
        return live

    def kill_all(self) -> None:
        """Clean up after a failed case: what is left, then the command."""
        for proc in self.alive():
            with _gone():
                proc.kill()
        if self.thread.is_alive():  # `run` has not reaped it yet: the pid is still the command's
            with _gone():
                psutil.Process(self.pid).kill()
        self.thread.join(30)


class _gone:
    """`with _gone():` ignores a process that ends (or cannot be read) while it is looked at."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        return kind is not None and issubclass(kind, psutil.Error)


def describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline())[:100]}"
    except psutil.Error:
        return f"{proc.pid} (ended while being described)"


Moment = tuple[str, float]  # (event, seconds after it)
EVENTS = ("launch", "tracker", "worker", "workers", "mid-run")


def moment_id(moment: Moment) -> str:
    event, delay = moment
    return f"{event}+{delay:g}s"


def wait_for_moment(session: Session, moment: Moment, backend: str, out: Path) -> None:
    """Sleep until `delay` seconds after `event`: "launch"; "tracker" (a resource tracker runs: the
    pool is starting, no worker yet); "worker" (the first worker process runs), "workers" (both
    do); "mid-run" (a part file is written). Note the tree all along."""
    event, delay = moment
    assert event in EVENTS, event
    happened = {
        "launch": lambda: True,
        "tracker": lambda: any("resource_tracker" in line for _, line in session.seen.values()),
        "worker": lambda: session.workers(backend) >= 1,
        "workers": lambda: session.workers(backend) >= 2,
        "mid-run": lambda: bool(list((out / "runs").glob("part-*.parquet"))),
    }[event]
    give_up = session.started + 120
    at = session.started + delay if event == "launch" else None
    while True:
        session.record()
        now = time.monotonic()
        if at is None and happened():
            at = now + delay
        if at is not None and now >= at:
            return
        if not session.thread.is_alive() or now > give_up:
            pytest.fail(f"the command ended, or the moment never came: {session.result}")
        time.sleep(0.005)


def kill_and_check(tmp_path: Path, kind: str, backend: str, moment: Moment) -> None:
    out = tmp_path / "out"
    session = Session(command(kind, backend, out), tag=uuid.uuid4().hex)
    try:
        wait_for_moment(session, moment, backend, out)
        session.record()
        killed_at = time.monotonic() - session.started
        os.kill(session.pid, signal.SIGKILL)  # the main process only: no handler, no cleanup
        end = time.monotonic() + GRACE
        while (left := session.alive()) and time.monotonic() < end:
            time.sleep(0.05)
        gone_after = GRACE - max(0.0, end - time.monotonic())
        described = [describe(p) for p in left]
        session.thread.join(0 if left else 5)
        result = session.result
        killed = isinstance(result, subprocess.CompletedProcess) and result.returncode == -signal.SIGKILL
        record(AREA, ORPHAN if left else HANG if session.thread.is_alive() else RECOVERED if killed else OTHER)
        assert not left, f"killed at {killed_at:.2f} s; {GRACE:g} s later still running: {described}"
        assert not session.thread.is_alive(), "subprocess.run(capture_output=True) still waits for the output"
        assert isinstance(session.result, subprocess.CompletedProcess), session.result
        assert session.result.returncode == -signal.SIGKILL
        sys.__stdout__.write(
            f"\n{kind}/{backend} killed at {killed_at:.2f} s ({moment_id(moment)}), {session.workers(backend)} workers "
            f"seen, {len(session.seen)} processes below it; all gone after {gone_after:.2f} s\n"
        )
    finally:
        if session.thread.is_alive() or session.alive():
            session.kill_all()


def test_workers_starting_when_the_parent_is_killed_leave_with_it(tmp_path) -> None:
    """The case of issue 17: the parent killed just as its first loky worker starts. The workers
    and loky's two resource trackers used to stay for good, holding the command's pipes."""
    kill_and_check(tmp_path, "sweep", "loky", ("worker", 0.0))


# The moments the brief names (seconds after launch), then moments tied to what the command has
# started, so that start-up is covered on a machine of any speed (here the first worker starts
# 1.3-4 s after launch, depending on the load).
MOMENTS: list[Moment] = [
    *[("launch", t) for t in (0.3, 0.8, 1.3, 2.0)],
    ("tracker", 0.0),
    ("tracker", 0.3),
    ("worker", 0.0),
    ("worker", 0.3),
    ("worker", 1.0),
    ("workers", 0.0),
    ("mid-run", 0.0),
]


@pytest.mark.slow  # 1-6 s a case
@pytest.mark.parametrize("moment", MOMENTS, ids=moment_id)
def test_nothing_outlives_a_killed_sweep_loky(tmp_path, moment) -> None:
    kill_and_check(tmp_path, "sweep", "loky", moment)


@pytest.mark.slow
@pytest.mark.parametrize("moment", [("worker", 0.0), ("mid-run", 0.0)], ids=moment_id)
def test_nothing_outlives_a_killed_run_loky(tmp_path, moment) -> None:
    kill_and_check(tmp_path, "run", "loky", moment)


@pytest.mark.slow  # the dask cluster starts slower
@pytest.mark.parametrize("moment", MOMENTS, ids=moment_id)
def test_nothing_outlives_a_killed_sweep_dask(tmp_path, moment) -> None:
    pytest.importorskip("distributed")
    kill_and_check(tmp_path, "sweep", "dask", moment)


WATCHED = """import sys, time
from abm.runner.backends import _exit_with_parent
_exit_with_parent(int(sys.argv[1]))
print("watching", flush=True)
time.sleep(60)
"""


def test_a_worker_whose_parent_is_already_gone_leaves_at_once() -> None:
    """The initializer alone: given a pid that is not its parent's (the parent died and the
    worker was re-parented before the initializer ran), the process leaves at once."""
    began = time.monotonic()
    cmd = [sys.executable, "-c", WATCHED, str(os.getpid() + 1)]
    done = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=60)
    left = (done.returncode, done.stdout) != (0, "")  # it went on watching ("watching" printed) or failed
    record(AREA, OTHER if left and done.stdout != "watching\n" else ORPHAN if left else RECOVERED)
    assert (done.returncode, done.stdout) == (0, ""), done
    assert time.monotonic() - began < 30


MIDDLE = """import subprocess, sys, os
worker = subprocess.Popen(
    [sys.executable, "-c", sys.argv[1], str(os.getpid())], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
)
assert worker.stdout.readline() == "watching\\n"
print(worker.pid, flush=True)
os._exit(0)  # the worker's parent dies while the worker watches it
"""


def test_a_watching_worker_leaves_when_its_parent_dies() -> None:
    done = subprocess.run(
        [sys.executable, "-c", MIDDLE, WATCHED], env=subprocess_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    worker = int(done.stdout)
    end = time.monotonic() + 5
    while psutil.pid_exists(worker) and time.monotonic() < end:
        with _gone():
            if psutil.Process(worker).status() == psutil.STATUS_ZOMBIE:
                break
        time.sleep(0.02)
    outlived = False
    with _gone():  # clean up if it failed
        if psutil.Process(worker).status() != psutil.STATUS_ZOMBIE:
            psutil.Process(worker).kill()
            outlived = True
    record(AREA, ORPHAN if outlived else RECOVERED)
    if outlived:
        pytest.fail("the worker outlived its parent by 5 s")
