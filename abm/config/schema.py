"""The scenario schema: every parameter with its unit, valid range and meaning.

Validation is strict on purpose: an unknown key, a wrong type, NaN or an out-of-range
number is an error naming the dotted key, never a silent fallback to a default. The
descriptions here are the single source for parameter documentation (docs/ODD.md and the
YAML comments follow them). The constants of the agents' rules are the `behaviour:` block
(`abm/config/behaviour.py`, whose docstring gives the rule for what counts as one).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from abm.config.behaviour import BehaviourConfig
from abm.config.consistency import check_edges, check_event
from abm.model.actions import ACTION_NAMES, CAPABILITIES, SITE_KINDS

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
MAX_IDS = 500  # a list of ids longer than this is a mistake (a pasted file, a loop gone wrong), not a scenario
Fraction = Annotated[float, Field(ge=0.0, le=1.0, strict=True)]
# Strict numbers and booleans: `true` is not 1.0 and "100" is not 100 (a typo must not pass as a value).


def _choose_or_fraction(value: object) -> object:
    """`choose` or a finite number in 0..1, refused with one message (a plain union reports one error per branch)."""
    if value == "choose":
        return value
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1
    if not ok:
        raise ValueError("allowed: 'choose' or a finite number >= 0 and <= 1")
    return float(value)  # type: ignore[arg-type]


ChooseOrFraction = Annotated[Literal["choose"] | float, BeforeValidator(_choose_or_fraction)]


class Strict(BaseModel):
    """Base for every config block: unknown keys and NaN/inf are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Capability = Literal[tuple(sorted(CAPABILITIES))]  # type: ignore[valid-type]


def listed_once(values: list[str], allowed: str) -> list[str]:
    """A list of ids in which none repeats (a repeat is a typo or a paste, never meant twice)."""
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise ValueError(f"listed twice: {', '.join(twice)}{allowed}")
    return values


