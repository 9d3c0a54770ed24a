"""Decision and effect rules as small pure functions of numbers, shared by all agent kinds.

Each function cites the mechanism of MODEL.md §6 it implements. Nothing here touches an
agent or the model, so every rule can be unit-tested with plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Likelihood of what a victim observes, under "limited aims" vs "unlimited aims" (mechanism 3).
# A warned strike with no deaths is what a limited-aims adversary does; a deadly unwarned one
# is what an adversary seeking war does. Ratios, not calibrated to data: see docs/ODD.md.
SIGNAL_LIKELIHOOD: dict[str, tuple[float, float]] = {
    "warned_harmless": (0.60, 0.12),
    "harmless": (0.35, 0.35),
    "lethal": (0.15, 0.50),
    "decapitation": (0.10, 0.60),
}

FACE_CAP = 60.0  # a deficit beyond war-level severity clears no faster: face saturates
MIN_INTENT = 0.2  # even a strike read as a pure signal leaves a fifth of its sting
LEADER_FACTOR = 2.0  # a leader killed multiplies the grievance (MODEL.md §3)


def signal_kind(warned: bool, victim_deaths: int, leader_killed: bool) -> str:
    """Classify what the victim saw, for the belief update."""
    if leader_killed:
        return "decapitation"
    if victim_deaths > 0:
        return "lethal"
    return "warned_harmless" if warned else "harmless"


def bayes_unlimited(prior: float, kind: str, noise: float, u: float) -> float:
    """Posterior that the attacker has unlimited aims, with misperception noise (mechanisms 3, 13).

    `u` is a uniform draw; noise shifts the posterior by up to +-noise/2 on the log-odds scale.
    """
    p_limited, p_unlimited = SIGNAL_LIKELIHOOD[kind]
    num = prior * p_unlimited
    post = num / (num + (1.0 - prior) * p_limited)
    if noise > 0.0:
        post = min(max(post, 1e-6), 1 - 1e-6)
        logit = math.log(post / (1.0 - post)) + noise * 4.0 * (u - 0.5)
        post = 1.0 / (1.0 + math.exp(-logit))
    return post


def face_deficit(severity: float, victim_deaths: int, leader_killed: bool, belief_unlimited: float) -> float:
    """Grievance owed after being hit (mechanism 1), read through perceived intent (mechanism 3).

    Intent scales the sting from MIN_INTENT (surely limited aims) to 2 (surely unlimited): a
    strike read as a costly signal of limited aims calls for little answer.
    """
    harm = 1.0 + 0.5 * math.log1p(victim_deaths)
    if leader_killed:
        harm *= LEADER_FACTOR
    return severity * harm * max(MIN_INTENT, 2.0 * belief_unlimited)


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
    """Daily chance a militia attacks on its own (mechanism 6): autonomy and revenge against control."""
    urge = min(1.0, autonomy + revenge)
    return rate * capability * urge * (1.0 - control * (1.0 - autonomy))


def talk_willingness(
    demands: str, relief_offer: bool, strain: float, pain_threshold: float, pain_mechanism: bool
) -> float:
    """Iran's readiness to move in talks (mechanism 9).

    Below the pain threshold strain stiffens resistance; above it, it buys concessions.
    Maximal demands leave almost nothing to agree on; relief gives a reason to.
    """
    demand = 1.0 if demands == "nuclear_only" else 0.08
    relief = 1.0 if relief_offer else 0.25
    if not pain_mechanism:
        return demand * relief * (0.5 + strain)
    if strain < pain_threshold:
        pressure = 1.0 - 0.6 * strain / max(pain_threshold, 1e-9)
    else:
        pressure = 1.0 + 3.0 * (strain - pain_threshold)
    return demand * relief * pressure
