"""Question predicates and resolution on hand-built event lists."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from abm.hindcast.questions import (
    ALL_WINDOWS,
    BY_QUESTION,
    MAX_WINDOW,
    QUESTION_TABLE,
    RENAMED,
    Context,
    forecast_probability,
    happened_recently,
    occurrences,
    question_table,
    resolve,
)
from abm.model.actions import BY_NAME
from abm.model.history import Event
from abm.model.records import EVENT_COLUMNS

CTX = Context(
    frozenset({"kataib_hezbollah", "pmf_other"}),
    war_death_threshold=1000,
    states=frozenset({"us", "iran", "iraq", "israel", "saudi_arabia", "uae"}),
    author="us",
    struck="iran",
)


def ev(day: int, side: str, action: str, target_side: str | None = None, run: int = 0, **kw: Any) -> dict:
    """One event row as the runner stores it; rung and kinetic from the action table."""
    row = BY_NAME[action]
    kw.setdefault("actor", side)
    event = Event(day=day, side=side, action=action, rung=row.rung, target_side=target_side, kinetic=row.kinetic, **kw)
    return {"run": run, **event.as_row()}


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["run", *EVENT_COLUMNS])


def days(name: str, events: pd.DataFrame) -> list[tuple[int, int]]:
    occ = occurrences(BY_QUESTION[name], events, CTX)
    return sorted(zip(occ["run"].tolist(), occ["day"].tolist(), strict=True))


def test_question_table_has_each_question_for_its_own_windows() -> None:
    assert [(r.name, r.window) for r in QUESTION_TABLE] == [
        ("answer", 7),
        ("answer", 30),
        ("counter", 7),
        ("counter", 30),
        ("proxy_kills", 7),
        ("proxy_kills", 30),
        ("strikes_proxy", 7),
        ("strikes_proxy", 30),
        ("deal", 7),
        ("deal", 30),
        ("war", 30),
        ("war", 90),
    ]
    assert BY_QUESTION["war"].windows == (30, 90)  # war is not asked for 7 days
    assert (ALL_WINDOWS, MAX_WINDOW) == ((7, 30, 90), 90)
    assert RENAMED == {
        "iran_strikes_us": "answer",
        "us_strikes_iran": "counter",
        "militia_kills_us": "proxy_kills",
        "us_strikes_militia": "strikes_proxy",
        "deal": "deal",
        "war": "war",
    }


def test_question_texts_are_rendered_with_the_records_parties() -> None:
    answer = BY_QUESTION["answer"]
    assert answer.render(("israel", "iran")).startswith("iran strikes israel directly")
    assert BY_QUESTION["counter"].render(("pakistan", "india")).startswith("pakistan strikes india again")
    assert answer.render().startswith("the struck state strikes the author directly")
    rows = question_table(("israel", "iran"))
    assert rows[0]["text"].endswith("within 7 days after the forecast date")
    assert [r["window"] for r in rows if r["name"] == "war"] == [30, 90]
    assert all("{" not in r["text"] for r in rows)


def test_answer_counts_the_struck_states_own_strikes_only() -> None:
    events = frame(
        ev(5, "iran", "warned_missile_strike", "us", site="al_asad", warned=True),
        ev(6, "iran", "unwarned_missile_strike", "us", site="al_asad"),
        ev(7, "iran", "naval_harassment", "us", site="hormuz_shipping"),  # rung 4: not a strike
        ev(8, "kataib_hezbollah", "militia_rocket_attack", "us", site="camp_taji"),  # a proxy, not Iran
        ev(9, "iran", "attack_city", "uae", site="dubai"),  # not US forces
    )
    assert days("answer", events) == [(0, 5), (0, 6)]


def test_counter_excludes_militia_depots_and_counts_killings() -> None:
    events = frame(
        ev(0, "us", "targeted_killing", "iran", target="quds_force"),
        ev(3, "us", "strike_territory", "iran", site="iran_missile_bases"),
        ev(4, "us", "strike_militia_sites", "iran", site="kh_depots"),  # aimed at Iran, hits a militia
        ev(5, "us", "cyber_attack", "iran"),  # not kinetic
    )
    assert days("counter", events) == [(0, 0), (0, 3)]
    assert days("strikes_proxy", events) == [(0, 4)]


def test_strikes_proxy_counts_depots_and_militia_commanders() -> None:
    events = frame(
        ev(2, "us", "strike_militia_sites", "kataib_hezbollah", site="kh_depots", deaths=25),
        ev(9, "us", "targeted_killing", "kataib_hezbollah", target="kh_leader"),
        ev(12, "us", "new_sanctions", "iran"),
    )
    assert days("strikes_proxy", events) == [(0, 2), (0, 9)]


def test_an_observed_double_killing_counts_as_a_strike_on_the_militia_too() -> None:
    # 3 Jan 2020: the strike aimed at the Quds Force commander also killed the KH leader
    events = frame(ev(0, "us", "targeted_killing", "iran", target="quds_force"))
    events["killed_sides"] = "iran,kataib_hezbollah"
    assert days("counter", events) == [(0, 0)]
    assert days("strikes_proxy", events) == [(0, 0)]
    events["killed_sides"] = "iran"
    assert days("strikes_proxy", events) == []


def test_proxy_kills_needs_deaths_among_the_parties_forces() -> None:
    events = frame(
        ev(0, "kataib_hezbollah", "militia_rocket_attack", "us", site="k1", deaths=1, state_deaths=1),
        ev(4, "kataib_hezbollah", "embassy_siege", "us", site="us_embassy_baghdad"),
        ev(23, "pmf_other", "militia_rocket_attack", "us", site="us_embassy_baghdad"),  # no deaths
        ev(30, "iran", "unwarned_missile_strike", "us", site="al_asad", deaths=4, state_deaths=4),  # not a militia
        ev(68, "pmf_other", "militia_rocket_attack", "us", site="camp_taji", deaths=3, state_deaths=2, run=1),
    )
    assert days("proxy_kills", events) == [(0, 0), (1, 68)]


def test_deal_and_war() -> None:
    events = frame(
        # run 0: the Jan 2020 record is not a war (killing on day 0, one Iranian strike)
        ev(0, "us", "targeted_killing", "iran", run=0),
        ev(5, "iran", "warned_missile_strike", "us", run=0),
        # run 1: three alternating direct strikes within 30 days are an exchange, not a war,
        # until the battle deaths between the states reach 1,000 (day 12)
        ev(3, "iran", "unwarned_missile_strike", "us", run=1),
        ev(6, "us", "strike_territory", "iran", run=1, deaths=600),
        ev(9, "iran", "unwarned_missile_strike", "us", run=1),
        ev(12, "iran", "unwarned_missile_strike", "us", run=1, deaths=400),
        # run 2: rung 9
        ev(20, "us", "sustained_war", "iran", run=2),
        # run 3: a deal
        ev(40, "us", "sign_deal", "iran", run=3),
    )
    assert days("war", events) == [(1, 12), (2, 20)]
    assert days("deal", events) == [(3, 40)]
    assert days("war", frame()) == []


def test_forecast_probability_is_the_share_of_runs_in_the_window() -> None:
    occ = pd.DataFrame({"run": [0, 1, 2, 2], "day": [3, 10, 40, 1]})
    runs = [0, 1, 2, 3]
    assert forecast_probability(occ, runs, cut_day=2, window=7) == 0.25  # days 3..9: run 0
    assert forecast_probability(occ, runs, cut_day=2, window=30) == 0.5  # days 3..32: runs 0, 1
    assert forecast_probability(occ, runs, cut_day=0, window=1) == 0.25  # day 1: run 2
    assert forecast_probability(occ, [0, 3], cut_day=2, window=7) == 0.5  # failed runs 1, 2 left out
    assert pd.isna(forecast_probability(occ, [], cut_day=2, window=7))


def test_resolution_against_the_record() -> None:
    occ = pd.DataFrame({"run": [0], "day": [10]})
    assert resolve(occ, cut_day=2, window=7, last_known_day=88) == 0  # days 3..9
    assert resolve(occ, cut_day=2, window=30, last_known_day=88) == 1  # days 3..32
    assert resolve(occ, cut_day=10, window=7, last_known_day=88) == 0  # the forecast date itself is known
    assert resolve(occ, cut_day=5, window=30, last_known_day=20) == 1  # happened before the record ends
    none = occ.iloc[0:0]
    assert resolve(none, cut_day=5, window=30, last_known_day=20) is None  # window outruns the record
    assert resolve(none, cut_day=5, window=7, last_known_day=20) == 0
    assert resolve(none, cut_day=13, window=7, last_known_day=20) == 0  # ends exactly on the last day


@pytest.mark.parametrize(("cut", "expected"), [(0, True), (6, True), (7, False), (-1, False)])
def test_happened_recently_looks_back_seven_days_including_today(cut: int, expected: bool) -> None:
    occ = pd.DataFrame({"run": [0], "day": [0]})
    assert happened_recently(occ, cut, 7) is expected


def test_questions_follow_the_roles_not_the_country_ids() -> None:
    # India-Pakistan 2019: a militia whose patron is Pakistan (the author) kills Indian forces;
    # India (struck) answers on Pakistan, at the militia's camp; Pakistan answers the answer.
    ctx = Context(
        frozenset({"jaish"}),
        states=frozenset({"india", "pakistan"}),
        author="pakistan",
        struck="india",
        militia_sites=frozenset({"jem_camp"}),
    )
    events = frame(
        ev(0, "jaish", "militia_rocket_attack", "india", deaths=40, state_deaths=40),
        ev(12, "india", "strike_territory", "pakistan", site="jem_camp"),  # on Pakistan, at a militia's camp
        ev(13, "pakistan", "warned_missile_strike", "india"),
        ev(13, "pakistan", "strike_territory", "india", site="indian_bases"),
        ev(16, "india", "strike_militia_sites", "jaish"),
        ev(14, "jaish", "militia_rocket_attack", "pakistan", deaths=2, state_deaths=2),  # either party's forces
        ev(15, "jaish", "militia_rocket_attack", "india", deaths=3, civilian_deaths=3),  # civilians only
    )

    def on(name: str) -> list[int]:
        return occurrences(BY_QUESTION[name], events, ctx)["day"].tolist()

    assert on("answer") == [12]
    assert on("counter") == [13, 13]
    assert on("proxy_kills") == [0, 14]
    assert on("strikes_proxy") == [12, 16]


def test_a_ninety_day_window_resolves_like_the_others() -> None:
    occ = pd.DataFrame({"run": [0], "day": [80]})
    assert resolve(occ, cut_day=0, window=90, last_known_day=95) == 1
    assert resolve(occ, cut_day=0, window=30, last_known_day=95) == 0
    assert resolve(occ, cut_day=0, window=90, last_known_day=85) == 1  # happened before the record ends
    none = occ.iloc[0:0]
    assert resolve(none, cut_day=6, window=90, last_known_day=95) is None  # days 7..96 outrun day 95
    assert resolve(none, cut_day=5, window=90, last_known_day=95) == 0  # days 6..95
    assert forecast_probability(occ, [0, 1], cut_day=0, window=90) == 0.5
