"""Outcome labels and per-run metrics (MODEL.md §7) as pure functions of a run's history.

Nothing here reads model state: classify the same event list twice, get the same answer.
That keeps the labels testable on hand-built histories and lets a replay re-derive them.

Two tracks (MODEL.md §7). The *state track* holds acts by a state on another state's own
forces or territory, and a state's acts that hit no one (threats, sanctions, cyber, war);
the *proxy track* holds militia acts and strikes on militias. Proxy fire alone never keeps
a run "unresolved" nor makes it a war: militia rockets went on through 2020 while the state
track cooled ("stage two", mechanism 5), and background fire in another theatre is not this
crisis (mechanism 12).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from abm.model.history import Event

SPIRAL, DEAL, DEESCALATION, UNRESOLVED = "spiral", "deal", "deescalation", "unresolved"
OUTCOMES: tuple[str, ...] = (SPIRAL, DEESCALATION, DEAL, UNRESOLVED)

DIRECT_MIN_RUNG = 6  # a "direct strike" is a kinetic act of rung 6+ by one state on another's forces
VIOLENT_MIN_RUNG = 5  # a violent act (militia rockets and up)
EXCHANGE_WINDOW_DAYS = 30  # an answer in kind within 30 days (day d .. d + 29) makes an exchange
QUIET_WINDOW_DAYS = 30  # de-escalation: the state track was quiet for the run's last 30 days
QUIET_MAX_RUNG = 3  # "quiet": no state-track act above posture (rung 3)
WAR_RUNG = 9


class Stage:
    """How far a run climbed (`max_stage`, MODEL.md §7): a ladder of kinds of fighting."""

    NONE, PROXY, ONE_SIDED, EXCHANGE, WAR = 0, 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class Outcome:
    label: str
    day: int


def is_violent(ev: Event) -> bool:
    """Kinetic and rung 5+ (militia rockets and up): the acts that count as violence."""
    return ev.kinetic and (ev.rung or 0) >= VIOLENT_MIN_RUNG


def on_state_track(ev: Event, states: Collection[str]) -> bool:
    """An act by a state that does not hit a militia: its strikes on states, threats, sanctions, war."""
    return ev.side in states and (ev.target_side is None or ev.target_side in states)


def is_direct_strike(ev: Event, states: Collection[str]) -> bool:
    """A kinetic act of rung 6+ by one state on another state's forces or territory."""
    return (
        ev.kinetic
        and (ev.rung or 0) >= DIRECT_MIN_RUNG
        and ev.side in states
        and ev.target_side in states
        and ev.side != ev.target_side
    )


def is_militia_attack(ev: Event, states: Collection[str]) -> bool:
    """A violent act (kinetic, rung 5+) by a militia, not by a state (a state may use the same row)."""
    return is_violent(ev) and ev.side not in states


def is_proxy_violence(ev: Event, states: Collection[str]) -> bool:
    """Violence on the proxy track: a militia's attack, or a strike on a militia."""
    return is_violent(ev) and (ev.side not in states or (ev.target_side is not None and ev.target_side not in states))


def exchange_day(events: Sequence[Event], states: Collection[str], window: int = EXCHANGE_WINDOW_DAYS) -> int | None:
    """First day a state answered a direct strike by another state with a direct strike within `window` days.

    The trigger counts: a killing on day 0 answered by a missile strike on day 5 is a direct
    exchange (stage 3), as January 2020 was; it is not a war.
    """
    last_hit: dict[tuple[str, str], int] = {}
    for ev in sorted((e for e in events if is_direct_strike(e, states)), key=lambda e: e.day):
        struck = last_hit.get((ev.target_side or "", ev.side))  # when the target last struck this striker
        if struck is not None and ev.day - struck < window:
            return ev.day
        last_hit[(ev.side, ev.target_side or "")] = ev.day
    return None


def state_battle_deaths_crossing(events: Sequence[Event], states: Collection[str], threshold: int) -> int | None:
    """Day the battle deaths of state-track fighting reach `threshold` (the COW rule), if they do."""
    total = 0
    for ev in sorted(events, key=lambda e: e.day):
        if on_state_track(ev, states):
            total += ev.battle_deaths
            if total >= threshold:
                return ev.day
    return None


def is_war_act(ev: Event, states: Collection[str]) -> bool:
    """A state's rung-9 act: sustained direct war, chosen (MODEL.md §5)."""
    return ev.rung == WAR_RUNG and ev.side in states


