"""The `behaviour:` block: the numbers inside the agents' rules, each a parameter (MODEL.md §8).

MODEL.md §8 asks that every numeric constant that shapes behaviour be a config parameter with
a default, a unit, a range and a source or reason, so that `abm sensitivity` can vary it. The
`world:` block (`schema.WorldConfig`) holds the global rates that were there first; this block
holds the constants that used to be literals in the rules, grouped by the mechanism they
belong to (`behaviour.militias.revenge_on_loss`, `behaviour.host.vote_ceiling`, ...). Every
default is the literal it replaced, so a scenario without a `behaviour:` block runs exactly as
before (tests/model/test_fixed_seed_record.py).

**What counts as a behavioural constant** (the rule used to decide what moved here). A number
in the model's code is behavioural when changing it, all else fixed, changes what an agent
does or how strongly it reacts, *and* its value is a judgement or an estimate that someone
could reasonably have set differently: a rate, a share, a multiplier, a cap, a decay, a
threshold, a likelihood. Such a number is a parameter here. A number stays in the code when it
is a definition rather than a choice:

* the ends and neutral points of a scale: 0 and 1 as the bounds of a probability or a share,
  1 as the neutral factor of a product, 0.5 as the centre of a uniform draw;
* a point of a scale defined elsewhere: a rung of the ladder (MODEL.md §5), the severities of
  the action table (`abm/model/actions.py`), the breakout point (`policies.BREAKOUT`), the
  normalisation that makes an agnostic belief (0.5) leave a grievance unchanged (the 2 in
  `rules.face_deficit`);
* array indices, day arithmetic of the calendar, numerical guards (1e-6, 1e-9) that keep a
  logarithm or a division finite;
* the outcome definitions of `abm/model/outcomes.py` and `world.war_death_threshold` (the
  Correlates of War rule): they classify runs, they do not drive agents.

`tests/model/test_behaviour_literals.py` keeps numbers from creeping back: it fails on a
numeric literal in the model's rule modules unless it is 0 or 1 or listed, with its reason,
in a short allow-list.

The decision rule of issue 15 ("Choices instead of gates") keeps its parameters in `world`,
next to the world rates (`world.war_cost`, `world.blood_unit`, `world.climb_down` ...), and its
data tables in code beside the rule that reads them, as the action table is: the doctrine rows
(`decision.DOCTRINES`), the war chance by rung (`decision.WAR_CHANCE`), the size of each set of
demands (`bargaining.DEMAND_SIZE`). `rules.FACE_CAP` is the scale's end (the severity of
sustained war), a definition.

Ranges (`ge`, `le`) are both what validation accepts and the range a screening explores
(`abm sensitivity --param-block behaviour`): they are chosen wide enough to hold every
defensible value and narrow enough that the parameter keeps its meaning. Sources: where the
docs give a reason it is cited; "modelling choice, not calibrated" says that no data or
calibration backs the value, which is the truth for most of them.
"""

from __future__ import annotations

from typing import Any

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt
from pydantic.fields import FieldInfo

from abm.model.rules import SIGNAL_KINDS

UNCALIBRATED = "modelling choice, not calibrated"


