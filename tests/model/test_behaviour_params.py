"""Each block of `behaviour.*` reaches the rule it parameterises (unit-level, one model, no runs).

Every check sets one or two parameters of a block and shows, on a freshly built baseline model,
that the rule's effect moves with them while the default still gives the old effect: so it
fails if the rule ignores the config, and if the default no longer matches the old constant.
(That the defaults change nothing at all is tests/model/test_fixed_seed_record.py.)
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from abm.model import consequences
from abm.model.actions import BY_NAME
from abm.model.agents.base import Order
from abm.model.agents.commanders import CommanderAgent
from abm.model.agents.policies import parliament_step
from abm.model.model import CrisisModel
from abm.model.streams import Draw
from tests.model.sim import scenario, variant

SEED = 3


def model(**sets: Any) -> CrisisModel:
    """The baseline (day 0: the trigger imposed, nobody has stepped), with dotted overrides (`__` for `.`)."""
    return CrisisModel(variant(**sets) if sets else scenario(), SEED)


def strike(m: CrisisModel, actor: str, side: str, name: str, target: str, site: str, deaths: int, **kw: Any) -> None:
    """Apply one act as the model would after executing it (attributed to its side unless told)."""
    warned = kw.get("warned", False)
    m.apply(actor, side, BY_NAME[name], target, target, site, deaths, warned, kw.get("attributed", side), [])


# -- beliefs -------------------------------------------------------------------------------------
def test_beliefs_likelihoods_drive_the_update() -> None:
    """A warned harmless strike reads as limited aims; with equal likelihoods it says nothing."""
    beliefs = {}
    for name, sets in {
        "default": {},
        "uninformative": {
            "behaviour__beliefs__warned_harmless_if_limited": 0.3,
            "behaviour__beliefs__warned_harmless_if_unlimited": 0.3,
        },
    }.items():
        m = model(mechanisms__misperception=False, **sets)
        prior = m.states["us"].prior_unlimited
        strike(m, "irgc_aerospace", "iran", "warned_missile_strike", "us", "al_asad", 0, warned=True)
        beliefs[name] = m.states["us"].belief["iran"]
    assert beliefs["default"] == pytest.approx(prior * 0.12 / (prior * 0.12 + (1 - prior) * 0.6))
    assert beliefs["uninformative"] == pytest.approx(prior)


def test_beliefs_noise_scale_widens_misperception() -> None:
    shift = {}
    for scale in (4.0, 8.0):
        m = model(behaviour__beliefs__noise_scale=scale)
        exact = model(mechanisms__misperception=False)
        for x in (m, exact):
            strike(x, "irgc_aerospace", "iran", "warned_missile_strike", "us", "al_asad", 0, warned=True)
        b, b0 = m.states["us"].belief["iran"], exact.states["us"].belief["iran"]
        shift[scale] = abs(b / (1 - b) - b0 / (1 - b0))
    assert shift[4.0] > 0 and shift[8.0] > shift[4.0]


# -- grievance -----------------------------------------------------------------------------------
def test_grievance_patron_share_is_the_patrons_part_of_a_proxy_attack() -> None:
    faces = {}
    for share in (0.5, 0.0):
        m = model(behaviour__grievance__patron_share=share)
        strike(
            m, "kataib_hezbollah", "kataib_hezbollah", "militia_rocket_attack", "us", "camp_taji", 0, attributed="iran"
        )
        faces[share] = (m.states["us"].face.get("iran", 0.0), m.states["us"].face["kataib_hezbollah"])
    (patron, militia), (none, militia0) = faces[0.5], faces[0.0]
    assert none == 0.0 and militia0 > 0
    assert patron == pytest.approx(0.5 * militia)  # same belief about both (the prior): half the sting


def test_grievance_deaths_and_intent_weigh_as_set() -> None:
    """harm = 1 + harm_per_log_death x ln(1 + deaths); min_intent floors the sting of a read signal."""
    amounts = {}
    for name, sets in {
        "default": {},
        "deaths weigh nothing": {"behaviour__grievance__harm_per_log_death": 0.0},
    }.items():
        m = model(mechanisms__costly_signals=False, **sets)  # the prior, not an updated belief, scales it
        strike(m, "irgc_aerospace", "iran", "unwarned_missile_strike", "us", "erbil", 10)
        amounts[name] = m.states["us"].face["iran"]
    assert amounts["default"] / amounts["deaths weigh nothing"] == pytest.approx(1 + 0.5 * math.log1p(10))


# -- contagion -----------------------------------------------------------------------------------
def test_contagion_entry_and_allies_follow_their_parameters() -> None:
    out = {}
    for name, sets in {
        "default": {},
        "set": {
            "behaviour__contagion__entry_grievance": 5.0,
            "behaviour__contagion__entry_deliberation_factor": 1.0,
            "behaviour__contagion__ally_share": 0.0,
        },
    }.items():
        m = model(states__israel__entry_hazard=1.0, **sets)
        israel, us = m.states["israel"], m.states["us"]
        rate = israel.deliberation_rate
        consequences.contagion(m, israel, 45.0, [("iran", 1.0)])  # a rung-8 hit: entry is certain at hazard 1
        out[name] = (israel.entered, israel.face.get("iran"), israel.deliberation_rate / rate, us.face.get("iran"))
    assert out["default"] == (True, 30.0, 2.0, pytest.approx(0.3 * 45.0))
    assert out["set"] == (True, 5.0, 1.0, 0.0)


# -- militias ------------------------------------------------------------------------------------
def test_militias_revenge_per_loss_zero_leaves_revenge_unchanged() -> None:
    gained = {}
    for name, sets in {
        "default": {},
        "no revenge from losses": {
            "behaviour__militias__revenge_on_loss": 0.0,
            "behaviour__militias__revenge_per_death": 0.0,
        },
    }.items():
        kh = model(**sets).militias["kataib_hezbollah"]
        kh.revenge = 0.0  # the day-0 killing of its leader already filled it
        kh.suffer(4, leader_killed=False, patron_leader_killed=False)
        gained[name] = kh.revenge
    assert gained["default"] == pytest.approx(0.12 + 0.05 * 4**0.5)
    assert gained["no revenge from losses"] == 0.0


def test_militias_leader_and_patron_losses_and_the_cap() -> None:
    m = model(
        behaviour__militias__revenge_death_cap=4,
        behaviour__militias__revenge_death_exponent=1.0,
        behaviour__militias__revenge_on_leader_killed=0.0,
        behaviour__militias__autonomy_on_leader_killed=0.3,
        behaviour__militias__revenge_on_patron_leader_killed=0.25,
    )
    kh = m.militias["kataib_hezbollah"]
    kh.revenge, kh.autonomy = 0.0, 0.2
    autonomy = kh.autonomy
    kh.suffer(100, leader_killed=True, patron_leader_killed=True)
    assert kh.revenge == pytest.approx(0.12 + 0.05 * 4 + 0.25)
    assert kh.autonomy == pytest.approx(min(1.0, autonomy + 0.3))


def test_militias_leash_without_a_liaison() -> None:
    controls = {}
    for leash in (0.3, 0.0):
        m = model(commanders__quds_force__executes=[], behaviour__militias__leash_without_liaison=leash)
        controls[leash] = m.militias["houthis"].control()
    assert controls[0.3] > 0.0 and controls[0.0] == 0.0


# -- commanders ----------------------------------------------------------------------------------
def test_commanders_succession_and_precedent() -> None:
    after = {}
    for name, sets in {
        "default": {},
        "no loss, no precedent": {
            "behaviour__commanders__successor_experience": 1.0,
            "behaviour__commanders__successor_control": 1.0,
            "behaviour__commanders__precedent_security": 0.0,
        },
    }.items():
        m = model(**sets)
        killed, other = m.commanders["irgc_aerospace"], m.commanders["centcom"]
        other.security = 0.1  # below the cap (the day-0 killing raised it)
        before = (killed.experience, killed.controllability, other.security)
        killed.killed()
        killed.succeed()
        after[name] = (killed.experience / before[0], killed.controllability / before[1], other.security - before[2])
    assert after["default"] == pytest.approx((0.6, 0.7, 0.2))
    assert after["no loss, no precedent"] == (1.0, 1.0, 0.0)


def test_commanders_security_cap() -> None:
    m = model(behaviour__commanders__max_security=0.6, behaviour__commanders__precedent_security=0.5)
    m.commanders["irgc_aerospace"].killed()
    assert m.commanders["centcom"].security == 0.6


# -- operations ----------------------------------------------------------------------------------
def test_operations_skill_floor_and_unheard_warning() -> None:
    m, floored = model(), model(behaviour__operations__skill_floor=1.0, behaviour__operations__unheard_warning=0.9)
    c = m.commanders["irgc_aerospace"]
    assert m._skill(c) == pytest.approx(0.5 + 0.5 * c.experience) and m._skill(c) < 1.0
    assert floored._skill(floored.commanders["irgc_aerospace"]) == 1.0
    assert m.warning_reach("iran", "israel") == 0.25 and floored.warning_reach("iran", "israel") == 0.9
    assert m.warning_reach("iran", "us") == 1.0  # an open channel that passes warnings


def test_operations_killing_dispersion() -> None:
    """A killing's toll spreads around the action's median by killing_dispersion (0: exactly the median)."""
    tolls = {}
    for spread in (0.5, 0.0):
        m = model(behaviour__operations__killing_dispersion=spread)
        centcom, target = m.commanders["centcom"], m.commanders["irgc_aerospace"]
        target.security = 0.0
        m.day = next(d for d in range(1, 180) if _succeeds_far_from_the_median(m, centcom, d))
        m.execute(Order(BY_NAME["targeted_killing"], "us", "iran", "iran", m.day, commander=target.actor_id), centcom)
        assert not target.alive
        tolls[spread] = m.events[-1].deaths
    assert tolls[0.0] == BY_NAME["targeted_killing"].median_deaths
    assert tolls[0.5] != tolls[0.0]


def _succeeds_far_from_the_median(m: CrisisModel, executor: CommanderAgent, day: int) -> bool:
    m.day = day
    return executor.draw(Draw.SUCCESS) < 0.5 and abs(executor.normal()) > 1.0


# -- accidents -----------------------------------------------------------------------------------
def test_accidents_costs_follow_their_parameters() -> None:
    out = {}
    for name, sets in {
        "default": {},
        "costless": {
            "behaviour__accidents__appetite_loss": 0.0,
            "behaviour__accidents__strain_gain": 0.0,
            "behaviour__accidents__face_kept": 1.0,
            "behaviour__accidents__median_deaths": 10.0,
        },
    }.items():
        m = model(states__us__risk_appetite=0.5, **sets)
        us = m.states["us"]
        us.face["iran"] = 20.0
        before = (us.risk_appetite, us.strain)
        m.accident(us)
        out[name] = (before[0] - us.risk_appetite, us.strain - before[1], us.face["iran"], m.events[-1].deaths)
    loss, gain, face, deaths = out["default"]
    assert (loss, gain, face) == (pytest.approx(0.15), pytest.approx(0.05), 10.0)
    loss, gain, face, few = out["costless"]
    assert (loss, gain, face) == (0.0, 0.0, 20.0) and few < deaths  # same draw, a smaller median


# -- host ----------------------------------------------------------------------------------------
def test_host_grievance_decay_and_the_weight_of_deaths() -> None:
    out = {}
    for name, sets in {
        "default": {},
        "set": {"behaviour__host__grievance_decay": 0.0, "behaviour__host__death_factor": 1.0},
    }.items():
        m = model(**sets)
        iraq = m.states["iraq"]
        iraq.grievance = 0.0  # the day-0 killing on its soil raised it: start low, away from the cap of 1
        g0 = iraq.grievance
        strike(m, "centcom", "us", "strike_militia_sites", "kataib_hezbollah", "kh_depots", 5)
        lethal = iraq.grievance - g0
        g1 = iraq.grievance
        strike(m, "centcom", "us", "strike_militia_sites", "kataib_hezbollah", "kh_depots", 0)
        harmless = iraq.grievance - g1
        g2 = iraq.grievance
        iraq.cool_grievance()
        out[name] = (lethal / harmless, iraq.grievance / g2)
    assert out["default"] == (pytest.approx(1.5), pytest.approx(0.99))
    assert out["set"] == (pytest.approx(1.0), 1.0)


def test_host_parliament_and_withdrawal() -> None:
    """vote_ceiling bounds the daily chance of a vote; withdrawal_days delays consolidation."""
    for days, posture in ((14, "forward"), (0, "consolidated")):
        m = model(behaviour__host__withdrawal_days=days)
        m.states["iraq"].vote_day = m.day
        m.states["us"].consolidate_posture()
        assert m.states["us"].posture == posture
    votes = {}
    for ceiling in (1.0, 0.05):
        m = model(behaviour__host__vote_ceiling=ceiling)
        iraq = m.states["iraq"]
        iraq.grievance = 1.0  # far past the expulsion threshold: the chance is the ceiling
        m.day = next(d for d in range(1, 180) if 0.05 <= iraq._u[d, Draw.VOTE] < 1.0)
        iraq.vote()
        votes[ceiling] = iraq.vote_day
    assert votes[1.0] is not None and votes[0.05] is None
    assert parliament_step(0.45, 0.35, 0.2, 0.5) == pytest.approx(0.25)  # half-way up the ramp


# -- bargaining ----------------------------------------------------------------------------------
def test_bargaining_sanctions_step_and_preventive_pressure() -> None:
    out = {}
    for name, sets in {
        "default": {},
        "set": {"behaviour__bargaining__sanctions_step": 0.0, "behaviour__bargaining__preventive_pressure": 0.0},
    }.items():
        m = model(states__iran__nuclear_progress=0.85, **sets)
        us = m.states["us"]
        level, face = us.sanctions_level, us.face.get("iran", 0.0)
        us.sanctioned()
        m.press_on_nuclear()
        out[name] = (us.sanctions_level - level, us.face.get("iran", 0.0) - face)
    urge = (0.85 - 0.7) / (1 - 0.7)
    assert out["default"] == (pytest.approx(0.05), pytest.approx(4.0 * urge))
    assert out["set"] == (0.0, 0.0)
