"""States (MODEL.md §3): each day they decay grievances, manage alert, answer, pursue policy.

`step()` is a short sequence of verbs; the numbers behind each verb are pure rules in
`abm.model.rules`. One class serves every state: what a state pursues besides its answers
(sanctions and talks, nuclear hedging, host politics, posture, entry) follows from its traits
and its place in the network (`abm.model.agents.policies`), never from its id.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Container
from typing import TYPE_CHECKING, NamedTuple

from abm.config.schema import StateConfig
from abm.model import decision as rule
from abm.model.actions import BY_NAME, Action
from abm.model.agents.base import CrisisAgent
from abm.model.agents.policies import Bargaining, Bystander, HostPolitics, Posture
from abm.model.deescalation import BONUS, CONCEDES
from abm.model.rules import FACE_CAP, logit_choice
from abm.model.streams import Draw

if TYPE_CHECKING:
    from abm.model.model import CrisisModel

ALERT_MAX = 3  # the alert scale's top (schema `alert`: 0..3)
# The logit temperature's unit: the face severity of a rocket attack (the smallest violent act).
CHOICE_SCALE = BY_NAME["militia_rocket_attack"].severity
EVERY_DAY = range(sys.maxsize)  # the days a daily policy acts on


class Option(NamedTuple):
    action: Action | None  # None = wait
    utility: float
    gain: float
    via_proxy: bool = False


class Candidate(NamedTuple):
    """A feasible act against one target, with the parts of its score that are fixed for a run."""

    action: Action
    via_proxy: bool
    value: float  # face it restores: severity x visibility x resolve
    kill: float  # chance it kills some of the target's people, as the chooser foresees it
    war_chance: float  # decision.WAR_CHANCE of its rung
    dampen: float  # world.proxy_risk for a deniable or proxy act (the answer comes weaker), else 1
    violent: bool  # action.violent, read once


class StateAgent(Bargaining, HostPolitics, Posture, Bystander, CrisisAgent):
    """A state: grievances (face deficits) toward others, beliefs about their aims, commitments, posture."""

    kind = "state"

    def __init__(self, model: CrisisModel, actor_id: str, cfg: StateConfig) -> None:
        super().__init__(model, actor_id)
        self.resolve = cfg.resolve
        self.pain_threshold = cfg.pain_threshold
        self.caution = cfg.caution
        self.audience_cost = cfg.audience_cost
        self.base_appetite = self.risk_appetite = cfg.risk_appetite
        self.prior_unlimited = cfg.belief_unlimited
        self.base_alert = self.alert = cfg.alert
        self.strain = cfg.strain
        self.deliberation_rate = cfg.deliberation_rate  # sets the days it deliberates on (see the property)
        self.entry_hazard = cfg.entry_hazard
        self.adversary = cfg.adversary
        self.capabilities = frozenset(cfg.capabilities)
        self.engaged = cfg.engaged
        self.doctrine = cfg.doctrine
        self.commits = rule.DOCTRINES[cfg.doctrine]
        self.credibility = 1.0  # how far others believe its commitments (mechanism 14)
        self.advance_warning = cfg.advance_warning
        self.proxy_restraint = cfg.proxy_restraint
        self.init_bargaining(cfg)
        self.init_host(cfg)
        self.init_posture(cfg)
        self.face: dict[str, float] = {}
        self.blood: dict[str, int] = {}
        self.belief: dict[str, float] = {}
        self.owed: dict[str, float] = {}  # what it expects others to owe it for its own violent acts
        self.breach_day: dict[str, int] = {}  # open breaches of its commitment, by whom, since when
        self.threatened_at: set[str] = set()  # those its public threats were aimed at
        self.signalled: dict[tuple[str, str], int] = {}  # last day of each de-escalatory act, by (act, target)
        self.gambles: list[tuple[str, int, int]] = []
        self.alert_until = -1
        self.last_alert_change = 0
        self.entered = False
        world = model.world
        self._face_keep = 1.0 - world.face_decay  # world constants, read every day
        self._forget_below = world.min_deficit / self._face_keep  # what falls below the floor today is forgotten
        self._hubris_decay = world.hubris_decay
        self._min_intent = model.behaviour.grievance.min_intent  # read at every de-escalatory option
        self._signals = model.mechanisms.costly_signals
        self._tolerance = world.war_cost * self.pain_threshold

    @property
    def deliberation_rate(self) -> float:
        """Daily chance of taking a decision (a bystander's rises once it enters)."""
        return self._deliberation_rate

    @deliberation_rate.setter
    def deliberation_rate(self, rate: float) -> None:
        # It deliberates on the days its fixed DELIBERATE draw falls below the rate (`chance_days`):
        # read once per rate instead of drawing every day it has a matter open.
        self._deliberation_rate = rate
        self._deliberation_days = self.chance_days(Draw.DELIBERATE, rate)

    def take_roles(self) -> None:
        """Read this state's roles off the network once every agent exists (see `policies`)."""
        self.bargaining_roles()
        self.host_roles()
        self.posture_roles()
        # The policies its roles give it, in a fixed order, each with the only days it can do
        # anything on (`chance_days`: on the others its fixed draw is too high whatever the chance
        # turns out to be); a state with none skips the lot.
        policies: list[tuple[object, Callable[[], None], Container[int]]] = [
            (self.hosts, self.consolidate_posture, EVERY_DAY),
            (self._hedge_days, self.hedge, self._hedge_days),
            (self._talk_days, self.seek_talks, self._talk_days),
            (self.guests, self.host_politics, self._vote_days),
            (self.mediates, self.mediate, EVERY_DAY),
        ]
        self._policies = tuple((verb, days) for role, verb, days in policies if role)

    # -- the daily sequence -------------------------------------------------------------
    def step(self) -> None:
        self.decay()
        m = self.model
        if not m.free:
            return
        if self.orders:
            self.execute_due()
        day, alert = m.day, self.alert
        if alert > self.base_alert or day < self.alert_until or alert >= ALERT_MAX:
            self.manage_alert()  # at rest nothing moves: skipping the call keeps quiet days cheap
        if self.gambles:
            self.check_gambles()
        if (self.face or self.owed) and day in self._deliberation_days:  # its fixed draw below its rate
            self.decide()
        for policy, days in self._policies:
            if day in days:
                policy()

    def decay(self) -> None:
        """Grievances and what it expects to be owed fade; gained risk appetite returns to its base (mechanism 8)."""
        keep = self._face_keep
        floor = self._forget_below  # what falls below the floor today: forgotten, too small to decide about
        if self.face:
            self.face = {o: v * keep for o, v in self.face.items() if v >= floor}
        if self.owed:
            self.owed = {o: v * keep for o, v in self.owed.items() if v >= floor}
        if self.breach_day:
            self.expire_breaches()
        if self.risk_appetite != self.base_appetite:
            self.risk_appetite += (self.base_appetite - self.risk_appetite) * self._hubris_decay
        if self.sanctioners:
            self.feel_strain()
        if self.guests:
            self.cool_grievance()

    def expire_breaches(self) -> None:
        """A breach whose grievance has faded unanswered costs credibility (mechanism 14)."""
        for other in [o for o in self.breach_day if o not in self.face]:
            self.breach_unanswered(other)

    def honour(self, other: str) -> None:
        """A breach answered with force: the commitment is kept, and believed again (mechanism 14)."""
        if self.breach_day.pop(other, None) is not None:
            self.credibility = 1.0

    def breach_unanswered(self, other: str) -> None:
        del self.breach_day[other]
        if self.model.mechanisms.commitment:
            self.credibility *= 1.0 - self.model.world.credibility_loss

    def manage_alert(self) -> None:
        """Maximum alert while expecting a blow, stepping down after; accidents at the top (mechanism 7)."""
        m = self.model
        if self.alert <= self.base_alert and m.day >= self.alert_until and self.alert < ALERT_MAX:
            return  # at rest: nothing to raise, nothing to lower, no accident risk below maximum alert
        if m.day < self.alert_until:
            if self.alert < ALERT_MAX:
                self.alert = ALERT_MAX
                self.last_alert_change = m.day
                m.record_posture(self, "raise_alert")
        elif self.alert > self.base_alert and m.day - self.last_alert_change >= m.world.alert_step_down_days:
            self.alert -= 1
            self.last_alert_change = m.day
        if self.alert >= ALERT_MAX and m.mechanisms.accidents and self.draw(Draw.ACCIDENT) < m.world.accident_rate:
            m.accident(self)

    def check_gambles(self) -> None:
        """An escalatory gamble left unanswered emboldens the gambler (mechanism 8, hubris)."""
        m = self.model
        still_open = []
        for victim, day, rung in self.gambles:
            if m.answered_since(victim, self.actor_id, day):
                continue
            if m.day - day < m.world.gamble_window_days:
                still_open.append((victim, day, rung))
            elif m.mechanisms.hubris:
                self.risk_appetite = min(1.0, self.risk_appetite + m.world.hubris_rate * (rung - 5) / 2)
        self.gambles = still_open

    def decide(self) -> None:
        """Deal with the matter that presses most: score every feasible act, waiting included, and choose (§6).

        Called by `step` on a deliberation day only (its DELIBERATE draw below its rate)."""
        m = self.model
        target = self.focus()
        if target is None or m.pending_against(self.actor_id, target):
            return
        deescalations = m.deescalations_for(self, target)
        if not deescalations and (self.face.get(target, 0.0) < m.world.min_deficit or not m.options_for(self, target)):
            return  # nothing to choose but waiting: a debt with every signal sent, or no act against the grievance
        options = self.options(target, deescalations)
        if len(options) == 1:
            return  # waiting is the only option: the choice's draw is a fixed cell, so skipping it changes nothing
        temperature = m.world.choice_temperature * CHOICE_SCALE if m.mechanisms.misperception else 0.0
        pick = options[logit_choice([o.utility for o in options], temperature, self.draw(Draw.CHOOSE))]
        if pick.action is None:
            return
        if pick.action.signal is not None:
            m.deescalate(self, pick.action, target)
            return
        self.face[target] = max(0.0, self.face.get(target, 0.0) - pick.gain)
        m.order(self, pick.action, target, pick.via_proxy)

    def focus(self) -> str | None:
        """The other state (or militia) it most needs to deal with: the largest grievance or debt."""
        floor = self.model.world.min_deficit
        best, size = None, floor
        for book in (self.face, self.owed):
            for other, amount in book.items():
                if amount >= size:
                    best, size = other, amount
        return best

    # -- choosing -------------------------------------------------------------------------
    def fights(self) -> bool:
        """A party to the crisis may use force; a bystander only once it has entered or fears a bomb (§6.10, §6.12)."""
        return self.engaged or self.entered or self.model.preventive_urge(self) > 0.0

    def inaction(self, target: str) -> float:
        """Audience cost today of leaving `target`'s breach of its commitment unanswered (mechanisms 2, 14)."""
        m = self.model
        since = self.breach_day.get(target)
        if since is None or not m.mechanisms.commitment:
            return 0.0
        commitment = max(self.commits.commitment, 1.0 if target in self.threatened_at else 0.0)
        world = m.world
        deficit = self.face.get(target, 0.0)
        return rule.inaction_cost(
            self.audience_cost, commitment, deficit, m.day - since, world.audience_build_days, CHOICE_SCALE
        )

    def options(self, target: str, deescalations: list[Action] | None = None) -> list[Option]:
        """Wait, a hostile act, or a de-escalatory act, each scored by `decision` (MODEL.md §6).

        Hostile acts are open when a grievance is; force clears the blood owed and meets a
        breached commitment, every other choice pays the day's audience cost of leaving it open.
        """
        m = self.model
        world = m.world
        deficit = self.face.get(target, 0.0)
        belief = self.belief.get(target, self.prior_unlimited)
        weight = self.caution * (1.0 - self.risk_appetite)
        inaction = self.inaction(target)
        out = [Option(None, -inaction, 0.0)]
        if deficit >= world.min_deficit:
            blood = 0.0
            if m.mechanisms.lethality_threshold:
                blood = rule.blood_pressure(self.blood.get(target, 0), self.commits.blood_weight, world.blood_unit)
            fights = self.fights()
            face_saving = m.mechanisms.face_saving
            audience = 1.0 + self.audience_cost
            deterrence = m.red_line(target)
            war_anyway = rule.war_expected(belief, world.unlimited_war) if m.mechanisms.misperception else 0.0
            floor, war_cost, tolerance = world.response_floor, world.war_cost, self._tolerance
            for c in m.options_for(self, target):
                if c.violent and not fights:
                    continue
                action = c.action
                gain = min(c.value, deficit) if face_saving else c.value
                provoke = rule.provocation(belief, 1.0 + deterrence * c.kill, floor)
                answer = rule.expected_answer(
                    action.severity, provoke, c.war_chance, war_cost, c.dampen, weight, war_anyway
                )
                utility = audience * gain - rule.beyond_tolerance(answer, tolerance)
                utility += blood if c.violent else -inaction
                out.append(Option(action, utility, gain, c.via_proxy))
        for action in m.deescalations_for(self, target) if deescalations is None else deescalations:
            out.append(Option(action, self.deescalation_value(action, target, deficit, belief, weight) - inaction, 0.0))
        return out

    def deescalation_value(self, action: Action, target: str, deficit: float, belief: float, weight: float) -> float:
        """What a de-escalatory act is worth: the answer it heads off, less the climb-down it is at home.

        The chooser reads the adversary's mind by its own: it expects the signal to be read from
        its own belief about the adversary (mirror imaging; mechanism 13).
        """
        assert action.signal is not None
        m = self.model
        owed = self.owed.get(target, 0.0)
        value = rule.reassurance(owed, weight, belief, action.signal, self._min_intent) if self._signals else 0.0
        if not action.deniable:
            climb_down = m.world.climb_down if action.name in CONCEDES else 0.0
            value -= rule.backing_down(self.audience_cost, deficit, climb_down)
        return value + BONUS[action.name](m, self, owed, weight)

    def candidate(self, action: Action, via_proxy: bool, target: str) -> Candidate:
        """Score parts of one feasible act that stay fixed while the layout does (cached by the model)."""
        m = self.model
        world = m.world
        covert = action.deniable or via_proxy
        value = action.severity * (world.deniable_visibility if covert else 1.0) * self.resolve
        war_chance = rule.WAR_CHANCE.get(action.rung or 0, 0.0)
        kill = m.kill_chance(self, action, target)
        return Candidate(
            action, via_proxy, value, kill, war_chance, world.proxy_risk if covert else 1.0, action.violent
        )

    # -- being hit ------------------------------------------------------------------------
    def aggrieved(self, blame: str, amount: float, deaths: int, violent: bool = False, own: bool = True) -> None:
        """Add a face deficit toward `blame` (mechanism 1), blood owed (mechanism 2), a breach (mechanism 14).

        A serious blow (a violent act's worth of grievance) puts forces on maximum alert. `own`:
        the state itself was hit (a share taken on for a hit ally is not read against its doctrine).
        """
        m = self.model
        world = m.world
        breached = own and rule.breaches(self.commits, violent, deaths, blame in self.threatened_at)
        if own and m.mechanisms.lethality_threshold:
            amount = rule.face_at_home(amount, self.commits, breached)
        self.face[blame] = min(FACE_CAP, self.face.get(blame, 0.0) + amount)
        if deaths:
            self.blood[blame] = self.blood.get(blame, 0) + deaths
        if breached and blame not in self.breach_day:
            self.breach_day[blame] = m.day
        if amount >= world.serious_blow:
            self.alert_until = max(self.alert_until, m.day + world.alert_after_hit)

    def acted(self, action: Action, victim: str, severity: float) -> None:
        """Bookkeeping after this state's own act: alert, debts, hubris gambles, commitments met or made."""
        m = self.model
        day = m.day
        if action.violent:
            self.alert_until = max(self.alert_until, day + m.world.alert_after_acting)
            self.blood.pop(victim, None)  # blood answered with force is paid: the red line resets
            self.honour(victim)
            self.owed[victim] = self.owed.get(victim, 0.0) + severity
            if (action.rung or 0) >= 6:
                self.gambles.append((victim, day, action.rung or 0))
        if action.name == "public_threat":
            self.threatened_at.add(victim)
        elif action.name == "new_sanctions":
            self.sanctioned()
