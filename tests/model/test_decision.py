"""The pure functions of the decision rule (`decision`) and of bargaining (`bargaining`), with plain numbers.

Each test asserts a specific relation MODEL.md §6 asks of a term (its sign, its direction, where
it is flat, where it bends), so a term that lost its dependence on an input, or gained a gate,
fails here before it shows up as a statistical drift in model runs.
"""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from abm.model import bargaining as bg
from abm.model import decision as rule
from abm.model.actions import BY_NAME

NONE, PROPORTIONAL, RED_LINE, MASSIVE = (
    rule.DOCTRINES[k] for k in (None, "proportional", "lethal_red_line", "massive")
)
STRONG = BY_NAME["declare_concluded"].signal  # (0.60, 0.20): a clear sign of limited aims
MIN_INTENT = 0.2  # the floor of the intent factor (an argument; its default in `behaviour.grievance`)
WEAK = BY_NAME["back_channel_message"].signal  # (0.40, 0.30): a faint one
assert STRONG is not None and WEAK is not None


# -- the doctrine table -------------------------------------------------------------------------
def test_doctrine_table_orders_blood_weight_and_commitment() -> None:
    assert set(rule.DOCTRINES) == {None, "proportional", "lethal_red_line", "massive"}
    # A red line and massive retaliation commit to answer deaths harder than no doctrine.
    assert NONE.blood_weight < RED_LINE.blood_weight < MASSIVE.blood_weight
    # No doctrine commits to nothing; massive retaliation traps itself the most.
    assert NONE.commitment == 0.0 < PROPORTIONAL.commitment <= RED_LINE.commitment < MASSIVE.commitment
    # Only a red line drawn at deaths leaves harmless attacks partly below it.
    assert RED_LINE.below_line < 1.0
    assert NONE.below_line == PROPORTIONAL.below_line == MASSIVE.below_line == 1.0


def test_war_chance_is_convex_in_the_rung() -> None:
    rungs = sorted(rule.WAR_CHANCE)
    chances = [rule.WAR_CHANCE[r] for r in rungs]
    steps = [b - a for a, b in pairwise(chances)]
    assert all(s > 0 for s in steps)
    assert all(b > a for a, b in pairwise(steps))
    assert rule.WAR_CHANCE[9] == 1.0


# -- breaches -----------------------------------------------------------------------------------
@pytest.mark.parametrize("deaths", [0, 3])
@pytest.mark.parametrize("threatened", [False, True])
@pytest.mark.parametrize("doctrine", [NONE, PROPORTIONAL, RED_LINE, MASSIVE])
def test_nothing_non_violent_breaches(doctrine: rule.Doctrine, threatened: bool, deaths: int) -> None:
    assert not rule.breaches(doctrine, False, deaths, threatened)


def test_lethal_red_line_is_breached_only_by_a_lethal_violent_act() -> None:
    assert rule.breaches(RED_LINE, True, 1, False)
    assert not rule.breaches(RED_LINE, True, 0, False)


@pytest.mark.parametrize("doctrine", [PROPORTIONAL, MASSIVE])
def test_proportional_and_massive_are_breached_by_any_violent_act(doctrine: rule.Doctrine) -> None:
    assert rule.breaches(doctrine, True, 0, False)
    assert rule.breaches(doctrine, True, 5, False)


def test_without_a_doctrine_nothing_breaches_unless_threatened() -> None:
    assert not rule.breaches(NONE, True, 0, False)
    assert not rule.breaches(NONE, True, 10, False)


@pytest.mark.parametrize("doctrine", [NONE, PROPORTIONAL, RED_LINE, MASSIVE])
def test_a_threat_makes_any_violent_act_a_breach(doctrine: rule.Doctrine) -> None:
    assert rule.breaches(doctrine, True, 0, True)


# -- face at home -------------------------------------------------------------------------------
@pytest.mark.parametrize("doctrine", [NONE, PROPORTIONAL, RED_LINE, MASSIVE])
def test_a_breach_keeps_all_of_the_face(doctrine: rule.Doctrine) -> None:
    assert rule.face_at_home(12.5, doctrine, True) == 12.5


