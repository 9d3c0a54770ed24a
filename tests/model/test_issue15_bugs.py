"""Regression tests for the bugs issue 15 fixed, and for bugs found while testing it.

Each fixed bug has one white-box test that fails on the old behaviour: build one model, set
up the situation by hand, call the verb, look at the agents. Two bugs found while testing (the
precedent lost when the first commander listed was already dead; credibility lost when an answer
was ordered but not yet carried out) are fixed and tested here too.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from abm.model.actions import BY_NAME
from abm.model.agents import commanders
from abm.model.model import CrisisModel
from tests.model.sim import scenario, variant

ROCKETS = BY_NAME["militia_rocket_attack"]
WARNED = BY_NAME["warned_missile_strike"]


def _quiet(**sets):
    """The baseline with nothing imposed on day 0 and no militia attacking on its own: only what a test does happens."""
    return variant(history=[], world__militia_attack_rate=0.0, **sets)


def _precedent_step(m: CrisisModel) -> float:
    behaviour = getattr(getattr(m, "behaviour", None), "commanders", None)
    return behaviour.precedent_security if behaviour is not None else commanders.PRECEDENT_SECURITY


# -- a failed targeted killing still wrongs the target's side -------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_failed_targeted_killing_still_gives_the_targets_side_a_grievance(seed: int) -> None:
    m = CrisisModel(_quiet(), seed)
    us, iran = m.states["us"], m.states["iran"]
    leader = m.commanders["kh_leader"]  # keep the attempt on Iran's own commanders (not its proxy's)
    leader.alive, leader.vacant_until = False, 10**6
    m.layout_changed()
    targets = m.commander_targets("iran")
    assert targets and all(m.commanders[name].side == "iran" for name in targets)
    for name in targets:
        m.commanders[name].security = 1.0  # out of reach: the attempt cannot succeed
    assert "us" not in iran.face
    m.order(us, BY_NAME["targeted_killing"], "iran")
    while not any(ev.action == "targeted_killing" for ev in m.events) and m.day < 15:
        m.step()
    tries = [ev for ev in m.events if ev.action == "targeted_killing"]
    assert len(tries) == 1, "the order was not carried out"
    assert tries[0].target_side == "iran" and tries[0].site is None
    assert all(m.commanders[name].alive for name in targets)
    assert iran.face.get("us", 0.0) > 0.0


# -- a decapitation's precedent: once per act -----------------------------------------------------
def test_the_decapitation_precedent_raises_security_once_per_act_not_per_commander_killed() -> None:
    s = scenario()
    day0 = [h for h in s.history if h.day == 0 and h.action == "targeted_killing"]
    assert len(day0) == 1 and len(day0[0].killed) == 2  # one act killing two commanders
    m = CrisisModel(s, 0)  # day 0 is imposed when the model is built
    step = _precedent_step(m)
    assert step > 0.0
    third = s.commanders["irgc_aerospace"]
    assert third.alive and "irgc_aerospace" not in day0[0].killed
    assert m.commanders["irgc_aerospace"].security == pytest.approx(third.security + step)
    for name in day0[0].killed:
        assert not m.commanders[name].alive


def test_each_separate_killing_sets_its_own_precedent() -> None:
    m = CrisisModel(_quiet(), 0)
    before = m.commanders["irgc_aerospace"].security
    step = _precedent_step(m)
    for day, name in ((1, "quds_force"), (2, "kh_leader")):
        m.day = day
        m.apply("centcom", "us", BY_NAME["targeted_killing"], name, m.side_of(name), None, 2, False, "us", [name])
    assert m.commanders["irgc_aerospace"].security == pytest.approx(min(0.95, before + 2 * step))


def test_a_killing_sets_its_precedent_even_when_the_first_listed_commander_was_already_dead() -> None:
    m = CrisisModel(scenario(), 0)  # day 0: quds_force and kh_leader killed; their posts vacant a while
    assert not m.commanders["quds_force"].alive
    before = m.commanders["irgc_aerospace"].security
    m.day = 1
    m.apply(
        "centcom",
        "us",
        BY_NAME["targeted_killing"],
        "quds_force",
        "iran",
        None,
        4,
        False,
        "us",
        ["quds_force", "irgc_aerospace"],
        imposed=True,
    )
    assert not m.commanders["irgc_aerospace"].alive  # the second commander did die in the act
    assert m.commanders["irgc_aerospace"].security == pytest.approx(before + _precedent_step(m))


# -- the audience cost of inaction builds day by day ------------------------------------------------
def _inaction_by_day(**sets) -> list[float]:
    m = CrisisModel(_quiet(**sets), 0)
    us = m.states["us"]
    us.aggrieved("kataib_hezbollah", 16.0, 2, violent=True)  # lethal: breaches the US red line on day 0
    assert us.breach_day.get("kataib_hezbollah") == 0
    costs = []
    for day in range(3 * m.world.audience_build_days):
        m.day = day  # days pass with nothing done (the grievance is held fixed: no decay without a step)
        costs.append(us.inaction("kataib_hezbollah"))
    return costs


def test_audience_cost_builds_with_each_day_of_inaction_up_to_a_plateau() -> None:
    costs = _inaction_by_day()
    build = scenario().world.audience_build_days
    assert build > 1
    assert costs[0] > 0.0
    rising = costs[:build]
    assert all(b > a for a, b in pairwise(rising))  # grows every day while it builds
    assert all(c == pytest.approx(costs[build - 1]) for c in costs[build - 1 :])  # then stays at its plateau
    assert costs[build - 1] == pytest.approx(build * costs[0])  # linear: the plateau is build x day one


def test_no_audience_cost_without_the_commitment_mechanism() -> None:
    assert all(c == 0.0 for c in _inaction_by_day(mechanisms__commitment=False))


def test_no_audience_cost_for_an_attack_below_the_red_line() -> None:
    m = CrisisModel(_quiet(), 0)
    us = m.states["us"]
    us.aggrieved("kataib_hezbollah", 16.0, 0, violent=True)  # harmless: below the lethal red line
    m.day = 5
    assert "kataib_hezbollah" in us.face and "kataib_hezbollah" not in us.breach_day
    assert us.inaction("kataib_hezbollah") == 0.0


def test_answering_a_breach_with_force_keeps_the_commitment_credible() -> None:
    m = CrisisModel(_quiet(), 0)
    us = m.states["us"]
    us.aggrieved("kataib_hezbollah", 16.0, 2, violent=True)  # a lethal attack breaches the red line
    assert "kataib_hezbollah" in us.breach_day and us.credibility == 1.0
    strike = BY_NAME["strike_forces_abroad"]  # lead time 2 days: the US decays once before it lands
    assert strike.lead_days >= 2
    # What decide() does when it picks an act that clears the whole deficit (face saving):
    us.face["kataib_hezbollah"] = max(0.0, us.face["kataib_hezbollah"] - strike.severity * us.resolve)
    m.order(us, strike, "kataib_hezbollah")
    while not any(ev.action == strike.name for ev in m.events) and m.day < 10:
        m.step()
    assert any(ev.action == strike.name and ev.side == "us" for ev in m.events), "the strike never landed"
    assert "kataib_hezbollah" not in us.breach_day  # the commitment was met ...
    assert us.credibility == 1.0  # ... so it is believed, not discounted as a breach left unanswered


# -- hubris: a proxy's rocket is not the state's answer --------------------------------------------
def test_a_proxys_rocket_does_not_answer_a_gamble_but_the_states_own_strike_does() -> None:
    m = CrisisModel(scenario(), 0)  # day 0: the US killing of the Quds Force commander, a rung-7 gamble on Iran
    us = m.states["us"]
    assert ("iran", 0, 7) in us.gambles
    m.day = 1
    m.apply("kataib_hezbollah", "kataib_hezbollah", ROCKETS, "us", "us", "al_asad", 0, False, "iran", [])
    assert not m.answered_since("iran", "us", 0)
    m.day = 2
    m.apply("irgc_aerospace", "iran", WARNED, "us", "us", "al_asad", 0, True, "iran", [])
    assert m.answered_since("iran", "us", 0)


@pytest.mark.parametrize("iran_answers", [False, True])
def test_a_gamble_answered_only_by_proxies_emboldens_the_gambler(iran_answers: bool) -> None:
    m = CrisisModel(scenario(), 0)
    us = m.states["us"]
    base = us.risk_appetite
    m.day = 1
    m.apply("kataib_hezbollah", "kataib_hezbollah", ROCKETS, "us", "us", "al_asad", 0, False, "iran", [])
    if iran_answers:
        m.apply("irgc_aerospace", "iran", WARNED, "us", "us", "al_asad", 0, True, "iran", [])
    m.day = m.world.gamble_window_days  # the window to answer has run out
    us.check_gambles()
    assert not us.gambles
    if iran_answers:
        assert us.risk_appetite == base
    else:
        assert us.risk_appetite > base
