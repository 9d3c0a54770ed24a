"""What a state pursues besides answering grievances, each part switched on by its roles.

Roles come from the scenario's data and network, never from a state's id (MODEL.md §3, §4):
a state with a nuclear programme hedges; a state whose adversary states demands bargains with
it through an open channel; a state that hosts foreign forces has a sovereignty grievance, a
parliament that can vote to expel them and may implement it; a state that carries a channel
(`via`) mediates; a state with forces at exposed posts consolidates once its host voted; a
bystander (`engaged: false`) may enter when hit. `StateAgent.take_roles` reads them once the
whole network exists.

The classes here are mixins of `StateAgent` (one class for every state): they hold the state
that each role needs and the verbs that use it, so `states.py` keeps the daily sequence and the
decision rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from abm.model import bargaining
from abm.model.actions import BY_NAME
from abm.model.rules import FACE_CAP
from abm.model.streams import Draw

if TYPE_CHECKING:
    from abm.config.schema import StateConfig
    from abm.model.agents.states import StateAgent
    from abm.model.model import CrisisModel

BREAKOUT = 1.0  # nuclear progress at the breakout threshold (the scale's end: schema `nuclear_progress`)
# The other constants of these roles are `behaviour.*` parameters (abm/config/behaviour.py):
# `bargaining` (nuclear and sanctions steps), `host` (grievance decay, the parliament's steps,
# mediated cooling, withdrawal), `contagion` (a bystander's entry).


class Bargaining:
    """Economic pressure, nuclear hedging and talks (mechanisms 9 and 10)."""

    model: CrisisModel
    actor_id: str

    def init_bargaining(self: StateAgent, cfg: StateConfig) -> None:
        self.sanctions_level = cfg.sanctions_level
        self.demands = cfg.demands
        self.relief_offer = cfg.sanctions_relief_offer
        self.nuclear_progress = cfg.nuclear_progress
        has_programme = cfg.nuclear_progress is not None
        self.breakout_day: int | None = 0 if has_programme and cfg.nuclear_progress >= BREAKOUT else None
        self.talks_offered: int | None = None  # day it offered talks (signal_talks), if it did
        self.sanctioners: tuple[StateAgent, ...] = ()
        self.talks_with: StateAgent | None = None
        self.talks_channel: float | None = None
        self._hedge_days: frozenset[int] = frozenset()
        self._talk_days: frozenset[int] = frozenset()
        self._strain_rate = self.model.world.strain_rate  # read once: strain grows every day

    def bargaining_roles(self: StateAgent) -> None:
        """Who sanctions this state, and with whom it bargains (its adversary, if that one demands)."""
        m = self.model
        world = m.world
        # Those who can sanction it: its adversaries with sanctions in force or the means to add some.
        self.sanctioners = tuple(
            s
            for s in m.states.values()
            if s.adversary == self.actor_id
            and s is not self
            and (s.sanctions_level > 0 or "new_sanctions" in s.capabilities)
        )
        if self.nuclear_progress is not None:
            # Pressure to hedge is at most 1 (a weighted mean of two shares), doubled at most by strain (<= 1).
            self._hedge_days = self.chance_days(Draw.NUCLEAR, (1.0 + 1.0) * world.nuclear_step_rate)
        partner = m.states.get(self.adversary or "")
        if partner is not None and partner.demands is not None:
            self.talks_with = partner
            self.talks_channel = m.best_channel(self.actor_id, partner.actor_id)
            self._talk_days = self.chance_days(Draw.TALK, world.talk_rate)

    def pressure_on_me(self: StateAgent) -> float:
        """The breadth of the sanctions this state is under (the widest of its sanctioners')."""
        sanctioners = self.sanctioners
        if len(sanctioners) == 1:  # the usual case, read every day: the max of one level is that level
            return sanctioners[0].sanctions_level
        return max((s.sanctions_level for s in sanctioners), default=0.0)

    def feel_strain(self: StateAgent) -> None:
        """Sanctions wear the economy down, more slowly the more strained it already is (mechanism 9)."""
        self.strain += self._strain_rate * self.pressure_on_me() * (1.0 - self.strain)

    def hedge(self: StateAgent) -> None:
        """Under pressure, step away from the deal's limits (mechanism 10)."""
        m = self.model
        progress = self.nuclear_progress
        if progress is None or not m.mechanisms.nuclear_hedging or progress >= BREAKOUT:
            return
        b = m.behaviour.bargaining
        grievance = min(1.0, self.face.get(self.adversary or "", 0.0) / b.hedge_grievance_scale)
        weight = b.hedge_sanctions_weight
        pressure = weight * self.pressure_on_me() + (1.0 - weight) * grievance
        if m.mechanisms.pain_threshold and self.strain < self.pain_threshold:
            pressure *= 1.0 + self.strain  # below the pain threshold strain stiffens resistance
        if self.draw(Draw.NUCLEAR) < m.world.nuclear_step_rate * pressure:
            self.nuclear_progress = progress = min(BREAKOUT, progress + m.behaviour.bargaining.nuclear_step)
            m.record_policy(self, "nuclear_step", self.adversary or self.actor_id)
            if progress >= BREAKOUT and self.breakout_day is None:
                self.breakout_day = m.day

    def seek_talks(self: StateAgent) -> None:
        """A session through an open channel, once both sides have been quiet or one offered talks (mechanism 9).

        In a session the demander puts its terms (its demands, the share of sanctions it would
        lift); this state accepts when the deal is worth more to it than going on (`bargaining`).
        """
        m = self.model
        partner, channel = self.talks_with, self.talks_channel
        if partner is None or channel is None:
            return
        u = self.draw(Draw.TALK)
        if u >= m.world.talk_rate * channel * m.world.mediator_effectiveness * self.channel_mediation():
            return  # no session today: the channel, and the mediator carrying it, set how often one happens
        offered = any(
            s.talks_offered is not None and m.day - s.talks_offered <= m.world.quiet_days_for_talks
            for s in (self, partner)
        )
        if not (offered or m.quiet_for_talks(self.actor_id, partner.actor_id)):
            return
        assert partner.demands is not None
        m.record_policy(self, "negotiate", partner.actor_id)
        worth = self.deal_worth(partner)
        temperature = m.world.choice_temperature if m.mechanisms.misperception else 0.0
        if self.draw(Draw.ACCEPT) < bargaining.accept_chance(worth, temperature):
            m.sign_deal(partner, self, worth)

    def channel_mediation(self: StateAgent) -> float:
        """How much a mediator carrying the talks' channel puts into it (1 for a direct channel)."""
        via = self.model.channel_via(self.actor_id, self.talks_with.actor_id if self.talks_with else "")
        return self.model.states[via].mediation if via else 1.0

    def deal_worth(self: StateAgent, partner: StateAgent) -> float:
        """The partner's terms over going on, as this state sees them (`bargaining.surplus`)."""
        m = self.model
        assert partner.demands is not None
        return bargaining.surplus(
            demand=bargaining.DEMAND_SIZE[partner.demands],
            relief_share=partner.relief_offer,
            sanctions_level=partner.sanctions_level,
            strain=self.strain,
            pain_threshold=self.pain_threshold,
            pain=m.mechanisms.pain_threshold,
            resolve=self.resolve,
            belief_war=self.belief.get(partner.actor_id, self.prior_unlimited),
            war_fear=self.caution * (1.0 - self.risk_appetite),
            grievance=self.face.get(partner.actor_id, 0.0) / FACE_CAP,
        )

    def sanctioned(self: StateAgent) -> None:
        """A new round of sanctions widens this state's own sanctions on its adversary."""
        self.sanctions_level = min(1.0, self.sanctions_level + self.model.behaviour.bargaining.sanctions_step)


class HostPolitics:
    """A host state caught between (mechanism 11): grievance, a vote, an implemented expulsion."""

    model: CrisisModel
    actor_id: str

    def init_host(self: StateAgent, cfg: StateConfig) -> None:
        self.mediation = cfg.mediation
        self.grievance = cfg.sovereignty_grievance
        self.grievance_at: dict[str, float] = {}  # the part of it owed to each striker (the expulsion's target)
        self.expulsion_threshold = cfg.expulsion_threshold
        self.implementation_threshold = cfg.implementation_threshold
        self.sensitivity = cfg.sovereignty_sensitivity
        self.guests: tuple[str, ...] = ()  # foreign states with forces on its soil
        self.vote_day: int | None = None  # parliament's (non-binding) vote to expel foreign troops
        self.expulsion_day: int | None = None  # the expulsion implemented: foreign forces leave
        self.mediates: tuple[tuple[str, str], ...] = ()  # the ends of the open channels it carries
        b = self.model.behaviour.host  # read once: cooling, votes and mediation run daily
        self._grievance_keep = 1.0 - b.grievance_decay
        self._vote = (b.vote_ramp, b.vote_ceiling)
        self._cooling = b.mediated_cooling
        # Days parliament can take a step at all: a vote's chance never exceeds the ceiling
        # (`parliament_step`), an expulsion's never exceeds the ceiling x (1 - mediation), so on
        # the other days the VOTE draw settles it without working the chance out (`chance_days`).
        self._vote_days: frozenset[int] = frozenset()
        self._expel_days: frozenset[int] = frozenset()
        # What `mediate` does each day, read once: the cooling factor (all constants) and the
        # (state, the other end) pairs whose grievances it cools.
        self._cool = 1.0
        self._cooled: tuple[tuple[StateAgent, str], ...] = ()

    def host_roles(self: StateAgent) -> None:
        m = self.model
        me = self.actor_id
        on_soil = [site for site, host in m.topo.host.items() if host == me]
        self.guests = tuple(sorted({a for s in on_soil for a in m.present[s] if a in m.states and a != me}))
        self.mediates = tuple(
            (a, b) for (a, b, is_open, _, _, via) in m.topo.channels.values() if is_open and via == me
        )
        if self.guests:
            self._vote_days = self.chance_days(Draw.VOTE, self._vote[1])
            self._expel_days = self.chance_days(Draw.VOTE, self._vote[1] * (1.0 - self.mediation))
        if self.mediates:
            self._cool = 1.0 - self._cooling * self.mediation * m.world.mediator_effectiveness
            self._cooled = tuple(pair for a, b in self.mediates for pair in ((m.states[a], b), (m.states[b], a)))

    def cool_grievance(self: StateAgent) -> None:
        keep = self._grievance_keep
        self.grievance *= keep
        owed_to = self.grievance_at
        for striker, grievance in owed_to.items():
            owed_to[striker] = grievance * keep

    def sovereignty_violated(self: StateAgent, severity: float, striker: str) -> None:
        if self.model.mechanisms.host_pressure:
            added = self.sensitivity * severity / FACE_CAP
            self.grievance = min(1.0, self.grievance + added)
            self.grievance_at[striker] = min(1.0, self.grievance_at.get(striker, 0.0) + added)

    def host_politics(self: StateAgent) -> None:
        if self.vote_day is None:
            self.vote()
        elif self.expulsion_day is None and self.model.day in self._expel_days:
            self.implement_expulsion()

    def vote(self: StateAgent) -> None:
        """Past the threshold, parliament votes to expel foreign troops (some days it does not sit)."""
        m = self.model
        if not m.mechanisms.host_pressure:
            return
        if self.draw(Draw.VOTE) < parliament_step(self.grievance, self.expulsion_threshold, *self._vote):
            self.vote_day = m.day
            for guest in self.guests:
                m.record_policy(self, "expulsion_vote", guest)

    def implement_expulsion(self: StateAgent) -> None:
        """After the vote, a further step: a guest's forces are made to leave.

        It needs the grievance owed to that guest's own strikes on this soil past a higher
        threshold, so more of its strikes here make it likelier; mediation (the host's stake in
        keeping both sides talking) and the guest closing exposed posts (which lowers the
        grievance) make it less likely.
        """
        m = self.model
        if not m.mechanisms.host_pressure:
            return
        chances = [
            (g, parliament_step(self.grievance_at.get(g, 0.0), self.implementation_threshold, *self._vote))
            for g in self.guests
        ]
        if not any(chance for _, chance in chances):
            return  # the day's draw is a fixed cell: not reading it on hopeless days changes nothing
        u = self.draw(Draw.VOTE)
        for guest, chance in chances:
            if u < chance * (1.0 - self.mediation):
                self.expulsion_day = m.day
                m.record_policy(self, "expel_forces", guest)
                m.expel_from_host(self, m.states[guest])
                return

    def mediate(self: StateAgent) -> None:
        """Messages passed through this state cool the grievances of the channel's ends a little every day."""
        cool = self._cool
        for state, other in self._cooled:
            if other in state.face:
                state.face[other] *= cool


class Posture:
    """Forces abroad: thinned once the host votes to expel them (mechanism 11)."""

    model: CrisisModel
    actor_id: str

    def init_posture(self: StateAgent, cfg: StateConfig) -> None:
        self.force_protection = cfg.force_protection
        self.posture = cfg.posture
        self.hosts: tuple[StateAgent, ...] = ()  # states on whose soil its forces sit
        self._withdrawal_days = self.model.behaviour.host.withdrawal_days

    def posture_roles(self: StateAgent) -> None:
        m = self.model
        me = self.actor_id
        hosts = {m.topo.host[s] for s, present in m.present.items() if me in present} - {me, None}
        self.hosts = tuple(m.states[h] for h in sorted(hosts) if h in m.states)  # type: ignore[index]

    def consolidate_posture(self: StateAgent) -> None:
        """Some days after a host's expulsion vote (`behaviour.host.withdrawal_days`), exposed posts close."""
        m = self.model
        if self.posture != "forward":
            return
        for h in self.hosts:  # a loop, not any(): this runs every day
            if h.vote_day is not None and m.day >= h.vote_day + self._withdrawal_days:
                self.posture = "consolidated"
                m.close_exposed_posts(self)
                return


class Bystander:
    """A state not party to the crisis at first (mechanism 12): it may enter when hit."""

    model: CrisisModel

    def hit_by(self: StateAgent, severity: float) -> None:
        m = self.model
        if self.engaged or self.entered or not m.mechanisms.contagion:
            return
        if self.draw(Draw.ENTRY) < self.entry_hazard * min(1.0, severity / BY_NAME["attack_city"].severity):
            b = m.behaviour.contagion
            self.entered = True
            self.deliberation_rate = min(1.0, self.deliberation_rate * b.entry_deliberation_factor)
            if self.adversary:  # entering means taking on the attacker's sponsor, not only the attacker
                self.face[self.adversary] = max(self.face.get(self.adversary, 0.0), b.entry_grievance)


def parliament_step(grievance: float, threshold: float, ramp: float, ceiling: float) -> float:
    """Daily chance that a grievance past `threshold` carries a parliamentary step.

    It rises linearly over `ramp` of grievance past the threshold to `ceiling` (parliament does
    not sit every day): `behaviour.host.vote_ramp` and `vote_ceiling`.
    """
    excess = (grievance - threshold) / ramp
    return ceiling * min(1.0, excess) if excess > 0.0 else 0.0
