"""Faults seen from the command line: exit codes and messages (docs/RELIABILITY.md)."""

from __future__ import annotations

import json

import pandas as pd

from abm.cli import main
from tests.reliability import LOST, OTHER, RECOVERED, record, trial
from tests.runner.support import doctrine_sweep

AREA = "faults during a sweep"  # of the reliability tally (tests/reliability.py)

SWEEP = doctrine_sweep(60, 10, "--backend", "serial")


def test_timeouts_above_the_limit_exit_1_and_say_how_to_resume(tmp_path, monkeypatch, use_fake, capsys) -> None:
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"hang_runs": list(range(0, 60, 3)), "hang": 60}))
    out = tmp_path / "out"
    assert main([*SWEEP, "--out", str(out), "--run-timeout", "0.02"]) == 1
    err = capsys.readouterr().err
    assert "abm sweep: stopped: " in err and "above --max-failure-share 0.05" in err and "timeout after 0.02 s" in err
    assert "--resume" in err and "--retry-failed" in err and "Traceback" not in err
    assert json.loads((out / "manifest.json").read_text())["status"] == "stopped"
    monkeypatch.delenv("ABM_FAULT_INJECT")
    code = main([*SWEEP, "--out", str(out), "--resume", "--retry-failed"])
    runs = pd.read_parquet(out / "runs")
    # 120 runs without an error: nothing lost (their values are compared in tests/runner/test_runner_faults.py)
    lost = 120 - runs["error"].isna().sum()
    record(AREA, LOST if lost > 0 else RECOVERED if code == 0 and len(runs) == 120 else OTHER, lost=max(0, lost))
    assert code == 0
    assert len(runs) == 120 and runs["error"].isna().all()


def test_a_folder_of_another_model_version_exits_2_unless_allowed(tmp_path, use_fake, capsys) -> None:
    out = tmp_path / "out"
    assert main([*SWEEP, "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["model_hash"] = "f" * 64
    (out / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    code = main([*SWEEP, "--out", str(out), "--resume"])
    err = capsys.readouterr().err
    trial(AREA, code, err)
    assert code == 2
    assert "another version of abm (model code hash ffffffffffff there" in err and "--allow-version-mix" in err
    assert main([*SWEEP, "--out", str(out), "--resume", "--allow-version-mix"]) == 0
    assert "warning: --allow-version-mix" in capsys.readouterr().err
    assert json.loads((out / "manifest.json").read_text())["version_mix"] is True


def test_a_sweep_with_a_dying_worker_finishes_with_the_reason(tmp_path, monkeypatch, use_fake, capsys) -> None:
    """A run that kills its worker (loky) is one failed row; 1 of 120 is under the 5% limit: exit 0."""
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"exit_runs": [13], "die_points": [0]}))
    out = tmp_path / "out"
    argv = [a if a != "serial" else "loky" for a in SWEEP]
    code = main([*argv, "--out", str(out), "--jobs", "1", "--retries", "0"])
    err = capsys.readouterr().err
    runs = pd.read_parquet(out / "runs").set_index(["point", "run"])
    lost = 119 - runs["error"].isna().sum()  # only the deadly run may fail
    record(AREA, LOST if lost > 0 else RECOVERED if code == 0 and len(runs) == 120 else OTHER, lost=max(0, lost))
    assert code == 0
    assert "worker died (exit code EXIT(3))" in err and "1 of 120 runs failed" in err
    assert runs.loc[(0, 13), "error"].startswith("WorkerDied: worker died (exit code EXIT(3)) after 3 attempts")
    assert runs["error"].notna().sum() == 1
