"""Bargaining on terms (MODEL.md §6.9), as pure functions over plain numbers.

A deal is an agreement on terms: the demanding state asks for concessions (the size of its
demands) and offers to lift a share of its sanctions; the other side accepts when the deal is
worth more to it than going on. Sanctions strain stiffens resistance below the pain threshold
and makes going on costly above it; relief and moderated demands widen the bargaining range;
the more the bargainer believes the demander is ready for war (a belief that fighting moves),
the more going on costs. No fixed multiplier decides a deal: the sign of the surplus does, read
through logit noise.
"""

from __future__ import annotations

import math
from types import MappingProxyType

# How much each set of demands asks, as a share of everything that could be asked: the 12
# demands of May 2018 (nuclear, missiles, regional policy) versus the nuclear file alone (one
# of three baskets). Data, not fitted: docs/ODD.md.
DEMAND_SIZE: MappingProxyType[str, float] = MappingProxyType({"maximal": 1.0, "nuclear_only": 0.35})


def concession_cost(demand: float, resolve: float, strain: float, pain_threshold: float, pain: bool) -> float:
    """What conceding the demands costs the bargainer: below its pain threshold, strain stiffens it."""
    stiffen = 1.0 + strain if pain and strain < pain_threshold else 1.0
    return demand * resolve * stiffen


def relief_value(relief_share: float, sanctions_level: float, strain: float) -> float:
    """What the relief offered is worth: a share of the sanctions in force, more to a strained economy."""
    return relief_share * sanctions_level * (1.0 + strain)


def continuing_cost(strain: float, pain_threshold: float, pain: bool, belief_war: float, war_fear: float) -> float:
    """What going on costs: strain past the pain threshold, and the war it fears the demander is ready for."""
    past_pain = max(0.0, strain - pain_threshold) / max(1e-9, 1.0 - pain_threshold) if pain else strain
    return past_pain + belief_war * war_fear


def surplus(
    demand: float,
    relief_share: float,
    sanctions_level: float,
    strain: float,
    pain_threshold: float,
    pain: bool,
    resolve: float,
    belief_war: float,
    war_fear: float,
    grievance: float,
) -> float:
    """The deal's worth to the bargainer over going on; an open grievance (0-1) makes conceding dearer."""
    gain = relief_value(relief_share, sanctions_level, strain) + continuing_cost(
        strain, pain_threshold, pain, belief_war, war_fear
    )
    return gain - concession_cost(demand, resolve, strain, pain_threshold, pain) - grievance


def accept_chance(value: float, temperature: float) -> float:
    """Chance the offer is accepted: logit in the surplus; temperature 0 accepts iff it is positive."""
    if temperature <= 0.0:
        return 1.0 if value > 0.0 else 0.0
    z = value / temperature
    return 1.0 / (1.0 + math.exp(-z)) if z > -700.0 else 0.0
