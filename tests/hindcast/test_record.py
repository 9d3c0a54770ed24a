"""Record files: loading, validation, cutting at a date, replay through the model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from abm.config import ConfigError, config_hash, load_config
from abm.hindcast.record import (
    MIN_DAYS_AHEAD,
    RECORDS_DIR,
    SAMPLES,
    check_alignment,
    check_parties,
    conditioned,
    forecast_dates,
    horizon_for,
    load_record,
    matching_records,
    observed_events,
    read_record_file,
    shipped_records,
)
from abm.hindcast.run import parameters_hash
from abm.model.simulate import simulate

JAN_MAR, DEC = RECORDS_DIR / "jan_mar_2020.yaml", RECORDS_DIR / "dec_2019.yaml"
ROOT = RECORDS_DIR.parents[1]


@pytest.fixture(scope="module")
def jan() -> object:
    return load_record(JAN_MAR)


@pytest.fixture(scope="module")
def baseline() -> object:
    return load_config(load_record(JAN_MAR).scenario_path)


def test_shipped_records_load_and_merge(jan) -> None:
    dec = load_record(DEC)
    assert (jan.name, jan.sample, jan.start_date) == ("jan_mar_2020", "in-sample", dt.date(2020, 1, 3))
    assert (dec.name, dec.sample, dec.start_date) == ("dec_2019", "held-out", dt.date(2019, 12, 27))
    # each sees the whole timeline, re-dated to its own day 0
    assert (jan.first_day, jan.last_day) == (-7, 88)
    assert (dec.first_day, dec.last_day) == (0, 95)
    assert len(jan.events) == len(dec.events) == 14
    assert [e.day + 7 for e in jan.events] == [e.day for e in dec.events]
    assert jan.scenario_path.name == "baseline_jan2020.yaml"
    assert dec.scenario_path.name == "militia_lethal_trigger.yaml"


def test_record_day_zero_matches_the_scenarios_trigger(jan, baseline) -> None:
    assert jan.cut(0) == list(baseline.history)
    dec = load_record(DEC)
    assert dec.cut(0) == list(load_config(dec.scenario_path).history)


def test_cut_keeps_days_zero_to_cut_only(jan) -> None:
    assert [e.day for e in jan.cut(5)] == [0, 1, 2, 2, 5]
    assert [e.day for e in jan.cut(4)] == [0, 1, 2, 2]
    assert all(e.day >= 0 for e in jan.cut(88))  # the Dec episode (negative days) is never imposed
    assert len(jan.cut(88)) == 11
    assert jan.cut(68)[-1].action == "militia_rocket_attack" and jan.cut(68)[-1].deaths == 3


def test_conditioned_scenario_changes_only_history_free_day_and_horizon(jan, baseline) -> None:
    s = conditioned(baseline, jan, 14, horizon=180)
    assert s.free_from_day == 15 and s.horizon_days == 180
    assert [e.day for e in s.history] == [0, 1, 2, 2, 5, 7]
    assert parameters_hash(s) == parameters_hash(baseline)
    assert config_hash(s) != config_hash(baseline)
    assert conditioned(baseline, jan, 0, 180) == baseline  # the 3 Jan forecast is the baseline itself
    assert horizon_for(baseline, [0, 84]) == 180  # 84 + 90 + 1 = 175
    assert horizon_for(baseline, [0, 160]) == 251


def test_the_horizon_reaches_the_longest_window() -> None:
    """A cut at day c needs runs through day c + 90 (war's longest window), whatever the scenario's horizon."""
    assert MIN_DAYS_AHEAD == 91
    short = load_config(JAN_MAR.parents[1] / "baseline_jan2020.yaml", ["horizon_days=40"])
    assert horizon_for(short, [0]) == 91
    assert horizon_for(short, [0, 20]) == 111


def test_alignment_is_checked(jan) -> None:
    other = load_config(load_record(DEC).scenario_path)
    with pytest.raises(ConfigError, match="starts on 2020-01-03 but scenario"):
        check_alignment(jan, other)


def test_forecast_dates(jan) -> None:
    weekly = forecast_dates(jan)
    assert weekly[0] == dt.date(2020, 1, 3) and weekly[-1] == dt.date(2020, 3, 27) and len(weekly) == 13
    assert len(forecast_dates(jan, "daily")) == 89
    assert forecast_dates(load_record(DEC)) == [dt.date(2019, 12, 27) + dt.timedelta(days=i) for i in range(7)]
    assert forecast_dates(jan, "2020-03-06, 2019-12-30,2020-01-10,2020-04-05") == [
        dt.date(2020, 1, 10),
        dt.date(2020, 3, 6),
    ]
    with pytest.raises(ConfigError, match="expected weekly, daily or ISO dates"):
        forecast_dates(jan, "fortnightly")


def test_replayed_record_matches_what_a_run_imposes(jan, baseline) -> None:
    """The rows questions resolve against are the events the model imposes in a conditioned run."""
    rows = observed_events(jan, baseline)
    assert rows["day"].min() == -7 and rows["imposed"].all()
    cut = 71
    run = simulate(conditioned(baseline, jan, cut, 180), seed=3, record_events=True)
    imposed = [e for e in run.events if e["imposed"]]
    keys = ["day", "side", "action", "target_side", "site", "deaths", "state_deaths", "warned", "kinetic", "rung"]
    expected = rows[(rows["day"] >= 0) & (rows["day"] <= cut)][keys].to_dict("records")
    got = [{k: e[k] for k in keys} for e in imposed]
    clean = [{k: (None if v != v else v) for k, v in r.items()} for r in expected]  # NaN -> None
    assert got == clean
    killing = rows[rows["action"] == "targeted_killing"].iloc[0]
    assert killing["killed_sides"] == "iran,kataib_hezbollah" and killing["target_side"] == "iran"
    strike = rows[rows["action"] == "warned_missile_strike"].iloc[0]
    assert (strike["day"], strike["side"], strike["target_side"], bool(strike["warned"])) == (5, "iran", "us", True)


def _write(tmp_path: Path, name: str, **overrides) -> Path:
    raw = {
        "name": name,
        "start_date": "2020-01-03",
        "covers_until": "2020-01-20",
        "sample": "held-out",
        "parties": ["us", "iran"],
        "forecast": {"first": "2020-01-03", "last": "2020-01-10"},
        "events": [{"day": 0, "actor": "centcom", "action": "targeted_killing", "target": "quds_force"}],
    }
    raw.update(overrides)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_invalid_record_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"events\.0\.day: 30 is after covers_until"):
        load_record(_write(tmp_path, "late", events=[{"day": 30, "actor": "us", "action": "new_sanctions"}]))
    with pytest.raises(ConfigError, match=r"events\.0\.action: unknown action 'nuke'"):
        load_record(_write(tmp_path, "bad", events=[{"day": 1, "actor": "us", "action": "nuke"}]))
    with pytest.raises(ConfigError, match="sample"):
        load_record(_write(tmp_path, "label", sample="validation"))
    with pytest.raises(ConfigError, match="parties: the author and the struck state are both 'us'"):
        load_record(_write(tmp_path, "self", parties=["us", "us"]))
    with pytest.raises(ConfigError, match="not a known key"):
        load_record(_write(tmp_path, "extra", events=[{"day": 1, "actor": "us", "action": "new_sanctions", "x": 1}]))
    later = _write(
        tmp_path,
        "later",
        start_date="2020-03-01",
        covers_until="2020-03-10",
        forecast={"first": "2020-03-01", "last": "2020-03-02"},
    )
    with pytest.raises(ConfigError, match="gap from 2020-01-20 to 2020-03-01"):
        load_record(_write(tmp_path, "gappy", linked=[later.name]))


def test_unknown_ids_fail_before_any_run(tmp_path: Path, baseline) -> None:
    path = _write(tmp_path, "typo", events=[{"day": 0, "actor": "centcomm", "action": "targeted_killing"}])
    with pytest.raises(ConfigError, match="unknown actor 'centcomm'"):
        observed_events(load_record(path), baseline)


def test_record_events_no_actor_could_take_fail_before_any_run(tmp_path: Path, baseline) -> None:
    twice = {"day": 0, "actor": "centcom", "action": "targeted_killing", "deaths": 2, "killed": ["kh_leader"] * 2}
    with pytest.raises(ConfigError, match=r"events\.0\.killed: .*listed twice: kh_leader"):
        load_record(_write(tmp_path, "twice", events=[twice]))
    deal = {"day": 2, "actor": "hezbollah", "action": "sign_deal", "site": "dubai", "killed": ["centcom"]}
    path = _write(tmp_path, "deal", events=[deal])
    with pytest.raises(ConfigError, match=r"history\.0\.action: hezbollah is a militia and cannot take 'sign_deal'"):
        observed_events(load_record(path), baseline)


def test_out_of_sample_is_a_sample() -> None:
    assert SAMPLES == ("in-sample", "held-out", "out-of-sample")


def test_an_out_of_sample_record_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, "elsewhere", sample="out-of-sample", parties=["iran", "us"])
    record = load_record(path)
    assert (record.sample, record.parties) == ("out-of-sample", ("iran", "us"))
    assert read_record_file(path).sample == "out-of-sample"


def test_the_shipped_records_are_every_file_of_the_folder_sorted(tmp_path: Path) -> None:
    found = shipped_records()
    assert found == sorted(found) and {JAN_MAR, DEC} <= set(found)
    assert found == sorted(RECORDS_DIR.glob("*.yaml"))
    for name in ("b_crisis", "a_crisis"):
        _write(tmp_path, name)
    (tmp_path / "notes.txt").write_text("not a record")
    assert [p.name for p in shipped_records(tmp_path)] == ["a_crisis.yaml", "b_crisis.yaml"]
    assert shipped_records(tmp_path / "empty") == []


def test_every_shipped_record_loads_on_its_scenario() -> None:
    for path in shipped_records():
        record = load_record(path)
        assert record.scenario_path is not None, path
        scenario = load_config(record.scenario_path)
        check_alignment(record, scenario)
        check_parties(record, scenario)


def test_records_match_a_config_by_scenario_file_then_by_day_zero(tmp_path: Path, monkeypatch) -> None:
    jan, dec = load_record(JAN_MAR), load_record(DEC)
    records = [jan, dec]
    baseline = ROOT / "configs" / "baseline_jan2020.yaml"
    start = load_config(baseline).start_date
    assert matching_records(records, baseline, start)[0] == [jan]
    monkeypatch.chdir(ROOT)  # a relative spelling of the same file matches too
    assert matching_records(records, Path("configs/../configs/baseline_jan2020.yaml"), start)[0] == [jan]
    dec_config = ROOT / "configs" / "militia_lethal_trigger.yaml"
    assert matching_records(records, dec_config, load_config(dec_config).start_date)[0] == [dec]
    # a copy of the baseline is another file: the rule falls back to day 0 (3 Jan 2020)
    copy = tmp_path / "copy.yaml"
    copy.write_text(baseline.read_text())
    found, rule = matching_records(records, copy, start)
    assert found == [jan] and rule == "day 0 is 2020-01-03"
    # the scenario file wins over the day: a record naming the copy is chosen even if another shares day 0
    named = load_record(_write(tmp_path, "named", scenario="copy.yaml"))
    assert matching_records([jan, named], copy, start)[0] == [named]
    assert matching_records(records, copy, dt.date(2024, 4, 1))[0] == []


def test_parties_must_be_states_of_the_scenario(tmp_path: Path, baseline) -> None:
    record = load_record(_write(tmp_path, "strangers", parties=["israel", "hezbollah"]))
    with pytest.raises(ConfigError, match="hezbollah is not a state of scenario"):
        check_parties(record, baseline)


def test_per_question_coverage(tmp_path: Path) -> None:
    """`covers` moves one question's last known day (later or never); the others keep covers_until."""
    path = _write(tmp_path, "covered", covers={"war": "2020-06-30", "proxy_kills": None})
    record = load_record(path)
    assert record.last_day_for("war") == record.day_of(dt.date(2020, 6, 30))
    assert record.last_day_for("proxy_kills") is None
    assert record.last_day_for("answer") == record.last_day == 17
    with pytest.raises(ConfigError, match=r"covers\.wars: not a question"):
        load_record(_write(tmp_path, "typo", covers={"wars": "2020-06-30"}))
    with pytest.raises(ConfigError, match=r"covers\.war: 2019-01-01 is before start_date"):
        load_record(_write(tmp_path, "early", covers={"war": "2019-01-01"}))


def test_the_out_of_sample_records_cover_war_beyond_their_timelines() -> None:
    """Both crises score war at 90 days: no war followed either (their `covers`), whatever the timeline's span."""
    for name in ("israel_iran_2024_04", "india_pakistan_2019"):
        record = load_record(RECORDS_DIR / f"{name}.yaml")
        last_cut = record.day_of(record.forecast.last)
        assert record.sample == "out-of-sample"
        assert record.last_day_for("war") >= last_cut + 90 > record.last_day
        assert record.last_day_for("proxy_kills") is None
