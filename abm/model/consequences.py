"""What an act does: every consequence of an act, chosen or imposed, goes through `apply`.

`CrisisModel` schedules and decides where acts land (`order`, `execute`, `impose_history`);
this module records an act and propagates it along the network's edges: who died on which
side, who is wronged and blames whom (a Bayesian reading of the act, a face deficit, blood
owed, a breach of a commitment), what a bystander and its allies do, which commanders die (one
precedent per act), what a de-escalatory signal does to its reader, and the actor's own
bookkeeping. Functions of the model, not methods, so `CrisisModel` keeps to scheduling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from abm.model.actions import BY_NAME, RUNG_SEVERITY, Action
from abm.model.decision import intent_factor
from abm.model.history import Event
from abm.model.rules import bayes_unlimited, face_deficit, signal_kind
from abm.model.streams import Draw

if TYPE_CHECKING:
    from abm.model.agents.states import StateAgent
    from abm.model.model import CrisisModel


def apply(
    m: CrisisModel,
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
    """Record an act and propagate its consequences along the network's edges."""
    civilians, by_side = split_deaths(m, deaths, target_side, site, killed)
    state_deaths = militia_deaths = 0
    for s, n in by_side.items():  # empty when no one died
        if s in m.states:
            state_deaths += n
        if s in m.militias:
            militia_deaths += n
    ev = Event(
        m.day,
        actor,
        side,
        action.name,
        action.rung,
        target,
        target_side,
        site,
        deaths,
        state_deaths,
        militia_deaths,
        civilians,
        warned,
        attributed,
        action.kinetic,
        imposed,
    )
    m.events.append(ev)
    severity = action.severity if action.rung is None or action.severity else RUNG_SEVERITY[action.rung]
    hurt_victims(m, ev, action, severity, by_side, killed)
    precedent = True  # one decapitation, one precedent, however many die in it
    for name in killed:
        if kill(m, name, precedent):
            precedent = False
    bookkeep_actor(m, ev, action, severity)
    return ev


def split_deaths(
    m: CrisisModel, deaths: int, target_side: str | None, site: str | None, killed: list[str]
) -> tuple[int, dict[str, int]]:
    """Who died: civilians by the site's population share, the rest on the side hit (or the killed commanders')."""
    if not deaths and not killed:
        return 0, {}  # no one died: every side's toll reads as 0 (`by_side.get`, the sums in `apply`)
    civilians = round(deaths * m.scenario.sites[site].population) if site and not killed else 0
    rest = deaths - civilians
    by_side: dict[str, int] = {}
    sides = [m.commanders[k].side for k in killed] or [target_side]
    for i, s in enumerate(sides):
        if s is not None:
            by_side[s] = by_side.get(s, 0) + rest // len(sides) + (1 if i < rest % len(sides) else 0)
    return civilians, by_side


def hurt_victims(
    m: CrisisModel, ev: Event, action: Action, severity: float, by_side: dict[str, int], killed: list[str]
) -> None:
    if action.signal is not None:
        reader = m.states.get(ev.target or "")
        if reader is not None:
            reassure(m, reader, ev.side, action)
        return
    victims: list[str] = []
    if ev.site:
        victims += [a for a in m.present[ev.site] if a in m.states or a in m.militias]
        owner = m.scenario.sites[ev.site].owner
        if owner and owner not in victims:
            victims.append(owner)
        host = m.states.get(m.topo.host[ev.site] or "")
        if host is not None and ev.side != host.actor_id and ev.side in m.states and action.kinetic:
            deadly = m.behaviour.host.death_factor if ev.deaths else 1.0
            host.sovereignty_violated(severity * deadly, ev.side)
    victims += [m.commanders[k].side for k in killed]
    if action.target == "commander" and ev.target_side:
        victims.append(ev.target_side)  # an attempt on a commander wrongs its side, even when it fails
    if action.target == "state" and ev.target:
        victims.append(ev.target)
    if not victims:
        return  # a posture or a policy with no one on the other end: nobody to wrong
    leader_sides = {m.commanders[k].side for k in killed}
    blames = blamed(m, ev)
    for victim in dict.fromkeys(victims):
        if victim == ev.side or victim == m.topo.patron.get(ev.side):
            continue
        deaths = by_side.get(victim, 0)
        if victim in m.militias:
            proxy_liaison_killed = any(m.commanders[k].side == m.topo.patron.get(victim) for k in killed)
            m.militias[victim].suffer(deaths, victim in leader_sides, proxy_liaison_killed)
        state = m.states.get(victim)
        if state is None or (not action.violent and action.target != "state" and not deaths):
            continue
        for blame, share in blames:
            aggrieve(m, state, blame, share, ev, severity, deaths, victim in leader_sides)
        if not state.engaged and action.violent:
            contagion(m, state, severity, blames)


