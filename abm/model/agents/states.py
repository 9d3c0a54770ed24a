"""States (MODEL.md §3): each day they decay grievances, manage alert, answer, pursue policy.

`step()` is a short sequence of verbs; the numbers behind each verb are pure rules in
`abm.model.rules`. Subclasses add what only one state does (US posture, Iranian hedging and
talks, Iraqi votes, third-party entry).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from abm.config.schema import IranConfig, IraqConfig, StateConfig, USConfig
from abm.model.actions import BY_NAME, Action
from abm.model.agents.base import CrisisAgent
from abm.model.rules import FACE_CAP, logit_choice, talk_willingness
from abm.model.streams import Draw

if TYPE_CHECKING:
    from abm.model.model import CrisisModel

ALERT_MAX = 3
ALERT_AFTER_ACTING = 10  # days at maximum alert after ordering or taking a violent action
ALERT_AFTER_HIT = 7
ENTRY_GRIEVANCE = 30.0  # grievance toward its adversary a third party takes on when it enters
WITHDRAWAL_DAYS = 14  # from an expulsion vote to closing exposed posts
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
NUCLEAR_STEP = 0.05  # progress per step away from the deal's limits (five steps May 2019 - Jan 2020)
BREAKOUT = 1.0  # nuclear progress at the breakout threshold (the scale's end: schema `nuclear_progress`)


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


class StateAgent(CrisisAgent):
    """A state: grievances (face deficits) toward others, beliefs about their aims, posture."""

    kind = "state"
    role = "third_party"

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
        self.face: dict[str, float] = {}
        self.blood: dict[str, int] = {}
        self.belief: dict[str, float] = {}
        self.gambles: list[tuple[str, int, int]] = []
        self.alert_until = -1
        self.last_alert_change = 0
        self.threatened = False
        self.entered = False
        self._face_keep = 1.0 - model.world.face_decay  # a world constant, read every day

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
        self.pursue_policy()

    def decay(self) -> None:
        """Grievances fade; gained risk appetite returns toward its base (mechanism 8)."""
        face = self.face
        if face:
            keep = self._face_keep
            for other in face:
                face[other] *= keep
        if self.risk_appetite != self.base_appetite:
            self.risk_appetite += (self.base_appetite - self.risk_appetite) * self.model.world.hubris_decay

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

    def pursue_policy(self) -> None:
        """What only some states do (sanctions, hedging, talks, votes): see subclasses."""

    # -- choosing -------------------------------------------------------------------------
    def kinetic_allowed(self, target: str, deficit: float) -> bool:
        """Third parties fight only once they have entered, or to stop a bomb (mechanisms 10, 12)."""
        return self.entered or self.model.preventive_urge(self) > 0.0

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


class USAgent(StateAgent):
    """The US: doctrine decides when force answers (mechanism 2); posture follows Iraq (11)."""

    role = "us"

    def __init__(self, model: CrisisModel, actor_id: str, cfg: USConfig) -> None:
        super().__init__(model, actor_id, cfg)
        self.doctrine = cfg.doctrine
        self.sanctions_level = cfg.sanctions_level
        self.demands = cfg.demands
        self.relief_offer = cfg.sanctions_relief_offer
        self.force_protection = cfg.force_protection
        self.posture = cfg.posture

    def kinetic_allowed(self, target: str, deficit: float) -> bool:
        """Lethal red line: force answers only attacks that killed Americans (mechanism 2)."""
        m = self.model
        if m.preventive_urge(self) > 0.0 and target == "iran":
            return True
        doctrine = self.doctrine if m.mechanisms.lethality_threshold else "proportional"
        if doctrine == "massive":
            return True
        if doctrine == "lethal_red_line":
            return self.blood.get(target, 0) > 0
        return deficit >= BY_NAME["militia_rocket_attack"].severity * 0.5

    def pursue_policy(self) -> None:
        if self.posture == "forward":
            self.consolidate_posture()

    def consolidate_posture(self) -> None:
        """After an expulsion vote the US thins its posture: exposed posts close (mechanism 11)."""
        m = self.model
        if self.posture != "forward" or m.iraq is None:
            return
        voted = m.iraq.vote_day
        if voted is not None and m.day >= voted + WITHDRAWAL_DAYS:
            self.posture = "consolidated"
            m.close_exposed_posts(self)

    def acted(self, action: Action, victim: str) -> None:
        super().acted(action, victim)
        if action.name == "new_sanctions":
            self.sanctions_level = min(1.0, self.sanctions_level + 0.05)


class IranAgent(StateAgent):
    """Iran: answers through its forces or its proxies, hedges on the nuclear file, talks."""

    role = "iran"

    def __init__(self, model: CrisisModel, actor_id: str, cfg: IranConfig) -> None:
        super().__init__(model, actor_id, cfg)
        self.advance_warning = cfg.advance_warning
        self.proxy_restraint = cfg.proxy_restraint
        self.nuclear_progress = cfg.nuclear_progress
        self.breakout_day: int | None = 0 if cfg.nuclear_progress >= BREAKOUT else None
        self.talk_progress = 0.0
        world = model.world
        # Pressure to hedge is at most 2 (sanctions + grievance <= 1, stiffened by strain <= 1).
        self._hedge_days = self.chance_days(Draw.NUCLEAR, 2.0 * world.nuclear_step_rate)
        self._talk_days = self.chance_days(Draw.TALK, world.talk_rate)

    def kinetic_allowed(self, target: str, deficit: float) -> bool:
        """Iran weighs every option; caution, not doctrine, keeps it from the top rungs."""
        return True

    def decay(self) -> None:
        super().decay()
        us = self.model.us
        if us is not None:
            self.strain += self.model.world.strain_rate * us.sanctions_level * (1.0 - self.strain)

    def pursue_policy(self) -> None:
        day = self.model.day
        if day in self._hedge_days:  # only these days can a step happen (chance_days)
            self.hedge()
        if day in self._talk_days:
            self.seek_talks()

    def hedge(self) -> None:
        """Under pressure, step away from the deal's limits (mechanism 10)."""
        m = self.model
        if not m.mechanisms.nuclear_hedging or self.nuclear_progress >= BREAKOUT:
            return
        sanctions = m.us.sanctions_level if m.us is not None else 0.0
        grievance = min(1.0, self.face.get("us", 0.0) / 30.0)
        pressure = 0.5 * sanctions + 0.5 * grievance
        if m.mechanisms.pain_threshold and self.strain < self.pain_threshold:
            pressure *= 1.0 + self.strain  # below the pain threshold strain stiffens resistance
        if self.draw(Draw.NUCLEAR) < m.world.nuclear_step_rate * pressure:
            self.nuclear_progress = min(BREAKOUT, self.nuclear_progress + NUCLEAR_STEP)
            m.record_policy(self, "nuclear_step", "us")
            if self.nuclear_progress >= BREAKOUT and self.breakout_day is None:
                self.breakout_day = m.day

    def seek_talks(self) -> None:
        """Talk through an open channel once both sides have been quiet for a while (mechanism 9)."""
        m = self.model
        channel = m.talks_channel
        if channel is None or self.draw(Draw.TALK) >= m.world.talk_rate or not m.quiet_for_talks():
            return
        us = m.us
        assert us is not None  # a talks channel exists only when both the US and Iran do
        will_iran = talk_willingness(
            us.demands, us.relief_offer, self.strain, self.pain_threshold, m.mechanisms.pain_threshold
        )
        will_us = max(0.0, 1.0 - us.face.get("iran", 0.0) / 30.0)
        self.talk_progress += channel * m.world.mediator_effectiveness * will_iran * will_us
        m.record_policy(self, "negotiate", "us")
        if self.talk_progress >= 1.0:
            m.sign_deal(us, self)