class StateConfig(Strict):
    """A state (MODEL.md §3): the same kinds of traits for every state, whatever its id.

    What a state can do follows from its `capabilities` and the network (its reach, the sites
    it hosts, its proxies, its channels), never from its id. Policy traits default to "none"
    (no doctrine, no sanctions, no demands, no nuclear programme): a state declares what it has.
    """

    # -- traits that shape every choice ------------------------------------------------------
    resolve: StrictFloat = Field(1.0, ge=0.0, le=3.0, description="multiplier on face value of hitting back (unitless)")
    pain_threshold: Fraction = Field(
        0.6, description="economic strain (0-1) above which pressure yields concessions instead of resistance"
    )
    caution: StrictFloat = Field(
        0.5, ge=0.0, le=5.0, description="weight on expected retaliation relative to face value (power asymmetry)"
    )
    audience_cost: Fraction = Field(0.3, description="share of the open face deficit felt as cost each day of inaction")
    risk_appetite: Fraction = Field(0.2, description="hubris: discount on expected retaliation (0 = none)")
    belief_unlimited: Fraction = Field(0.5, description="prior probability that the adversary has unlimited aims")
    alert: StrictInt = Field(1, ge=0, le=3, description="initial alert level (0 peacetime .. 3 maximum)")
    strain: Fraction = Field(0.0, description="initial economic strain (0-1)")
    deliberation_rate: Fraction = Field(
        0.3, description="daily probability of taking a decision on an open grievance (sets response delay)"
    )
    adversary: Id | None = Field(None, description="the state it confronts by default (None: none)")
    reach: list[Id] = Field(
        default_factory=list, max_length=MAX_IDS, description="sites this state can strike (reach edges)"
    )
    capabilities: list[Capability] = Field(  # type: ignore[valid-type]
        default_factory=list,
        max_length=len(CAPABILITIES),
        description="acts it can choose (rows of the action table); each act lists the site kinds it can hit",
    )
    engaged: StrictBool = Field(
        True, description="a party to the crisis from day 0; false: a bystander that fights only once it enters"
    )
    entry_hazard: Fraction = Field(
        0.0, description="bystanders: probability of entering the conflict after a severe (rung 8) attack on it"
    )
    # -- military doctrine and posture --------------------------------------------------------
    doctrine: Literal["proportional", "lethal_red_line", "massive"] | None = Field(
        None, description="declared retaliation doctrine: when its military force answers an attack (None: none)"
    )
    force_protection: Fraction = Field(0.0, description="share of casualties per hit avoided by protection")
    posture: Literal["forward", "consolidated"] = Field(
        "forward", description="forward: troops at exposed posts; consolidated: exposed posts closed"
    )
    advance_warning: ChooseOrFraction = Field(
        "choose",
        description="whether its missile strikes are warned: `choose` (it decides each time, weighing military "
        "effect against the risk of war, mechanism 3) or a number 0-1 forcing the chance a strike is warned "
        "(0 never, 1 always: a counterfactual override)",
    )
    proxy_restraint: Fraction = Field(0.5, description="strength of its restraint order to its proxies (0-1)")
    # -- economic pressure and bargaining -----------------------------------------------------
    sanctions_level: Fraction = Field(
        0.0, description="breadth of the sanctions it imposes on its adversary (0 none .. 1 maximum pressure)"
    )
    demands: Literal["maximal", "nuclear_only"] | None = Field(
        None, description="what it demands of its adversary in talks (None: no demands; the other side seeks no deal)"
    )
    sanctions_relief_offer: Fraction = Field(
        0.0,
        description="share of its sanctions it offers to lift in a deal (0 none .. 1 all); true/false read as 1/0",
    )
    nuclear_progress: Fraction | None = Field(
        None, description="progress toward breakout (0 deal limits .. 1 breakout); None: no nuclear programme"
    )
    # -- a host state's politics (they matter when foreign forces sit on its soil) ------------
    mediation: Fraction = Field(0.0, description="mediation effort through the channels it carries (channel `via`)")
    sovereignty_grievance: Fraction = Field(0.0, description="initial grievance over strikes on its soil (0-1)")
    expulsion_threshold: Fraction = Field(0.35, description="grievance above which parliament may vote to expel")
    implementation_threshold: Fraction = Field(
        0.9,
        description="grievance owed to a foreign state's strikes on its soil above which a voted expulsion "
        "may be implemented (its forces leave)",
    )
    sovereignty_sensitivity: StrictFloat = Field(
        1.0, ge=0.0, le=5.0, description="grievance added per unit of severity of a strike on its soil"
    )

    @field_validator("capabilities")
    @classmethod
    def _listed_once(cls, value: list[str]) -> list[str]:
        return listed_once(value, "")

    @field_validator("sanctions_relief_offer", mode="before")
    @classmethod
    def _relief_as_share(cls, value: object) -> object:
        """Version 1 said yes or no: `true`/`false` stay accepted as all or nothing (MODEL.md §8)."""
        return float(value) if isinstance(value, bool) else value


class CommanderConfig(Strict):
    """A killable commander who executes operations for its side (MODEL.md §3)."""

    side: Id = Field(description="the state or militia this commander serves")
    commands: list[Id] = Field(
        default_factory=list, max_length=MAX_IDS, description="forces under command (command edges)"
    )
    executes: list[Literal["missile", "strike", "proxy", "militia"]] = Field(
        default_factory=list, description="operation roles it runs: missile or strike operations, proxy liaison"
    )
    experience: Fraction = Field(0.8, description="skill: hit rate and discipline in following orders")
    controllability: Fraction = Field(0.8, description="how well the principal can restrain this commander")
    security: Fraction = Field(0.5, description="protection against targeted killing (0-1)")
    alive: StrictBool = Field(True, description="alive at day 0 (before the scenario's history)")


class MilitiaConfig(Strict):
    """A militia or proxy force (MODEL.md §3)."""

    patron: Id | None = Field(None, description="the state sponsoring it (patron edge)")
    enemy: Id = Field(description="the state its attacks are aimed at")
    autonomy: Fraction = Field(0.3, description="chance scale of acting outside the patron's restraint")
    loyalty: Fraction = Field(0.7, description="weight given to the patron's orders")
    revenge: Fraction = Field(0.0, description="initial urge for revenge (0-1)")
    capability: Fraction = Field(0.5, description="operational capability: attack rate scale")
    deniability: Fraction = Field(0.5, description="how hard its attacks are to pin on the patron")
    reach: list[Id] = Field(default_factory=list, max_length=MAX_IDS, description="sites it can attack (reach edges)")


