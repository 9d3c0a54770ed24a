"""The crisis model: a Mesa model stepping one day at a time over the regional network.

Each day: impose the day's observed events (the scenario's trigger, or a hindcast's record),
then every agent steps once, in the day's random order (drawn up front from the agents' own
streams, `Streams.order`), then the model checks whether the run has reached an absorbing outcome.
Operations go through `order` (decide) and `execute` (carry out after the lead time), and all
consequences of an act, chosen or imposed, go through one place: `apply`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import mesa

from abm.config.schema import ObservedEvent, Scenario
from abm.model import bargaining, consequences, deescalation
from abm.model.actions import BY_NAME, DEESCALATORY, MILITIA, STATE, Action, usable_by
from abm.model.agents.base import CrisisAgent, Order
from abm.model.agents.commanders import CommanderAgent
from abm.model.agents.militias import MilitiaAgent
from abm.model.agents.states import Candidate, StateAgent
from abm.model.history import Event
from abm.model.network import Topology, topology
from abm.model.outcomes import is_war_act, on_state_track
from abm.model.rules import deaths_from_hit
from abm.model.streams import Draw, Streams

# Actions each kind of actor may choose (rung 1 and up); rung 0 acts are postures and policies,
# not choices. A state chooses among those of its `capabilities`.
USABLE: dict[str, tuple[Action, ...]] = {
    kind: tuple(a for a in usable_by(kind) if (a.rung or 0) >= 1) for kind in (STATE, MILITIA)
}
WARNED, UNWARNED = BY_NAME["warned_missile_strike"], BY_NAME["unwarned_missile_strike"]
# Each de-escalatory act with its name and its feasibility test, looked up once (read at every decision).
DEESCALATION_TESTS = tuple((a, a.name, deescalation.FEASIBLE[a.name]) for a in DEESCALATORY)
# The constants of the consequences below (shares of blame, warnings, skill, accidents, the
# preventive urge, a host's grievance) are the scenario's `behaviour.*` parameters
# (abm/config/behaviour.py), read once in `CrisisModel.__init__`.


def _militia_site(m: CrisisModel, site: str, target: str) -> bool:
    return any(a in m.militias and (a == target or m.topo.patron.get(a) == target) for a in m.present[site])


def _territory(m: CrisisModel, site: str, target: str) -> bool:
    return m.topo.host[site] == target


def _presence(m: CrisisModel, site: str, target: str) -> bool:
    return target in m.present[site]


def _ally_city(m: CrisisModel, site: str, target: str) -> bool:
    owner = m.scenario.sites[site].owner
    return owner is not None and (owner == target or owner in m.topo.allies.get(target, ()))


def _forces_abroad(m: CrisisModel, site: str, target: str) -> bool:
    return target in m.present[site] and m.topo.host[site] != target


# Which sites an action can be aimed at, given the target actor: data, not branches.
SITE_RULES = {
    "strike_forces_abroad": _forces_abroad,
    "strike_militia_sites": _militia_site,
    "strike_territory": _territory,
    "attack_city": _ally_city,
}


class CrisisModel(mesa.Model):
    """One run of a scenario; all randomness comes from `seed` through `Streams`."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        ids = [*scenario.states, *scenario.commanders, *scenario.militias]
        self.streams = Streams(seed, ids, scenario.horizon_days)
        super().__init__(seed=seed)  # Mesa's own generators: no rule draws from them (see Streams)
        self.scenario = scenario
        self.world = scenario.world
        self.behaviour = b = scenario.behaviour
        self._likelihood = b.beliefs.likelihoods()  # by signal kind: (if limited aims, if unlimited aims)
        self.mechanisms = scenario.mechanisms
        self.topo: Topology = topology(scenario)
        # Channels neither open nor close during a run: read the best open one per pair (its
        # effectiveness and mediator; the roles read it), keyed (a, b) and (b, a): a tuple of two
        # ids is cheaper to build and hash than a frozenset, at every lookup.
        best: dict[frozenset[str], tuple[float, str]] = {}
        for u, v, is_open, eff, _, via in self.topo.channels.values():
            pair = frozenset((u, v))
            if is_open and (pair not in best or (eff, via or "") > best[pair]):
                best[pair] = (eff, via or "")
        self._best_channels = {
            (a, b): c for pair, c in best.items() for a in pair for b in pair if a != b or len(pair) == 1
        }
        self.day = 0
        self._free_from, self._horizon = scenario.free_from_day, scenario.horizon_days  # read every day
        self.events: list[Event] = []
        self.state_ids = frozenset(scenario.states)
        self.battle_deaths = 0  # running total of state-track battle deaths, for check_absorbing
        self.present = {s: list(p) for s, p in self.topo.present.items()}
        self.last_violent: dict[tuple[str, str], int] = {}
        self.last_hot: dict[str, int] = dict.fromkeys(scenario.states, -(10**6))
        self.accident_happened = False
        self.deal_signed = False
        self.deal_terms: dict[str, object] | None = None
        self.spiral_found = False
        self.states = {sid: StateAgent(self, sid, cfg) for sid, cfg in scenario.states.items()}
        self.commanders = {cid: CommanderAgent(self, cid, cfg) for cid, cfg in scenario.commanders.items()}
        self.militias = {mid: MilitiaAgent(self, mid, cfg) for mid, cfg in scenario.militias.items()}
        self.by_id: dict[str, CrisisAgent] = {**self.states, **self.commanders, **self.militias}
        # Indexed like Streams.order; None for an agent off duty (`on_duty`), whose step would do nothing.
        self._steps: list[Callable[[], None] | None] = [self.by_id[i].step for i in ids]
        self._slot = {aid: k for k, aid in enumerate(ids)}
        for commander in self.commanders.values():
            commander.report()
        self._executors = {(c.side, role): c for c in self.commanders.values() for role in c.roles}
        self.history: dict[int, list[ObservedEvent]] = defaultdict(list)
        for ev in scenario.history:
            self.history[ev.day].append(ev)
        # Feasible options depend on the scenario and the layout (who is where, which commanders
        # are alive), so runs of one scenario share them, keyed by layout (see layout_changed).
        self._options_cache = self.topo.options
        self._withdrawn: list[str] = []
        self._exposed: dict[str, float] = {}  # exposed_share by actor, for the current layout
        self.layout_changed()
        for state in self.states.values():
            if state.posture == "consolidated":
                self._remove_from_exposed(state.actor_id)
        for state in self.states.values():
            state.take_roles()
        self.free = scenario.free_from_day <= 0
        self._day_start = 0
        self.pending: dict[tuple[str, str], int] = {}  # orders queued, by (side, target)
        self.urge: dict[str, float] = {}
        # Who could strike each nuclear programme's territory: only they feel a preventive urge,
        # and only runs with some such pair check it daily (press_on_nuclear).
        territory = BY_NAME["strike_territory"]
        self._preventers = {
            sid: tuple(
                s
                for s, st in self.states.items()
                if st.adversary == sid and territory.name in st.capabilities and self.sites_with(s, sid, territory)
            )
            for sid, state in self.states.items()
            if state.nuclear_progress is not None
        }
        self._nuclear_watch = self.mechanisms.nuclear_hedging and any(self._preventers.values())
        # What press_on_nuclear reads every day, looked up once: each programme's state with its
        # preventers, the line and the pressure.
        self._programmes = tuple(
            (sid, self.states[sid], tuple(self.states[p] for p in preventers))
            for sid, preventers in self._preventers.items()
        )
        self._preventive = (self.world.preventive_threshold, self.behaviour.bargaining.preventive_pressure)
        # Channels neither open nor close during a run: read which pairs can pass a warning once.
        self._warns = {
            frozenset((u, v)) for (u, v, is_open, _, warns, _) in self.topo.channels.values() if is_open and warns
        }
        self.impose_history()
        self.check_absorbing()  # a trigger can itself be a war

    # -- time -----------------------------------------------------------------------------
    def step(self) -> None:
        self.day = day = self.day + 1
        self._day_start = len(self.events)
        self.free = day >= self._free_from  # before that day only the record happens
        if day in self.history:
            self.impose_history()
        if self._nuclear_watch:
            self.press_on_nuclear()
        steps = self._steps
        for i in self.streams.order[day]:
            step = steps[i]  # read at its turn: an agent can come on duty earlier in the day
            if step is not None:
                step()
        self.check_absorbing()
        if day >= self._horizon:
            self.running = False  # Mesa's own loop (`while model.running`) stops at the horizon

    def check_absorbing(self) -> None:
        """Stop at a deal, or at a war: a state's rung-9 act or 1,000 state-track battle deaths (MODEL.md §7)."""
        if self.deal_signed:
            self.running = False
            return
        if len(self.events) == self._day_start:
            return  # a quiet day: nothing new to count
        states = self.state_ids
        for ev in self.events[self._day_start :]:
            if not on_state_track(ev, states):
                continue
            self.battle_deaths += ev.battle_deaths
            if is_war_act(ev, states) or self.battle_deaths >= self.world.war_death_threshold:
                self.spiral_found = True
                self.running = False

    # -- lookups the agents use ---------------------------------------------------------------
    def side_of(self, actor: str | None) -> str | None:
        if actor in self.commanders:
            return self.commanders[actor].side
        return actor

    def on_duty(self, agent: CrisisAgent, busy: bool) -> None:
        """Put an agent in the day's sequence or take it out: out, its step would do nothing.

        Same results: the order of the others is unchanged, and an agent back on duty acts at
        its own place in the day's order (the loop reads its slot at its turn).
        """
        self._steps[self._slot[agent.actor_id]] = agent.step if busy else None

    def commander_for(self, side: str, role: str | None) -> CommanderAgent | None:
        return self._executors.get((side, role)) if role else None

    def sites_with(self, actor: str, target: str, action: Action | None = None) -> list[str]:
        """Sites `actor` can reach (reach edges) where `action` can hit `target`."""
        if action is None:
            return [s for s in self.topo.reach.get(actor, ()) if _presence(self, s, target)]
        rule = SITE_RULES.get(action.name, _presence)
        kinds = action.site_kinds
        return [s for s in self.topo.reach.get(actor, ()) if self.topo.kind[s] in kinds and rule(self, s, target)]

    def hit_side(self, site: str, target: str) -> str:
        """Whose forces an act at `site` aimed at `target` hits: the target if it is there, else its
        proxy there (a strike on militia depots hits the militia, not its patron), else the owner."""
        present = self.present[site]
        if target in present:
            return target
        proxy = next((a for a in present if self.topo.patron.get(a) == target), None)
        return proxy or self.scenario.sites[site].owner or self.topo.host[site] or target

    def commander_targets(self, target: str) -> list[str]:
        """Alive commanders serving `target` or one of its proxies."""
        return [
            cid
            for cid, c in self.commanders.items()
            if c.alive and (c.side == target or self.topo.patron.get(c.side) == target)
        ]

    def layout_changed(self) -> None:
        """Who is where or alive changed: feasible options are looked up under a new key."""
        self._layout = (tuple(self._withdrawn), tuple(c.alive for c in self.commanders.values()))
        self._exposed.clear()

    def options_for(self, state: StateAgent, target: str) -> list[Candidate]:
        """Acts `state` could aim at `target` today (cached per scenario and layout)."""
        key = (state.actor_id, target, self._layout)
        cached = self._options_cache.get(key)
        if cached is None:
            feasible = self._feasible_options(state, target)
            cached = self._options_cache[key] = [state.candidate(a, proxy, target) for a, proxy in feasible]
        return cached

    def _feasible_options(self, state: StateAgent, target: str) -> list[tuple[Action, bool]]:
        out: list[tuple[Action, bool]] = []
        me = state.actor_id
        choose_warning = state.advance_warning == "choose"
        for action in USABLE[STATE]:
            if (action.variant_of or action.name) not in state.capabilities:
                continue
            if action.variant_of and not choose_warning:
                continue  # a forced warning policy: the strike is planned warned, the override decides
            if action.target == "state":
                feasible = target in self.states and self._state_action_ok(action, state, target)
            elif action.target == "commander":
                feasible = bool(self.commander_targets(target))
            else:
                feasible = bool(self.sites_with(me, target, action))
            if feasible:
                out.append((action, False))
        if self.topo.proxies.get(me) and self.commander_for(me, "proxy") is not None:
            for action in USABLE[MILITIA]:
                if action.target == "site" and any(self.sites_with(p, target, action) for p in self.topo.proxies[me]):
                    out.append((action, True))
        return out

    @staticmethod
    def _state_action_ok(action: Action, state: StateAgent, target: str) -> bool:
        """Sanctions fall on the state's adversary; every state-targeted act needs another state."""
        if action.name == "new_sanctions":
            return target == state.adversary
        return target != state.actor_id

    def kill_chance(self, state: StateAgent, action: Action, target: str) -> float:
        """Chance the act kills some of the target's people, as the chooser can foresee it.

        A warned strike is lethal as an unwarned one when the warning does not get through: the
        chooser knows its channels and, under a forced warning policy, how often it must warn.
        """
        p = action.p_lethal
        if action is WARNED:
            heard = self.warning_chance(state) * self.warning_reach(state.actor_id, target)
            p = heard * WARNED.p_lethal + (1.0 - heard) * UNWARNED.p_lethal
        victim = self.states.get(target)
        return p * (1.0 - victim.force_protection) if victim is not None else p

    @staticmethod
    def warning_chance(state: StateAgent) -> float:
        """Chance a strike it plans as warned goes out warned: 1 when it chooses, the override otherwise."""
        policy = state.advance_warning
        return 1.0 if policy == "choose" else float(policy)

    def red_line(self, target: str) -> float:
        """How hard `target` is believed to answer deaths of its own: its doctrine's weight times its credibility."""
        victim = self.states.get(target)
        if victim is None or not self.mechanisms.lethality_threshold:
            return 1.0
        return max(1.0, victim.commits.blood_weight * victim.credibility)

    def exposed_share(self, actor: str) -> float:
        """Share of the sites abroad where `actor` has people that are exposed posts.

        Kept per actor until the layout changes (only a move changes who is where: `_leave`).
        """
        share = self._exposed.get(actor)
        if share is None:
            posts = [s for s, present in self.present.items() if actor in present and self.topo.host[s] != actor]
            share = sum(self.scenario.sites[s].exposed for s in posts) / len(posts) if posts else 0.0
            self._exposed[actor] = share
        return share

    def preventive_urge(self, state: StateAgent) -> float:
        """0..1: how far its adversary's nuclear progress is past the line where `state` weighs a preventive strike."""
        return self.urge.get(state.actor_id, 0.0)

    def press_on_nuclear(self) -> None:
        """Progress toward breakout builds a grievance-like urge to strike in the programme's adversaries.

        Only states whose adversary runs the programme and that can strike its territory feel it;
        the urge is computed once a day and read by their choices. Called only in runs that can
        feel it (`_nuclear_watch`: a programme, hedging on, someone who can strike it).
        """
        self.urge.clear()
        line, pressure = self._preventive
        for sid, programme, preventers in self._programmes:
            progress = programme.nuclear_progress
            if progress is None or progress <= line:
                continue
            urge = (progress - line) / max(1e-9, 1.0 - line)
            for state in preventers:
                self.urge[state.actor_id] = urge
                state.face[sid] = state.face.get(sid, 0.0) + pressure * urge

    def pending_against(self, side: str, target: str) -> bool:
        return self.pending.get((side, target), 0) > 0

    def answered_since(self, victim: str, gambler: str, day: int) -> bool:
        return self.last_violent.get((victim, gambler), -1) > day

    def best_channel(self, a: str, b: str) -> float | None:
        """Effectiveness of the best open channel between a and b (None: none open)."""
        best = self._best_channels.get((a, b))
        return best[0] if best else None

    def channel_via(self, a: str, b: str) -> str | None:
        """The mediator carrying the best open channel between a and b (None: a direct channel, or none)."""
        best = self._best_channels.get((a, b))
        return best[1] or None if best else None

    def warning_reach(self, striker: str, target: str) -> float:
        """Warnings travel through an open channel between the two that passes them (the Iraqi PM in 2020);
        without one, a warning gets through only by chance (`behaviour.operations.unheard_warning`)."""
        return 1.0 if frozenset((striker, target)) in self._warns else self.behaviour.operations.unheard_warning

    def quiet_for_talks(self, a: str, b: str) -> bool:
        """Neither side has acted above rung 2 for `world.quiet_days_for_talks` days."""
        return self.day - max(self.last_hot[a], self.last_hot[b]) >= self.world.quiet_days_for_talks

    # -- deciding and doing ---------------------------------------------------------------------
    def order(self, state: StateAgent, action: Action, target: str, via_proxy: bool = False) -> None:
        """Turn a decision into an order queued with whoever executes it."""
        pick = state.draw(Draw.TARGET)
        site = commander = None
        executor: CrisisAgent = self.commander_for(state.actor_id, action.executor) or state
        side = state.actor_id
        if action.target == "site":
            actors = self.topo.proxies[side] if via_proxy else (side,)
            pairs = [(a, s) for a in actors for s in self.sites_with(a, target, action)]
            actor, site = pairs[int(pick * len(pairs))]
            if via_proxy:
                executor, side = self.militias[actor], actor
        elif action.target == "commander":
            names = self.commander_targets(target)
            commander = names[int(pick * len(names))]
        if commander:
            target_side = self.side_of(commander)
        elif site:
            target_side = self.hit_side(site, target)
        else:
            target_side = target
        due = self.day + action.lead_days
        executor.enqueue(Order(action, side, target, target_side or target, due, site, via_proxy, commander))
        if action.violent:
            state.alert_until = max(state.alert_until, due + self.world.alert_after_acting)
            state.honour(target)  # the answer is decided and on its way: the commitment is kept

    def deescalations_for(self, state: StateAgent, target: str) -> list[Action]:
        """The de-escalatory acts open to `state` toward `target` today (MODEL.md §5).

        Each can be sent once per episode (since the last violent act between the two): saying
        the same thing again tells the target nothing new, so it is not an option.
        """
        me = state.actor_id
        episode = max(self.last_violent.get((me, target), -1), self.last_violent.get((target, me), -1))
        sent = state.signalled
        out = []
        for action, name, feasible in DEESCALATION_TESTS:
            last = sent.get((name, target))
            if (last is None or last < episode) and feasible(self, state, target):
                out.append(action)
        return out

    def deescalate(self, state: StateAgent, action: Action, target: str) -> None:
        """A de-escalatory act takes effect at once; the target reads it as a signal (mechanism 3)."""
        deescalation.EFFECT[action.name](self, state, target)
        state.signalled[(action.name, target)] = self.day
        self.apply(state.actor_id, state.actor_id, action, target, target, None, 0, False, state.actor_id, [])

    def reassure(self, reader: StateAgent, actor: str, action: Action) -> None:
        """The target of a de-escalatory act reads it (`abm.model.consequences.reassure`)."""
        consequences.reassure(self, reader, actor, action)

    def execute(self, order: Order, executor: CrisisAgent) -> None:
        """Carry out an order: warning, success, casualties, attribution, then consequences."""
        action = order.action
        if order.site and not SITE_RULES.get(action.name, _presence)(self, order.site, order.target):
            return  # the target left the site (posts closed) or it no longer qualifies
        if order.commander and not self.commanders[order.commander].alive:
            return
        warned = False
        hit = action  # whose casualty columns apply: an unheard warning leaves an unwarned strike
        if action is WARNED:
            striker = self.states[order.side]
            chance = self.warning_chance(striker) * self.warning_reach(order.side, order.target)
            warned = executor.draw(Draw.WARN) < chance
            hit = WARNED if warned else UNWARNED
            if not warned and self.warning_chance(striker) < 1.0:
                action = UNWARNED  # a forced policy decided against warning: the strike is an unwarned one
        skill = self._skill(executor)
        killed: list[str] = []
        deaths = 0
        if order.commander:
            cmd = self.commanders[order.commander]
            if executor.draw(Draw.SUCCESS) < (1.0 - cmd.security) * skill:
                killed = [order.commander]
                spread = self.behaviour.operations.killing_dispersion
                deaths = deaths_from_hit(1.0, action.median_deaths, spread, 0.0, executor.normal())
            else:  # a failed attempt still kills some of those around the target (the escort, the convoy)
                spread = self.behaviour.operations.killing_dispersion
                p_any = action.p_lethal * skill
                deaths = deaths_from_hit(
                    p_any, action.median_deaths, spread, executor.draw(Draw.CASUALTY), executor.normal()
                )
        elif action.kinetic:
            p_any = hit.p_lethal * skill * self._protection(order.target_side, order.site)
            deaths = deaths_from_hit(
                p_any,
                hit.median_deaths,
                self.world.casualty_dispersion,
                executor.draw(Draw.CASUALTY),
                executor.normal(),
            )
        attributed = self._attribute(order.side, action, executor)
        self.apply(
            executor.actor_id,
            order.side,
            action,
            order.target,
            order.target_side,
            order.site,
            deaths,
            warned,
            attributed,
            killed,
        )

    def _skill(self, executor: CrisisAgent) -> float:
        """floor + (1 - floor) x experience (a commander) or capability (a militia); a state: 1."""
        floor = self.behaviour.operations.skill_floor
        if isinstance(executor, CommanderAgent):
            return floor + (1.0 - floor) * executor.experience
        if isinstance(executor, MilitiaAgent):
            return floor + (1.0 - floor) * executor.capability
        return 1.0

    def _protection(self, target_side: str, site: str | None) -> float:
        victim = self.states.get(target_side)
        return 1.0 - victim.force_protection if victim is not None and site else 1.0

    def _attribute(self, side: str, action: Action, executor: CrisisAgent) -> str | None:
        """Who the victim blames (mechanism 5): proxies are pinned on the patron only sometimes."""
        militia = self.militias.get(side)
        if militia is not None and militia.patron:
            if not self.mechanisms.attribution:
                return militia.patron
            p = self.world.attribution_probability * (1.0 - militia.deniability)
            return militia.patron if executor.draw(Draw.ATTRIBUTE) < p else None
        if action.deniable and executor.draw(Draw.ATTRIBUTE) >= self.world.attribution_probability:
            return None
        return side

    def apply(
        self,
        actor: str,
        side: str,
        action: Action,
        target: str | None,
        target_side: str | None,
        site: str | None,
        deaths: int,
        warned: bool,
        attributed: str | None,
        killed: list[str],
        imposed: bool = False,
    ) -> Event:
        """Record an act and propagate its consequences along the network's edges (`abm.model.consequences`)."""
        return consequences.apply(
            self, actor, side, action, target, target_side, site, deaths, warned, attributed, killed, imposed
        )

    # -- events that are not chosen attacks -----------------------------------------------------
    def impose_history(self) -> None:
        """Apply the scenario's observed events of today, as if the actors had chosen them."""
        for obs in self.history.get(self.day, ()):
            action = BY_NAME[obs.action]
            side = self.side_of(obs.actor) or obs.actor
            target_side = self.side_of(obs.target) if obs.target else self._site_victim(obs.site, side)
            state = self.states.get(side)
            if state is not None and target_side in state.face:
                visible = self.world.deniable_visibility if action.deniable else 1.0
                state.face[target_side] = max(0.0, state.face[target_side] - action.severity * visible * state.resolve)
            attributed = self.topo.patron.get(side) if side in self.militias else side
            self.apply(
                obs.actor,
                side,
                action,
                obs.target or target_side,
                target_side,
                obs.site,
                obs.deaths,
                obs.warned,
                attributed,
                list(obs.killed),
                imposed=True,
            )
            if action.name == "sign_deal":
                self.deal_signed = True
            if action.name == "expulsion_vote" and state is not None and state.vote_day is None:
                state.vote_day = self.day

    def _site_victim(self, site: str | None, side: str) -> str | None:
        """Whom an imposed act at `site` hit: the actor's adversary if there, else a foreign state, else anyone."""
        if site is None:
            return None
        present = [a for a in self.present[site] if a != side]
        acting = self.states.get(side) or self.militias.get(side)
        enemy = getattr(acting, "adversary", None) or getattr(acting, "enemy", None)
        if enemy in present:
            return enemy
        host = self.topo.host[site]
        foreign = [a for a in present if a in self.states and a != host]
        return (foreign or present or [None])[0]

    def record_posture(self, state: StateAgent, name: str) -> None:
        self.apply(state.actor_id, state.actor_id, BY_NAME[name], None, None, None, 0, False, state.actor_id, [])

    def record_policy(self, state: StateAgent, name: str, target: str) -> None:
        self.apply(state.actor_id, state.actor_id, BY_NAME[name], target, target, None, 0, False, state.actor_id, [])

    def accident(self, state: StateAgent) -> None:
        """A shoot-down under maximum alert (mechanism 7): a diplomatic cost, not a path to war.

        Its toll and costs are `behaviour.accidents.*` (docs/ODD.md §7.14)."""
        b = self.behaviour.accidents
        deaths = deaths_from_hit(1.0, b.median_deaths, b.dispersion, 0.0, state.normal())
        self.events.append(
            Event(
                self.day,
                state.actor_id,
                state.actor_id,
                "accident_shootdown",
                None,
                deaths=deaths,
                civilian_deaths=deaths,
            )
        )
        self.accident_happened = True
        state.risk_appetite = max(0.0, state.risk_appetite - b.appetite_loss)
        state.strain = min(1.0, state.strain + b.strain_gain)
        for other in state.face:
            state.face[other] *= b.face_kept

    def sign_deal(self, demander: StateAgent, bargainer: StateAgent, worth: float) -> None:
        """An agreement on the demander's terms (mechanism 9): recorded with its terms; the relief is granted."""
        self.record_policy(demander, "sign_deal", bargainer.actor_id)
        assert demander.demands is not None
        self.deal_terms = {
            "parties": [demander.actor_id, bargainer.actor_id],
            "demands": demander.demands,
            "demand_size": bargaining.DEMAND_SIZE[demander.demands],
            "relief_share": demander.relief_offer,
            "sanctions_before": demander.sanctions_level,
            "nuclear_progress": bargainer.nuclear_progress,
            "bargainer_strain": round(bargainer.strain, 4),
            "surplus": round(worth, 4),
        }
        demander.sanctions_level *= 1.0 - demander.relief_offer
        self.deal_signed = True

    def close_exposed_posts(self, state: StateAgent, record: bool = True) -> None:
        self._remove_from_exposed(state.actor_id)
        if record:
            self.record_posture(state, "posture_consolidation")

    def _remove_from_exposed(self, actor: str) -> None:
        """Close `actor`'s exposed posts; a host sees its grievance fall by the share of posts closed."""
        posts = {site for site in self.scenario.sites if actor in self.present[site]}
        closed = {site for site in posts if self.scenario.sites[site].exposed}
        self._leave(actor, closed)
        for host in {self.topo.host[site] for site in closed} - {None}:
            state = self.states.get(host or "")
            on_soil = [site for site in posts if self.topo.host[site] == host]
            if state is not None and on_soil:
                kept = 1.0 - sum(site in closed for site in on_soil) / len(on_soil)
                state.grievance *= kept
                if actor in state.grievance_at:
                    state.grievance_at[actor] *= kept

    def expel_from_host(self, host: StateAgent, foreign: StateAgent) -> None:
        """An implemented expulsion: `foreign` leaves every site on `host`'s soil (mechanism 11)."""
        actor = foreign.actor_id
        self._leave(actor, {s for s in self.scenario.sites if self.topo.host[s] == host.actor_id})

    def _leave(self, actor: str, sites: set[str]) -> None:
        for site in sorted(sites):
            if actor in self.present[site]:
                self.present[site].remove(actor)
        self._withdrawn.append(f"{actor}:{','.join(sorted(sites))}")
        self.layout_changed()