class IraqAgent(StateAgent):
    """Iraq: grievance over strikes on its soil, an expulsion vote, mediation (mechanism 11)."""

    role = "iraq"

    def __init__(self, model: CrisisModel, actor_id: str, cfg: IraqConfig) -> None:
        super().__init__(model, actor_id, cfg)
        self.mediation = cfg.mediation
        self.grievance = cfg.sovereignty_grievance
        self.grievance_at: dict[str, float] = {}  # the part of it owed to each striker (the expulsion's target)
        self.expulsion_threshold = cfg.expulsion_threshold
        self.sensitivity = cfg.sovereignty_sensitivity
        self.implementation_threshold = cfg.implementation_threshold
        self.vote_day: int | None = None  # parliament's (non-binding) vote to expel foreign troops
        self.expulsion_day: int | None = None  # the expulsion implemented: foreign forces leave

    def decay(self) -> None:
        super().decay()
        self.grievance *= 0.99
        for striker in self.grievance_at:
            self.grievance_at[striker] *= 0.99

    def respond(self) -> None:
        """Iraq strikes no one in this model; its weapons are votes and mediation."""

    def pursue_policy(self) -> None:
        if self.vote_day is None:
            self.vote()
        elif self.expulsion_day is None:
            self.implement_expulsion()
        self.mediate()

    def sovereignty_violated(self, severity: float, striker: str) -> None:
        if self.model.mechanisms.host_pressure:
            added = self.sensitivity * severity / FACE_CAP
            self.grievance = min(1.0, self.grievance + added)
            self.grievance_at[striker] = min(1.0, self.grievance_at.get(striker, 0.0) + added)

    def vote(self) -> None:
        """Past the threshold, parliament votes to expel foreign troops (some days it does not sit)."""
        if not self.model.mechanisms.host_pressure:
            return
        if self.draw(Draw.VOTE) < self.push(self.grievance, self.expulsion_threshold):
            self.vote_day = self.model.day
            self.model.record_policy(self, "expulsion_vote", "us")

    def implement_expulsion(self) -> None:
        """After the vote, a further step (mechanism 11): foreign forces are made to leave.

        It needs the grievance owed to the US's own strikes on Iraqi soil past a higher threshold,
        so more US strikes there make it likelier; mediation (Iraq's stake in keeping both sides
        talking) and the US closing exposed posts (which lowers the grievance) make it less likely.
        """
        m = self.model
        if not m.mechanisms.host_pressure or m.us is None:
            return
        owed = self.grievance_at.get(m.us.actor_id, 0.0)
        if self.draw(Draw.VOTE) < self.push(owed, self.implementation_threshold) * (1.0 - self.mediation):
            self.expulsion_day = m.day
            m.record_policy(self, "expel_forces", m.us.actor_id)
            m.expel_from_host(self, m.us)

    @staticmethod
    def push(grievance: float, threshold: float) -> float:
        """Daily chance that a grievance past `threshold` carries a step (half a day's sitting at most)."""
        excess = (grievance - threshold) / 0.2
        return 0.5 * min(1.0, excess) if excess > 0.0 else 0.0

    def mediate(self) -> None:
        """Messages passed through Baghdad cool US-Iranian grievances a little every day."""
        m = self.model
        if not m.iraqi_channel_open:
            return
        cool = 1.0 - 0.03 * self.mediation * m.world.mediator_effectiveness
        for state, b in ((m.us, "iran"), (m.iran, "us")):
            if state is not None and b in state.face:
                state.face[b] *= cool


class ThirdPartyAgent(StateAgent):
    """Israel, Saudi Arabia, the UAE: exposed, they may enter when hit (mechanism 12)."""

    role = "third_party"

    def hit_by(self, severity: float) -> None:
        m = self.model
        if self.entered or not m.mechanisms.contagion:
            return
        if self.draw(Draw.ENTRY) < self.entry_hazard * min(1.0, severity / BY_NAME["attack_city"].severity):
            self.entered = True
            self.deliberation_rate = min(1.0, self.deliberation_rate * 2.0)
            if self.adversary:  # entering means taking on the attacker's sponsor, not only the attacker
                self.face[self.adversary] = max(self.face.get(self.adversary, 0.0), ENTRY_GRIEVANCE)