class Block(BaseModel):
    """Base of the behaviour blocks: like `schema.Strict` (unknown keys and NaN refused; frozen).

    Kept apart from `schema.Strict` so that `schema` can import this module; a test checks the
    two configurations stay equal."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def param(default: float, *, low: float, high: float, meaning: str, unit: str, source: str) -> Any:
    """A behaviour field: default, range, and a description `meaning [unit]; source`."""
    return Field(
        default,
        ge=low,
        le=high,
        description=f"{meaning} [{unit}]; {source}",
        json_schema_extra={"unit": unit, "source": source},
    )


class BeliefsConfig(Block):
    """Bayesian reading of an attack (mechanisms 3 and 13; docs/ODD.md §7.3).

    For each kind of signal a victim can see (`rules.signal_kind`), its likelihood if the
    attacker has limited aims and if it has unlimited aims. Only the ratio of a pair matters to
    the update, and the eight numbers need not sum to one (a warned and an unwarned strike are
    different acts, not outcomes of one draw)."""

    warned_harmless_if_limited: StrictFloat = param(
        0.60,
        low=0.3,
        high=0.9,
        meaning="likelihood of a warned strike that kills no one, if the attacker's aims are limited",
        unit="probability",
        source="judgement, not data (DESIGN.md, ODD §7.3): what a limited-aims adversary does",
    )
    warned_harmless_if_unlimited: StrictFloat = param(
        0.12,
        low=0.02,
        high=0.4,
        meaning="likelihood of a warned strike that kills no one, if its aims are unlimited",
        unit="probability",
        source="judgement, not data (DESIGN.md, ODD §7.3): rare for an adversary seeking war",
    )
    harmless_if_limited: StrictFloat = param(
        0.35,
        low=0.1,
        high=0.7,
        meaning="likelihood of an unwarned act that kills no one, if the attacker's aims are limited",
        unit="probability",
        source="judgement, not data (ODD §7.3): equal to the unlimited case, so it says nothing",
    )
    harmless_if_unlimited: StrictFloat = param(
        0.35,
        low=0.1,
        high=0.7,
        meaning="likelihood of an unwarned act that kills no one, if its aims are unlimited",
        unit="probability",
        source="judgement, not data (ODD §7.3): equal to the limited case, so it says nothing",
    )
    lethal_if_limited: StrictFloat = param(
        0.15,
        low=0.05,
        high=0.4,
        meaning="likelihood of an act that kills the victim's people, if the attacker's aims are limited",
        unit="probability",
        source="judgement, not data (ODD §7.3)",
    )
    lethal_if_unlimited: StrictFloat = param(
        0.50,
        low=0.2,
        high=0.8,
        meaning="likelihood of an act that kills the victim's people, if its aims are unlimited",
        unit="probability",
        source="judgement, not data (ODD §7.3): deadly acts are what an adversary seeking war does",
    )
    decapitation_if_limited: StrictFloat = param(
        0.10,
        low=0.02,
        high=0.3,
        meaning="likelihood of killing a leader of the victim's side, if the attacker's aims are limited",
        unit="probability",
        source="judgement, not data (ODD §7.3)",
    )
    decapitation_if_unlimited: StrictFloat = param(
        0.60,
        low=0.3,
        high=0.9,
        meaning="likelihood of killing a leader of the victim's side, if its aims are unlimited",
        unit="probability",
        source="judgement, not data (ODD §7.3): the strongest sign of unlimited aims",
    )
    noise_scale: StrictFloat = param(
        4.0,
        low=1.0,
        high=8.0,
        meaning="width of the misperception shift of a posterior per unit of world.belief_noise: "
        "logit(post) moves by noise x scale x (u - 0.5)",
        unit="log-odds per unit noise",
        source=f"{UNCALIBRATED}; with 4 the baseline noise 0.15 moves the log-odds by at most +-0.3",
    )

    def likelihoods(self) -> dict[str, tuple[float, float]]:
        """(P(signal | limited aims), P(signal | unlimited aims)) for each kind of signal."""
        return {k: (getattr(self, f"{k}_if_limited"), getattr(self, f"{k}_if_unlimited")) for k in SIGNAL_KINDS}


class GrievanceConfig(Block):
    """How an attack turns into a face deficit and whom it is held against (mechanisms 1 and 5; ODD §7.4)."""

    harm_per_log_death: StrictFloat = param(
        0.5,
        low=0.0,
        high=2.0,
        meaning="grievance multiplier added per unit of ln(1 + deaths of the victim's people): "
        "harm = 1 + this x ln(1 + deaths)",
        unit="multiplier per ln(1 + deaths)",
        source=f"{UNCALIBRATED}; deaths weigh with diminishing returns (10 dead: x2.2)",
    )
    leader_factor: StrictFloat = param(
        2.0,
        low=1.0,
        high=5.0,
        meaning="multiplier on the harm of an act that killed a leader of the victim's side",
        unit="multiplier",
        source=f"MODEL.md §3 and §6.1 (a leader counts far more); the value is a {UNCALIBRATED}",
    )
    min_intent: StrictFloat = param(
        0.2,
        low=0.0,
        high=1.0,
        meaning="floor of the intent factor max(floor, 2 x belief in unlimited aims) that scales a "
        "grievance: the sting left by an act read as a pure signal",
        unit="multiplier",
        source=f"{UNCALIBRATED}; even a strike read as a costly signal of limited aims leaves a fifth of its sting",
    )
    patron_share: StrictFloat = param(
        0.5,
        low=0.0,
        high=1.0,
        meaning="share of a proxy attack's grievance held against the patron when the attack is pinned on it "
        "(1 with mechanisms.attribution off)",
        unit="share of the grievance",
        source=f"{UNCALIBRATED}; mechanism 5 (MODEL.md §6): a patron is blamed less than the hand that fired",
    )


class ContagionConfig(Block):
    """A bystander drawn in (mechanism 12; ODD §7.12)."""

    ally_share: StrictFloat = param(
        0.3,
        low=0.0,
        high=1.0,
        meaning="share of a violent hit's grievance on a bystander that each of its engaged allies takes "
        "on toward the actor blamed",
        unit="share of the grievance",
        source=UNCALIBRATED,
    )
    entry_grievance: StrictFloat = param(
        30.0,
        low=0.0,
        high=60.0,
        meaning="grievance a bystander holds at least toward its adversary once it enters",
        unit="face deficit (severity units)",
        source=f"{UNCALIBRATED}; half the face cap (60): entering means taking on the attacker's sponsor",
    )
    entry_deliberation_factor: StrictFloat = param(
        2.0,
        low=1.0,
        high=5.0,
        meaning="multiplier on a bystander's deliberation_rate once it enters (capped at 1)",
        unit="multiplier",
        source=f"{UNCALIBRATED}; a state at war decides faster",
    )


class MilitiasConfig(Block):
    """Revenge and the patron's leash (mechanism 6; ODD §7.8)."""

    revenge_on_loss: StrictFloat = param(
        0.12,
        low=0.0,
        high=0.5,
        meaning="revenge added when a hit kills any of the militia's people",
        unit="revenge (0-1) per lethal hit",
        source=f"{UNCALIBRATED}; MODEL.md §6.6 (losses feed revenge)",
    )
    revenge_per_death: StrictFloat = param(
        0.05,
        low=0.0,
        high=0.2,
        meaning="revenge added per unit of min(deaths, revenge_death_cap) ** revenge_death_exponent of one hit",
        unit="revenge (0-1) per death ** exponent",
        source=UNCALIBRATED,
    )
    revenge_death_exponent: StrictFloat = param(
        0.5,
        low=0.0,
        high=1.0,
        meaning="exponent on the deaths of one hit in the revenge they add (1: linear; 0.5: square root, "
        "each further death adds less)",
        unit="exponent (unitless)",
        source=UNCALIBRATED,
    )
    revenge_death_cap: StrictInt = param(
        20,
        low=1,
        high=200,
        meaning="deaths of one hit beyond which they add no more revenge",
        unit="deaths",
        source=f"{UNCALIBRATED}; with the defaults one hit adds at most 0.12 + 0.05 x sqrt(20) = 0.34",
    )
    revenge_on_leader_killed: StrictFloat = param(
        0.4,
        low=0.0,
        high=1.0,
        meaning="revenge added when the militia's own leader is killed",
        unit="revenge (0-1)",
        source=f"MODEL.md §6.6 (killing the militia leader raises revenge); the value is a {UNCALIBRATED}",
    )
    autonomy_on_leader_killed: StrictFloat = param(
        0.15,
        low=0.0,
        high=0.5,
        meaning="autonomy added when the militia's own leader is killed",
        unit="autonomy (0-1)",
        source=f"MODEL.md §6.6 (killing the leader loosens the leash); the value is a {UNCALIBRATED}",
    )
    revenge_on_patron_leader_killed: StrictFloat = param(
        0.2,
        low=0.0,
        high=1.0,
        meaning="revenge added when a commander of its patron is killed (the Quds Force commander in the baseline)",
        unit="revenge (0-1)",
        source=f"MODEL.md §6.6; the value is a {UNCALIBRATED}",
    )
    leash_without_liaison: StrictFloat = param(
        0.3,
        low=0.0,
        high=1.0,
        meaning="the patron's grip on a militia when the patron has no proxy liaison commander at all (a "
        "vacant post grips 0)",
        unit="grip (0-1)",
        source=UNCALIBRATED,
    )


