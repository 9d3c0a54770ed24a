"""Outcome labels and per-run metrics (MODEL.md §7) on hand-built histories."""

from __future__ import annotations

import json

import pytest

from abm.model.outcomes import (
    DEAL,
    DEESCALATION,
    OUTCOMES,
    SPIRAL,
    UNRESOLVED,
    Outcome,
    Stage,
    classify,
    exchange_day,
    max_stage,
    metrics,
)
from tests.model.builders import (
    accident,
    alert,
    deal,
    ev,
    iran_strikes_us,
    jan_2020,
    killing,
    militia_attack,
    sanctions,
    us_strikes_iran,
    us_strikes_militia,
    war,
)

H = 180  # default horizon (MODEL.md §2)
STATES = frozenset({"us", "iran", "iraq", "israel", "saudi_arabia", "uae"})  # the baseline's states


def stage(events, outcome):
    """`max_stage` as `summarize` calls it, with the run's exchange day."""
    return max_stage(events, STATES, outcome, exchange_day(events, STATES))


def test_labels_are_the_four_of_model_md():
    assert set(OUTCOMES) == {"spiral", "deal", "deescalation", "unresolved"}


# --- spiral: rung 9 -------------------------------------------------------------------


def test_rung_9_is_a_spiral_on_its_day():
    assert classify([sanctions(3), war(40)], H, STATES) == Outcome(SPIRAL, 40)


def test_rung_8_alone_is_not_a_spiral():
    # One strike on Iranian territory is not a war; it is still hot at the horizon.
    assert classify([us_strikes_iran(170)], H, STATES).label == UNRESOLVED


# --- spiral: battle deaths --------------------------------------------------------------


def test_1000_battle_deaths_in_one_event_is_a_spiral():
    assert classify([iran_strikes_us(12, deaths=1000, state_deaths=1000)], H, STATES) == Outcome(SPIRAL, 12)


def test_battle_deaths_accumulate_and_spiral_starts_when_the_threshold_is_crossed():
    events = [
        iran_strikes_us(10, deaths=400),
        us_strikes_iran(11, deaths=400),
        iran_strikes_us(30, deaths=199),  # 999 so far
        us_strikes_iran(31, deaths=1),  # 1000
    ]
    assert classify(events, H, STATES) == Outcome(SPIRAL, 31)


def test_999_battle_deaths_is_not_a_spiral():
    events = [iran_strikes_us(10, deaths=500), us_strikes_iran(11, deaths=499)]
    assert classify(events, H, STATES).label == DEESCALATION


def test_civilian_deaths_do_not_count_toward_war():
    # 1,500 dead, 600 of them civilians: 900 battle deaths.
    events = [ev(20, "iran", "attack_city", "uae", site="dubai", deaths=1500, civilian_deaths=600)]
    assert classify(events, H, STATES).label != SPIRAL


def test_an_accident_with_many_civilian_dead_is_not_a_war():
    assert classify([accident(5, civilian_deaths=5000)], H, STATES) == Outcome(DEESCALATION, 0)


def test_proxy_battle_deaths_do_not_make_an_interstate_war():
    # A proxy war of attrition is not a war between states (Correlates of War: interstate).
    events = [militia_attack(10, deaths=600), us_strikes_militia(11, deaths=600)]
    assert classify(events, H, STATES).label != SPIRAL


def test_the_death_threshold_is_a_parameter():
    events = [us_strikes_iran(9, deaths=60)]
    assert classify(events, H, STATES, death_threshold=50) == Outcome(SPIRAL, 9)
    assert classify(events, H, STATES, death_threshold=61).label == DEESCALATION


# --- a direct exchange is stage 3, not a war (MODEL.md §7) ------------------------------


def test_three_alternating_direct_strikes_are_an_exchange_not_a_war():
    events = [us_strikes_iran(10), iran_strikes_us(15), us_strikes_iran(25)]
    assert classify(events, H, STATES).label != SPIRAL
    assert exchange_day(events, STATES) == 15
    assert stage(events, classify(events, H, STATES)) == Stage.EXCHANGE


def test_the_exchange_may_start_with_either_side():
    assert exchange_day([iran_strikes_us(4), us_strikes_iran(6)], STATES) == 6