class SiteConfig(Strict):
    """A place that can be struck (MODEL.md §4)."""

    kind: Literal[SITE_KINDS] = Field(  # type: ignore[valid-type]
        description="what the site is (MODEL.md §4): it restricts which actions can hit it"
    )
    label: str = Field("", max_length=80, description="human-readable name")
    host: Id | None = Field(None, description="state on whose soil the site lies (host edge)")
    owner: Id | None = Field(None, description="actor that owns the site (hurt when it is hit)")
    present: list[Id] = Field(
        default_factory=list, max_length=MAX_IDS, description="actors with people at the site (presence edges)"
    )
    exposed: StrictBool = Field(False, description="an exposed post: closed when the states present consolidate")
    population: StrictFloat = Field(0.0, ge=0.0, le=1.0, description="civilian exposure: share of casualties civilian")


class ChannelConfig(Strict):
    """A diplomatic back-channel between two actors (channel edge)."""

    between: tuple[Id, Id] = Field(description="the two states it links")
    via: Id | None = Field(None, description="the state that carries it, if any (a mediator, e.g. Iraq's PM)")
    open: StrictBool = Field(True, description="whether the channel can carry messages")
    effectiveness: Fraction = Field(0.5, description="talk progress per session it carries, relative")
    passes_warnings: StrictBool = Field(False, description="whether strike warnings can travel through it")


def screened(low: float, high: float, source: str) -> dict[str, object]:
    """`json_schema_extra` of a field whose validation range is wider than any value worth exploring:
    the range a screening explores (`abm sensitivity --param-block`) and where it comes from. A
    numeric field without it is screened over its (ge, le) range."""
    return {"screen": (low, high), "screen_source": source}


CALIBRATION_BOX = "the global calibration's box (experiments/calibration/calibration.yaml)"
AROUND_BASELINE = "judgement around the baseline value, not calibrated"