class CommandersConfig(Block):
    """Killing and succession (ODD §7.17; MODEL.md §3)."""

    successor_experience: StrictFloat = param(
        0.6,
        low=0.2,
        high=1.0,
        meaning="a successor's experience as a share of the predecessor's",
        unit="share",
        source=f"MODEL.md §3 (replaced by someone less experienced); the value is a {UNCALIBRATED}",
    )
    successor_control: StrictFloat = param(
        0.7,
        low=0.2,
        high=1.0,
        meaning="a successor's controllability as a share of the predecessor's",
        unit="share",
        source=f"MODEL.md §3 (and less controllable); the value is a {UNCALIBRATED}",
    )
    precedent_security: StrictFloat = param(
        0.2,
        low=0.0,
        high=0.5,
        meaning="security added to every commander after any killing (a decapitation makes every commander "
        "harder to reach)",
        unit="security (0-1) per killing",
        source=UNCALIBRATED,
    )
    max_security: StrictFloat = param(
        0.95,
        low=0.5,
        high=1.0,
        meaning="cap on the security that killings add (a configured security above it is kept)",
        unit="security (0-1)",
        source=f"{UNCALIBRATED}; no commander is wholly beyond reach",
    )


class OperationsConfig(Block):
    """Carrying out an operation (ODD §7.6)."""

    skill_floor: StrictFloat = param(
        0.5,
        low=0.0,
        high=1.0,
        meaning="skill of an executor with no experience (a commander) or capability (a militia): skill = "
        "floor + (1 - floor) x experience; scales hit and kill chances (a state executing itself: 1)",
        unit="multiplier",
        source=UNCALIBRATED,
    )
    killing_dispersion: StrictFloat = param(
        0.5,
        low=0.0,
        high=1.5,
        meaning="log-scale sd of the deaths of a successful targeted killing around the action's median",
        unit="log-sd",
        source=f"{UNCALIBRATED}; narrower than a strike's world.casualty_dispersion (0.8): a convoy, not a base",
    )
    unheard_warning: StrictFloat = param(
        0.25,
        low=0.0,
        high=1.0,
        meaning="chance that a strike warning reaches its target when no open channel between striker and "
        "target passes warnings",
        unit="probability",
        source=f"{UNCALIBRATED}; in 2020 the warning went through Iraq's PM (channels.<name>.passes_warnings)",
    )


