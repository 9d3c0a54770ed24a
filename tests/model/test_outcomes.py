"""Outcome labels and per-run metrics (MODEL.md §7) on hand-built histories."""

from __future__ import annotations

import pytest

from abm.model.outcomes import DEAL, DEESCALATION, OUTCOMES, SPIRAL, UNRESOLVED, Outcome, classify, metrics
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


def test_labels_are_the_four_of_model_md():
    assert set(OUTCOMES) == {"spiral", "deal", "deescalation", "unresolved"}


# --- spiral: rung 9 -------------------------------------------------------------------


def test_rung_9_is_a_spiral_on_its_day():
    assert classify([sanctions(3), war(40)], H) == Outcome(SPIRAL, 40)


def test_rung_8_alone_is_not_a_spiral():
    # One strike on Iranian territory is not a war; it is still hot at the horizon.
    assert classify([us_strikes_iran(170)], H).label == UNRESOLVED


# --- spiral: battle deaths --------------------------------------------------------------


def test_1000_battle_deaths_in_one_event_is_a_spiral():
    assert classify([iran_strikes_us(12, deaths=1000, us_deaths=1000)], H) == Outcome(SPIRAL, 12)


def test_battle_deaths_accumulate_and_spiral_starts_when_the_threshold_is_crossed():
    events = [
        militia_attack(10, deaths=400),
        us_strikes_militia(11, deaths=400),
        militia_attack(30, deaths=199),  # 999 so far
        us_strikes_militia(31, deaths=1),  # 1000
    ]
    assert classify(events, H) == Outcome(SPIRAL, 31)


def test_999_battle_deaths_is_not_a_spiral():
    events = [militia_attack(10, deaths=500), us_strikes_militia(11, deaths=499)]
    assert classify(events, H).label == DEESCALATION


def test_civilian_deaths_do_not_count_toward_war():
    # 1,500 dead, 600 of them civilians: 900 battle deaths.
    events = [ev(20, "iran", "attack_gulf_city", "uae", site="dubai", deaths=1500, civilian_deaths=600)]
    assert classify(events, H).label != SPIRAL


def test_an_accident_with_many_civilian_dead_is_not_a_war():
    assert classify([accident(5, civilian_deaths=5000)], H) == Outcome(DEESCALATION, 0)


def test_the_death_threshold_is_a_parameter():
    events = [us_strikes_militia(9, deaths=60)]
    assert classify(events, H, death_threshold=50) == Outcome(SPIRAL, 9)
    assert classify(events, H, death_threshold=61).label == DEESCALATION


# --- spiral: a direct exchange that keeps going ---------------------------------------


def test_three_alternating_direct_strikes_within_30_days_are_a_spiral_from_the_first():
    events = [us_strikes_iran(10), iran_strikes_us(15), us_strikes_iran(25)]
    assert classify(events, H) == Outcome(SPIRAL, 10)


def test_the_exchange_may_start_with_either_side():
    events = [iran_strikes_us(4), us_strikes_iran(6), iran_strikes_us(9)]
    assert classify(events, H) == Outcome(SPIRAL, 4)


def test_a_warned_strike_without_deaths_still_counts_as_a_direct_strike_after_day_0():
    # The Jan 2020 barrage, but the US hits back and Iran answers again.
    events = [
        killing(0, deaths=10),
        iran_strikes_us(5, action="warned_missile_strike"),
        us_strikes_iran(6),
        iran_strikes_us(9, action="warned_missile_strike"),
    ]
    assert classify(events, H) == Outcome(SPIRAL, 5)


def test_a_targeted_killing_of_an_iranian_commander_is_a_direct_strike():
    events = [killing(3), iran_strikes_us(8), killing(20)]
    assert classify(events, H) == Outcome(SPIRAL, 3)


def test_exchange_spanning_exactly_30_days_is_a_spiral():
    events = [us_strikes_iran(10), iran_strikes_us(20), us_strikes_iran(40)]
    assert classify(events, H) == Outcome(SPIRAL, 10)


def test_exchange_spanning_31_days_is_not_a_spiral():
    events = [us_strikes_iran(10), iran_strikes_us(20), us_strikes_iran(41)]
    assert classify(events, H).label != SPIRAL


def test_a_later_start_can_complete_the_exchange_inside_the_window():
    # US 1 .. US 41 is too long, but US 25, Iran 30, US 41 fits in 30 days.
    events = [us_strikes_iran(1), us_strikes_iran(25), iran_strikes_us(30), us_strikes_iran(41)]
    assert classify(events, H) == Outcome(SPIRAL, 25)


def test_two_strikes_then_stop_is_not_a_spiral():
    events = [us_strikes_iran(10), iran_strikes_us(15)]
    assert classify(events, H) == Outcome(DEESCALATION, 15)


def test_strikes_that_do_not_alternate_are_not_an_exchange():
    # A hits B three times; B never answers.
    events = [us_strikes_iran(10), us_strikes_iran(12), us_strikes_iran(14)]
    assert classify(events, H).label != SPIRAL