def contagion(m: CrisisModel, bystander: StateAgent, severity: float, blames: list[tuple[str, float]]) -> None:
    """A bystander hit may enter; its engaged allies take on part of its grievance (mechanism 12)."""
    bystander.hit_by(severity)
    if not m.mechanisms.contagion:
        return
    for ally in m.topo.allies.get(bystander.actor_id, ()):
        state = m.states.get(ally)
        if state is not None and state.engaged:
            for blame, share in blames:
                state.aggrieved(blame, m.behaviour.contagion.ally_share * share * severity, 0, own=False)


def blamed(m: CrisisModel, ev: Event) -> list[tuple[str, float]]:
    """Whom the victims hold responsible, with what share of the grievance."""
    if ev.side in m.militias:
        patron = m.topo.patron.get(ev.side)
        if patron and ev.attributed_to == patron:
            share = 1.0 if not m.mechanisms.attribution else m.behaviour.grievance.patron_share
            return [(ev.side, 1.0), (patron, share)]
        return [(ev.side, 1.0)]
    return [(ev.side, 1.0)] if ev.attributed_to else []


def aggrieve(
    m: CrisisModel, state: StateAgent, blame: str, share: float, ev: Event, severity: float, deaths: int, leader: bool
) -> None:
    prior = state.belief.get(blame, state.prior_unlimited)
    belief = prior
    b = m.behaviour
    if m.mechanisms.costly_signals:
        p_limited, p_unlimited = m._likelihood[signal_kind(ev.warned, deaths, leader)]
        noise = m.world.belief_noise if m.mechanisms.misperception else 0.0
        u = state.draw(Draw.BELIEF)
        belief = bayes_unlimited(prior, p_limited, p_unlimited, noise, b.beliefs.noise_scale, u)
        state.belief[blame] = belief
    if m.mechanisms.reciprocity:
        g = b.grievance
        harm = face_deficit(severity, deaths, leader, belief, g.harm_per_log_death, g.leader_factor, g.min_intent)
        amount = share * harm
        state.aggrieved(blame, amount, deaths, BY_NAME[ev.action].violent)
    elif deaths:
        state.blood[blame] = state.blood.get(blame, 0) + deaths


def kill(m: CrisisModel, name: str, precedent: bool) -> bool:
    """Kill a commander if alive (the precedent goes with the first who dies); whether it died now."""
    cmd = m.commanders[name]
    if not cmd.alive:
        return False
    cmd.killed(precedent)
    return True


def bookkeep_actor(m: CrisisModel, ev: Event, action: Action, severity: float) -> None:
    if action.violent and ev.target_side:
        # Only the side's own act answers a gamble: a proxy's rocket is not a state's answer (mechanism 8).
        m.last_violent[(ev.side, ev.target_side)] = m.day
    if (ev.rung or 0) >= 3 and ev.side in m.last_hot:
        m.last_hot[ev.side] = m.day
    state = m.states.get(ev.side)
    if state is not None:
        state.acted(action, ev.target_side or "", severity)


def reassure(m: CrisisModel, reader: StateAgent, actor: str, action: Action) -> None:
    """The target of a de-escalatory act updates its belief about the actor's aims, and its grievance with it."""
    if not m.mechanisms.costly_signals or action.signal is None:
        return
    prior = reader.belief.get(actor, reader.prior_unlimited)
    p_limited, p_unlimited = action.signal
    noise = m.world.belief_noise if m.mechanisms.misperception else 0.0
    scale = m.behaviour.beliefs.noise_scale
    post = bayes_unlimited(prior, p_limited, p_unlimited, noise, scale, reader.draw(Draw.BELIEF))
    reader.belief[actor] = post
    if actor in reader.face:
        floor = m.behaviour.grievance.min_intent
        reader.face[actor] *= intent_factor(post, floor) / intent_factor(prior, floor)
