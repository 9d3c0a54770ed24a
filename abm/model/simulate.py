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
from abm.model.agents.states import IranAgent, IraqAgent, ThirdPartyAgent, USAgent
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


def simulate(scenario: Scenario, seed: int, record_events: bool = False) -> RunResult:
    """Run one replication; `seed` is a non-negative int < 2**63 (see abm.runner.seeds)."""
    model = run_model(scenario, seed)
    try:
        return RunResult(summarize(model), [ev.as_row() for ev in model.events] if record_events else [])
    finally:
        release(model)


def first_violent_response(
    events: list[Event], patron: str = "iran", victim: str = "us", proxies: tuple[str, ...] = ()
) -> int | None:
    """Day of the first violent act by `patron` or its proxies on `victim` after day 0."""
    sides = {patron, *proxies}
    days = [
        ev.day
        for ev in events
        if ev.day > 0 and ev.side in sides and ev.target_side == victim and BY_NAME[ev.action].violent
    ]
    return min(days, default=None)


def warned_share(events: list[Event]) -> float | None:
    """Share of the chosen missile strikes that the striker warned (MODEL.md §7 `iran_warned_share`)."""
    warned = sum(1 for ev in events if ev.action == WARNED and not ev.imposed)
    unwarned = sum(1 for ev in events if ev.action == UNWARNED and not ev.imposed)
    return warned / (warned + unwarned) if warned + unwarned else None


def summarize(model: CrisisModel) -> dict[str, object]:
    """The per-run record: outcome, metrics of the history, and the final state of key agents."""
    scenario = model.scenario
    events = model.events
    states = model.state_ids
    outcome = classify(events, scenario.horizon_days, states, scenario.world.war_death_threshold)
    us, iran, iraq = (model.states.get(k) for k in ("us", "iran", "iraq"))
    host = isinstance(iraq, IraqAgent)
    nuclear = isinstance(iran, IranAgent)
    proxy_days = [ev.day for ev in events if is_militia_attack(ev, states)]
    theatre_of = {site: model.topo.host[site] or "no_host" for site in scenario.sites}
    row = {
        "outcome": outcome.label,
        "days": outcome.day,
        "max_stage": max_stage(events, states, outcome),
        "exchange_day": exchange_day(events, states),
        "state_hot_days": state_hot_days(events, states),
        "proxy_active": any(d > model.day - QUIET_WINDOW_DAYS for d in proxy_days),
        **metrics(events, states),
        "militia_attacks_by_theatre": theatre_counts(events, states, theatre_of),
        "expulsion_vote": host and iraq.vote_day is not None,
        "expulsion_vote_day": iraq.vote_day if host else None,
        "expelled": host and iraq.expulsion_day is not None,
        "expelled_day": iraq.expulsion_day if host else None,
        "accident": model.accident_happened,
        "third_party_entry": any(s.entered for s in model.states.values() if isinstance(s, ThirdPartyAgent)),
        "nuclear_progress": iran.nuclear_progress if nuclear else 0.0,
        "breakout": nuclear and iran.breakout_day is not None,
        "breakout_day": iran.breakout_day if nuclear else None,
        "deal_terms": json.dumps(model.deal_terms, sort_keys=True) if model.deal_terms else None,
        "warned_share": warned_share(events),
        "sanctions_level": us.sanctions_level if isinstance(us, USAgent) else 0.0,
        "first_violent_response_day": first_violent_response(events, proxies=model.topo.proxies.get("iran", ())),
        "escalation_score": float(sum(BY_NAME[ev.action].rivera for ev in events if ev.day > 0)),
    }
    return {name: row[name] for name in RUN_COLUMNS}