def test_day_0_strikes_do_not_count_toward_the_exchange():
    # With the day-0 killing this would read US, Iran, US within 6 days.
    events = [killing(0, deaths=10), iran_strikes_us(5, action="warned_missile_strike"), us_strikes_iran(6)]
    assert classify(events, H) == Outcome(DEESCALATION, 6)


def test_proxy_attacks_attributed_to_iran_are_not_direct_strikes():
    events = [
        us_strikes_iran(10),
        militia_attack(12, attributed_to="iran", deaths=3, us_deaths=3),
        us_strikes_iran(15),
        militia_attack(18, attributed_to="iran"),
    ]
    assert classify(events, H).label != SPIRAL


def test_even_a_severe_proxy_attack_on_us_forces_is_not_a_direct_strike():
    # A militia's rung-8 attack that hits US people, pinned on Iran, is still not Iran hitting the US:
    # proxy, US strike on Iran, proxy again is not A-B-A.
    def proxy(day):
        return ev(day, "kataib_hezbollah", "attack_gulf_city", "us", site="hormuz_shipping", attributed_to="iran")

    assert classify([proxy(10), us_strikes_iran(12), proxy(15)], H).label != SPIRAL
    assert classify([us_strikes_iran(10), proxy(12), us_strikes_iran(15)], H).label != SPIRAL


def test_us_strikes_on_militias_are_not_direct_strikes_on_iran():
    events = [iran_strikes_us(10), us_strikes_militia(11), iran_strikes_us(12), us_strikes_militia(13)]
    assert classify(events, H).label != SPIRAL


def test_non_kinetic_acts_are_not_strikes():
    # A cyber attack (rung 4, not kinetic) does not make US, Iran, US an exchange.
    events = [us_strikes_iran(10), ev(12, "iran", "cyber_attack", "us"), us_strikes_iran(14)]
    assert classify(events, H).label != SPIRAL


def test_january_2020_record_is_not_a_spiral():
    outcome = classify(jan_2020(), H)
    assert outcome.label != SPIRAL
    # The last action above rung 3 is the non-lethal Camp Taji attack of 14 March (day 71).
    assert outcome == Outcome(DEESCALATION, 71)


def test_january_2020_with_us_deaths_and_a_us_strike_on_iran_and_a_reply_is_a_spiral():
    events = [*jan_2020(), us_strikes_iran(6), iran_strikes_us(8, deaths=30, us_deaths=30)]
    assert classify(sorted(events, key=lambda e: e.day), H) == Outcome(SPIRAL, 5)


# --- deal, and which absorbing outcome comes first -------------------------------------


def test_deal_is_labelled_with_the_day_it_was_signed():
    events = [militia_attack(10), ev(30, "us", "negotiate", "iran"), deal(60)]
    assert classify(events, H) == Outcome(DEAL, 60)


def test_deal_beats_deescalation_and_unresolved():
    assert classify([deal(170)], H) == Outcome(DEAL, 170)
    assert classify([militia_attack(175), deal(100)], H) == Outcome(DEAL, 100)


def test_deal_signed_before_the_exchange_completes_is_a_deal():
    events = [us_strikes_iran(10), iran_strikes_us(15), deal(20), us_strikes_iran(25)]
    assert classify(events, H) == Outcome(DEAL, 20)


def test_exchange_completed_before_the_deal_is_a_spiral():
    events = [us_strikes_iran(10), iran_strikes_us(15), us_strikes_iran(20), deal(25)]
    assert classify(events, H) == Outcome(SPIRAL, 10)


def test_war_after_a_deal_is_still_a_deal_and_war_before_a_deal_is_a_spiral():
    assert classify([deal(40), war(50)], H) == Outcome(DEAL, 40)
    assert classify([war(40), deal(50)], H) == Outcome(SPIRAL, 40)


def test_deaths_threshold_before_a_deal_is_a_spiral():
    events = [us_strikes_militia(30, deaths=1200), deal(50)]
    assert classify(events, H) == Outcome(SPIRAL, 30)


# --- de-escalation vs unresolved --------------------------------------------------------


def test_deescalation_day_is_the_last_day_above_rung_3():
    events = [killing(0), militia_attack(40), us_strikes_militia(41), sanctions(60)]
    assert classify(events, H) == Outcome(DEESCALATION, 41)


def test_last_hot_day_at_horizon_minus_30_is_deescalation():
    assert classify([militia_attack(H - 30)], H) == Outcome(DEESCALATION, H - 30)


def test_last_hot_day_at_horizon_minus_29_is_unresolved():
    assert classify([militia_attack(H - 29)], H) == Outcome(UNRESOLVED, H)


@pytest.mark.parametrize("horizon", [31, 60, 365])
def test_quiet_window_boundary_follows_the_horizon(horizon):
    assert classify([militia_attack(horizon - 30)], horizon).label == DEESCALATION
    assert classify([militia_attack(horizon - 29)], horizon) == Outcome(UNRESOLVED, horizon)