class AccidentsConfig(Block):
    """An accident under maximum alert (mechanism 7; ODD §7.14)."""

    median_deaths: StrictFloat = param(
        150.0,
        low=10.0,
        high=400.0,
        meaning="median civilian deaths of an accidental shoot-down",
        unit="deaths",
        source="PS752, 8 January 2020: 176 dead (MODEL.md §6.7)",
    )
    dispersion: StrictFloat = param(
        0.5,
        low=0.0,
        high=1.5,
        meaning="log-scale sd of an accident's deaths around its median",
        unit="log-sd",
        source=UNCALIBRATED,
    )
    appetite_loss: StrictFloat = param(
        0.15,
        low=0.0,
        high=0.5,
        meaning="risk appetite the responsible state loses",
        unit="risk appetite (0-1)",
        source=f"MODEL.md §6.7 (an accident lowers its appetite for escalation); the value is a {UNCALIBRATED}",
    )
    strain_gain: StrictFloat = param(
        0.05,
        low=0.0,
        high=0.3,
        meaning="economic strain the responsible state gains",
        unit="strain (0-1)",
        source=f"MODEL.md §6.7 (an accident costs the responsible state); the value is a {UNCALIBRATED}",
    )
    face_kept: StrictFloat = param(
        0.5,
        low=0.0,
        high=1.0,
        meaning="share of each of the responsible state's open face deficits it keeps",
        unit="share",
        source=f"{UNCALIBRATED}; MODEL.md §6.7 (not by itself a path to war: the state turns to damage control)",
    )


class HostConfig(Block):
    """A host state's sovereignty grievance, its parliament and the guests' posture (mechanism 11; ODD §7.11)."""

    grievance_decay: StrictFloat = param(
        0.01,
        low=0.0,
        high=0.1,
        meaning="daily decay of a host's sovereignty grievance (and of the part owed to each striker)",
        unit="share per day",
        source=f"{UNCALIBRATED}; slower than face (world.face_decay 0.077): a half-life of about 69 days",
    )
    death_factor: StrictFloat = param(
        1.5,
        low=1.0,
        high=3.0,
        meaning="multiplier on the severity a strike on its soil adds to the grievance when anyone died",
        unit="multiplier",
        source=UNCALIBRATED,
    )
    vote_ramp: StrictFloat = param(
        0.2,
        low=0.01,
        high=1.0,
        meaning="grievance past the threshold (expulsion or implementation) at which a parliamentary step "
        "becomes as likely as it gets",
        unit="grievance (0-1)",
        source=UNCALIBRATED,
    )
    vote_ceiling: StrictFloat = param(
        0.5,
        low=0.05,
        high=1.0,
        meaning="highest daily chance of a parliamentary step (vote or implemented expulsion)",
        unit="probability per day",
        source=f"{UNCALIBRATED}; parliament does not sit every day",
    )
    withdrawal_days: StrictInt = param(
        14,
        low=0,
        high=90,
        meaning="days from a host's expulsion vote to its guests closing their exposed posts",
        unit="days",
        source=UNCALIBRATED,
    )
    mediated_cooling: StrictFloat = param(
        0.03,
        low=0.0,
        high=0.2,
        meaning="share of the grievances between a channel's ends that a mediator cools each day, at full "
        "mediation and world.mediator_effectiveness 1",
        unit="share per day",
        source=UNCALIBRATED,
    )


