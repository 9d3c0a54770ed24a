"""Run validation cases through the runner's public API and judge them.

Planning first: every distinct scenario (by config hash) of every selected case is run once,
with as many runs as the most demanding case asks for and with events if any case needs
them. Run i of a scenario always has the seed `run_seed(seed, 0, i)` (common random numbers),
so a case asking for fewer runs reads the first ones, two arms of a difference are paired
run by run, and the whole report is reproducible for a master seed whatever `jobs` is.

The tables a quantity sees get, beyond the runner's columns: `part` (index of the config in
the case's scenario list) and `scenario` (its name) on runs and events; on events `seq`
(order within the run), `violent` (kinetic, rung 5+, from the action table), `side_kind` and
`target_kind` (`state`, `militia` or `commander`, from the scenario). Failed runs (a non-null
`error`) are dropped from the tables and counted.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from abm.config import Scenario, config_hash
from abm.model.actions import BY_NAME
from abm.runner import DEFAULT_SEED, run_in_memory, single_experiment
from abm.validation.cases import Arm, Case, Status
from abm.validation.quantities import Tables, compute
from abm.validation.stats import Estimate, undefined


@dataclass
class CaseResult:
    """A judged case: its estimate, pass/fail and the runs behind it."""

    case: Case
    estimate: Estimate
    status: Status
    runs: int
    failures: int
    error: str | None = None


@dataclass
class _Job:
    scenario: Scenario
    runs: int = 0
    events: bool = False
    users: list[str] = field(default_factory=list)


@dataclass
class _Output:
    runs: pd.DataFrame
    events: pd.DataFrame | None


def _arms(case: Case) -> list[Arm]:
    return [case.arm, *([case.versus] if case.versus is not None else [])]


def plan(cases: Sequence[Case], runs: int | None = None) -> dict[str, _Job]:
    """Distinct scenarios to run, keyed by config hash, with the runs and events they need."""
    jobs: dict[str, _Job] = {}
    for case in cases:
        n = runs or case.spec.runs
        events = case.quantity.needs_events
        for arm in _arms(case):
            for scenario in arm.scenarios:
                job = jobs.setdefault(config_hash(scenario), _Job(scenario))
                job.runs = max(job.runs, n)
                job.events = job.events or events
                job.users.append(case.name)
    return jobs


def _kinds(scenario: Scenario) -> dict[str, str]:
    kinds = dict.fromkeys(scenario.states, "state")
    kinds.update(dict.fromkeys(scenario.militias, "militia"))
    kinds.update(dict.fromkeys(scenario.commanders, "commander"))
    return kinds


def annotate_events(events: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Add `seq`, `violent`, `side_kind` and `target_kind` to a run-sorted events table."""
    out = events.copy()
    out["seq"] = out.groupby("run", sort=False).cumcount().astype("int64")
    violent = {name: action.violent for name, action in BY_NAME.items()}
    out["violent"] = out["action"].map(violent).fillna(False).astype(bool)
    kinds = _kinds(scenario)
    out["side_kind"] = out["side"].map(kinds).astype("str")
    out["target_kind"] = out["target_side"].map(kinds).astype("str")
    return out


def _run_job(job: _Job, seed: int, jobs: int | None, backend: str, scheduler: str | None = None) -> _Output:
    experiment = single_experiment(job.scenario, job.runs, seed, events=job.events, max_failure_share=1.0)
    result = run_in_memory(experiment, jobs=jobs, backend=backend, scheduler=scheduler)
    events = annotate_events(result.events, job.scenario) if result.events is not None else None
    return _Output(result.runs, events)


def tables(arm: Arm, outputs: dict[str, _Output], runs: int) -> tuple[Tables, int]:
    """The arm's pooled tables (first `runs` runs of each config) and its number of failed runs."""
    run_parts, event_parts = [], []
    failures = 0
    with_events = True
    for part, scenario in enumerate(arm.scenarios):
        out = outputs[config_hash(scenario)]
        r = out.runs[out.runs["run"] < runs]
        bad = r["error"].notna() if "error" in r else pd.Series(False, index=r.index)
        failures += int(bad.sum())
        r = r[~bad].assign(part=part, scenario=scenario.name)
        run_parts.append(r)
        if out.events is None:
            with_events = False
        else:
            e = out.events[out.events["run"].isin(r["run"])]
            event_parts.append(e.assign(part=part, scenario=scenario.name))
    runs_table = pd.concat(run_parts, ignore_index=True)
    events_table = pd.concat(event_parts, ignore_index=True) if with_events and event_parts else None
    horizons = {part: s.horizon_days for part, s in enumerate(arm.scenarios)}
    return Tables(runs_table, events_table, horizons), failures


def judge(case: Case, outputs: dict[str, _Output], runs: int) -> CaseResult:
    """Compute a case's quantity on its tables and judge it against its band."""
    first, failures = tables(case.arm, outputs, runs)
    second = None
    if case.versus is not None:
        second, more = tables(case.versus, outputs, runs)
        failures += more
    try:
        estimate = compute(case.quantity, first, second)
    except (ValueError, KeyError) as exc:  # e.g. an expression that fails on real data
        estimate = undefined(0, "-", str(exc))
        return CaseResult(case, estimate, "no data", runs, failures, error=str(exc))
    return CaseResult(case, estimate, case.judge(estimate), runs, failures)


def run_cases(
    cases: Sequence[Case],
    *,
    runs: int | None = None,
    seed: int = DEFAULT_SEED,
    jobs: int | None = 1,
    backend: str = "serial",
    scheduler: str | None = None,
    log: Callable[[str], None] | None = None,
) -> list[CaseResult]:
    """Run every scenario the cases need (once each) and judge each case, in the given order.

    `scheduler`: a dask scheduler's address (with `backend="dask"`), as `abm validate --scheduler`."""
    say = log or (lambda text: None)
    jobs_by_hash = plan(cases, runs)
    outputs: dict[str, _Output] = {}
    for i, (key, job) in enumerate(jobs_by_hash.items(), 1):
        began = time.monotonic()
        say(
            f"[{i}/{len(jobs_by_hash)}] {job.scenario.name}: {job.runs} runs{' with events' if job.events else ''}"
            f" (for {', '.join(dict.fromkeys(job.users))})"
        )
        outputs[key] = _run_job(job, seed, jobs, backend, scheduler)
        say(f"      done in {time.monotonic() - began:.1f} s")
    return [judge(case, outputs, runs or case.spec.runs) for case in cases]


def stderr_log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


__all__ = ["CaseResult", "annotate_events", "judge", "plan", "run_cases", "tables"]
