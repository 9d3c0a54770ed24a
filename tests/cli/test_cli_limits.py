"""Upper bounds (issue 17, item 3): a count far beyond any study is refused at once, exit 2,
with one line naming the flag, the value and the allowed range; --jobs above the cores warns.

Nothing here may start planning work: where the old code would have run, the runner is
replaced by a function that fails the test instead.
"""

from __future__ import annotations

import time

import pytest

from abm.cli import main
from abm.commands._common import MAX_POINTS, MAX_RUNS, available_cores
from tests.runner.support import BASELINE

HUGE = str(10**12)
PARAM = "world.militia_attack_rate=0.02:0.1"


def call(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as done:
        return int(done.code or 0)


@pytest.fixture
def nothing_runs(monkeypatch) -> None:
    """Fail the test (not hang) if a command gets as far as planning or running work."""

    def planned(*args, **kwargs):
        raise AssertionError("work was planned for a count above the limit")

    import abm.analysis.compare
    import abm.analysis.sensitivity
    import abm.runner

    monkeypatch.setattr(abm.runner, "run_experiment", planned)
    monkeypatch.setattr(abm.analysis.sensitivity, "plan_sensitivity", planned)
    monkeypatch.setattr(abm.analysis.compare, "plan_comparison", planned)


@pytest.mark.parametrize(
    ("argv", "flag", "allowed"),
    [
        (["run", str(BASELINE), "--runs", HUGE], "--runs", f"1 to {MAX_RUNS:,}"),
        (["run", str(BASELINE), "--target-ci", "0.0001", "--max-runs", HUGE], "--max-runs", f"1 to {MAX_RUNS:,}"),
        (["sweep", str(BASELINE), "--lhs", PARAM, "--points", HUGE], "--points", f"1 to {MAX_POINTS:,}"),
        (["sweep", str(BASELINE), "--grid", "us.doctrine=massive", "--runs", HUGE], "--runs", f"1 to {MAX_RUNS:,}"),
        (
            ["sensitivity", str(BASELINE), "--param", PARAM, "--method", "sobol", "--samples", HUGE],
            "--samples",
            f"2 to {MAX_POINTS:,}",
        ),
        (
            ["sensitivity", str(BASELINE), "--param", PARAM, "--method", "morris", "--runs-per-point", HUGE],
            "--runs-per-point",
            f"1 to {MAX_RUNS:,}",
        ),
        (["compare", str(BASELINE), "--lever", "iran.advance_warning=0.8,0", "--runs", HUGE], "--runs", "2 to"),
        (["hindcast", "--runs", HUGE], "--runs", f"1 to {MAX_RUNS:,}"),
        (["validate", "--runs", HUGE], "--runs", f"1 to {MAX_RUNS:,}"),
        (["run", str(BASELINE), "--runs", "9" * 5000], "--runs", f"1 to {MAX_RUNS:,}"),
    ],
)
def test_a_count_above_its_bound_is_refused_at_once(argv, flag, allowed, nothing_runs, tmp_path, capsys) -> None:
    began = time.monotonic()
    assert call([*argv, "--out", str(tmp_path / "out")] if argv[0] != "validate" else argv) == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and f"allowed: {allowed}" in err and "Traceback" not in err, err
    assert HUGE not in argv or "1,000,000,000,000" in err
    assert time.monotonic() - began < 5 and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["sweep", str(BASELINE), "--grid", "us.doctrine=massive,proportional", "--runs", "6000000"],
            "2 points x 6,000,000 runs per point = 12,000,000 runs",
        ),
        (["run", str(BASELINE), "--runs", "2000000", "--target-ci", "0.01"], "1 point x 20,000,000 runs per point"),
        (
            ["sensitivity", str(BASELINE), "--param", PARAM, "--method", "sobol", "--samples", "131072"],
            "393,216 points x 50 runs per point (--runs-per-point) = 19,660,800 runs",
        ),
        (
            ["compare", str(BASELINE), "--lever", "iran.advance_warning=0.8,0,0.5", "--runs", "4000000"],
            "3 arms x 4,000,000 runs per arm = 12,000,000 runs",
        ),
    ],
)
def test_more_runs_in_total_than_the_limit_are_refused_before_planning(
    argv, needle, nothing_runs, use_fake, tmp_path, capsys
) -> None:
    assert call([*argv, "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert needle in err and f"at most {MAX_RUNS:,} runs per command" in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_jobs_above_the_cores_warn_in_one_line_and_run(use_fake, tmp_path, capsys) -> None:
    jobs = available_cores() + 1
    argv = ["run", str(BASELINE), "--runs", "2", "--backend", "serial", "--out", str(tmp_path / "o"), "-q"]
    assert call([*argv, "--jobs", str(jobs)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        f"abm run: warning: --jobs {jobs} is above the {available_cores()} cores available; the workers will "
        "share them (slower, more memory)"
    ]


def test_jobs_within_the_cores_do_not_warn(use_fake, tmp_path, capsys) -> None:
    argv = ["run", str(BASELINE), "--runs", "2", "--backend", "serial", "--out", str(tmp_path / "o"), "-q"]
    assert call([*argv, "--jobs", "1"]) == 0
    assert "--jobs" not in capsys.readouterr().err


# --- values of --grid, --set, --lever, --lhs, --param: strict parsing, bounded size and depth -----

LAUGHS = (
    "["
    + ",".join(["&a [x,x,x,x,x,x,x,x,x]", "&b [*a,*a,*a,*a,*a,*a,*a,*a,*a]", "&c [*b,*b,*b,*b,*b,*b,*b,*b,*b]"])
    + "]"
)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["sweep", str(BASELINE), "--grid", f"us.doctrine={LAUGHS}"], "YAML aliases (*name) are not allowed"),
        (["run", str(BASELINE), "--set", f"us.doctrine={LAUGHS}"], "YAML aliases (*name) are not allowed"),
        (["compare", str(BASELINE), "--lever", "us.doctrine=- &a x\n- *a,b"], "YAML aliases (*name) are not allowed"),
        (["sweep", str(BASELINE), "--grid", "us.sanctions_level=2020-13-01"], "is not a valid value"),
        (["sweep", str(BASELINE), "--grid", "us.sanctions_level=" + "9" * 5000], "is not a valid value"),
        (["sweep", str(BASELINE), "--grid", "us.doctrine=" + "[" * 60000], "at most 10,000 characters"),
        (["run", str(BASELINE), "--set", "us.doctrine=" + "[" * 30 + "]" * 30], "nested too deep"),
        (["sweep", str(BASELINE), "--lhs", "world.militia_attack_rate=0:" + "1" * 20000, "--points", "4"], "--lhs"),
        (
            ["sensitivity", str(BASELINE), "--method", "morris", "--samples", "4", "--param", "k=0:" + "1" * 20000],
            "--param",
        ),
    ],
)
def test_bad_command_line_values_are_refused_in_one_line(argv, needle, nothing_runs, tmp_path, capsys) -> None:
    began = time.monotonic()
    assert call([*argv, "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err) < 1000, err[:500]
    assert time.monotonic() - began < 5 and not (tmp_path / "out").exists()
