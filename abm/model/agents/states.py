"""States (MODEL.md §3): each day they decay grievances, manage alert, answer, pursue policy.

`step()` is a short sequence of verbs; the numbers behind each verb are pure rules in
`abm.model.rules`. One class serves every state: what a state pursues besides its answers
(sanctions and talks, nuclear hedging, host politics, posture, entry) follows from its traits
and its place in the network (`abm.model.agents.policies`), never from its id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from abm.config.schema import StateConfig
from abm.model.actions import BY_NAME, Action
from abm.model.agents.base import CrisisAgent
from abm.model.agents.policies import Bargaining, Bystander, HostPolitics, Posture
from abm.model.rules import FACE_CAP, logit_choice
from abm.model.streams import Draw

if TYPE_CHECKING:
    from abm.model.model import CrisisModel

ALERT_MAX = 3
ALERT_AFTER_ACTING = 10  # days at maximum alert after ordering or taking a violent action
ALERT_AFTER_HIT = 7
SERIOUS_BLOW = 10.0  # grievance that puts a state on maximum alert
ALERT_STEP_DOWN = 7  # days per level when standing down
MIN_DEFICIT = 1.0  # below this a grievance is not worth a decision
GAMBLE_WINDOW = 10  # days an adversary has to answer a gamble before it counts as unanswered
RED_LINE = {"proportional": 1.0, "lethal_red_line": 3.0, "massive": 4.0}  # weight of own deaths in retaliation
DENIABLE_VISIBILITY = 0.5  # a deniable act restores half the face of an acknowledged one
PROXY_RISK = 0.5  # expected retaliation for a proxy attack, relative to one's own
# Chance an act starts a war, by rung, before beliefs and red lines (the ladder is convex: mechanism 4).
WAR_CHANCE = {5: 0.02, 6: 0.05, 7: 0.12, 8: 0.35, 9: 1.0}
WAR_COST = 2.0 * FACE_CAP  # face-equivalent cost of a war, before caution
CHOICE_SCALE = 10.0  # utility unit of the logit temperature: the severity of a rocket attack


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
    lethality: float  # 1 + red line x chance of killing: how much more a deadly act provokes
    war_chance: float  # WAR_CHANCE of its rung
    dampen: float  # PROXY_RISK for a deniable or proxy act (the answer comes weaker), else 1


class StateAgent(Bargaining, HostPolitics, Posture, Bystander, CrisisAgent):
    """A state: grievances (face deficits) toward others, beliefs about their aims, posture."""

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
        self.deliberation_rate = cfg.deliberation_rate
        self.entry_hazard = cfg.entry_hazard
        self.adversary = cfg.adversary
        self.capabilities = frozenset(cfg.capabilities)
        self.engaged = cfg.engaged
        self.doctrine = cfg.doctrine
        self.advance_warning = cfg.advance_warning
        self.proxy_restraint = cfg.proxy_restraint
        self.init_bargaining(cfg)
        self.init_host(cfg)
        self.init_posture(cfg)
        self.face: dict[str, float] = {}
        self.blood: dict[str, int] = {}
        self.belief: dict[str, float] = {}
        self.gambles: list[tuple[str, int, int]] = []
        self.alert_until = -1
        self.last_alert_change = 0
        self.threatened = False
        self.entered = False
        self._face_keep = 1.0 - model.world.face_decay  # a world constant, read every day

    def take_roles(self) -> None:
        """Read this state's roles off the network once every agent exists (see `policies`)."""
        self.bargaining_roles()
        self.host_roles()
        self.posture_roles()
        # The policies its roles give it, in a fixed order; a state with none skips the lot.
        policies = [
            (self.hosts, self.consolidate_posture),
            (self._hedge_days, self.hedge_today),
            (self._talk_days, self.talk_today),
            (self.guests, self.host_politics),
            (self.mediates, self.mediate),
        ]
        self._policies = tuple(verb for role, verb in policies if role)

    # -- the daily sequence -------------------------------------------------------------
    def step(self) -> None:
        self.decay()
        m = self.model
        if not m.free:
            return
        if self.orders:
            self.execute_due()
        if self.alert > self.base_alert or m.day < self.alert_until or self.alert >= ALERT_MAX:
            self.manage_alert()  # at rest nothing moves: skipping the call keeps quiet days cheap
        if self.gambles:
            self.check_gambles()
        if self.face and max(self.face.values()) >= MIN_DEFICIT:
            self.respond()
        for policy in self._policies:
            policy()

    def decay(self) -> None:
        """Grievances fade; gained risk appetite returns toward its base (mechanism 8)."""
        face = self.face
        if face:
            keep = self._face_keep
            for other in face:
                face[other] *= keep
        if self.risk_appetite != self.base_appetite:
            self.risk_appetite += (self.base_appetite - self.risk_appetite) * self.model.world.hubris_decay
        if self.sanctioners:
            self.feel_strain()
        if self.guests:
            self.cool_grievance()

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
        elif self.alert > self.base_alert and m.day - self.last_alert_change >= ALERT_STEP_DOWN:
            self.alert -= 1
            self.last_alert_change = m.day
        if self.alert >= ALERT_MAX and m.mechanisms.accidents and self.draw(Draw.ACCIDENT) < m.world.accident_rate:
            m.accident(self)

    def check_gambles(self) -> None:
        """An escalatory gamble left unanswered emboldens the gambler (mechanism 8, hubris)."""
        if not self.gambles:
            return
        m = self.model
        still_open = []
        for victim, day, rung in self.gambles:
            if m.answered_since(victim, self.actor_id, day):
                continue
            if m.day - day < GAMBLE_WINDOW:
                still_open.append((victim, day, rung))
            elif m.mechanisms.hubris:
                self.risk_appetite = min(1.0, self.risk_appetite + m.world.hubris_rate * (rung - 5) / 2)
        self.gambles = still_open

    def respond(self) -> None:
        """Answer the largest open grievance: pick the smallest act that restores face (mechanism 4)."""
        face = self.face
        if not face:
            return
        target = max(face, key=face.__getitem__)
        deficit = face[target]
        if deficit < MIN_DEFICIT or self.draw(Draw.DELIBERATE) >= self.deliberation_rate:
            return  # a draw is a fixed cell, so testing the deficit first changes nothing but cost
        if self.model.pending_against(self.actor_id, target):
            return
        options = self.options(target, deficit)
        m = self.model
        temperature = m.world.choice_temperature * CHOICE_SCALE if m.mechanisms.misperception else 0.0
        pick = options[logit_choice([o.utility for o in options], temperature, self.draw(Draw.CHOOSE))]
        if pick.action is None:
            return
        self.face[target] = max(0.0, deficit - pick.gain)
        m.order(self, pick.action, target, pick.via_proxy)

    def hedge_today(self) -> None:
        if self.model.day in self._hedge_days:  # only these days can a step happen (chance_days)
            self.hedge()

    def talk_today(self) -> None:
        if self.model.day in self._talk_days:
            self.seek_talks()

    # -- choosing -------------------------------------------------------------------------
    def kinetic_allowed(self, target: str, deficit: float) -> bool:
        """Whether force is among today's options against `target` (mechanisms 2, 10, 12).

        A bystander fights only once it has entered, or to stop its adversary's bomb; a state
        without a declared doctrine weighs every option (caution keeps it from the top rungs);
        a declared doctrine says when force answers: `lethal_red_line` only after its people
        were killed, `proportional` once the deficit is worth half a rocket attack, `massive`
        always.
        """
        m = self.model
        urge = m.preventive_urge(self) > 0.0
        if not (self.engaged or self.entered):
            return urge
        if self.doctrine is None or (urge and target == self.adversary):
            return True
        doctrine = self.doctrine if m.mechanisms.lethality_threshold else "proportional"
        if doctrine == "massive":
            return True
        if doctrine == "lethal_red_line":
            return self.blood.get(target, 0) > 0
        return deficit >= BY_NAME["militia_rocket_attack"].severity * 0.5

    def options(self, target: str, deficit: float) -> list[Option]:
        """Wait, or any usable action with a feasible target, scored as face restored minus risk.

        Face restored counts (1 + audience cost) times: the deficit is felt at home. Risk is
        the expected answer in kind plus the chance of war times its cost, both weighted by
        caution net of risk appetite. Waiting scores 0, less the audience cost of a public
        threat left unfulfilled.
        """
        m = self.model
        wait = -self.audience_cost * CHOICE_SCALE if self.threatened else 0.0
        out = [Option(None, wait, 0.0)]
        kinetic_ok = self.kinetic_allowed(target, deficit)
        belief = self.belief.get(target, self.prior_unlimited)
        weight = self.caution * (1.0 - self.risk_appetite)
        tolerance = 2.0 * FACE_CAP * self.pain_threshold
        face_saving = m.mechanisms.face_saving
        audience = 1.0 + self.audience_cost
        for c in m.options_for(self, target):
            action = c.action
            if action.kinetic and not kinetic_ok:
                continue
            gain = min(c.value, deficit) if face_saving else c.value
            provocation = (0.5 + belief) * c.lethality
            war = min(1.0, c.war_chance * provocation)
            risk = weight * ((action.severity * provocation + war * WAR_COST) * c.dampen)
            if risk > tolerance:
                continue
            out.append(Option(action, audience * gain - risk, gain, c.via_proxy))
        return out

    def candidate(self, action: Action, via_proxy: bool, target: str) -> Candidate:
        """Score parts of one feasible act that stay fixed while the layout does (cached by the model)."""
        m = self.model
        covert = action.deniable or via_proxy
        value = action.severity * (DENIABLE_VISIBILITY if covert else 1.0) * self.resolve
        lethality = 1.0 + m.red_line(target) * m.kill_chance(self, action, target)
        war_chance = WAR_CHANCE.get(action.rung or 0, 0.0)
        return Candidate(action, via_proxy, value, lethality, war_chance, PROXY_RISK if covert else 1.0)

    # -- being hit ------------------------------------------------------------------------
    def aggrieved(self, blame: str, amount: float, deaths: int) -> None:
        """Add a face deficit toward `blame` (mechanism 1) and remember blood owed (mechanism 2).

        A serious blow (a violent act's worth of grievance) puts forces on maximum alert.
        """
        self.face[blame] = min(FACE_CAP, self.face.get(blame, 0.0) + amount)
        if deaths:
            self.blood[blame] = self.blood.get(blame, 0) + deaths
        if amount >= SERIOUS_BLOW:
            self.alert_until = max(self.alert_until, self.model.day + ALERT_AFTER_HIT)

    def acted(self, action: Action, victim: str) -> None:
        """Bookkeeping after this state's own act: alert, hubris gambles, public threats."""
        day = self.model.day
        if action.violent:
            self.alert_until = max(self.alert_until, day + ALERT_AFTER_ACTING)
            self.blood.pop(victim, None)  # blood answered with force is paid: the red line resets
            if (action.rung or 0) >= 6:
                self.gambles.append((victim, day, action.rung or 0))
        if action.name == "public_threat":
            self.threatened = True
        elif action.name == "new_sanctions":
            self.sanctioned()
