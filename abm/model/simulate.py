"""One run of the crisis model as a pure function of (scenario, seed) returning plain records."""

from __future__ import annotations

from dataclasses import dataclass, field

from abm.config.schema import Scenario


@dataclass(slots=True)
class RunResult:
    """What a worker sends back: a flat record (RUN_COLUMNS) and, if asked, event rows."""

    record: dict[str, object]
    events: list[dict[str, object]] = field(default_factory=list)


def simulate(scenario: Scenario, seed: int, record_events: bool = False) -> RunResult:
    """Run one replication; `seed` is a non-negative int < 2**63 (see abm.runner.seeds)."""
    raise NotImplementedError("model under construction")