def test_below_the_red_line_only_the_doctrines_share_counts() -> None:
    assert rule.face_at_home(10.0, RED_LINE, False) == pytest.approx(10.0 * RED_LINE.below_line)
    assert rule.face_at_home(10.0, RED_LINE, False) < rule.face_at_home(10.0, RED_LINE, True)
    # Other doctrines keep everything below their line too (their share is 1), and so does no doctrine.
    for doctrine in (NONE, PROPORTIONAL, MASSIVE):
        assert rule.face_at_home(10.0, doctrine, False) == 10.0


# -- provocation and the expected answer --------------------------------------------------------
def test_provocation_rises_with_belief_and_lethality_from_the_floor() -> None:
    assert rule.provocation(0.0, 1.0, 0.5) == pytest.approx(0.5)  # surely limited: answers at the floor
    assert rule.provocation(1.0, 1.0, 0.5) == pytest.approx(1.5)
    assert rule.provocation(0.2, 1.0, 0.5) < rule.provocation(0.8, 1.0, 0.5)
    assert rule.provocation(0.5, 1.0, 0.5) < rule.provocation(0.5, 2.5, 0.5)
    assert rule.provocation(0.5, 2.0, 0.5) == pytest.approx(2 * rule.provocation(0.5, 1.0, 0.5))


def _answer(**kw: float) -> float:
    args = {"severity": 16.0, "provoke": 1.0, "war_chance": 0.05, "war_cost": 120.0, "dampen": 1.0, "weight": 0.5}
    return rule.expected_answer(**{**args, **kw})


def test_expected_answer_rises_with_provocation_war_cost_severity_and_war_chance() -> None:
    provokes = [_answer(provoke=p) for p in (0.5, 1.0, 2.0, 4.0)]
    assert all(b > a for a, b in pairwise(provokes))
    costs = [_answer(war_cost=c) for c in (0.0, 60.0, 120.0, 500.0)]
    assert all(b > a for a, b in pairwise(costs))
    assert _answer(severity=28.0) > _answer(severity=16.0)
    assert _answer(war_chance=0.12) > _answer(war_chance=0.05)
    # With no chance of war only the answer in kind is left: severity x provocation x weight.
    assert _answer(war_chance=0.0, provoke=2.0) == pytest.approx(0.5 * 16.0 * 2.0)


def test_expected_answer_scales_with_caution_weight_and_dampening() -> None:
    assert _answer(weight=1.0) == pytest.approx(2 * _answer(weight=0.5))
    assert _answer(weight=0.0) == 0.0
    assert _answer(dampen=0.5) == pytest.approx(0.5 * _answer(dampen=1.0))


def test_chance_of_war_is_capped_at_one() -> None:
    # war_chance x provoke = 2: past certainty only the answer in kind keeps growing.
    at_cap = _answer(war_chance=1.0, provoke=2.0, severity=0.0)
    beyond = _answer(war_chance=1.0, provoke=4.0, severity=0.0)
    assert at_cap == beyond == pytest.approx(0.5 * 120.0)


def test_a_war_expected_anyway_lowers_only_the_war_the_act_adds() -> None:
    base = _answer(war_chance=0.12, provoke=1.5)
    assert _answer(war_chance=0.12, provoke=1.5, war_anyway=0.1) == pytest.approx(base - 0.5 * 0.1 * 120.0)
    # Never below the answer in kind: a war believed certain makes the act add no war, not a negative one.
    in_kind = _answer(war_chance=0.0, provoke=1.5)
    assert _answer(war_chance=0.12, provoke=1.5, war_anyway=1.0) == pytest.approx(in_kind)
    assert rule.war_expected(0.8, 0.5) > rule.war_expected(0.2, 0.5)
    assert rule.war_expected(0.0, 0.5) == 0.0
    assert rule.war_expected(0.6, 0.5) == pytest.approx(0.3)