class WorldConfig(Strict):
    """Global rates and the uncertain parameters of MODEL.md §8.

    The validation ranges here are wide (most are 0-1); `screen` gives the narrower range a
    screening explores: the global calibration's box for the five calibrated rates
    (experiments/calibration/calibration.yaml), judgement around the baseline value for the
    others. `war_death_threshold` is the definition of a war (an outcome rule), never screened.
    The constants inside the agents' rules are the `behaviour:` block (abm/config/behaviour.py).
    """

    choice_temperature: StrictFloat = Field(
        0.34,
        ge=0.0,
        le=5.0,
        description="logit choice temperature relative to the stakes (misperception)",
        json_schema_extra=screened(0.1, 0.5, CALIBRATION_BOX),
    )
    belief_noise: Fraction = Field(
        0.15,
        description="noise on Bayesian belief updates (misperception)",
        json_schema_extra=screened(0.0, 0.5, AROUND_BASELINE),
    )
    casualty_dispersion: StrictFloat = Field(
        0.8,
        ge=0.0,
        le=3.0,
        description="log-scale sd of deaths per lethal hit",
        json_schema_extra=screened(0.4, 1.2, AROUND_BASELINE),
    )
    hubris_rate: Fraction = Field(
        0.4,
        description="risk appetite gained per unanswered rung-7 gamble",
        json_schema_extra=screened(0.1, 0.4, CALIBRATION_BOX),
    )
    hubris_decay: Fraction = Field(
        0.03,
        description="daily decay of gained risk appetite toward its base",
        json_schema_extra=screened(0.01, 0.1, AROUND_BASELINE),
    )
    accident_rate: Fraction = Field(
        0.0015,
        description="daily probability of an accident per state at alert 3",
        json_schema_extra=screened(0.0005, 0.005, AROUND_BASELINE),
    )
    attribution_probability: Fraction = Field(
        0.29,
        description="probability a proxy attack is pinned on the patron (before deniability)",
        json_schema_extra=screened(0.2, 0.6, CALIBRATION_BOX),
    )
    mediator_effectiveness: Fraction = Field(
        0.5,
        description="scale on talk progress and mediated cooling",
        json_schema_extra=screened(0.2, 0.8, AROUND_BASELINE),
    )
    successor_delay_days: StrictInt = Field(
        7,
        ge=0,
        le=365,
        description="days before a killed commander is replaced",
        json_schema_extra=screened(1, 30, "experiments/uncertainty_lhs.yaml"),
    )
    face_decay: Fraction = Field(
        0.077, description="daily decay of open face deficits", json_schema_extra=screened(0.02, 0.08, CALIBRATION_BOX)
    )
    revenge_decay: Fraction = Field(
        0.02, description="daily decay of militia revenge", json_schema_extra=screened(0.005, 0.05, AROUND_BASELINE)
    )
    militia_attack_rate: Fraction = Field(
        0.072,
        description="daily attack hazard of a fully autonomous, fully vengeful militia at capability 1",
        json_schema_extra=screened(0.04, 0.14, CALIBRATION_BOX),
    )
    strain_rate: Fraction = Field(
        0.01,
        description="daily growth of economic strain per unit sanctions level",
        json_schema_extra=screened(0.0, 0.03, AROUND_BASELINE),
    )
    nuclear_step_rate: Fraction = Field(
        0.02,
        description="daily hazard of a nuclear step under full pressure",
        json_schema_extra=screened(0.005, 0.05, AROUND_BASELINE),
    )
    preventive_threshold: Fraction = Field(
        0.7,
        description="an adversary's nuclear progress above which a state weighs a preventive strike",
        json_schema_extra=screened(0.5, 0.9, AROUND_BASELINE),
    )
    talk_rate: Fraction = Field(
        0.06,
        description="daily chance of a negotiation session when conditions hold",
        json_schema_extra=screened(0.02, 0.15, AROUND_BASELINE),
    )
    quiet_days_for_talks: StrictInt = Field(
        14,
        ge=0,
        le=365,
        description="days without action above rung 2 by either side before talks",
        json_schema_extra=screened(7, 30, AROUND_BASELINE),
    )
    war_death_threshold: StrictInt = Field(
        1000,
        ge=1,
        le=10**7,
        description="battle deaths that make a war (COW rule)",
        json_schema_extra={"screen": None},  # a definition of the outcome, not an uncertainty
    )
    # -- the decision rule (MODEL.md §6; abm/model/decision.py). Modelling choices, not fitted: docs/ODD.md
    response_floor: StrictFloat = Field(
        0.5,
        ge=0.0,
        le=2.0,
        description="how hard a chooser expects an adversary it believes surely limited in aims to answer, "
        "relative to one surely unlimited (which answers at 1 + this): unitless",
        json_schema_extra=screened(0.25, 1.0, AROUND_BASELINE),
    )
    war_cost: StrictFloat = Field(
        120.0,
        ge=0.0,
        le=10_000.0,
        description="cost of a war to the chooser, in face units (2 x a war-level deficit)",
        json_schema_extra=screened(60, 240, AROUND_BASELINE),
    )
    unlimited_war: Fraction = Field(
        0.5,
        description="chance a chooser gives to a war the adversary starts anyway, per unit of its belief that the "
        "adversary's aims are unlimited: war it expects regardless costs an act nothing (preemption; mechanism 13)",
        json_schema_extra=screened(0.0, 1.0, AROUND_BASELINE),
    )
    blood_unit: StrictFloat = Field(
        6.0,
        ge=0.0,
        le=100.0,
        description="domestic pressure that only force clears, in face units per log-unit of own people killed "
        "and not yet answered (times the doctrine's blood weight; mechanism 2)",
        json_schema_extra=screened(2, 12, AROUND_BASELINE),
    )
    audience_build_days: StrictInt = Field(
        7,
        ge=1,
        le=365,
        description="days of inaction after a breached commitment until its audience cost is full",
        json_schema_extra=screened(3, 21, AROUND_BASELINE),
    )
    credibility_loss: Fraction = Field(
        0.3,
        description="share of a state's credibility lost each time a breach of its commitment goes unanswered",
        json_schema_extra=screened(0.1, 0.5, AROUND_BASELINE),
    )
    min_deficit: StrictFloat = Field(
        1.0,
        ge=0.0,
        le=60.0,
        description="open deficit (face units) below which a state takes no decision about it",
        json_schema_extra=screened(0.5, 2, AROUND_BASELINE),
    )
    deniable_visibility: Fraction = Field(
        0.5,
        description="share of an acknowledged act's face value that a deniable or proxy act restores",
        json_schema_extra=screened(0.25, 0.75, AROUND_BASELINE),
    )
    proxy_risk: Fraction = Field(
        0.5,
        description="expected answer to a deniable or proxy act, relative to an acknowledged one",
        json_schema_extra=screened(0.25, 0.75, AROUND_BASELINE),
    )
    climb_down: StrictFloat = Field(
        10.0,
        ge=0.0,
        le=60.0,
        description="face a public conciliatory act gives up at home even with no grievance open (face units, "
        "times the state's audience cost): the price of looking weak",
        json_schema_extra=screened(5, 20, AROUND_BASELINE),
    )
    relief_step: Fraction = Field(
        0.25,
        description="share of its sanctions a state lifts by easing them once",
        json_schema_extra=screened(0.1, 0.5, AROUND_BASELINE),
    )
    restraint_step: Fraction = Field(
        0.5,
        description="share of the gap to full restraint a restraint order to proxies closes",
        json_schema_extra=screened(0.25, 0.75, AROUND_BASELINE),
    )
    alert_after_acting: StrictInt = Field(
        10,
        ge=0,
        le=365,
        description="days at maximum alert after ordering or taking a violent act",
        json_schema_extra=screened(5, 20, AROUND_BASELINE),
    )
    alert_after_hit: StrictInt = Field(
        7,
        ge=0,
        le=365,
        description="days at maximum alert after a serious blow",
        json_schema_extra=screened(3, 14, AROUND_BASELINE),
    )
    serious_blow: StrictFloat = Field(
        10.0,
        ge=0.0,
        le=60.0,
        description="grievance (face units) that puts a state on maximum alert",
        json_schema_extra=screened(5, 20, AROUND_BASELINE),
    )
    alert_step_down_days: StrictInt = Field(
        7,
        ge=1,
        le=365,
        description="days per alert level when standing down",
        json_schema_extra=screened(3, 14, AROUND_BASELINE),
    )
    gamble_window_days: StrictInt = Field(
        10,
        ge=1,
        le=365,
        description="days an adversary has to answer an escalatory gamble before it emboldens",
        json_schema_extra=screened(5, 20, AROUND_BASELINE),
    )


