"""The pure rules of abm/model/rules.py with plain numbers: each contract its docstring states.

Expected values are worked by hand in the comments, not recomputed with the formula under test.
"""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from abm.model import rules

# --- signal_kind ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("warned", "deaths", "leader", "kind"),
    [
        (True, 0, False, "warned_harmless"),
        (False, 0, False, "harmless"),
        (True, 3, False, "lethal"),  # a warning does not make a lethal strike harmless
        (False, 1, False, "lethal"),
        (True, 0, True, "decapitation"),  # a leader killed outranks everything else
        (False, 12, True, "decapitation"),
    ],
)
def test_signal_kind(warned, deaths, leader, kind) -> None:
    assert rules.signal_kind(warned, deaths, leader) == kind
    assert kind in rules.SIGNAL_KINDS


# --- bayes_unlimited -------------------------------------------------------------------------------


def test_bayes_without_noise_is_bayes_rule() -> None:
    # 0.5 x 0.6 / (0.5 x 0.6 + 0.5 x 0.2) = 0.3 / 0.4
    assert rules.bayes_unlimited(0.5, 0.2, 0.6, 0.0, 1.0, 0.9) == pytest.approx(0.75)
    # 0.2 x 0.1 / (0.2 x 0.1 + 0.8 x 0.4) = 0.02 / 0.34
    assert rules.bayes_unlimited(0.2, 0.4, 0.1, 0.0, 1.0, 0.1) == pytest.approx(1 / 17)


@pytest.mark.parametrize("prior", [0.05, 0.3, 0.5, 0.9])
def test_bayes_moves_towards_the_hypothesis_that_explains_the_signal_better(prior) -> None:
    up = rules.bayes_unlimited(prior, 0.2, 0.6, 0.0, 1.0, 0.5)
    down = rules.bayes_unlimited(prior, 0.6, 0.2, 0.0, 1.0, 0.5)
    same = rules.bayes_unlimited(prior, 0.4, 0.4, 0.0, 1.0, 0.5)
    assert 0.0 < down < prior < up < 1.0
    assert same == pytest.approx(prior)


def test_a_certain_prior_is_not_moved_by_evidence_without_noise() -> None:
    assert rules.bayes_unlimited(0.0, 0.1, 0.9, 0.0, 1.0, 0.5) == 0.0
    assert rules.bayes_unlimited(1.0, 0.9, 0.1, 0.0, 1.0, 0.5) == 1.0


def test_misperception_shifts_the_log_odds_by_at_most_half_of_noise_times_scale() -> None:
    # Without noise the posterior is 0.75, log-odds ln 3. noise 1 x scale 2 shifts by 2 x (u - 0.5):
    # u = 1: ln 3 + 1, posterior 3e / (3e + 1); u = 0: ln 3 - 1, posterior 3 / (3 + e).
    e = math.e
    assert rules.bayes_unlimited(0.5, 0.2, 0.6, 1.0, 2.0, 1.0) == pytest.approx(3 * e / (3 * e + 1))
    assert rules.bayes_unlimited(0.5, 0.2, 0.6, 1.0, 2.0, 0.0) == pytest.approx(3 / (3 + e))
    assert rules.bayes_unlimited(0.5, 0.2, 0.6, 1.0, 2.0, 0.5) == pytest.approx(0.75)  # the centre draw: no shift
    assert rules.bayes_unlimited(0.5, 0.2, 0.6, 1.0, 2.0, 0.75) == pytest.approx(1 / (1 + math.exp(-math.log(3) - 0.5)))


@pytest.mark.parametrize("prior", [0.0, 1e-9, 0.5, 1.0 - 1e-9, 1.0])
@pytest.mark.parametrize("u", [0.0, 0.5, 0.999])
def test_a_noisy_posterior_stays_strictly_inside_zero_and_one(prior, u) -> None:
    post = rules.bayes_unlimited(prior, 0.3, 0.7, 2.0, 3.0, u)
    assert 0.0 < post < 1.0


# --- face_deficit -------------------------------------------------------------------------------

# severity, harm per log death, leader factor, min intent: face_deficit(S, deaths, leader, belief, H, L, M)
S, H, L, M = 10.0, 0.5, 2.0, 0.2


