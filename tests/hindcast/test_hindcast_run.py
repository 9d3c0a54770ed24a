"""A tiny end-to-end hindcast: few runs, a few dates, both samples; and the command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pytest

from abm.commands import hindcast as command
from abm.config import config_hash, load_config
from abm.hindcast import DEFAULT_RECORDS, Settings, load_record, run_hindcast
from abm.hindcast.questions import QUESTIONS, WINDOWS

DATES = "2019-12-28,2020-01-03,2020-03-06"  # one held-out date (Dec record), two in-sample (Jan-Mar record)


def _pairs() -> list:
    records = [load_record(p) for p in DEFAULT_RECORDS]
    return [(r, load_config(r.scenario_path)) for r in records]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("hindcast")
    settings = Settings(runs=6, seed=11, dates=DATES, n_boot=200)
    return out, run_hindcast(_pairs(), settings, out, command="test")


def test_outputs_are_written(tiny) -> None:
    out, _ = tiny
    for name in (
        "forecasts.csv",
        "scores.csv",
        "manifest.json",
        "figures/reliability.png",
        "figures/reliability.svg",
        "figures/timeline_jan_mar_2020.png",
        "figures/timeline_dec_2019.svg",
    ):
        assert (out / name).is_file(), name
    forecasts = pd.read_csv(out / "forecasts.csv")
    assert {"date", "question", "window", "p", "outcome"} <= set(forecasts.columns)
    assert len(forecasts) == 3 * len(QUESTIONS) * len(WINDOWS)
    assert forecasts["p"].between(0, 1).all() and (forecasts["runs"] == 6).all()
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["sample"]) == {"in-sample", "held-out"}
    assert {"brier", "brier_ci_low", "brier_ci_high", "log_score", "skill_climatology", "skill_persistence"} <= set(
        scores.columns
    )
    overall = scores[(scores["question"] == "all") & (scores["window"] == "all")]
    assert len(overall) == 2 and (overall["brier"].between(0, 1)).all()


def test_outcomes_follow_the_record(tiny) -> None:
    _, result = tiny
    f = result.forecasts.set_index(["record", "date", "question", "window"])["outcome"]
    assert f[("jan_mar_2020", "2020-01-03", "iran_strikes_us", 7)] == 1  # 8 Jan strike
    assert f[("jan_mar_2020", "2020-01-03", "us_strikes_iran", 7)] == 0
    assert f[("jan_mar_2020", "2020-03-06", "militia_kills_us", 7)] == 1  # 11 Mar, Camp Taji
    assert f[("jan_mar_2020", "2020-03-06", "us_strikes_militia", 7)] == 1  # 12 Mar depots
    assert pd.isna(f[("jan_mar_2020", "2020-03-06", "iran_strikes_us", 30)])  # runs past 31 Mar: unresolved
    assert f[("dec_2019", "2019-12-28", "us_strikes_militia", 7)] == 1  # 29 Dec strikes
    assert f[("dec_2019", "2019-12-28", "us_strikes_iran", 7)] == 1  # the 3 Jan killing, from the linked record
    assert f[("dec_2019", "2019-12-28", "iran_strikes_us", 30)] == 1  # 8 Jan
    assert f[("dec_2019", "2019-12-28", "militia_kills_us", 30)] == 0


def test_manifest_freezes_the_scenario(tiny) -> None:
    out, _ = tiny
    manifest = json.loads((out / "manifest.json").read_text())
    records = {r["name"]: r for r in manifest["records"]}
    baseline = load_config(load_record(DEFAULT_RECORDS[0]).scenario_path)
    assert records["jan_mar_2020"]["config_hash"] == config_hash(baseline)
    assert records["jan_mar_2020"]["sample"] == "in-sample" and records["dec_2019"]["sample"] == "held-out"
    assert [d["date"] for d in records["jan_mar_2020"]["dates"]] == ["2020-01-03", "2020-03-06"]
    assert records["jan_mar_2020"]["dates"][0]["config_hash"] == config_hash(baseline)  # day-0 cut = the baseline
    assert len(manifest["questions"]) == len(QUESTIONS) * len(WINDOWS)
    assert manifest["seed"] == 11 and manifest["runs_per_date"] == 6


def test_same_seed_same_numbers(tiny, tmp_path) -> None:
    _, first = tiny
    again = run_hindcast(_pairs(), Settings(runs=6, seed=11, dates=DATES, n_boot=200))
    pd.testing.assert_frame_equal(first.forecasts, again.forecasts)
    pd.testing.assert_frame_equal(first.scores, again.scores)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="abm")
    command.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["hindcast", *argv])


def test_command_runs_and_reports(tmp_path, capsys) -> None:
    out = tmp_path / "cli"
    args = _parse(
        [
            "--record",
            str(DEFAULT_RECORDS[0]),
            "--dates",
            "2020-01-10",
            "--runs",
            "3",
            "--backend",
            "serial",
            "--bootstrap",
            "100",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert command.main(args) == 0
    assert "iran_strikes_us" in capsys.readouterr().out
    assert (out / "scores.csv").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dates", "fortnightly"], "expected weekly, daily or ISO dates"),
        (["--dates", "2021-05-01"], "no forecast date falls in the span"),
        (["configs/unknown.yaml"], "no such file"),
        (["--clip", "0.7"], "--clip"),
    ],
)
def test_command_bad_input_exits_2(tmp_path, capsys, argv, message) -> None:
    args = _parse([*argv, "--runs", "2", "--backend", "serial", "--out", str(tmp_path / "x"), "-q"])
    assert command.main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_parallel_equals_serial() -> None:
    pairs = _pairs()[:1]
    serial = run_hindcast(pairs, Settings(runs=8, seed=5, dates="2020-01-10", n_boot=100))
    parallel = run_hindcast(pairs, Settings(runs=8, seed=5, dates="2020-01-10", n_boot=100, jobs=2, backend="loky"))
    pd.testing.assert_frame_equal(serial.forecasts, parallel.forecasts)
