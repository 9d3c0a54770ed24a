"""The runs of one `abm hindcast` or `abm validate` in all are bounded (issue 17, item 3), as those of
`run`, `sweep`, `compare` and `sensitivity` are: `--runs` is bounded per forecast date or per
scenario, but dates x runs and scenarios x runs were not (`abm hindcast --runs 10000000` planned 570
million runs). Above `MAX_RUNS` in all: exit 2 at once, one line naming the total and the limit,
nothing run; at the limit: accepted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import abm.hindcast.run
import abm.validation.run
from abm.cli import main
from abm.commands._common import MAX_RUNS
from abm.hindcast.record import forecast_dates, load_record, shipped_records
from abm.validation.cases import load_cases
from abm.validation.run import plan
from tests.runner.support import ROOT

TIMELINE = ROOT / "configs" / "history" / "jan_mar_2020.yaml"


class Planned(Exception):
    """The command got as far as running."""


@pytest.fixture
def nothing_runs(monkeypatch) -> None:
    def planned(*args, **kwargs):
        raise Planned

    monkeypatch.setattr(abm.hindcast.run, "run_in_memory", planned)
    monkeypatch.setattr(abm.validation.run, "run_in_memory", planned)


def call(argv: list[str], capsys) -> tuple[int | str, str, float]:
    began = time.monotonic()
    try:
        code: int | str = main(argv)
    except SystemExit as done:
        code = int(done.code or 0)
    except Planned:
        code = "planned"
    return code, capsys.readouterr().err, time.monotonic() - began


def refused(code: int | str, err: str, seconds: float, total: str) -> bool:
    line = err.strip().splitlines()[-1]
    return (
        code == 2
        and line.startswith("abm ")
        and f"= {total} runs; allowed: at most {MAX_RUNS:,} runs per command" in line
        and "Traceback" not in err
        and seconds < 10
    )


def test_hindcast_dates_times_runs_above_the_bound_is_refused(nothing_runs, tmp_path, capsys) -> None:
    dates = sum(len(forecast_dates(load_record(p))) for p in shipped_records())
    code, err, seconds = call(["hindcast", "--runs", str(MAX_RUNS), "--out", str(tmp_path / "o")], capsys)
    assert refused(code, err, seconds, f"{dates * MAX_RUNS:,}"), err
    assert f"{dates} forecast dates x {MAX_RUNS:,} runs per date" in err and not (tmp_path / "o").exists()


def test_hindcast_daily_dates_count(nothing_runs, tmp_path, capsys) -> None:
    daily = len(forecast_dates(load_record(TIMELINE), "daily"))
    runs = MAX_RUNS // daily + 1
    argv = ["hindcast", "--timeline", str(TIMELINE), "--dates", "daily", "--out", str(tmp_path / "o")]
    code, err, seconds = call([*argv, "--runs", str(runs)], capsys)
    assert refused(code, err, seconds, f"{daily * runs:,}"), err
    code, err, _ = call([*argv, "--runs", str(MAX_RUNS // daily)], capsys)
    assert code == "planned", err  # at the limit: the runs start


def test_validate_scenarios_times_runs_above_the_bound_is_refused(nothing_runs, tmp_path, capsys) -> None:
    scenarios = len(plan(load_cases(), MAX_RUNS))
    code, err, seconds = call(["validate", "--runs", str(MAX_RUNS), "--out", str(tmp_path / "o")], capsys)
    assert refused(code, err, seconds, f"{scenarios * MAX_RUNS:,}"), err
    assert f"{scenarios} scenarios x {MAX_RUNS:,} runs per scenario" in err and not (tmp_path / "o").exists()
    code, err, _ = call(["validate", "--runs", str(MAX_RUNS // scenarios), "--out", str(tmp_path / "o")], capsys)
    assert code == "planned", err


def _cases(folder: Path, count: int, runs: int) -> Path:
    """`count` cases on as many distinct scenarios (another horizon each), `runs` runs each."""
    folder.mkdir()
    for i in range(count):
        (folder / f"case_{i}.yaml").write_text(
            f"name: case_{i}\npattern: test\ndescription: a case\nscenario: baseline_jan2020.yaml\nruns: {runs}\n"
            f"set: {{horizon_days: {60 + i}}}\nquantity: {{kind: share, where: \"outcome == 'spiral'\"}}\n"
            "band: {low: 0.0, high: 1.0}\nsource: a test\n",
            encoding="utf-8",
        )
    return folder


def test_validate_with_each_case_s_own_runs_is_bounded_too(nothing_runs, tmp_path, capsys) -> None:
    folder = _cases(tmp_path / "cases", 11, 10**6)  # each case within its own bound (runs <= 10**6)
    code, err, seconds = call(["validate", "--cases-dir", str(folder), "--out", str(tmp_path / "o")], capsys)
    assert refused(code, err, seconds, "11,000,000"), err
    assert "11 scenarios with each case's own runs" in err
    (folder / "case_10.yaml").unlink()
    code, err, _ = call(["validate", "--cases-dir", str(folder), "--out", str(tmp_path / "o")], capsys)
    assert code == "planned", err