class MechanismsConfig(Strict):
    """Switches for the 14 mechanisms of MODEL.md §6 (ablation: false removes one)."""

    reciprocity: StrictBool = True
    lethality_threshold: StrictBool = True
    costly_signals: StrictBool = True
    face_saving: StrictBool = True
    attribution: StrictBool = True
    principal_agent: StrictBool = True
    accidents: StrictBool = True
    hubris: StrictBool = True
    pain_threshold: StrictBool = True
    nuclear_hedging: StrictBool = True
    host_pressure: StrictBool = True
    contagion: StrictBool = True
    misperception: StrictBool = True
    commitment: StrictBool = True


class ObservedEvent(Strict):
    """An event imposed on the run on its day: a scenario's trigger, or a hindcast's record."""

    day: StrictInt = Field(ge=0, le=3650, description="day of the event (0 = scenario start)")
    actor: Id = Field(description="the agent that acted (state, commander or militia)")
    action: Id = Field(description="an action name from the action table (abm/model/actions.py)")
    target: Id | None = Field(None, description="the agent targeted (for killings and talks)")
    site: Id | None = Field(None, description="the site struck")
    deaths: StrictInt = Field(0, ge=0, le=10**7, description="all deaths (civilians by the site's population share)")
    warned: StrictBool = Field(False, description="whether the strike was warned in advance")
    killed: list[Id] = Field(default_factory=list, max_length=MAX_IDS, description="commanders killed by it")

    @field_validator("killed")
    @classmethod
    def _killed_once(cls, value: list[str]) -> list[str]:
        return listed_once(value, "; allowed: each commander once")