# -- tolerance ----------------------------------------------------------------------------------
def test_beyond_tolerance_is_continuous_at_the_tolerance_and_convex() -> None:
    tol = 50.0
    eps = 1e-6
    assert rule.beyond_tolerance(tol, tol) == pytest.approx(tol)
    assert rule.beyond_tolerance(tol - eps, tol) == pytest.approx(rule.beyond_tolerance(tol + eps, tol), abs=1e-5)
    # Slope 1 below the tolerance, 2 above it: costs past the pain count twice.
    assert rule.beyond_tolerance(30.0, tol) == 30.0
    assert rule.beyond_tolerance(70.0, tol) - rule.beyond_tolerance(60.0, tol) == pytest.approx(20.0)
    # Convex: the midpoint of a chord lies above the curve, strictly when the chord crosses the tolerance.
    for a, b in ((0.0, 100.0), (20.0, 80.0), (45.0, 55.0)):
        mid = rule.beyond_tolerance((a + b) / 2, tol)
        assert mid < (rule.beyond_tolerance(a, tol) + rule.beyond_tolerance(b, tol)) / 2
    assert rule.beyond_tolerance(10.0, tol) == 10.0  # never a cut-off: below the tolerance a cost is a cost


# -- blood --------------------------------------------------------------------------------------
def test_blood_pressure_is_zero_without_deaths_and_rises_in_deaths_and_weight() -> None:
    assert rule.blood_pressure(0, RED_LINE.blood_weight, 6.0) == 0.0
    by_deaths = [rule.blood_pressure(n, 1.0, 6.0) for n in (1, 2, 5, 20, 100)]
    assert by_deaths[0] > 0.0
    assert all(b > a for a, b in pairwise(by_deaths))
    # Concave in deaths (log1p): the hundredth death presses less than the second.
    assert by_deaths[1] - by_deaths[0] > (by_deaths[4] - by_deaths[3]) / 80
    assert rule.blood_pressure(3, RED_LINE.blood_weight, 6.0) > rule.blood_pressure(3, NONE.blood_weight, 6.0)
    assert rule.blood_pressure(3, MASSIVE.blood_weight, 6.0) > rule.blood_pressure(3, RED_LINE.blood_weight, 6.0)
    assert rule.blood_pressure(3, 2.0, 6.0) == pytest.approx(2 * rule.blood_pressure(3, 1.0, 6.0))
    assert rule.blood_pressure(3, 1.0, 6.0) == pytest.approx(6.0 * math.log(4.0))


# -- audience cost of inaction ------------------------------------------------------------------
def _inaction(**kw: float) -> float:
    args = {"audience_cost": 0.3, "commitment": 1.0, "deficit": 20.0, "days_open": 3, "build_days": 7, "scale": 10.0}
    return rule.inaction_cost(**{**args, **kw})  # type: ignore[arg-type]


def test_inaction_cost_builds_linearly_over_build_days_then_stays_flat() -> None:
    build = 7
    costs = [_inaction(days_open=d, build_days=build) for d in range(15)]
    full = _inaction(days_open=100, build_days=build)
    assert full > 0.0
    assert costs[0] == pytest.approx(full / build)  # the first day already costs something
    steps = [b - a for a, b in pairwise(costs[:build])]
    assert all(s == pytest.approx(full / build) for s in steps)  # linear while it builds
    assert all(c == pytest.approx(full) for c in costs[build - 1 :])  # flat once full
    assert max(costs) == pytest.approx(full)


def test_inaction_cost_is_zero_without_commitment_or_before_the_breach() -> None:
    assert _inaction(commitment=0.0) == 0.0
    assert _inaction(days_open=-1) == 0.0
    assert _inaction(audience_cost=0.0) == 0.0
    # A bigger commitment traps more: massive retaliation's audience cost is the largest.
    cost = {d: _inaction(commitment=d.commitment) for d in (NONE, PROPORTIONAL, MASSIVE)}
    assert cost[NONE] == 0.0 < cost[PROPORTIONAL] < cost[MASSIVE]


def test_inaction_cost_rises_with_the_open_deficit_and_the_audience() -> None:
    assert _inaction(deficit=30.0) > _inaction(deficit=10.0) > _inaction(deficit=0.0) > 0.0
    assert _inaction(audience_cost=0.6) == pytest.approx(2 * _inaction(audience_cost=0.3))


# -- intent and reassurance ---------------------------------------------------------------------
def test_intent_factor_is_floored_and_doubles_belief() -> None:
    assert rule.intent_factor(0.0, MIN_INTENT) == MIN_INTENT
    assert rule.intent_factor(0.05, MIN_INTENT) == MIN_INTENT
    assert rule.intent_factor(0.5, MIN_INTENT) == pytest.approx(1.0)
    assert rule.intent_factor(1.0, MIN_INTENT) == pytest.approx(2.0)


