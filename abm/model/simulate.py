"""One run of the crisis model as a pure function of (scenario, seed) returning plain records.

Workers call `simulate` and send back the flat record (and event rows if asked), never the
model: records pickle cheaply and cannot drag a Mesa model across processes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import mesa

from abm.config.schema import Scenario
from abm.model.actions import BY_NAME
from abm.model.history import Event
from abm.model.model import CrisisModel
from abm.model.outcomes import (
    QUIET_WINDOW_DAYS,
    classify,
    exchange_day,
    is_militia_attack,
    max_stage,
    metrics,
    state_hot_days,
    theatre_counts,
)
from abm.model.records import RUN_COLUMNS

WARNED, UNWARNED = "warned_missile_strike", "unwarned_missile_strike"


@dataclass(slots=True)
class RunResult:
    """What a worker sends back: a flat record (RUN_COLUMNS) and, if asked, event rows."""

    record: dict[str, object]
    events: list[dict[str, object]] = field(default_factory=list)


def run_model(scenario: Scenario, seed: int) -> CrisisModel:
    """Build and run a model until it stops itself: at the horizon or an absorbing outcome."""
    model = CrisisModel(scenario, seed)
    while model.running:
        model.step()
    return model


def release(model: CrisisModel) -> None:
    """Drop Mesa's class-level id counter for this model (MESA_NOTES.md: it leaks every model)."""
    mesa.Agent._ids.pop(model, None)


def dismantle(model: CrisisModel) -> None:
    """Break a finished run's reference cycles so reference counting frees it at once.

    A model and its agents point at each other (and Mesa keeps the model's own bound `step` on
    it), so a dead run waits for Python's cyclic collector, which then walks every object of it:
    about 4% of a run's cost. Only for a model nobody reads again (`simulate`'s own).
    """
    release(model)
    for agent in model.by_id.values():
        agent.__dict__.clear()
    model.__dict__.clear()


def simulate(scenario: Scenario, seed: int, record_events: bool = False) -> RunResult:
    """Run one replication; `seed` is a non-negative int < 2**63 (see abm.runner.seeds)."""
    model = run_model(scenario, seed)
    try:
        return RunResult(summarize(model), [ev.as_row() for ev in model.events] if record_events else [])
    finally:
        dismantle(model)


def trigger_dyad(events: list[Event]) -> tuple[str, str] | None:
    """(who struck, who was struck) by the scenario's trigger: the first kinetic act imposed on day 0."""
    for ev in events:
        if ev.day == 0 and ev.imposed and ev.kinetic and ev.target_side:
            return ev.side, ev.target_side
    return None


def first_violent_response(events: list[Event], answerers: set[str], answered: set[str]) -> int | None:
    """Day of the first violent act after day 0 by one of `answerers` on one of `answered`."""
    days = [
        ev.day
        for ev in events
        if ev.day > 0 and ev.side in answerers and ev.target_side in answered and BY_NAME[ev.action].violent
    ]
    return min(days, default=None)


def answer_to_trigger(model: CrisisModel) -> int | None:
    """The day the struck side (or its proxies) first answered the trigger's author (or its patron) violently."""
    dyad = trigger_dyad(model.events)
    if dyad is None:
        return None
    author, struck = dyad
    patron = model.topo.patron.get(author)
    answered = {author, *([patron] if patron else [])}
    return first_violent_response(model.events, {struck, *model.topo.proxies.get(struck, ())}, answered)


def warned_share(events: list[Event]) -> float | None:
    """Share of the (not imposed) missile strikes that went out warned (MODEL.md §7 `iran_warned_share`)."""
    warned = sum(1 for ev in events if ev.action == WARNED and not ev.imposed)
    unwarned = sum(1 for ev in events if ev.action == UNWARNED and not ev.imposed)
    return warned / (warned + unwarned) if warned + unwarned else None


def summarize(model: CrisisModel) -> dict[str, object]:
    """The per-run record: outcome, metrics of the history, and the final state of key agents."""
    scenario = model.scenario
    events = model.events
    states = model.state_ids
    outcome = classify(events, scenario.horizon_days, states, scenario.world.war_death_threshold)
    hosts = [s for s in model.states.values() if s.guests]
    programmes = [s for s in model.states.values() if s.nuclear_progress is not None]
    voted = [s.vote_day for s in hosts if s.vote_day is not None]
    expelled = [s.expulsion_day for s in hosts if s.expulsion_day is not None]
    breakouts = [s.breakout_day for s in programmes if s.breakout_day is not None]
    proxy_days = [ev.day for ev in events if is_militia_attack(ev, states)]
    exchange = exchange_day(events, states)
    row = {
        "outcome": outcome.label,
        "days": outcome.day,
        "max_stage": max_stage(events, states, outcome, exchange),
        "exchange_day": exchange,
        "state_hot_days": state_hot_days(events, states),
        "proxy_active": any(d > model.day - QUIET_WINDOW_DAYS for d in proxy_days),
        **metrics(events, states),
        "militia_attacks_by_theatre": theatre_counts(events, states, model.topo.host),
        "expulsion_vote": bool(voted),
        "expulsion_vote_day": min(voted, default=None),
        "expelled": bool(expelled),
        "expelled_day": min(expelled, default=None),
        "accident": model.accident_happened,
        "third_party_entry": any(s.entered for s in model.states.values() if not s.engaged),
        "nuclear_progress": max((s.nuclear_progress or 0.0 for s in programmes), default=0.0),
        "breakout": bool(breakouts),
        "breakout_day": min(breakouts, default=None),
        "deal_terms": json.dumps(model.deal_terms, sort_keys=True) if model.deal_terms else None,
        "warned_share": warned_share(events),
        "sanctions_level": max((s.sanctions_level for s in model.states.values()), default=0.0),
        "first_violent_response_day": answer_to_trigger(model),
        "escalation_score": float(sum(BY_NAME[ev.action].rivera for ev in events if ev.day > 0)),
    }
    return {name: row[name] for name in RUN_COLUMNS}