def test_warned_harmless_barrages_are_not_a_war():
    # Version 1 called three warned, harmless barrages a war (issue 16).
    events = [
        killing(0, deaths=10),
        iran_strikes_us(5, action="warned_missile_strike"),
        us_strikes_iran(6),
        iran_strikes_us(9, action="warned_missile_strike"),
    ]
    outcome = classify(events, H, STATES)
    assert outcome.label != SPIRAL
    assert stage(events, outcome) == Stage.EXCHANGE


def test_the_trigger_counts_toward_the_exchange():
    # January 2020 itself: the US killing on day 0 answered by Iran's strike on day 5.
    events = [killing(0, deaths=10), iran_strikes_us(5, action="warned_missile_strike")]
    assert exchange_day(events, STATES) == 5


def test_an_answer_29_days_later_is_an_exchange_and_30_days_later_is_not():
    # The window is 30 days: day d .. d + 29 (version 1 allowed d + 30, 31 days).
    assert exchange_day([us_strikes_iran(10), iran_strikes_us(39)], STATES) == 39
    assert exchange_day([us_strikes_iran(10), iran_strikes_us(40)], STATES) is None


def test_strikes_that_do_not_alternate_are_not_an_exchange():
    # A hits B three times; B never answers: a one-sided direct strike (stage 2).
    events = [us_strikes_iran(10), us_strikes_iran(12), us_strikes_iran(14)]
    assert exchange_day(events, STATES) is None
    assert stage(events, classify(events, H, STATES)) == Stage.ONE_SIDED


def test_proxy_attacks_attributed_to_iran_are_not_direct_strikes():
    events = [
        us_strikes_iran(10),
        militia_attack(12, attributed_to="iran", deaths=3, state_deaths=3),
        us_strikes_iran(15),
    ]
    assert exchange_day(events, STATES) is None


def test_even_a_severe_proxy_attack_on_us_forces_is_not_a_direct_strike():
    proxy = ev(10, "kataib_hezbollah", "attack_city", "us", site="hormuz_shipping", attributed_to="iran")
    assert exchange_day([proxy, us_strikes_iran(12)], STATES) is None


def test_us_strikes_on_militias_are_not_direct_strikes_on_iran():
    # Version 1 recorded a strike on KH depots aimed at Iran as a strike on Iran (issue 16).
    events = [iran_strikes_us(10), us_strikes_militia(11), iran_strikes_us(12), us_strikes_militia(13)]
    assert exchange_day(events, STATES) is None


def test_non_kinetic_acts_are_not_strikes():
    events = [us_strikes_iran(10), ev(12, "iran", "cyber_attack", "us")]
    assert exchange_day(events, STATES) is None


def test_stages_climb_from_proxy_violence_to_war():
    assert stage([], classify([], H, STATES)) == Stage.NONE
    proxy_only = [militia_attack(3), us_strikes_militia(4)]
    assert stage(proxy_only, classify(proxy_only, H, STATES)) == Stage.PROXY
    fighting = [us_strikes_iran(3), iran_strikes_us(4), war(9)]
    assert stage(fighting, classify(fighting, H, STATES)) == Stage.WAR


def test_january_2020_record_is_not_a_spiral():
    outcome = classify(jan_2020(), H, STATES)
    assert outcome.label != SPIRAL
    # The last state-track act above rung 3 is Iran's warned strike (day 5): the later
    # militia attacks and the US strike on KH depots are the proxy track.
    assert outcome == Outcome(DEESCALATION, 5)
    assert stage(jan_2020(), outcome) == Stage.EXCHANGE


# --- the two tracks: proxy fire alone never keeps a run unresolved ----------------------


def test_militia_rockets_up_to_the_horizon_do_not_make_a_run_unresolved():
    events = [killing(0), *[militia_attack(d) for d in range(5, H, 7)]]
    assert classify(events, H, STATES) == Outcome(DEESCALATION, 0)


def test_background_fire_in_another_theatre_does_not_make_a_run_unresolved():
    # Houthi-Saudi and Hezbollah-Israel fire to the end (version 1: 12% of runs unresolved for this alone).
    events = [
        *[ev(d, "houthis", "militia_rocket_attack", "saudi_arabia", site="abqaiq") for d in range(10, H, 9)],
        *[militia_attack(d, militia="hezbollah", site="haifa") for d in range(12, H, 11)],
    ]
    assert classify(events, H, STATES).label == DEESCALATION