def test_reassurance_is_zero_when_nothing_is_owed() -> None:
    assert rule.reassurance(0.0, 0.5, 0.6, STRONG, MIN_INTENT) == 0.0


def test_reassurance_is_positive_for_a_limited_aims_signal_and_larger_for_a_stronger_one() -> None:
    strong = rule.reassurance(20.0, 0.5, 0.6, STRONG, MIN_INTENT)
    weak = rule.reassurance(20.0, 0.5, 0.6, WEAK, MIN_INTENT)
    assert weak > 0.0
    assert strong > weak
    # Exactly the share of the grievance the fall in intent dissolves.
    post = 0.6 * 0.2 / (0.6 * 0.2 + 0.4 * 0.6)
    assert strong == pytest.approx(0.5 * 20.0 * (1.0 - 2 * post / 1.2))


def test_reassurance_scales_with_what_is_owed_and_the_weight() -> None:
    base = rule.reassurance(10.0, 0.5, 0.6, STRONG, MIN_INTENT)
    assert rule.reassurance(20.0, 0.5, 0.6, STRONG, MIN_INTENT) == pytest.approx(2 * base)
    assert rule.reassurance(10.0, 1.0, 0.6, STRONG, MIN_INTENT) == pytest.approx(2 * base)


def test_reassurance_is_zero_for_an_uninformative_signal_and_negative_for_a_menacing_one() -> None:
    assert rule.reassurance(20.0, 0.5, 0.6, (0.4, 0.4), MIN_INTENT) == pytest.approx(0.0)
    assert rule.reassurance(20.0, 0.5, 0.6, (0.2, 0.6), MIN_INTENT) < 0.0


def test_reassurance_is_zero_once_the_adversary_is_already_read_as_limited() -> None:
    # Intent is at its floor before the signal: the signal cannot dissolve any more of the grievance.
    assert rule.reassurance(20.0, 0.5, 0.05, STRONG, MIN_INTENT) == 0.0


def test_backing_down_costs_more_with_a_grievance_open_and_nothing_without_an_audience() -> None:
    assert rule.backing_down(0.3, 0.0, 0.0) == 0.0
    assert rule.backing_down(0.3, 10.0, 0.0) > rule.backing_down(0.3, 2.0, 0.0) > 0.0
    assert rule.backing_down(0.3, 0.0, 10.0) == pytest.approx(3.0)
    assert rule.backing_down(0.0, 10.0, 10.0) == 0.0


# -- bargaining ---------------------------------------------------------------------------------
def test_demand_sizes_order_nuclear_only_below_maximal() -> None:
    assert 0.0 < bg.DEMAND_SIZE["nuclear_only"] < bg.DEMAND_SIZE["maximal"] == 1.0


def _surplus(**kw: float | bool) -> float:
    args: dict[str, float | bool] = {
        "demand": 0.35,
        "relief_share": 0.5,
        "sanctions_level": 0.8,
        "strain": 0.5,
        "pain_threshold": 0.85,
        "pain": True,
        "resolve": 1.2,
        "belief_war": 0.5,
        "war_fear": 0.54,
        "grievance": 0.1,
    }
    return bg.surplus(**{**args, **kw})  # type: ignore[arg-type]


def test_surplus_rises_with_relief_and_falls_with_demand_size() -> None:
    by_relief = [_surplus(relief_share=r) for r in (0.0, 0.25, 0.5, 1.0)]
    assert all(b > a for a, b in pairwise(by_relief))
    assert _surplus(demand=bg.DEMAND_SIZE["nuclear_only"]) > _surplus(demand=bg.DEMAND_SIZE["maximal"])


def test_surplus_falls_with_grievance_and_rises_with_fear_of_war() -> None:
    assert _surplus(grievance=0.5) == pytest.approx(_surplus(grievance=0.1) - 0.4)
    assert _surplus(belief_war=0.9) > _surplus(belief_war=0.1)
    assert _surplus(war_fear=0.0, belief_war=0.9) == pytest.approx(_surplus(war_fear=0.0, belief_war=0.1))