def test_no_action_above_rung_3_ever_is_deescalation_on_day_0():
    events = [sanctions(1), alert(2), ev(3, "us", "public_threat", "iran")]
    assert classify(events, H) == Outcome(DEESCALATION, 0)
    assert classify([], H) == Outcome(DEESCALATION, 0)


def test_rung_3_and_below_in_the_last_30_days_do_not_prevent_deescalation():
    events = [
        militia_attack(50),
        sanctions(170),  # rung 2
        alert(175, "iran"),  # rung 3
        ev(176, "us", "reinforce_bases"),  # rung 3
        ev(177, "iran", "nuclear_step"),  # rung 2
        ev(179, "us", "public_threat", "iran"),  # rung 1
    ]
    assert classify(events, H) == Outcome(DEESCALATION, 50)


def test_rung_4_in_the_last_30_days_prevents_deescalation():
    events = [militia_attack(50), ev(170, "iran", "cyber_attack", "us")]
    assert classify(events, H) == Outcome(UNRESOLVED, H)


def test_accidents_do_not_prevent_deescalation():
    events = [militia_attack(50), accident(175, "us"), accident(176, "iran")]
    assert classify(events, H) == Outcome(DEESCALATION, 50)


def test_proxy_tit_for_tat_at_the_horizon_is_unresolved():
    events = [militia_attack(d) for d in range(20, 180, 10)] + [us_strikes_militia(d + 1) for d in range(20, 180, 20)]
    assert classify(sorted(events, key=lambda e: e.day), H) == Outcome(UNRESOLVED, H)


def test_classification_is_pure():
    events = jan_2020()
    snapshot = list(events)
    assert classify(events, H) == classify(events, H)
    assert events == snapshot


# --- metrics ----------------------------------------------------------------------------


def test_metrics_of_the_january_2020_record():
    m = metrics(jan_2020())
    assert m["max_rung"] == 6  # the warned strike and the depot strikes; day 0 is the trigger
    assert m["us_deaths"] == 2
    assert m["iran_deaths"] == 5
    assert m["militia_deaths"] == 10
    assert m["civilian_deaths"] == 176
    # 10 (day 0) + 3 (Camp Taji) + 5 (KH depots); the 176 airliner dead are civilians.
    assert m["battle_deaths"] == 18
    assert m["n_militia_attacks"] == 4
    assert m["n_iran_strikes_us"] == 1
    assert m["n_us_strikes_iran"] == 0  # the day-0 killing is the trigger, not a run event
    assert m["n_us_strikes_militia"] == 1
    assert m["n_killings"] == 0
    assert m["n_nuclear_steps"] == 1
    assert m["n_accidents"] == 1


def test_metrics_count_direct_strikes_and_killings_after_day_0():
    events = [killing(0), us_strikes_iran(3), killing(4), iran_strikes_us(5), iran_strikes_us(6)]
    m = metrics(events)
    assert (m["n_us_strikes_iran"], m["n_iran_strikes_us"], m["n_killings"]) == (2, 2, 1)
    assert m["max_rung"] == 8


def test_metrics_of_an_empty_history_are_zero():
    assert set(metrics([]).values()) == {0}


def test_metrics_deaths_include_day_0():
    # A scenario whose trigger is a lethal militia attack (27 Dec 2019 kind) and the US answer.
    m = metrics(
        [
            militia_attack(0, site="k1", deaths=3, us_deaths=1, civilian_deaths=2),
            us_strikes_militia(0, deaths=25, militia_deaths=25),
            killing(0, deaths=10, iran_deaths=4, militia_deaths=6),
        ]
    )
    assert (m["us_deaths"], m["iran_deaths"], m["militia_deaths"]) == (1, 4, 31)
    assert (m["civilian_deaths"], m["battle_deaths"]) == (2, 36)
    # ... but counts and the max rung are of what the run generated, after the trigger.
    assert (m["n_militia_attacks"], m["n_us_strikes_militia"], m["n_killings"], m["max_rung"]) == (0, 0, 0, 0)


def test_third_party_state_strikes_are_not_militia_attacks():
    # Israel striking KH depots, or Iranian territory, is a state act, not a militia attack.
    events = [
        ev(10, "israel", "strike_militia_sites", "kataib_hezbollah", actor="israel", site="kh_depots"),
        ev(12, "israel", "strike_iran_territory", "iran", actor="israel", site="iran_missile_bases"),
        ev(14, "saudi_arabia", "strike_iran_territory", "iran", actor="saudi_arabia", site="iran_missile_bases"),
    ]
    assert metrics(events)["n_militia_attacks"] == 0


def test_militia_attacks_on_gulf_cities_count_but_iranian_ones_do_not():
    events = [
        ev(10, "houthis", "attack_gulf_city", "saudi_arabia", site="abqaiq"),
        ev(11, "iran", "attack_gulf_city", "uae", site="dubai"),
        militia_attack(12, militia="hezbollah", site="haifa"),
    ]
    assert metrics(events)["n_militia_attacks"] == 2
