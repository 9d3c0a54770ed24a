"""A stand-in model for runner tests: deterministic in (scenario, seed), cheap, lever-sensitive.

Runner properties (seeding, storage, resume, failure accounting) must not hinge on the crisis
model's internals or speed, so those tests run this fake through the runner's test-only
`simulator` hook (`ABM_SIMULATOR=tests.runner.runner_fakes:simulate` in subprocesses). Determinism tests
across backends use the real `abm.model.simulate.simulate`.
"""

from __future__ import annotations

import numpy as np

from abm.config import Scenario
from abm.model.outcomes import OUTCOMES
from abm.model.records import EVENT_COLUMNS, RUN_COLUMNS
from abm.model.simulate import RunResult

FAKE = "tests.runner.runner_fakes:simulate"
_DEFAULTS = {"int64": 0, "float64": 0.0, "bool": False, "string": "x", "list<int64>": ()}
DOCTRINE_PUSH = {"proportional": 0.0, "lethal_red_line": 0.1, "massive": 0.3}
CHOSEN_WARNING = 0.8  # the fake's stand-in for Iran deciding itself (`advance_warning: choose`)


def simulate(scenario: Scenario, seed: int, record_events: bool = False) -> RunResult:
    """Outcome probabilities shift with us.doctrine and iran.advance_warning, like a lever would."""
    if not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise TypeError(f"seed must be a Python int in [0, 2**63), got {seed!r}")
    rng = np.random.default_rng(seed)
    warning = scenario.states["iran"].advance_warning
    warning = CHOSEN_WARNING if warning == "choose" else warning
    p_spiral = 0.05 + DOCTRINE_PUSH[scenario.states["us"].doctrine] + 0.1 * (1 - warning)
    weights = np.array([p_spiral, 0.5, 0.05, 0.45 - p_spiral])
    outcome = OUTCOMES[int(rng.choice(len(OUTCOMES), p=weights / weights.sum()))]
    record: dict[str, object] = {k: _DEFAULTS[t] for k, t in RUN_COLUMNS.items()}
    days = int(rng.integers(1, scenario.horizon_days + 1))
    record.update(
        outcome=outcome,
        days=days,
        state_hot_days=[days] if outcome in ("deescalation", "unresolved") else [],
        max_rung=int(rng.integers(0, 10)),
        us_deaths=int(rng.poisson(1.0)),
        nuclear_progress=float(rng.random()),
        escalation_score=float(rng.normal()),
    )
    events = []
    if record_events:
        for day in range(int(rng.integers(0, 4))):
            ev: dict[str, object] = {k: _DEFAULTS[t] for k, t in EVENT_COLUMNS.items()}
            ev.update(day=day, actor="iran", action="public_threat", rung=int(rng.integers(0, 9)))
            events.append(ev)
    return RunResult(record=record, events=events)