def test_face_deficit_worked_values() -> None:
    assert rules.face_deficit(S, 0, False, 0.5, H, L, M) == pytest.approx(10.0)  # harm 1, agnostic intent 1
    assert rules.face_deficit(S, 1, False, 0.5, H, L, M) == pytest.approx(13.466, abs=1e-3)  # harm 1 + 0.5 ln 2
    # 9 deaths: harm 1 + 0.5 ln 10 = 2.1513; a leader killed doubles it; sure of unlimited aims doubles again
    assert rules.face_deficit(S, 9, False, 0.5, H, L, M) == pytest.approx(21.513, abs=1e-3)
    assert rules.face_deficit(S, 9, True, 0.5, H, L, M) == pytest.approx(43.026, abs=1e-3)
    assert rules.face_deficit(S, 9, True, 1.0, H, L, M) == pytest.approx(86.052, abs=1e-3)


def test_face_deficit_grows_with_deaths_with_diminishing_returns() -> None:
    values = [rules.face_deficit(S, d, False, 0.5, H, L, M) for d in (0, 1, 2, 5, 10, 100, 1000)]
    assert all(a < b for a, b in pairwise(values))
    one, two, three = (rules.face_deficit(S, d, False, 0.5, H, L, M) for d in (10, 11, 12))
    assert three - two < two - one  # the 12th death adds less than the 11th


def test_a_strike_read_as_limited_aims_stings_only_at_min_intent() -> None:
    assert rules.face_deficit(S, 0, False, 0.0, H, L, M) == pytest.approx(S * M)  # 2.0
    assert rules.face_deficit(S, 0, False, 0.05, H, L, M) == pytest.approx(S * M)  # 2 x 0.05 = 0.1 < 0.2
    assert rules.face_deficit(S, 0, False, 0.25, H, L, M) == pytest.approx(S * 0.5)
    assert rules.face_deficit(S, 0, False, 1.0, H, L, M) == pytest.approx(S * 2.0)
    assert rules.face_deficit(0.0, 50, True, 1.0, H, L, M) == 0.0  # no severity, no grievance


# --- logit_choice -------------------------------------------------------------------------------


def shares(utilities: list[float], temperature: float, grid: int = 20_000) -> list[float]:
    """How often each option is chosen over an even grid of uniforms: the rule's choice probabilities."""
    counts = [0] * len(utilities)
    for k in range(grid):
        counts[rules.logit_choice(utilities, temperature, (k + 0.5) / grid)] += 1
    return [c / grid for c in counts]


def test_logit_shares_are_the_softmax_probabilities_and_sum_to_one() -> None:
    # utilities 0 and ln 3 at temperature 1: weights 1 and 3, probabilities 1/4 and 3/4
    assert shares([0.0, math.log(3)], 1.0) == pytest.approx([0.25, 0.75], abs=1e-4)
    # 0, ln 2, ln 5: weights 1, 2, 5, probabilities 1/8, 2/8, 5/8
    three = shares([0.0, math.log(2), math.log(5)], 1.0)
    assert three == pytest.approx([0.125, 0.25, 0.625], abs=1e-4) and sum(three) == pytest.approx(1.0)


def test_logit_inverse_cdf_cuts_the_unit_interval_in_option_order() -> None:
    utils = [0.0, math.log(3)]  # option 0 owns u in [0, 1/4), option 1 owns [1/4, 1)
    assert [rules.logit_choice(utils, 1.0, u) for u in (0.0, 0.2499, 0.2501, 0.999999)] == [0, 0, 1, 1]
    assert rules.logit_choice(utils, 1.0, 1.0) == 1  # the top end never runs past the last option


def test_temperature_scales_the_utility_differences() -> None:
    # at temperature 2, utilities 0 and ln 9 weigh exp(0) and exp(ln 9 / 2) = 3: again 1/4, 3/4
    assert shares([0.0, math.log(9)], 2.0) == pytest.approx([0.25, 0.75], abs=1e-4)
    # hotter is nearer uniform, colder nearer the argmax
    best = [shares([0.0, 1.0, 2.0], t)[2] for t in (100.0, 3.0, 1.0, 0.3, 0.05)]
    assert all(a < b for a, b in pairwise(best))
    assert best[0] == pytest.approx(1 / 3, abs=0.01) and best[-1] == pytest.approx(1.0, abs=1e-4)


def test_temperature_zero_is_the_argmax_whatever_the_draw() -> None:
    for u in (0.0, 0.3, 0.999):
        assert rules.logit_choice([0.1, 2.0, -1.0], 0.0, u) == 1
        assert rules.logit_choice([0.5, 0.5, 0.1], 0.0, u) == 0  # a tie goes to the first option
    assert rules.logit_choice([0.1, 2.0], -1.0, 0.0) == 1  # a negative temperature is treated as 0


