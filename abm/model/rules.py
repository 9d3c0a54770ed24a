"""Decision and effect rules as small pure functions of numbers, shared by all agent kinds.

Each function cites the mechanism of MODEL.md §6 it implements. Nothing here touches an
agent or the model, so every rule can be unit-tested with plain numbers: the constants of a
rule are arguments, whose values are the scenario's `behaviour.*` parameters
(`abm/config/behaviour.py`), read once by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# What a victim can observe of an attack, for the belief update (mechanism 3). The likelihood
# of each under "limited aims" and "unlimited aims" is `behaviour.beliefs.<kind>_if_limited`
# and `..._if_unlimited`.
SIGNAL_KINDS = ("warned_harmless", "harmless", "lethal", "decapitation")

# The face scale saturates at war-level severity. Not yet a `behaviour.*` parameter: it is read
# mainly by `agents/states.py` (war cost, risk tolerance, the cap on a deficit), which is being
# rewritten; it moves to the config with that rewrite (tests/model/test_behaviour_literals.py).
# `HostPolitics` also divides a strike's severity by it (a unit, not a second parameter).
FACE_CAP = 60.0


def signal_kind(warned: bool, victim_deaths: int, leader_killed: bool) -> str:
    """Classify what the victim saw, for the belief update."""
    if leader_killed:
        return "decapitation"
    if victim_deaths > 0:
        return "lethal"
    return "warned_harmless" if warned else "harmless"


def bayes_unlimited(
    prior: float, p_limited: float, p_unlimited: float, noise: float, noise_scale: float, u: float
) -> float:
    """Posterior that the attacker has unlimited aims, with misperception noise (mechanisms 3, 13).

    `p_limited`, `p_unlimited`: the likelihood of what the victim saw under either hypothesis.
    `u` is a uniform draw; noise shifts the posterior by up to +-noise x noise_scale / 2 on the
    log-odds scale.
    """
    num = prior * p_unlimited
    post = num / (num + (1.0 - prior) * p_limited)
    if noise > 0.0:
        post = min(max(post, 1e-6), 1 - 1e-6)
        logit = math.log(post / (1.0 - post)) + noise * noise_scale * (u - 0.5)
        post = 1.0 / (1.0 + math.exp(-logit))
    return post


def face_deficit(
    severity: float,
    victim_deaths: int,
    leader_killed: bool,
    belief_unlimited: float,
    harm_per_log_death: float,
    leader_factor: float,
    min_intent: float,
) -> float:
    """Grievance owed after being hit (mechanism 1), read through perceived intent (mechanism 3).

    Deaths add harm with diminishing returns; a leader killed multiplies it. Intent scales the
    sting from `min_intent` (surely limited aims) to 2 (surely unlimited; 1 at an agnostic
    belief of 0.5): a strike read as a costly signal of limited aims calls for little answer.
    """
    harm = 1.0 + harm_per_log_death * math.log1p(victim_deaths)
    if leader_killed:
        harm *= leader_factor
    return severity * harm * max(min_intent, 2.0 * belief_unlimited)


def logit_choice(utilities: Sequence[float], temperature: float, u: float) -> int:
    """Index chosen by a logit (softmax) rule with one uniform `u` (inverse CDF).

    Temperature 0 is the noiseless argmax (mechanism 13 off). One uniform per choice keeps
    common random numbers aligned: a lever that shifts utilities moves the choice smoothly.
    """
    if temperature <= 0.0:
        return max(range(len(utilities)), key=utilities.__getitem__)
    top = max(utilities)
    weights = [math.exp((x - top) / temperature) for x in utilities]
    threshold = u * sum(weights)
    acc = 0.0
    for i, w in enumerate(weights):
        acc += w
        if threshold < acc:
            return i
    return len(weights) - 1


def deaths_from_hit(p_any: float, median: float, dispersion: float, u: float, z: float) -> int:
    """Deaths of one hit: zero with probability 1 - p_any, else log-normal around `median`."""
    if u >= p_any or median <= 0.0:
        return 0
    return max(1, round(median * math.exp(dispersion * z)))


def militia_hazard(rate: float, capability: float, autonomy: float, revenge: float, control: float) -> float:
    """Daily chance a militia attacks on its own (mechanism 6): autonomy and revenge drive it, control holds it.

    Autonomy enters once, in the urge; control (restraint x how far the order reaches x loyalty)
    takes its share off the hazard, never all of it (loyalty and grips are below 1).
    """
    urge = min(1.0, autonomy + revenge)
    return rate * capability * urge * (1.0 - control)
