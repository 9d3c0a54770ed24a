"""Ctrl-C while the workers start (issue 17): only the parent's clean message, exit 130.

A terminal's Ctrl-C sends SIGINT to every process of the foreground group, the workers
included. A loky worker spends 1-3 s importing joblib, numpy and the model before it can ignore
SIGINT, and one hit then printed its KeyboardInterrupt traceback (two workers: 61 lines) before
the parent's "interrupted ... Resume with" message. Workers are now started with SIGINT blocked
(`abm.runner.backends._sigint_blocked`).

Here `abm run` (the real model, 2000 runs, `--jobs 2`, loky) runs in a session of its own, and
the test sends SIGINT to the whole group, as the terminal does, at moments of the workers'
start-up found by watching the process tree and what each worker has loaded: while a worker
imports numpy (the issue's case, in the default suite: joblib, imported first, imports it), as a
worker appears, 0.3 s and 1 s later, while one imports pyarrow (abm.runner), while both import
numpy, 0.5 s after both appear. Each time: exit 130, no traceback, the parent's message with the
command that resumes, and no process of the group left. A worker hit before Python installs its
own SIGINT handler dies silently (the default action), so the moments "as it appears" and
"+0.3 s" passed before the fix too; those during its imports did not.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.runner.support import BASELINE, subprocess_env

WORKER = "popen_loky_posix"  # in a loky worker's command line
GRACE = 10.0  # seconds for the group to be gone after the interrupt


def _workers(pid: int, loaded: str = "") -> int:
    """Loky workers below `pid` (that have a library whose path contains `loaded` mapped)."""
    try:
        below = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0
    count = 0
    for proc in below:
        try:
            if WORKER not in " ".join(proc.cmdline()):
                continue
            count += not loaded or loaded in Path(f"/proc/{proc.pid}/maps").read_text()
        except (psutil.Error, OSError):
            continue
    return count


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc.pid)
        except (psutil.Error, ProcessLookupError):
            continue
    return alive


def interrupt_during_startup(tmp_path: Path, workers: int, delay: float, loaded: str = "") -> tuple[int, str]:
    """Start `abm run`, wait until `workers` loky workers exist (and have `loaded` mapped: they are
    importing it), then `delay` s, and Ctrl-C the group. Returns (exit code, stderr); fails if the
    moment never comes or the group outlives GRACE."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "abm.cli", "run", str(BASELINE), "--runs", "2000", "--jobs", "2"]
    cmd += ["--backend", "loky", "--out", str(out)]
    proc = subprocess.Popen(
        cmd,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal's foreground job: the test is not in it
    )
    try:
        deadline = time.monotonic() + 120
        while _workers(proc.pid, loaded) < workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the moment never came ({workers} workers): {proc.communicate()}")
            time.sleep(0.005)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        gone_by = time.monotonic() + GRACE
        while _group_alive(proc.pid) and time.monotonic() < gone_by:
            time.sleep(0.1)
        assert not _group_alive(proc.pid), f"processes of the command left: {_group_alive(proc.pid)}"
        return proc.returncode, err
    finally:
        for pid in [proc.pid, *_group_alive(proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)


def check(code: int, err: str) -> None:
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert code == 130, err
    lines = err.strip().splitlines()
    assert len(lines) <= 6, err  # announcement, progress, the message and the command
    assert re.search(r"abm \w+: interrupted", err) and "--resume" in err, err


def test_ctrl_c_while_a_worker_imports_prints_only_the_clean_message(tmp_path) -> None:
    # numpy is imported by joblib, the first thing a loky worker imports (where the tracebacks were)
    check(*interrupt_during_startup(tmp_path, workers=1, delay=0.0, loaded="numpy"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "delay", "loaded"),
    [(1, 0.0, ""), (1, 0.3, ""), (1, 1.0, ""), (1, 0.0, "pyarrow"), (2, 0.0, "numpy"), (2, 0.5, "")],
    ids=["a worker appears", "+0.3s", "+1s", "a worker imports pyarrow", "both import numpy", "both +0.5s"],
)
def test_ctrl_c_at_moments_of_the_workers_start_up(tmp_path, workers, delay, loaded) -> None:
    check(*interrupt_during_startup(tmp_path, workers, delay, loaded))