class BargainingConfig(Block):
    """Sanctions, nuclear hedging and the preventive urge (mechanisms 9 and 10; ODD §7.10)."""

    nuclear_step: StrictFloat = param(
        0.05,
        low=0.01,
        high=0.2,
        meaning="nuclear progress of one step away from the deal's limits",
        unit="progress (0-1) per step",
        source=f"{UNCALIBRATED}; Iran announced five steps from May 2019 to January 2020",
    )
    sanctions_step: StrictFloat = param(
        0.05,
        low=0.0,
        high=0.2,
        meaning="breadth a round of new sanctions adds to the sanctioner's sanctions_level",
        unit="sanctions level (0-1) per round",
        source=UNCALIBRATED,
    )
    preventive_pressure: StrictFloat = param(
        4.0,
        low=0.0,
        high=20.0,
        meaning="grievance a preventer gains each day toward a programme at full preventive urge (urge 1: breakout)",
        unit="face deficit (severity units) per day",
        source=f"{UNCALIBRATED}; ODD §7.10",
    )
    hedge_grievance_scale: StrictFloat = param(
        30.0,
        low=5.0,
        high=60.0,
        meaning="grievance toward its adversary at which a programme state feels full grievance pressure to hedge",
        unit="face deficit (severity units)",
        source=f"{UNCALIBRATED}; half the face cap (a deficit worth a strike on territory)",
    )
    hedge_sanctions_weight: StrictFloat = param(
        0.5,
        low=0.0,
        high=1.0,
        meaning="weight of the sanctions it is under in the pressure to hedge (the rest is grievance)",
        unit="share",
        source=f"{UNCALIBRATED}; ODD §7.10",
    )


class BehaviourConfig(Block):
    """The constants of the agents' rules, by mechanism (this module's docstring says what belongs here)."""

    beliefs: BeliefsConfig = Field(default_factory=BeliefsConfig)
    grievance: GrievanceConfig = Field(default_factory=GrievanceConfig)
    contagion: ContagionConfig = Field(default_factory=ContagionConfig)
    militias: MilitiasConfig = Field(default_factory=MilitiasConfig)
    commanders: CommandersConfig = Field(default_factory=CommandersConfig)
    operations: OperationsConfig = Field(default_factory=OperationsConfig)
    accidents: AccidentsConfig = Field(default_factory=AccidentsConfig)
    host: HostConfig = Field(default_factory=HostConfig)
    bargaining: BargainingConfig = Field(default_factory=BargainingConfig)


def bounds(info: FieldInfo) -> tuple[float, float] | None:
    """A numeric field's validation range (ge, le), or None unless it has both."""
    low = [m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)]
    high = [m.le for m in info.metadata if isinstance(m, annotated_types.Le)]
    return (low[0], high[0]) if low and high else None


def leaf_fields(model: type[BaseModel] = BehaviourConfig, prefix: str = "behaviour") -> list[tuple[str, FieldInfo]]:
    """(dotted key, field) of every parameter below `model`, sub-blocks expanded, in declaration order."""
    out: list[tuple[str, FieldInfo]] = []
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out += leaf_fields(sub, f"{prefix}.{name}")
        else:
            out.append((f"{prefix}.{name}", info))
    return out


def markdown_table() -> str:
    """docs/ODD.md's table of the behaviour block (Appendix A), generated from this schema.

    Regenerate it after changing a field: `python -m abm.config.behaviour` prints it, and
    tests/docs/test_odd.py checks that the document holds it verbatim."""
    rows = ["| key | range | default | unit | meaning; source |", "|---|---|---|---|---|"]
    for key, info in leaf_fields():
        low, high = bounds(info) or (float("nan"), float("nan"))
        extra: dict[str, Any] = info.json_schema_extra or {}  # type: ignore[assignment]
        meaning = str(info.description).rsplit(f" [{extra['unit']}]; ", 1)[0]
        rows.append(
            f"| `{key}` | {low:g}–{high:g} | {info.default:g} | {extra['unit']} | {meaning}; {extra['source']} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
