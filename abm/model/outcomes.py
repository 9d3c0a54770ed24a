"""Outcome labels and per-run metrics (MODEL.md §7) as pure functions of a run's history.

Nothing here reads model state: classify the same event list twice, get the same answer.
That keeps the labels testable on hand-built histories and lets a replay re-derive them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from abm.model.actions import BY_NAME, MILITIA
from abm.model.history import Event

SPIRAL, DEAL, DEESCALATION, UNRESOLVED = "spiral", "deal", "deescalation", "unresolved"
OUTCOMES: tuple[str, ...] = (SPIRAL, DEESCALATION, DEAL, UNRESOLVED)

PRINCIPALS = ("us", "iran")
DIRECT_MIN_RUNG = 6  # a "direct strike" is a kinetic act of rung 6+ by one principal on the other
EXCHANGE_WINDOW_DAYS = 30
QUIET_WINDOW_DAYS = 30
QUIET_MAX_RUNG = 3
WAR_RUNG = 9


@dataclass(frozen=True, slots=True)
class Outcome:
    label: str
    day: int


def is_direct_strike(ev: Event) -> bool:
    """A kinetic act by the US or Iran on the other's forces or territory."""
    return (
        ev.kinetic
        and (ev.rung or 0) >= DIRECT_MIN_RUNG
        and ev.side in PRINCIPALS
        and ev.target_side in PRINCIPALS
        and ev.side != ev.target_side
    )


def is_militia_attack(ev: Event) -> bool:
    """A violent act (kinetic, rung 5+) by a militia: an action of the militia role, not by Iran.

    Third-party states (Israel, Saudi Arabia, UAE) also strike, but never with militia actions.
    """
    row = BY_NAME.get(ev.action)
    return ev.kinetic and (ev.rung or 0) >= 5 and ev.side not in PRINCIPALS and row is not None and MILITIA in row.users


def exchange_start(events: Sequence[Event], window: int = EXCHANGE_WINDOW_DAYS) -> tuple[int, int] | None:
    """(start day, day completed) of the first A-hits-B, B-hits-A, A-hits-B run within `window` days.

    Day-0 strikes (the scenario's trigger) do not count: the Jan 2020 record (US killing,
    Iranian strike, US stand-down) must not read as a spiral.
    """
    strikes = sorted((ev.day, i, ev.side) for i, ev in enumerate(events) if ev.day > 0 and is_direct_strike(ev))
    strikes = [(day, side) for day, _, side in strikes]
    best: tuple[int, int] | None = None
    for i, (day_a, side_a) in enumerate(strikes):
        stage, want = 1, "iran" if side_a == "us" else "us"
        for day, side in strikes[i + 1 :]:
            if day > day_a + window:
                break
            if side == want:
                stage += 1
                want = side_a
                if stage == 3:
                    if best is None or day < best[1]:
                        best = (day_a, day)
                    break
    return best


def spiral_start(events: Sequence[Event], death_threshold: int) -> tuple[int, int] | None:
    """(day the war began, day it became certain), by the three rules of MODEL.md §7."""
    candidates: list[tuple[int, int]] = []
    war_days = [ev.day for ev in events if ev.rung == WAR_RUNG]
    if war_days:
        candidates.append((min(war_days), min(war_days)))
    total = 0
    for ev in sorted(events, key=lambda e: e.day):
        total += ev.battle_deaths
        if total >= death_threshold:
            candidates.append((ev.day, ev.day))
            break
    exchange = exchange_start(events)
    if exchange:
        candidates.append(exchange)
    return min(candidates, key=lambda c: (c[1], c[0])) if candidates else None


def last_day_above(events: Sequence[Event], rung: int = QUIET_MAX_RUNG) -> int:
    """The last day with an action above `rung` (0 when there was none)."""
    return max((ev.day for ev in events if (ev.rung or 0) > rung), default=0)


def classify(events: Sequence[Event], horizon: int, death_threshold: int = 1000) -> Outcome:
    """Label a run: spiral, deal, de-escalation or unresolved, with the day it was reached."""
    spiral = spiral_start(events, death_threshold)
    deal_day = min((ev.day for ev in events if ev.action == "sign_deal"), default=None)
    if spiral and (deal_day is None or spiral[1] <= deal_day):
        return Outcome(SPIRAL, spiral[0])
    if deal_day is not None:
        return Outcome(DEAL, deal_day)
    last_hot = last_day_above(events)
    if last_hot <= horizon - QUIET_WINDOW_DAYS:
        return Outcome(DEESCALATION, last_hot)
    return Outcome(UNRESOLVED, horizon)


def metrics(events: Sequence[Event]) -> dict[str, int]:
    """Deaths, max rung after day 0, and counts of attacks by kind."""
    after = [ev for ev in events if ev.day > 0]
    kinds = Counter(ev.action for ev in after)
    sides = Counter((ev.side, ev.target_side) for ev in after if ev.kinetic and (ev.rung or 0) >= 5)
    militia_attacks = sum(1 for ev in after if is_militia_attack(ev))
    return {
        "max_rung": max((ev.rung or 0 for ev in after), default=0),
        "us_deaths": sum(ev.us_deaths for ev in events),
        "iran_deaths": sum(ev.iran_deaths for ev in events),
        "militia_deaths": sum(ev.militia_deaths for ev in events),
        "civilian_deaths": sum(ev.civilian_deaths for ev in events),
        "battle_deaths": sum(ev.battle_deaths for ev in events),
        "n_militia_attacks": militia_attacks,
        "n_iran_strikes_us": sides[("iran", "us")],
        "n_us_strikes_iran": sides[("us", "iran")],
        "n_us_strikes_militia": sum(n for (side, tgt), n in sides.items() if side == "us" and tgt not in PRINCIPALS),
        "n_killings": kinds["targeted_killing"],
        "n_nuclear_steps": kinds["nuclear_step"],
        "n_accidents": kinds["accident_shootdown"],
    }
