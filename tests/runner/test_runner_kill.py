"""The main process killed (SIGKILL) at chosen and random moments, two sweeps into one folder,
a folder that cannot be written: `abm sweep` as a program, with the fake model.

After every kill, `--resume` must finish the sweep with tables equal to an uninterrupted one
row for row, and a reader must never see half a part file (docs/RELIABILITY.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from abm.cli import build_parser, main
from tests.reliability import ORPHAN, compare_rows, record, trial
from tests.runner.support import FAKE, doctrine_sweep, subprocess_env

# Areas of the reliability tally (tests/reliability.py): each kill is a trial, judged by the tables the
# resume leaves; the folder-in-use and read-only cases are faults.
KILLS, FAULTS = "main process killed", "faults during a sweep"

SWEEP = doctrine_sweep(12, 3, "--seed", "3", "--events")
RANDOM_KILLS = 3


def env(**faults) -> dict[str, str]:
    out = subprocess_env(fake=True)
    if faults:
        out["ABM_FAULT_INJECT"] = json.dumps(faults)
    return out


def start(out: Path, *extra: str, prefix: tuple[str, ...] = (), **faults) -> subprocess.Popen:
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "abm.cli", *SWEEP, "--out", str(out), *extra],
        env=env(**faults),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def resume(out: Path, *extra: str, **kw) -> tuple[int, str]:
    """Resume in a new process (to kill it, or to run it without privileges)."""
    return finish(start(out, "--resume", "--backend", "serial", *extra, **kw))


@pytest.fixture(autouse=True)
def fake_model(monkeypatch) -> None:
    """The fake model for sweeps run in this process too (subprocesses get it from `env`)."""
    monkeypatch.setenv("ABM_SIMULATOR", FAKE)
    monkeypatch.delenv("ABM_FAULT_INJECT", raising=False)


@pytest.fixture
def resume_here(capsys):
    """Resume in this process: what a user does after the crash, without a second start-up."""

    def run(out: Path) -> tuple[int, str]:
        capsys.readouterr()
        code = main([*SWEEP, "--out", str(out), "--resume", "--backend", "serial"])
        return code, capsys.readouterr().err

    return run


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before the moment to kill it: {proc.communicate()}")
        time.sleep(0.005)
    pytest.fail("the moment to kill never came")


def kill(proc: subprocess.Popen) -> None:
    proc.kill()  # SIGKILL: no handler, no cleanup
    proc.communicate(timeout=30)


def tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(out / "runs"), pd.read_parquet(out / "events")


def assert_same(out: Path, reference: tuple[pd.DataFrame, pd.DataFrame], kills: int = 1, area: str = KILLS) -> None:
    """The folder holds the reference tables, finished; `kills` trials of `area` judged by its rows."""
    runs, events = tables(out)
    compare_rows(area, [(runs, reference[0]), (events, reference[1])], kills)
    pd.testing.assert_frame_equal(runs, reference[0])
    pd.testing.assert_frame_equal(events, reference[1])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["runs_done"] == 24
    assert not list(out.rglob("*.tmp")) and not (out / ".lock").exists()


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = tmp_path_factory.mktemp("reference") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ABM_SIMULATOR", FAKE)
        assert main([*SWEEP, "--out", str(out), "--backend", "serial"]) == 0
    return tables(out)


@pytest.mark.parametrize("moment", ["lock", "manifest"])
def test_sigkill_before_any_part_then_resume(tmp_path, reference, moment, resume_here) -> None:
    out = tmp_path / "out"
    proc = start(out, "--backend", "serial", sleep=0.2)
    wait_for(lambda: (out / (".lock" if moment == "lock" else "manifest.json")).exists(), proc)
    kill(proc)
    assert not list(out.glob("runs/*part-*")), "killed after a part was written: not the moment under test"
    assert (out / ".lock").exists()  # left by the dead process, for the resume to take over
    code, err = resume_here(out)
    assert code == 0, err
    assert "taking over a lock left by pid" in err and str(proc.pid) in err
    assert_same(out, reference)


def test_sigkill_between_a_part_write_and_its_rename(tmp_path, reference, resume_here) -> None:
    out = tmp_path / "out"
    code, _ = finish(start(out, "--backend", "serial", write_kill=3))  # the process kills itself there
    assert code == -signal.SIGKILL
    (tmp,) = (out / "runs").glob(".part-*.tmp")  # the third part: written in full, never renamed
    assert pq.read_metadata(tmp).num_rows == 3
    assert len(list((out / "runs").glob("part-*.parquet"))) == 2
    assert all(not Path(f).name.startswith(".") for f in ds.dataset(out / "runs").files)
    assert len(pd.read_parquet(out / "runs")) == 6  # the temporary is not read
    code, err = resume_here(out)
    assert code == 0, err
    assert_same(out, reference)


def workers_of(pid: int) -> list[int]:
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]


@pytest.mark.slow  # loky start-up twice: ~5 s
def test_sigkill_of_the_main_process_only_leaves_workers_behind_harmlessly(tmp_path, reference, resume_here) -> None:
    """Only the main process is killed: its loky workers notice and leave within a second or two."""
    out = tmp_path / "out"
    proc = start(out, "--jobs", "2", sleep=0.05)
    wait_for(lambda: len(list((out / "runs").glob("part-*.parquet"))) >= 2, proc)
    orphans = workers_of(proc.pid)
    proc.kill()
    proc.wait(30)
    deadline = time.monotonic() + 15
    while any(os.path.exists(f"/proc/{p}") for p in orphans) and time.monotonic() < deadline:
        time.sleep(0.1)
    if any(os.path.exists(f"/proc/{p}") for p in orphans):
        record(KILLS, ORPHAN)
    assert not any(os.path.exists(f"/proc/{p}") for p in orphans), "orphaned workers are still running"
    proc.communicate(timeout=10)
    code, err = resume_here(out)
    assert code == 0, err
    assert_same(out, reference)


def random_kills(out: Path, rng: random.Random, kills: int, resume_here) -> int:
    """Kill sessions of one sweep at random moments after they took the lock, then let one finish.
    Prints how many kills left a half-renamed part behind (run with -s to see it)."""
    done = in_write = 0
    while done < kills:
        proc = start(out, "--backend", "serial", *(["--resume"] if out.exists() else []), sleep=0.02, write_sleep=0.08)
        wait_for(lambda: (out / ".lock").exists(), proc)
        time.sleep(rng.uniform(0.0, 0.6))  # an undisturbed session works ~1.2 s after taking the lock
        if proc.poll() is not None:
            break  # it finished first
        kill(proc)
        done += 1
        in_write += bool(list(out.glob("*/.part-*.tmp")))
        if (out / "runs").exists():  # whatever the moment, the dataset reads back without temporaries
            assert all(not Path(f).name.startswith(".") for f in ds.dataset(out / "runs").files)
            pd.read_parquet(out / "runs")
    code, err = resume_here(out)
    assert code == 0, err
    sys.__stdout__.write(f"{out.name}: {done} kills, {in_write} between a part's write and its rename\n")
    return done


def test_sigkill_at_random_moments(tmp_path, reference, resume_here) -> None:
    """Kills at random (seeded) moments, some between a part's write and its rename (writes are
    slowed); each time the dataset reads back, and the final resume gives the reference tables."""
    rng = random.Random(6)
    kills = random_kills(tmp_path / "out", rng, RANDOM_KILLS, resume_here)
    assert kills >= 1
    assert_same(tmp_path / "out", reference, kills)


@pytest.mark.slow
def test_sigkill_at_many_random_moments(tmp_path, reference, resume_here) -> None:
    rng = random.Random(7)
    for sweep in range(5):
        kills = random_kills(tmp_path / f"out{sweep}", rng, 4, resume_here)
        assert_same(tmp_path / f"out{sweep}", reference, kills)


def test_a_second_sweep_into_the_same_folder_is_refused(tmp_path, reference, monkeypatch, capsys) -> None:
    """The second sweep (here in this process, so that it starts at once) is refused with the
    first one's pid; the first goes on undisturbed."""
    out = tmp_path / "out"
    build_parser()  # the parser is cheap; what a sweep runs on was imported by `reference` (a sweep in this
    # process), so the second sweep starts at once
    monkeypatch.setenv("ABM_SIMULATOR", FAKE)
    first = start(out, "--backend", "serial", sleep=0.05)
    wait_for(lambda: (out / "manifest.json").exists(), first)
    code = main([*SWEEP, "--out", str(out), "--backend", "serial"])
    err = capsys.readouterr().err
    trial(FAULTS, code, err)
    assert code == 2
    assert f"another abm process is writing to this folder (pid {first.pid} on host" in err
    assert first.poll() is None, "the first sweep ended before the second was refused: slow it down"
    code, err = finish(first)
    assert code == 0, err
    assert_same(out, reference, area=FAULTS)  # the first sweep: undisturbed