class Scenario(Strict):
    """A whole scenario: actors, sites, channels, levers, uncertainties and history."""

    name: Id = Field(description="short name, used in result folder names")
    description: str = Field("", max_length=4000)
    start_date: dt.date = Field(dt.date(2020, 1, 3), description="calendar date of day 0")
    horizon_days: StrictInt = Field(180, ge=31, le=3650, description="days simulated (outcome rules need >= 31)")
    states: dict[Id, StateConfig] = Field(
        min_length=1, max_length=MAX_IDS, description="every state by id, each with its traits and capabilities"
    )
    commanders: dict[Id, CommanderConfig] = Field(default_factory=dict)
    militias: dict[Id, MilitiaConfig] = Field(default_factory=dict)
    sites: dict[Id, SiteConfig] = Field(default_factory=dict)
    channels: dict[Id, ChannelConfig] = Field(default_factory=dict)
    alliances: list[tuple[Id, Id]] = Field(default_factory=list, description="alliance edges")
    world: WorldConfig = Field(default_factory=WorldConfig)
    behaviour: BehaviourConfig = Field(
        default_factory=BehaviourConfig, description="the constants of the agents' rules (abm/config/behaviour.py)"
    )
    mechanisms: MechanismsConfig = Field(default_factory=MechanismsConfig)
    history: list[ObservedEvent] = Field(default_factory=list, description="events imposed on their day")
    free_from_day: StrictInt = Field(1, ge=0, le=3650, description="first day on which agents choose freely")

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        """Every id a block names must exist: a typo is an error, not a silent no-op."""
        actors = {*self.states, *self.commanders, *self.militias}
        duplicated = (
            (set(self.states) & set(self.militias))
            | (set(self.commanders) & (set(self.states) | set(self.militias)))
            | (set(self.sites) & actors)  # sites and actors are nodes of one network (MODEL.md §4)
        )
        if duplicated:
            raise ValueError(f"ids used twice (actors and sites share one network): {sorted(duplicated)}")
        sites = set(self.sites)
        refs: list[tuple[str, str | None, set[str], str]] = []
        states = set(self.states)
        for sid, st in self.states.items():
            refs += [(f"states.{sid}.reach", s, sites, "site") for s in st.reach]
            refs.append((f"states.{sid}.adversary", st.adversary, states, "state"))
        for mid, m in self.militias.items():
            refs += [(f"militias.{mid}.reach", s, sites, "site") for s in m.reach]
            refs += [
                (f"militias.{mid}.patron", m.patron, set(self.states), "state"),
                (f"militias.{mid}.enemy", m.enemy, set(self.states), "state"),
            ]
        for cid, c in self.commanders.items():
            refs.append((f"commanders.{cid}.side", c.side, {*self.states, *self.militias}, "state or militia"))
            refs += [(f"commanders.{cid}.commands", f, {*self.states, *self.militias}, "force") for f in c.commands]
        for sid, s in self.sites.items():
            refs += [
                (f"sites.{sid}.host", s.host, set(self.states), "state"),
                (f"sites.{sid}.owner", s.owner, actors, "actor"),
            ]
            refs += [(f"sites.{sid}.present", a, actors, "actor") for a in s.present]
        for cid, ch in self.channels.items():
            refs += [(f"channels.{cid}.between", a, states, "state") for a in ch.between]
            refs.append((f"channels.{cid}.via", ch.via, states, "state"))
        for i, (a, b) in enumerate(self.alliances):
            refs += [(f"alliances.{i}", a, set(self.states), "state"), (f"alliances.{i}", b, set(self.states), "state")]
        for i, ev in enumerate(self.history):
            refs += [
                (f"history.{i}.actor", ev.actor, actors, "actor"),
                (f"history.{i}.target", ev.target, actors, "actor"),
                (f"history.{i}.site", ev.site, sites, "site"),
            ]
            refs += [(f"history.{i}.killed", k, set(self.commanders), "commander") for k in ev.killed]
            refs.append((f"history.{i}.action", ev.action, set(ACTION_NAMES), "action"))
            if ev.day >= self.horizon_days:
                raise ValueError(f"history.{i}.day: {ev.day} is not before horizon_days={self.horizon_days}")
        for key, value, allowed, kind in refs:
            if value is not None and value not in allowed:
                raise ValueError(f"{key}: unknown {kind} {value!r}; known: {', '.join(sorted(allowed))}")
        check_edges(self)
        if self.free_from_day > self.horizon_days + 1:
            raise ValueError(
                f"free_from_day: {self.free_from_day} is after horizon_days={self.horizon_days}; allowed: "
                f"0..{self.horizon_days + 1} ({self.horizon_days + 1}: agents never choose, only the history happens)"
            )
        for i, ev in enumerate(self.history):
            check_event(self, f"history.{i}", ev)
        return self