def test_us_strikes_on_militias_stay_on_the_proxy_track():
    events = [militia_attack(170, deaths=3, state_deaths=3), us_strikes_militia(171, deaths=20, militia_deaths=20)]
    assert classify(events, H, STATES) == Outcome(DEESCALATION, 0)


def test_a_state_strike_in_the_last_30_days_keeps_the_run_unresolved():
    assert classify([us_strikes_iran(175)], H, STATES) == Outcome(UNRESOLVED, H)


def test_a_third_party_state_striking_a_state_is_on_the_state_track():
    events = [ev(170, "israel", "strike_territory", "iran", actor="israel", site="iran_missile_bases")]
    assert classify(events, H, STATES).label == UNRESOLVED


# --- deal, and which absorbing outcome comes first -------------------------------------


def test_deal_is_labelled_with_the_day_it_was_signed():
    events = [militia_attack(10), ev(30, "us", "negotiate", "iran"), deal(60)]
    assert classify(events, H, STATES) == Outcome(DEAL, 60)


def test_deal_beats_deescalation_and_unresolved():
    assert classify([deal(170)], H, STATES) == Outcome(DEAL, 170)
    assert classify([militia_attack(175), deal(100)], H, STATES) == Outcome(DEAL, 100)


def test_deal_after_an_exchange_is_a_deal():
    events = [us_strikes_iran(10), iran_strikes_us(15), us_strikes_iran(20), deal(25)]
    assert classify(events, H, STATES) == Outcome(DEAL, 25)


def test_war_after_a_deal_is_still_a_deal_and_war_before_a_deal_is_a_spiral():
    assert classify([deal(40), war(50)], H, STATES) == Outcome(DEAL, 40)
    assert classify([war(40), deal(50)], H, STATES) == Outcome(SPIRAL, 40)


def test_deaths_threshold_before_a_deal_is_a_spiral():
    events = [iran_strikes_us(30, deaths=1200), deal(50)]
    assert classify(events, H, STATES) == Outcome(SPIRAL, 30)


# --- de-escalation vs unresolved --------------------------------------------------------


def test_deescalation_day_is_the_last_state_track_day_above_rung_3():
    events = [killing(0), iran_strikes_us(40), militia_attack(41), sanctions(60)]
    assert classify(events, H, STATES) == Outcome(DEESCALATION, 40)


def test_last_hot_day_at_horizon_minus_30_is_deescalation():
    assert classify([iran_strikes_us(H - 30)], H, STATES) == Outcome(DEESCALATION, H - 30)


def test_last_hot_day_at_horizon_minus_29_is_unresolved():
    assert classify([iran_strikes_us(H - 29)], H, STATES) == Outcome(UNRESOLVED, H)


@pytest.mark.parametrize("horizon", [31, 60, 365])
def test_quiet_window_boundary_follows_the_horizon(horizon):
    assert classify([iran_strikes_us(horizon - 30)], horizon, STATES).label == DEESCALATION
    assert classify([iran_strikes_us(horizon - 29)], horizon, STATES) == Outcome(UNRESOLVED, horizon)


def test_no_action_above_rung_3_ever_is_deescalation_on_day_0():
    events = [sanctions(1), alert(2), ev(3, "us", "public_threat", "iran")]
    assert classify(events, H, STATES) == Outcome(DEESCALATION, 0)
    assert classify([], H, STATES) == Outcome(DEESCALATION, 0)


def test_rung_3_and_below_in_the_last_30_days_do_not_prevent_deescalation():
    events = [
        iran_strikes_us(50),
        sanctions(170),  # rung 2
        alert(175, "iran"),  # rung 3
        ev(176, "us", "reinforce_bases"),  # rung 3
        ev(177, "iran", "nuclear_step"),  # rung 2
        ev(179, "us", "public_threat", "iran"),  # rung 1
    ]
    assert classify(events, H, STATES) == Outcome(DEESCALATION, 50)


def test_rung_4_in_the_last_30_days_prevents_deescalation():
    events = [iran_strikes_us(50), ev(170, "iran", "cyber_attack", "us")]
    assert classify(events, H, STATES) == Outcome(UNRESOLVED, H)


def test_accidents_do_not_prevent_deescalation():
    events = [iran_strikes_us(50), accident(175, "us"), accident(176, "iran")]
    assert classify(events, H, STATES) == Outcome(DEESCALATION, 50)