def test_logit_choice_depends_on_utility_differences_only() -> None:
    """Adding a constant changes nothing, even far beyond what exp() could take unshifted."""
    for u in (0.1, 0.26, 0.7):
        assert rules.logit_choice([1000.0, 1000.0 + math.log(3)], 1.0, u) == rules.logit_choice(
            [0.0, math.log(3)], 1.0, u
        )


def test_raising_an_options_utility_only_moves_choices_onto_it() -> None:
    """One uniform per choice (common random numbers): a lever that raises option 1 never takes a
    draw away from it, it only wins draws over."""
    draws = [(k + 0.5) / 200 for k in range(200)]
    before = [rules.logit_choice([0.0, 0.0], 1.0, u) for u in draws]
    after = [rules.logit_choice([0.0, 0.7], 1.0, u) for u in draws]
    assert all(b == 0 or a == 1 for b, a in zip(before, after, strict=True))
    assert sum(after) > sum(before)


# --- deaths_from_hit -------------------------------------------------------------------------------


def test_no_deaths_when_the_hit_is_not_lethal_or_the_median_is_zero() -> None:
    assert rules.deaths_from_hit(0.3, 4.0, 0.5, 0.3, 2.0) == 0  # u >= p_any
    assert rules.deaths_from_hit(0.3, 4.0, 0.5, 0.9, 2.0) == 0
    assert rules.deaths_from_hit(0.0, 4.0, 0.5, 0.0, 2.0) == 0  # never lethal
    assert rules.deaths_from_hit(1.0, 0.0, 0.5, 0.0, 2.0) == 0  # an act that kills no one
    assert rules.deaths_from_hit(1.0, -1.0, 0.5, 0.0, 2.0) == 0


def test_a_lethal_hit_is_log_normal_around_the_median_and_kills_at_least_one() -> None:
    assert rules.deaths_from_hit(0.3, 4.0, 0.5, 0.29, 0.0) == 4  # z = 0: the median
    assert rules.deaths_from_hit(0.3, 4.0, 0.5, 0.1, 1.0) == 7  # 4 e^0.5 = 6.59
    assert rules.deaths_from_hit(0.3, 4.0, 0.5, 0.1, -1.0) == 2  # 4 e^-0.5 = 2.43
    assert rules.deaths_from_hit(0.3, 4.0, 0.0, 0.1, 3.0) == 4  # no dispersion: always the median
    assert rules.deaths_from_hit(1.0, 0.3, 0.5, 0.5, 0.0) == 1  # rounds to 0, but the hit was lethal
    assert rules.deaths_from_hit(1.0, 4.0, 0.5, 0.5, -20.0) == 1
    zs = [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0]
    tolls = [rules.deaths_from_hit(1.0, 20.0, 0.8, 0.5, z) for z in zs]
    assert tolls == sorted(tolls) and tolls[0] < tolls[-1]


# --- militia_hazard -------------------------------------------------------------------------------


def test_militia_hazard_worked_values() -> None:
    # urge min(1, 0.3 + 0.2) = 0.5; 0.1 x 0.5 x 0.5 x (1 - 0.4) = 0.015
    assert rules.militia_hazard(0.1, 0.5, 0.3, 0.2, 0.4) == pytest.approx(0.015)
    # urge capped at 1: 0.1 x 0.5 x 1 x 0.6 = 0.03
    assert rules.militia_hazard(0.1, 0.5, 0.8, 0.7, 0.4) == pytest.approx(0.03)
    assert rules.militia_hazard(0.1, 0.5, 0.0, 0.0, 0.0) == 0.0  # no autonomy, no revenge: no attack of its own
    assert rules.militia_hazard(0.1, 0.5, 0.3, 0.2, 0.0) == pytest.approx(0.025)  # no control: the full urge


def test_militia_hazard_is_bounded_and_moves_the_right_way() -> None:
    grid = [0.0, 0.25, 0.5, 0.75, 0.99]
    rate, capability = 0.2, 0.8
    for autonomy in grid:
        for revenge in grid:
            values = [rules.militia_hazard(rate, capability, autonomy, revenge, c) for c in grid]
            assert all(0.0 <= v <= rate * capability for v in values)
            assert all(a >= b for a, b in pairwise(values))  # control holds it back
            if autonomy + revenge > 0:
                assert values[-1] > 0.0  # control below 1 never removes all of it
    urges = [rules.militia_hazard(rate, capability, a, 0.1, 0.5) for a in grid]
    assert all(a < b for a, b in pairwise(urges))  # autonomy drives it
    revenge = [rules.militia_hazard(rate, capability, 0.1, r, 0.5) for r in grid[:4]]
    assert all(a < b for a, b in pairwise(revenge))  # and so does revenge
