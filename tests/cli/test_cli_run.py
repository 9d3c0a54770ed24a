"""`abm run`: outputs, exit codes, determinism, readable errors."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from abm.cli import main
from abm.model.outcomes import OUTCOMES
from abm.model.records import RUN_COLUMNS
from tests.runner.support import BASELINE

SHORT = ["--set", "horizon_days=60", "-q"]


def run_cli(*args: str) -> int:
    return main(["run", str(BASELINE), *args])


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["sweep", "--help"]])
def test_help_exits_zero(argv, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    assert "usage: abm" in capsys.readouterr().out


def test_help_as_a_program(subprocess_env) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "abm.cli", "run", "--help"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "--runs" in proc.stdout


def test_bad_config_key_exits_2_naming_the_key(tmp_path, subprocess_env) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "abm.cli", "run", str(BASELINE), "--set", "us.doctrin=massive", "--out", str(out)],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "us.doctrin" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--runs", "0"], "--runs"),
        (["--runs", "ten"], "--runs"),
        (["--seed", "-1"], "--seed"),
        (["--jobs", "0"], "--jobs"),
        (["--max-failure-share", "1.5"], "--max-failure-share"),
        (["--target-ci", "0.7"], "--target-ci"),
        (["--backend", "threads"], "--backend"),
    ],
)
def test_bad_cli_values_exit_2(args, needle, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        run_cli(*args)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "us.sanctions_level=7"], "us.sanctions_level"),
        (["--set", "nonsense"], "KEY=VALUE"),
        (["--max-runs", "5"], "max_runs"),
    ],
)
def test_bad_values_found_late_still_exit_2(tmp_path, args, needle, capsys, use_fake) -> None:
    assert run_cli("--out", str(tmp_path / "o"), *args) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_missing_config_file_exits_2(tmp_path, capsys) -> None:
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_outputs_summary_and_manifest(tmp_path, capsys, use_fake) -> None:
    out = tmp_path / "out"
    assert run_cli("--runs", "300", "--seed", "5", "--out", str(out), "--events", *SHORT) == 0
    runs = pd.read_parquet(out / "runs")
    assert list(runs.columns) == ["run", "seed", *RUN_COLUMNS, "error"]
    assert runs["run"].tolist() == list(range(300))
    events = pd.read_parquet(out / "events")
    assert events.columns[0] == "run" and len(events) > 0
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["outcome", "count", "p", "ci_low", "ci_high"]
    assert summary["outcome"].tolist() == list(OUTCOMES)  # every outcome, even at count 0; no error row
    counts = runs["outcome"].value_counts()
    assert summary["count"].tolist() == [int(counts.get(o, 0)) for o in OUTCOMES]
    low, high = proportion_confint(summary["count"], 300, alpha=0.05, method="wilson")
    np.testing.assert_allclose(summary["p"], summary["count"] / 300)
    np.testing.assert_allclose(summary["ci_low"], low)
    np.testing.assert_allclose(summary["ci_high"], high)
    printed = capsys.readouterr().out
    assert all(o in printed for o in OUTCOMES) and "Wilson" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    for key in (
        "config",
        "config_hash",
        "master_seed",
        "runs",
        "abm_version",
        "git_commit",
        "started",
        "finished",
        "python",
        "packages",
        "chunks",
        "overrides",
    ):
        assert key in manifest
    assert manifest["master_seed"] == 5 and manifest["runs"] == 300 and manifest["config"]["horizon_days"] == 60


def test_failed_runs_are_counted_and_set_the_exit_code(tmp_path, monkeypatch, use_fake, capsys) -> None:
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"fail_runs": [1, 2, 3]}))
    assert run_cli("--runs", "40", "--out", str(tmp_path / "a"), "--backend", "serial", *SHORT) == 1
    assert "3 of 40 runs failed" in capsys.readouterr().err
    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert summary["outcome"].tolist() == [*OUTCOMES, "error"]
    assert summary.set_index("outcome").loc["error", "count"] == 3
    assert summary["count"].sum() == 40 and np.isclose(summary["p"].sum(), 1.0)
    assert run_cli("--runs", "40", "--out", str(tmp_path / "b"), "--max-failure-share", "0.1", *SHORT) == 0


def test_default_folder_is_named_after_the_config(tmp_path, monkeypatch, use_fake) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("--runs", "5", "--backend", "serial", *SHORT) == 0
    (folder,) = (tmp_path / "results").iterdir()
    assert folder.name.startswith("baseline_jan2020-") and folder.name.endswith("Z")
    assert (folder / "summary.csv").exists()


def test_same_seed_same_tables_whatever_the_jobs(tmp_path) -> None:
    """With the real model: run twice with 2 jobs, once with 1: identical tables."""
    for name, jobs in (("a", "2"), ("b", "2"), ("c", "1")):
        assert (
            run_cli(
                "--runs",
                "24",
                "--seed",
                "11",
                "--jobs",
                jobs,
                "--chunk-size",
                "5",
                "--out",
                str(tmp_path / name),
                *SHORT,
            )
            == 0
        )
    a, b, c = (pd.read_parquet(tmp_path / n / "runs") for n in "abc")
    assert a["error"].isna().all(), a["error"].dropna().iloc[0]
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    assert (tmp_path / "a" / "summary.csv").read_text() == (tmp_path / "c" / "summary.csv").read_text()


def test_rerun_into_a_finished_folder_changes_nothing(tmp_path, use_fake) -> None:
    args = ("--runs", "20", "--out", str(tmp_path), "--backend", "serial", *SHORT)
    assert run_cli(*args) == 0
    before = pd.read_parquet(tmp_path / "runs")
    assert run_cli(*args) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "runs"), before)
    assert run_cli("--runs", "21", "--out", str(tmp_path), "--backend", "serial", *SHORT) == 2


def test_rerun_of_a_finished_folder_says_already_complete_and_resume_times_only_new_runs(
    tmp_path, use_fake, capsys
) -> None:
    # Issue 13: a re-run reported "540 runs in 0.1 s (6692.9 runs/s)"; a resume counted earlier runs.
    args = ("--runs", "20", "--out", str(tmp_path), "--backend", "serial", *SHORT)
    assert run_cli(*args) == 0
    assert "20 runs in" in capsys.readouterr().err
    assert run_cli(*args) == 0
    err = capsys.readouterr().err
    assert f"already complete: 20 runs in {tmp_path}" in err and "runs/s" not in err
    from abm.commands._experiment import timing_line

    resumed = SimpleNamespace(runs_done=20, runs_earlier=15, seconds=2.0, untouched=False, out_dir="DIR")
    assert (
        timing_line(resumed)
        == "5 runs in 2.0 s (2.5 runs/s); 15 more were done by an earlier run (kept); results in DIR"
    )


def test_target_ci_adds_runs_until_intervals_are_narrow(tmp_path, use_fake) -> None:
    out = tmp_path / "seq"
    assert run_cli("--runs", "100", "--target-ci", "0.04", "--max-runs", "3000", "--out", str(out), *SHORT) == 0
    summary = pd.read_csv(out / "summary.csv")
    n = int(summary["count"].sum())
    assert 100 < n <= 3000 and n % 100 == 0
    assert ((summary["ci_high"] - summary["ci_low"]) / 2 <= 0.04).all()
    assert pd.read_parquet(out / "runs")["run"].tolist() == list(range(n))


def test_curves_csv_is_written_and_printed_under_the_summary(tmp_path, use_fake, capsys) -> None:
    from abm.analysis.curves import CURVE_COLUMNS, HOT_DAYS

    out = tmp_path / "out"
    assert run_cli("--runs", "200", "--seed", "3", "--out", str(out), "--backend", "serial", *SHORT) == 0
    curves = pd.read_csv(out / "curves.csv")
    summary = pd.read_csv(out / "summary.csv").set_index("outcome")
    assert list(curves.columns) == list(CURVE_COLUMNS)
    assert curves["day"].tolist() == list(range(61)) and (curves["n"] == 200).all()
    assert curves["p_spiral"].is_monotonic_increasing and curves["p_deal"].is_monotonic_increasing
    last = curves.iloc[-1]  # the fake's days are within the horizon: by day 60 the curves reach the labels
    assert (last["p_spiral"], last["p_deal"]) == pytest.approx((summary.loc["spiral", "p"], summary.loc["deal", "p"]))
    assert curves["p_quiet"].notna().all() == (HOT_DAYS in RUN_COLUMNS)
    printed = capsys.readouterr().out
    table = printed[printed.index("P(spiral by day t)") :].splitlines()
    assert [line.split()[0] for line in table[1:3]] == ["30", "60"]  # days 30, 90, 180 up to the horizon, and it
    assert f"{last['p_spiral']:.3f} [{last['spiral_low']:.3f}, {last['spiral_high']:.3f}]" in table[2]
