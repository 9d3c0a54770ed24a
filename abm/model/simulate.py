"""One run of the crisis model as a pure function of (scenario, seed) returning plain records.

Workers call `simulate` and send back the flat record (and event rows if asked), never the
model: records pickle cheaply and cannot drag a Mesa model across processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mesa

from abm.config.schema import Scenario
from abm.model.actions import BY_NAME
from abm.model.agents.states import IranAgent, IraqAgent, ThirdPartyAgent, USAgent
from abm.model.history import Event
from abm.model.model import CrisisModel
from abm.model.outcomes import classify, metrics
from abm.model.records import RUN_COLUMNS


@dataclass(slots=True)
class RunResult:
    """What a worker sends back: a flat record (RUN_COLUMNS) and, if asked, event rows."""

    record: dict[str, object]
    events: list[dict[str, object]] = field(default_factory=list)


def run_model(scenario: Scenario, seed: int) -> CrisisModel:
    """Build and run a model to its horizon or absorbing outcome (for inspection and tests)."""
    model = CrisisModel(scenario, seed)
    while model.running and model.day < scenario.horizon_days:
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


def summarize(model: CrisisModel) -> dict[str, object]:
    """The per-run record: outcome, metrics of the history, and the final state of key agents."""
    scenario = model.scenario
    events = model.events
    outcome = classify(events, scenario.horizon_days, scenario.world.war_death_threshold)
    us, iran, iraq = (model.states.get(k) for k in ("us", "iran", "iraq"))
    row = {
        "outcome": outcome.label,
        "days": outcome.day,
        **metrics(events),
        "expelled": isinstance(iraq, IraqAgent) and iraq.expelled_day is not None,
        "accident": model.accident_happened,
        "third_party_entry": any(s.entered for s in model.states.values() if isinstance(s, ThirdPartyAgent)),
        "nuclear_progress": iran.nuclear_progress if isinstance(iran, IranAgent) else 0.0,
        "sanctions_level": us.sanctions_level if isinstance(us, USAgent) else 0.0,
        "first_violent_response_day": first_violent_response(events, proxies=model.topo.proxies.get("iran", ())),
        "escalation_score": float(sum(BY_NAME[ev.action].rivera for ev in events if ev.day > 0)),
    }
    return {name: row[name] for name in RUN_COLUMNS}