def test_relief_is_worth_more_to_a_strained_economy_and_nothing_without_sanctions() -> None:
    assert bg.relief_value(0.5, 0.8, 0.6) > bg.relief_value(0.5, 0.8, 0.1)
    assert bg.relief_value(0.5, 0.0, 0.6) == 0.0
    assert bg.relief_value(0.0, 0.8, 0.6) == 0.0


def test_below_the_pain_threshold_strain_stiffens_the_concession() -> None:
    low, high = (bg.concession_cost(0.35, 1.2, s, 0.85, True) for s in (0.1, 0.6))
    assert high > low > 0.35 * 1.2
    # Going on costs nothing yet from strain below the threshold (only the fear of war).
    assert bg.continuing_cost(0.6, 0.85, True, 0.0, 1.0) == 0.0
    assert bg.continuing_cost(0.1, 0.85, True, 0.0, 1.0) == 0.0


def test_above_the_pain_threshold_strain_raises_the_cost_of_going_on() -> None:
    costs = [bg.continuing_cost(s, 0.85, True, 0.0, 1.0) for s in (0.86, 0.9, 0.95, 1.0)]
    assert costs[0] > 0.0
    assert all(b > a for a, b in pairwise(costs))
    assert costs[-1] == pytest.approx(1.0)  # full strain is the whole scale past the threshold
    # ... and it no longer stiffens the concession.
    assert bg.concession_cost(0.35, 1.2, 0.9, 0.85, True) == pytest.approx(0.35 * 1.2)


def test_without_the_pain_threshold_strain_is_a_plain_cost_of_going_on() -> None:
    for strain in (0.1, 0.5, 0.9):
        assert bg.continuing_cost(strain, 0.85, False, 0.0, 1.0) == pytest.approx(strain)
        assert bg.concession_cost(0.35, 1.2, strain, 0.85, False) == pytest.approx(0.35 * 1.2)
    # So more strain always makes the deal worth more, unlike below the threshold with the mechanism on.
    off = [_surplus(strain=s, pain=False) for s in (0.1, 0.4, 0.7)]
    assert all(b > a for a, b in pairwise(off))
    assert _surplus(strain=0.7, pain=True) < _surplus(strain=0.7, pain=False)


def test_continuing_cost_adds_the_feared_war() -> None:
    assert bg.continuing_cost(0.0, 0.85, True, 0.5, 0.6) == pytest.approx(0.3)
    assert bg.continuing_cost(0.0, 0.85, True, 0.9, 0.6) > bg.continuing_cost(0.0, 0.85, True, 0.5, 0.6)


def test_accept_chance_is_a_half_at_zero_surplus_and_monotone() -> None:
    assert bg.accept_chance(0.0, 0.34) == pytest.approx(0.5)
    values = [-2.0, -0.5, 0.0, 0.5, 2.0]
    chances = [bg.accept_chance(v, 0.34) for v in values]
    assert all(b > a for a, b in pairwise(chances))
    assert bg.accept_chance(0.5, 0.34) + bg.accept_chance(-0.5, 0.34) == pytest.approx(1.0)
    # A hotter logit flattens the curve toward a coin flip.
    assert 0.5 < bg.accept_chance(0.5, 5.0) < bg.accept_chance(0.5, 0.34)


def test_accept_chance_is_a_step_at_temperature_zero() -> None:
    assert bg.accept_chance(1e-9, 0.0) == 1.0
    assert bg.accept_chance(0.0, 0.0) == 0.0
    assert bg.accept_chance(-1e-9, 0.0) == 0.0
    assert bg.accept_chance(0.3, -1.0) == 1.0  # a non-positive temperature is noiseless too


@pytest.mark.parametrize("value", [-1e3, -1e6, -1e300, -math.inf])
def test_accept_chance_never_overflows_for_huge_negative_surpluses(value: float) -> None:
    assert bg.accept_chance(value, 0.01) == 0.0
    assert bg.accept_chance(value, 0.34) < 1e-9


@pytest.mark.parametrize("value", [1e3, 1e6, 1e300])
def test_accept_chance_saturates_for_huge_positive_surpluses(value: float) -> None:
    assert bg.accept_chance(value, 0.01) == pytest.approx(1.0)
