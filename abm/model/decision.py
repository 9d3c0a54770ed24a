"""The decision rule of MODEL.md §6, as pure functions over plain numbers.

Each day a state free to act scores every feasible act against the adversary it most needs to
deal with — doing nothing and the de-escalatory acts included — by its expected value under the
state's own beliefs, and picks one by logit (`abm.model.rules.logit_choice`):

    value = face restored x (1 + audience cost)       (the deficit is felt at home)
          + blood answered                            (own dead: pressure only force clears)
          - expected cost of the adversary's answer   (its severity and the chance of war)
          - audience cost of a commitment left unmet  (grows with each day of inaction)
          + reassurance                               (for de-escalatory acts: the answer it heads off)

No term is a yes/no gate: a doctrine changes the weights (how much own deaths press, what
breaches a commitment, how hard the adversary expects to be answered), not which acts exist.
Everything here is a function of numbers so it can be unit-tested without a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Doctrine:
    """A declared retaliation doctrine as a commitment (MODEL.md §6.2, §6.14).

    `blood_weight` scales how much its own people killed press for force (and how hard others
    expect it to answer deaths: its deterrence); `breached_by` says which attacks breach its
    public commitment ("violent": any violent attack, "lethal": only one that kills its people);
    `commitment` scales the audience cost of leaving a breach unanswered; `below_line` is the
    share of face an attack that does not breach the commitment still costs at home: a state
    that told its public only deaths would be answered loses little face to a harmless attack.
    """

    blood_weight: float
    breached_by: str | None
    commitment: float
    below_line: float


# Data, not branches. Weights are modelling choices (docs/ODD.md): lethal red line and massive
# retaliation commit to answer deaths three to four times as hard as a state without a doctrine;
# massive retaliation threatens more and so traps itself more; a red line drawn at deaths leaves
# harmless attacks below it, worth a third of their face at home.
DOCTRINES: MappingProxyType[str | None, Doctrine] = MappingProxyType(
    {
        None: Doctrine(1.0, None, 0.0, 1.0),
        "proportional": Doctrine(1.0, "violent", 1.0, 1.0),
        "lethal_red_line": Doctrine(3.0, "lethal", 1.0, 0.3),
        "massive": Doctrine(4.0, "violent", 2.0, 1.0),
    }
)
# Chance that an act starts a war, by rung, before beliefs and red lines: the ladder is convex
# (mechanism 4). A modelling choice, not fitted (docs/ODD.md).
WAR_CHANCE: MappingProxyType[int, float] = MappingProxyType({5: 0.02, 6: 0.05, 7: 0.12, 8: 0.35, 9: 1.0})


def breaches(doctrine: Doctrine, violent: bool, deaths: int, threatened: bool) -> bool:
    """Whether an attack breaches the victim's commitment: its doctrine's rule, or any violent act after a threat."""
    if not violent:
        return False
    if threatened or doctrine.breached_by == "violent":
        return True
    return doctrine.breached_by == "lethal" and deaths > 0


def face_at_home(amount: float, doctrine: Doctrine, breached: bool) -> float:
    """The face an attack costs a state: all of it if it breaches its commitment, else its doctrine's share."""
    return amount if breached or doctrine.breached_by is None else amount * doctrine.below_line


def provocation(belief_unlimited: float, lethality: float, floor: float) -> float:
    """How hard the chooser expects the target to answer: its aims as believed, times how deadly the act is."""
    return (floor + belief_unlimited) * lethality


def expected_answer(
    severity: float,
    provoke: float,
    war_chance: float,
    war_cost: float,
    dampen: float,
    weight: float,
    war_anyway: float = 0.0,
) -> float:
    """Expected cost of the adversary's answer: answer in kind plus the war the act risks, times its cost.

    `weight` is the chooser's caution net of risk appetite; `dampen` is less than 1 for a
    deniable or proxy act, whose answer comes weaker. Only the war the act adds counts: a
    chooser that believes the adversary will go to war anyway (`war_anyway`) fears starting
    one less — the preemptive logic by which mutual fears of unlimited aims end in war.
    """
    war = max(0.0, min(1.0, war_chance * provoke) - war_anyway)
    return weight * (severity * provoke + war * war_cost) * dampen


def war_expected(belief_unlimited: float, share: float) -> float:
    """Chance the chooser gives to a war the adversary starts whatever it does: its belief in unlimited aims, scaled."""
    return belief_unlimited * share


def beyond_tolerance(cost: float, tolerance: float) -> float:
    """Expected costs past the pain the chooser can bear count twice: convex, never a cut-off."""
    return cost + max(0.0, cost - tolerance)


def blood_pressure(deaths_unanswered: int, blood_weight: float, unit: float) -> float:
    """Domestic pressure from own people killed and not yet answered with force (mechanism 2)."""
    return blood_weight * unit * math.log1p(deaths_unanswered) if deaths_unanswered > 0 else 0.0


def inaction_cost(
    audience_cost: float, commitment: float, deficit: float, days_open: int, build_days: int, scale: float
) -> float:
    """Audience cost of a breached commitment left unanswered (§6.14).

    The public saw the breach: what it costs is the open deficit plus the commitment's own stake
    (`scale`, a rocket attack's face), and it builds with every day of inaction.
    """
    if commitment <= 0.0 or days_open < 0:
        return 0.0
    return audience_cost * commitment * (deficit + scale) * min(1.0, (days_open + 1) / build_days)


def intent_factor(belief_unlimited: float, min_intent: float) -> float:
    """How much of an act's sting its perceived intent leaves: the factor of `rules.face_deficit`."""
    return max(min_intent, 2.0 * belief_unlimited)


def reassurance(owed: float, weight: float, prior: float, signal: tuple[float, float], min_intent: float) -> float:
    """Expected answer a de-escalatory signal heads off (mechanism 3 read backwards).

    The chooser expects the adversary to owe it `owed` (face units) and to read the signal by
    Bayes from `prior`; the grievance it bears is read through intent, so the share of it that
    the signal dissolves is the fall in the intent factor.
    """
    p_limited, p_unlimited = signal
    post = prior * p_unlimited / (prior * p_unlimited + (1.0 - prior) * p_limited)
    before = intent_factor(prior, min_intent)
    return weight * owed * (1.0 - intent_factor(post, min_intent) / before)


def backing_down(audience_cost: float, deficit: float, climb_down: float) -> float:
    """What a public conciliatory act costs at home: looking weak, more so with a grievance still open."""
    return audience_cost * (deficit + climb_down)
