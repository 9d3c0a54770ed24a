"""A tiny end-to-end hindcast: few runs, a few dates, all three samples; and the command."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from abm.commands import hindcast as command
from abm.config import ConfigError, config_hash, load_config
from abm.hindcast import QUESTION_TABLE, RECORDS_DIR, Settings, load_record, run_hindcast, shipped_records
from abm.hindcast.run import format_scores

JAN_MAR, DEC = RECORDS_DIR / "jan_mar_2020.yaml", RECORDS_DIR / "dec_2019.yaml"
MILITIA_TRIGGER = RECORDS_DIR.parent / "militia_lethal_trigger.yaml"
DATES = "2019-12-28,2020-01-03,2020-03-06"  # one held-out date (Dec record), two in-sample (Jan-Mar record)


def _pairs() -> list:
    records = [load_record(p) for p in (JAN_MAR, DEC)]
    return [(r, load_config(r.scenario_path)) for r in records]


def _elsewhere(folder: Path) -> Path:
    """A stand-in out-of-sample record: the K-1 trigger alone, its parties the other way round."""
    raw = {
        "name": "elsewhere",
        "start_date": "2019-12-27",
        "covers_until": "2020-01-31",  # as if nothing had followed the K-1 attack
        "sample": "out-of-sample",
        "parties": ["iran", "us"],
        "covers": {"proxy_kills": None},  # as if the record did not list militia attacks
        "forecast": {"first": "2019-12-27", "last": "2019-12-28", "every": "daily"},
        "events": [
            {
                "day": 0,
                "actor": "kataib_hezbollah",
                "action": "militia_rocket_attack",
                "target": "us",
                "site": "k1",
                "deaths": 1,
            }
        ],
    }
    path = folder / "elsewhere.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("hindcast")
    short = load_config(MILITIA_TRIGGER, ["horizon_days=40"])  # shorter than a 90-day window
    pairs = [*_pairs(), (load_record(_elsewhere(out)), short)]
    settings = Settings(runs=6, seed=11, dates=DATES, n_boot=200)
    return out, run_hindcast(pairs, settings, out, command="test")


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
        "figures/timeline_elsewhere.png",
    ):
        assert (out / name).is_file(), name
    forecasts = pd.read_csv(out / "forecasts.csv")
    assert {"date", "question", "window", "p", "outcome"} <= set(forecasts.columns)
    assert len(forecasts) == 5 * len(QUESTION_TABLE)  # 3 dates + the out-of-sample record's 28 Dec and 3 Jan
    assert forecasts["p"].between(0, 1).all() and (forecasts["runs"] == 6).all()
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores["sample"]) == {"in-sample", "held-out", "out-of-sample"}
    assert {"brier", "brier_ci_low", "brier_ci_high", "log_score", "skill_climatology", "skill_persistence"} <= set(
        scores.columns
    )
    overall = scores[(scores["question"] == "all") & (scores["window"] == "all")]
    assert len(overall) == 6  # each record, and each sample pooling its records
    assert overall["brier"].between(0, 1).all()


def test_each_question_is_asked_for_its_own_windows(tiny) -> None:
    _, result = tiny
    windows = result.forecasts.groupby("question")["window"].agg(lambda w: sorted(set(w)))
    assert windows["war"] == [30, 90] and windows["answer"] == [7, 30] and windows["deal"] == [7, 30]
    scored = result.scores[result.scores["question"] == "war"]
    assert sorted(set(scored["window"])) == ["30", "90"]
    assert set(result.scores.loc[result.scores["question"] == "all", "window"]) == {"7", "30", "90", "all"}


def test_the_horizon_reaches_day_cut_plus_90(tiny) -> None:
    _, result = tiny
    horizons = {rf.record.name: rf.horizon for rf in result.records}
    assert horizons == {"jan_mar_2020": 180, "dec_2019": 180, "elsewhere": 98}  # 40-day scenario: last cut 7 + 91
    war90 = result.forecasts.query("record == 'elsewhere' and question == 'war' and window == 90")
    assert war90["window_end"].tolist() == ["2020-03-27", "2020-04-02"]
    assert war90["outcome"].isna().all()  # the record ends on 31 Jan: unresolved, not scored


def test_outcomes_follow_the_record(tiny) -> None:
    _, result = tiny
    f = result.forecasts.set_index(["record", "date", "question", "window"])["outcome"]
    assert f[("jan_mar_2020", "2020-01-03", "answer", 7)] == 1  # 8 Jan strike
    assert f[("jan_mar_2020", "2020-01-03", "counter", 7)] == 0
    assert f[("jan_mar_2020", "2020-03-06", "proxy_kills", 7)] == 1  # 11 Mar, Camp Taji
    assert f[("jan_mar_2020", "2020-03-06", "strikes_proxy", 7)] == 1  # 12 Mar depots
    assert pd.isna(f[("jan_mar_2020", "2020-03-06", "answer", 30)])  # runs past 31 Mar: unresolved
    assert f[("jan_mar_2020", "2020-01-03", "war", 30)] == 0
    assert f[("jan_mar_2020", "2020-01-03", "war", 90)] == 0  # to 2 Apr, past 31 Mar: the record's `covers` for war
    assert pd.isna(f[("jan_mar_2020", "2020-03-06", "counter", 30)])  # counter has no `covers`: unresolved
    assert f[("dec_2019", "2019-12-28", "strikes_proxy", 7)] == 1  # 29 Dec strikes
    assert f[("dec_2019", "2019-12-28", "counter", 7)] == 1  # the 3 Jan killing, from the linked record
    assert f[("dec_2019", "2019-12-28", "answer", 30)] == 1  # 8 Jan
    assert f[("dec_2019", "2019-12-28", "proxy_kills", 30)] == 0
    assert f[("dec_2019", "2019-12-28", "war", 90)] == 0  # days 2..91, the record covers 95


def test_a_question_the_record_does_not_cover_is_never_resolved(tiny) -> None:
    _, result = tiny
    f = result.forecasts.query("record == 'elsewhere'")
    assert f.loc[f["question"] == "proxy_kills", "outcome"].isna().all()
    assert f.loc[f["question"] == "answer", "outcome"].notna().any()
    scored = result.scores.query("record == 'elsewhere'")
    proxy = scored.loc[scored["question"] == "proxy_kills"]
    assert proxy.empty or proxy["n"].eq(0).all()


def test_samples_are_scored_apart(tiny) -> None:
    _, result = tiny
    scores = result.scores
    assert "all" not in set(scores["sample"])  # no row pools samples
    pooled = scores[scores["record"] == "all"].set_index(["sample", "question", "window"])
    own = scores[scores["record"] != "all"]
    for sample, part in own.groupby("sample"):
        assert part["record"].nunique() == 1  # one record per sample here: its pooled rows are its own rows
        mine = part.set_index(["question", "window"]).drop(columns=["sample", "record"])
        theirs = pooled.loc[sample].drop(columns="record")
        pd.testing.assert_frame_equal(mine, theirs.loc[mine.index], check_names=False)
    text = format_scores(scores)
    for heading in ("in-sample: jan_mar_2020", "held-out: dec_2019", "out-of-sample: elsewhere", "overall per record"):
        assert heading in text


def test_manifest_freezes_the_scenario(tiny) -> None:
    out, _ = tiny
    manifest = json.loads((out / "manifest.json").read_text())
    records = {r["name"]: r for r in manifest["records"]}
    baseline = load_config(load_record(JAN_MAR).scenario_path)
    assert records["jan_mar_2020"]["config_hash"] == config_hash(baseline)
    assert records["jan_mar_2020"]["sample"] == "in-sample" and records["dec_2019"]["sample"] == "held-out"
    assert records["elsewhere"]["sample"] == "out-of-sample"
    assert manifest["samples"] == {
        "in-sample": ["jan_mar_2020"],
        "held-out": ["dec_2019"],
        "out-of-sample": ["elsewhere"],
    }
    assert [d["date"] for d in records["jan_mar_2020"]["dates"]] == ["2020-01-03", "2020-03-06"]
    assert records["jan_mar_2020"]["dates"][0]["config_hash"] == config_hash(baseline)  # day-0 cut = the baseline
    assert len(manifest["questions"]) == len(QUESTION_TABLE) == 12
    assert manifest["question_windows"]["war"] == [30, 90]
    texts = {(q["name"], q["window"]): q["text"] for q in records["elsewhere"]["questions"]}
    assert texts[("answer", 7)].startswith("us strikes iran directly")  # parties [iran, us]
    assert records["elsewhere"]["parties"] == {"author": "iran", "struck": "us"}
    assert manifest["seed"] == 11 and manifest["runs_per_date"] == 6


def test_same_seed_same_numbers(tiny) -> None:
    _, first = tiny
    again = run_hindcast(_pairs(), Settings(runs=6, seed=11, dates=DATES, n_boot=200))
    mine = first.forecasts[first.forecasts["sample"] != "out-of-sample"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, again.forecasts)
    scores = first.scores[first.scores["sample"] != "out-of-sample"].reset_index(drop=True)
    pd.testing.assert_frame_equal(scores, again.scores)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="abm")
    command.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["hindcast", *argv])


@pytest.mark.parametrize("flag", ["--timeline", "--record"])
def test_command_runs_and_reports(tmp_path, capsys, flag) -> None:
    out = tmp_path / "cli"
    args = _parse(
        [
            flag,
            str(JAN_MAR),
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
    assert args.timeline == [JAN_MAR]
    assert command.main(args) == 0
    printed = capsys.readouterr().out
    assert "in-sample: jan_mar_2020" in printed and "answer" in printed and "strikes_proxy" in printed
    assert (out / "scores.csv").is_file()


def test_timeline_and_its_older_spelling_mix() -> None:
    args = _parse(["--timeline", str(JAN_MAR), "--record", str(DEC)])
    assert args.timeline == [JAN_MAR, DEC]
    assert _parse([]).timeline == []


def _records(argv: list[str]) -> list[str]:
    args = _parse(argv)
    config = load_config(args.config) if args.config else None
    return [r.name for r in command._records(args, config)]


def test_the_default_timelines_are_every_shipped_record() -> None:
    assert _records([]) == [load_record(p).name for p in shipped_records()]
    assert {"jan_mar_2020", "dec_2019"} <= set(_records([]))
    assert _records(["--timeline", str(DEC)]) == ["dec_2019"]


def test_config_picks_the_records_that_name_it(tmp_path) -> None:
    assert _records([str(MILITIA_TRIGGER)]) == ["dec_2019"]
    assert _records([str(RECORDS_DIR.parent / "baseline_jan2020.yaml")]) == ["jan_mar_2020"]
    # another file with the baseline's start date: no record names it, day 0 matches
    copy = tmp_path / "copy.yaml"
    copy.write_text((RECORDS_DIR.parent / "baseline_jan2020.yaml").read_text())
    assert _records([str(copy)]) == ["jan_mar_2020"]
    nowhere = tmp_path / "nowhere.yaml"
    text = (RECORDS_DIR.parent / "baseline_jan2020.yaml").read_text()
    nowhere.write_text(re.sub(r"^start_date: .*$", "start_date: 1999-01-01", text, count=1, flags=re.M))
    with pytest.raises(ConfigError, match=r"names it as its scenario or starts on its start_date 1999-01-01"):
        _records([str(nowhere)])


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
    from abm.cli import main

    assert main(["hindcast", *argv, "--runs", "2", "--backend", "serial", "--out", str(tmp_path / "x"), "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and "abm hindcast: error: " in err and "Traceback" not in err


@pytest.mark.slow
def test_parallel_equals_serial() -> None:
    pairs = _pairs()[:1]
    serial = run_hindcast(pairs, Settings(runs=8, seed=5, dates="2020-01-10", n_boot=100))
    parallel = run_hindcast(pairs, Settings(runs=8, seed=5, dates="2020-01-10", n_boot=100, jobs=2, backend="loky"))
    pd.testing.assert_frame_equal(serial.forecasts, parallel.forecasts)