# --- a folder that cannot be written ------------------------------------------------------------


def unprivileged() -> tuple[str, ...]:
    """A command prefix under which file permissions apply (root ignores them)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a folder read-only to this process")
    caps = "-dac_override,-dac_read_search,-fowner"
    return ("setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", "--")


def test_a_read_only_folder_is_a_clear_error_and_resumable_afterwards(
    tmp_path, reference, monkeypatch, capsys, resume_here
) -> None:
    """Read-only for real (file permissions, checked by the kernel); the disk-full session before
    it uses the writer's fault hook. Exit 2 when nothing could be run, 1 when a session stopped."""
    prefix = unprivileged()
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, err = finish(start(locked / "out", "--backend", "serial", prefix=prefix))
        trial(FAULTS, code, err)
        assert code == 2 and "Traceback" not in err
        assert "cannot create the results folder: Permission denied" in err
    finally:
        locked.chmod(0o755)

    out = tmp_path / "out"
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"write_error": 3}))  # disk full at the 3rd part
    assert main([*SWEEP, "--out", str(out), "--backend", "serial"]) == 1
    err = capsys.readouterr().err
    assert "stopped: disk full: cannot write results" in err and "No space left on device" in err and "--resume" in err
    monkeypatch.delenv("ABM_FAULT_INJECT")
    before = digest(out)
    out.chmod(0o555)  # the whole folder read-only: nothing can even be locked
    try:
        code, err = resume(out, prefix=prefix)
    finally:
        out.chmod(0o755)
    trial(FAULTS, code, err)
    assert code == 2 and "cannot create the lock file .lock: Permission denied" in err and "Traceback" not in err
    assert digest(out) == before

    (out / "runs").chmod(0o555)  # only the parts read-only: the first write fails mid-session
    try:
        code, err = resume(out, prefix=prefix)
    finally:
        (out / "runs").chmod(0o755)
    assert code == 1 and "stopped: cannot write results" in err and "Permission denied" in err, err
    assert {k: v for k, v in digest(out).items() if k.startswith("runs/")} == {
        k: v for k, v in before.items() if k.startswith("runs/")
    }
    code, err = resume_here(out)
    assert code == 0, err
    assert_same(out, reference, area=FAULTS)  # disk full, then a read-only runs/: stopped twice, resumed