def test_proxy_tit_for_tat_at_the_horizon_is_deescalation_with_the_proxy_track_active():
    events = [militia_attack(d) for d in range(20, 180, 10)] + [us_strikes_militia(d + 1) for d in range(20, 180, 20)]
    assert classify(sorted(events, key=lambda e: e.day), H, STATES) == Outcome(DEESCALATION, 0)


def test_classification_is_pure():
    events = jan_2020()
    snapshot = list(events)
    assert classify(events, H, STATES) == classify(events, H, STATES)
    assert events == snapshot


# --- metrics ----------------------------------------------------------------------------


def test_metrics_of_the_january_2020_record():
    m = metrics(jan_2020(), STATES)
    assert m["max_rung"] == 6  # the warned strike and the depot strikes; day 0 is the trigger
    assert m["state_deaths"] == 8  # 5 Iranians on day 0, 3 of the US-led coalition at Camp Taji
    assert json.loads(m["deaths_by_state"]) == {"iran": 5, "us": 3}
    assert m["militia_deaths"] == 10
    assert m["civilian_deaths"] == 176
    # 10 (day 0) + 3 (Camp Taji) + 5 (KH depots); the 176 airliner dead are civilians.
    assert m["battle_deaths"] == 18
    assert m["n_militia_attacks"] == 4
    assert m["n_direct_strikes"] == 1  # Iran's strike; the day-0 killing is the trigger, not a run event
    assert json.loads(m["direct_strikes_by_state"]) == {"iran>us": 1}
    assert m["n_strikes_on_militias"] == 1
    assert m["n_killings"] == 0
    assert m["n_nuclear_steps"] == 1
    assert m["n_accidents"] == 1


def test_metrics_count_direct_strikes_and_killings_after_day_0():
    events = [killing(0), us_strikes_iran(3), killing(4), iran_strikes_us(5), iran_strikes_us(6)]
    m = metrics(events, STATES)
    assert json.loads(m["direct_strikes_by_state"]) == {"iran>us": 2, "us>iran": 2}
    assert (m["n_direct_strikes"], m["n_killings"]) == (4, 1)
    assert m["max_rung"] == 8


def test_metrics_of_an_empty_history_are_zero():
    m = metrics([], STATES)
    assert json.loads(m.pop("deaths_by_state")) == json.loads(m.pop("direct_strikes_by_state")) == {}
    assert set(m.values()) == {0}


def test_metrics_deaths_include_day_0():
    # A scenario whose trigger is a lethal militia attack (27 Dec 2019 kind) and the US answer.
    m = metrics(
        [
            militia_attack(0, site="k1", deaths=3, state_deaths=1, civilian_deaths=2),
            us_strikes_militia(0, deaths=25, militia_deaths=25),
            killing(0, deaths=10, state_deaths=4, militia_deaths=6),
        ],
        STATES,
    )
    assert json.loads(m["deaths_by_state"]) == {"iran": 4, "us": 1}
    assert (m["state_deaths"], m["militia_deaths"]) == (5, 31)
    assert (m["civilian_deaths"], m["battle_deaths"]) == (2, 36)
    # ... but counts and the max rung are of what the run generated, after the trigger.
    assert (m["n_militia_attacks"], m["n_strikes_on_militias"], m["n_killings"], m["max_rung"]) == (0, 0, 0, 0)


def test_third_party_state_strikes_are_not_militia_attacks():
    # Israel striking KH depots, or Iranian territory, is a state act, not a militia attack.
    events = [
        ev(10, "israel", "strike_militia_sites", "kataib_hezbollah", actor="israel", site="kh_depots"),
        ev(12, "israel", "strike_territory", "iran", actor="israel", site="iran_missile_bases"),
        ev(14, "saudi_arabia", "strike_territory", "iran", actor="saudi_arabia", site="iran_missile_bases"),
    ]
    assert metrics(events, STATES)["n_militia_attacks"] == 0


def test_militia_attacks_on_gulf_cities_count_but_iranian_ones_do_not():
    events = [
        ev(10, "houthis", "attack_city", "saudi_arabia", site="abqaiq"),
        ev(11, "iran", "attack_city", "uae", site="dubai"),
        militia_attack(12, militia="hezbollah", site="haifa"),
    ]
    assert metrics(events, STATES)["n_militia_attacks"] == 2
