"""Consistency checks of a scenario beyond types and ids: no self-edges, and a history whose
events their actors could have taken (issue 17: contradictions are refused, not run).

Kept apart from the schema so that `schema.py` says what a scenario holds and this module what
makes one coherent; `Scenario`'s validator calls `check_edges` and `check_event`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from abm.model.actions import ACTIONS, BY_NAME, CAPABILITIES, MILITIA, SITE_KINDS, STATE, Action

if TYPE_CHECKING:
    from abm.config.schema import ObservedEvent, Scenario

# Rows a militia can be recorded taking (militias have no capabilities list: every militia row).
MILITIA_ROWS: tuple[str, ...] = tuple(sorted(a.name for a in ACTIONS if MILITIA in a.users))
# Rows that are another row's form need that other among the capabilities: an unwarned missile
# strike is the other variant of a missile strike (the action table's `variant_of`).
VARIANTS: dict[str, tuple[str, ...]] = {a.name: (a.variant_of,) for a in ACTIONS if a.variant_of}


def check_edges(sc: Scenario) -> None:
    """No edge from an actor to itself: it would count the actor twice or make it its own foe."""
    for sid, st in sc.states.items():
        if st.adversary == sid:
            raise ValueError(f"states.{sid}.adversary: {sid!r} is the state itself; allowed: another state, or null")
    for mid, m in sc.militias.items():
        if m.patron is not None and m.enemy == m.patron:
            raise ValueError(
                f"militias.{mid}.enemy: {m.enemy!r} is also its patron; allowed: a state other than {m.patron}"
            )
    for cid, ch in sc.channels.items():
        a, b = ch.between
        if a == b:
            raise ValueError(
                f"channels.{cid}.between: got {[a, b]!r}, a channel from a state to itself; "
                "allowed: two different states"
            )
        if ch.via in (a, b):
            raise ValueError(
                f"channels.{cid}.via: {ch.via!r} is one of the channel's ends ({a}, {b}); "
                "allowed: a third state that carries it, or null"
            )
    for i, (a, b) in enumerate(sc.alliances):
        if a == b:
            raise ValueError(
                f"alliances.{i}: got {[a, b]!r}, a state allied with itself; allowed: two different states"
            )


def kind_of(sc: Scenario, actor: str) -> tuple[str, str]:
    """(side, kind) of an actor: a commander acts for its side, a state or militia for itsc."""
    side = sc.commanders[actor].side if actor in sc.commanders else actor
    return side, STATE if side in sc.states else MILITIA


def check_event(sc: Scenario, key: str, ev: ObservedEvent) -> None:
    """An imposed event must be one its actor could take, on a target and at a site it can hit."""
    action = BY_NAME[ev.action]
    side, kind = kind_of(sc, ev.actor)
    allowed = MILITIA_ROWS if kind == MILITIA else _state_rows(sc, side)
    if ev.action not in allowed:
        acting = f"{ev.actor} is a {kind}" if side == ev.actor else f"{ev.actor} acts for {side}, a {kind},"
        if kind not in action.users:
            why = f"cannot take {ev.action!r}"
        elif ev.action in VARIANTS:
            why = f"{ev.action!r} is a form of {' or '.join(VARIANTS[ev.action])}, which is not among "
            why += f"states.{side}.capabilities"
        else:
            why = f"{ev.action!r} is not among states.{side}.capabilities"
        label = "a militia" if kind == MILITIA else side
        raise ValueError(f"{key}.action: {acting} and {why}; allowed for {label}: {', '.join(allowed)}")
    _check_event_target(sc, key, ev, action, side)
    _check_event_site(sc, key, ev, action)
    _check_event_killed(sc, key, ev, action, side)


def _state_rows(sc: Scenario, sid: str) -> list[str]:
    """Rows a state can be recorded taking: what it can choose (its capabilities, talks), and rows
    no rule picks (a vote, a deal, a nuclear step, an alert): mechanisms and records impose those.
    A row that is another's form (an unwarned missile strike) needs that other among its capabilities."""
    capabilities = set(sc.states[sid].capabilities)
    return sorted(
        a.name
        for a in ACTIONS
        if STATE in a.users
        and (a.name not in CAPABILITIES or a.name in capabilities)
        and (a.name not in VARIANTS or capabilities & set(VARIANTS[a.name]))
    )


def _check_event_target(sc: Scenario, key: str, ev: ObservedEvent, action: Action, side: str) -> None:
    if ev.target is None:
        return
    if action.target == "none":
        raise ValueError(f"{key}.target: got {ev.target!r}; {ev.action!r} has no target; allowed: no target")
    if ev.target in (ev.actor, side) or kind_of(sc, ev.target)[0] == side:
        raise ValueError(f"{key}.target: got {ev.target!r}, the actor's own side ({side}); allowed: another actor")
    kinds = {"commander": sc.commanders, "state": sc.states}
    if action.target in kinds and ev.target not in kinds[action.target]:
        known = ", ".join(sorted(kinds[action.target]))
        raise ValueError(f"{key}.target: got {ev.target!r}; {ev.action!r} targets a {action.target}; known: {known}")


def _check_event_site(sc: Scenario, key: str, ev: ObservedEvent, action: Action) -> None:
    if action.target == "site":
        kinds = ", ".join(k for k in SITE_KINDS if k in action.site_kinds)
        if ev.site is None:
            raise ValueError(f"{key}.site: missing; allowed for {ev.action!r}: a site of kind {kinds}")
        site_kind = sc.sites[ev.site].kind
        if site_kind not in action.site_kinds:
            raise ValueError(
                f"{key}.site: got {ev.site!r} (kind {site_kind}); allowed for {ev.action!r}: a site of kind {kinds}"
            )
    elif ev.site is not None and action.target != "commander" and not action.kinetic:
        # A killing happens somewhere (its site is where); sanctions, talks or votes hit no place.
        raise ValueError(f"{key}.site: got {ev.site!r}; {ev.action!r} hits no site; allowed: no site")


def _check_event_killed(sc: Scenario, key: str, ev: ObservedEvent, action: Action, side: str) -> None:
    lethal = action.kinetic or action.rung is None  # violence, or an accident (the one row without a rung)
    if not lethal and (ev.deaths or ev.killed):
        raise ValueError(
            f"{key}: got deaths {ev.deaths}, killed {ev.killed!r}; {ev.action!r} kills no one; "
            "allowed: deaths 0 and no killed"
        )
    for name in ev.killed:
        if sc.commanders[name].side == side:
            raise ValueError(
                f"{key}.killed: got {name!r}, who serves {side}, the actor's own side; "
                "allowed: commanders of other sides"
            )
    if ev.deaths < len(ev.killed):
        raise ValueError(
            f"{key}.deaths: got {ev.deaths} with {len(ev.killed)} commanders killed (who count among the "
            f"deaths); allowed: at least {len(ev.killed)}"
        )
