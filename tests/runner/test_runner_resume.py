"""Kill a sweep mid-way (SIGKILL or Ctrl-C), resume it, get the uninterrupted tables row for row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.runner.support import BASELINE

SWEEP = [
    str(BASELINE),
    "--grid",
    "us.doctrine=proportional,massive",
    "--runs",
    "40",
    "--seed",
    "3",
    "--set",
    "horizon_days=60",
    "--chunk-size",
    "4",
    "--events",
    "--jobs",
    "2",
    "-q",
]


def abm(args: list[str], env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "abm.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def wait_for_parts(out: Path, proc: subprocess.Popen, minimum: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(list((out / "runs").glob("part-*.parquet"))) >= minimum:
            return
        if proc.poll() is not None:
            pytest.fail(f"sweep ended before it could be interrupted: {proc.communicate()}")
        time.sleep(0.05)
    pytest.fail("no part files appeared")


def tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(out / "runs"), pd.read_parquet(out / "events")


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.slow)])
def env(request, subprocess_env, fake) -> dict[str, str]:
    """The fake model by default; the real one in the slow suite (same runner guarantees)."""
    return {**subprocess_env, "ABM_SIMULATOR": fake} if request.param == "fake" else subprocess_env


@pytest.fixture
def reference(tmp_path, env) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = tmp_path / "whole"
    proc = abm(["sweep", *SWEEP, "--out", str(out), "--backend", "serial"], env)
    assert proc.wait(120) == 0, proc.communicate()
    return tables(out)


def _slow(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ABM_FAULT_INJECT": json.dumps({"sleep": 0.05})}


def test_sigkill_then_resume_equals_uninterrupted(tmp_path, env, reference) -> None:
    out = tmp_path / "killed"
    proc = abm(["sweep", *SWEEP, "--out", str(out)], _slow(env), start_new_session=True)
    wait_for_parts(out, proc, 3)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers: no chance to clean up
    proc.wait(30)
    proc.communicate()
    assert len(list((out / "runs").glob("part-*.parquet"))) < 20
    resumed = abm(["sweep", *SWEEP, "--out", str(out), "--resume", "--backend", "serial"], env)
    assert resumed.wait(120) == 0, resumed.communicate()
    runs, events = tables(out)
    pd.testing.assert_frame_equal(runs, reference[0])
    pd.testing.assert_frame_equal(events, reference[1])
    assert not list(out.rglob("*.tmp"))
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path, env, reference) -> None:
    out = tmp_path / "interrupted"
    proc = abm(["sweep", *SWEEP, "--out", str(out)], _slow(env))
    # The parent writes a chunk's part files, then records it: once a third runs part is on
    # disk, the first two are recorded (the third may not be yet, and is then recomputed).
    wait_for_parts(out, proc, 3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["chunks_done"] >= 2
    resumed = abm(["sweep", *SWEEP, "--out", str(out), "--resume", "--backend", "serial"], env)
    assert resumed.wait(120) == 0, resumed.communicate()
    pd.testing.assert_frame_equal(tables(out)[0], reference[0])


def test_resuming_a_different_experiment_is_refused(tmp_path, env) -> None:
    out = tmp_path / "one"
    first = abm(["sweep", *SWEEP, "--out", str(out), "--backend", "serial"], env)
    assert first.wait(120) == 0, first.communicate()
    other = [a if a != "3" else "4" for a in SWEEP]  # another seed
    second = abm(["sweep", *other, "--out", str(out), "--resume"], env)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2
    assert "different experiment" in err and "Traceback" not in err