def spiral_day(events: Sequence[Event], states: Collection[str], death_threshold: int) -> int | None:
    """Day a war began (MODEL.md §7): a state chose sustained war, or state-track battle deaths reached 1,000."""
    war_days = [ev.day for ev in events if is_war_act(ev, states)]
    crossing = state_battle_deaths_crossing(events, states, death_threshold)
    candidates = [*war_days, *([crossing] if crossing is not None else [])]
    return min(candidates) if candidates else None


def state_hot_days(events: Sequence[Event], states: Collection[str]) -> list[int]:
    """Sorted distinct days with a state-track act above rung 3 (what the quiet window looks at)."""
    return sorted({ev.day for ev in events if (ev.rung or 0) > QUIET_MAX_RUNG and on_state_track(ev, states)})


def classify(events: Sequence[Event], horizon: int, states: Collection[str], death_threshold: int = 1000) -> Outcome:
    """Label a run: spiral, deal, de-escalation or unresolved, with the day it was reached."""
    spiral = spiral_day(events, states, death_threshold)
    deal_day = min((ev.day for ev in events if ev.action == "sign_deal"), default=None)
    if spiral is not None and (deal_day is None or spiral <= deal_day):
        return Outcome(SPIRAL, spiral)
    if deal_day is not None:
        return Outcome(DEAL, deal_day)
    last_hot = max(state_hot_days(events, states), default=0)
    if last_hot <= horizon - QUIET_WINDOW_DAYS:
        return Outcome(DEESCALATION, last_hot)
    return Outcome(UNRESOLVED, horizon)


def max_stage(events: Sequence[Event], states: Collection[str], outcome: Outcome, exchange: int | None) -> int:
    """0 none, 1 proxy violence only, 2 one-sided direct strike, 3 direct exchange, 4 war.

    `exchange` is the run's `exchange_day` (computed once by the caller, which records it too).
    """
    if outcome.label == SPIRAL:
        return Stage.WAR
    if exchange is not None:
        return Stage.EXCHANGE
    if any(is_direct_strike(ev, states) for ev in events):
        return Stage.ONE_SIDED
    if any(is_proxy_violence(ev, states) for ev in events):
        return Stage.PROXY
    return Stage.NONE


def _json_counts(counts: Counter[str]) -> str:
    """A tally as sorted JSON text, so the per-run table keeps one fixed schema whatever the scenario."""
    return json.dumps(dict(sorted(counts.items())))


def theatre_counts(events: Sequence[Event], states: Collection[str], host_of: Mapping[str, str | None]) -> str:
    """Militia attacks by theatre (the state whose soil the site is on), e.g. `{"iraq": 12, "israel": 1}`.

    A site on no state's soil (shipping lanes) is the theatre `no_host`."""
    return _json_counts(
        Counter(host_of.get(ev.site or "") or "no_host" for ev in events if is_militia_attack(ev, states))
    )


def metrics(events: Sequence[Event], states: Collection[str]) -> dict[str, int | str]:
    """Deaths (over the whole run) and, after day 0, the max rung and counts of acts by kind.

    Per-state tallies are JSON text keyed by state id: `deaths_by_state` (`{"iran": 5, "us": 2}`)
    and `direct_strikes_by_state` (`{"iran>us": 1}`, striker>target).
    """
    after = [ev for ev in events if ev.day > 0]
    kinds = Counter(ev.action for ev in after)
    direct = [ev for ev in after if is_direct_strike(ev, states)]
    deaths: Counter[str] = Counter()
    for ev in events:
        if ev.state_deaths:  # the side hit (for a killing, the target commander's state)
            deaths[ev.target_side or "unknown"] += ev.state_deaths
    return {
        "max_rung": max((ev.rung or 0 for ev in after), default=0),
        "state_deaths": sum(ev.state_deaths for ev in events),
        "militia_deaths": sum(ev.militia_deaths for ev in events),
        "civilian_deaths": sum(ev.civilian_deaths for ev in events),
        "battle_deaths": sum(ev.battle_deaths for ev in events),
        "deaths_by_state": _json_counts(deaths),
        "n_militia_attacks": sum(1 for ev in after if is_militia_attack(ev, states)),
        "n_direct_strikes": len(direct),
        "direct_strikes_by_state": _json_counts(Counter(f"{ev.side}>{ev.target_side}" for ev in direct)),
        "n_strikes_on_militias": sum(1 for ev in after if ev.side in states and is_proxy_violence(ev, states)),
        "n_killings": kinds["targeted_killing"],
        "n_nuclear_steps": kinds["nuclear_step"],
        "n_accidents": kinds["accident_shootdown"],
    }
