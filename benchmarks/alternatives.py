"""6. The same workload through what a user would pick instead: `mesa.batch_run`, EMA Workbench.

All three run the baseline for the same seeds on 2 processes:

* abm: `run_experiment(single_experiment(baseline, N, seed), out, jobs=2, backend="loky")`, as
  `abm run --jobs 2` (Parquet part files, manifest), loky pool started inside the timing;
* `mesa.batch_run(BatchCrisis, {"config": path, "seed": seeds}, number_processes=2,
  iterations=1, data_collection_period=-1, max_steps=horizon)`: `BatchCrisis` is the thin
  wrapper a Mesa user writes: `CrisisModel` plus a `DataCollector` collected in `__init__` and
  after every step (batch_run reads `model_vars[step]`, so it needs a record per step), and a
  stop at the horizon: without it batch_run's `max_steps + 1`-th step runs day 181 of a
  180-day scenario and the model raises IndexError (its random blocks end at the horizon). The seeds
  are a parameter (N values x 1 iteration) rather than `iterations=N`: batch_run does not vary the
  seed between iterations, so N iterations of one seed would repeat one run N times;
* EMA Workbench 2.x `MultiprocessingEvaluator(Model(function=ema_crisis), n_processes=2)` with
  one `Scenario(seed=...)` per run; `ema_crisis` calls `abm.model.simulate.simulate`.

Outcomes are compared run by run (same seed). batch_run reports the record before the last step
(`model_vars[model.steps - 1]`), so every run is reported as of the day before it ended: day
179 for runs that reach the horizon, the eve of the war for runs that stop at one.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import warnings
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import mesa

from abm.model.model import CrisisModel
from abm.model.outcomes import OUTCOMES, classify
from benchmarks.common import BASELINE, MASTER_SEED, Section, baseline, fmt_load, loadavg, sampling, seeds


@cache
def _scenario(config: str) -> Any:
    from abm.config import load_config

    return load_config(config)


def report_outcome(model: BatchCrisis) -> str:
    return classify(model.events, model.scenario.horizon_days, model.world.war_death_threshold).label


def report_day(model: BatchCrisis) -> int:
    return model.day


def report_battle_deaths(model: BatchCrisis) -> int:
    return sum(ev.battle_deaths for ev in model.events)


class BatchCrisis(CrisisModel):
    """The crisis model as a Mesa user would hand it to `batch_run` (module level: spawn pickles it)."""

    def __init__(self, config: str, seed: int) -> None:
        super().__init__(_scenario(config), seed)
        self.datacollector = mesa.DataCollector(
            model_reporters={"outcome": report_outcome, "day": report_day, "battle_deaths": report_battle_deaths}
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        super().step()
        # Stop at the horizon: batch_run steps while `steps <= max_steps`, one step past it, and the
        # model's random blocks end at the horizon (day 181 of 180 raises IndexError in `draw`).
        self.running = self.running and self.day < self.scenario.horizon_days
        self.datacollector.collect(self)


def ema_crisis(seed: int) -> dict[str, float]:
    """The EMA Workbench model function: one run, outcomes as numbers (EMA stores arrays)."""
    from abm.model.simulate import simulate

    record = simulate(_scenario(str(BASELINE)), int(seed)).record
    return {**{o: float(record["outcome"] == o) for o in OUTCOMES}, "days": float(record["days"])}  # type: ignore[arg-type]


# -- the three ways ------------------------------------------------------------------------------
def _cold_loky() -> None:
    """Shut loky's reusable pool down so abm pays its pool start like the others do."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor(max_workers=2).shutdown(wait=True)


def run_abm(todo: list[int], out: Path) -> dict[int, str]:
    from abm.runner import read_table, run_experiment, single_experiment

    result = run_experiment(single_experiment(baseline(), len(todo), MASTER_SEED), out, jobs=2, progress=False)
    runs = read_table(out / "runs", ["seed", "outcome"])
    assert result.runs_done == len(todo) and set(runs["seed"]) == set(todo)
    return dict(zip(runs["seed"].astype(int), runs["outcome"].astype(str), strict=True))


def run_batch(todo: list[int]) -> tuple[dict[int, str], Counter[int]]:
    horizon = baseline().horizon_days
    rows = mesa.batch_run(
        BatchCrisis,
        parameters={"config": str(BASELINE), "seed": todo},
        number_processes=2,
        iterations=1,
        data_collection_period=-1,
        max_steps=horizon,
        display_progress=False,
    )
    steps = Counter(int(r["Step"]) + 1 for r in rows)  # the record's index is steps - 1
    return {int(r["seed"]): str(r["outcome"]) for r in rows}, steps


def run_ema(todo: list[int]) -> dict[int, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench import IntegerParameter, Model, MultiprocessingEvaluator, ScalarOutcome
        from ema_workbench import Scenario as EmaScenario
    model = Model("crisis", function=ema_crisis)
    model.uncertainties = [IntegerParameter("seed", 0, 2**63 - 1)]
    model.outcomes = [ScalarOutcome(o) for o in (*OUTCOMES, "days")]
    scenarios = [EmaScenario(f"run{i}", seed=s) for i, s in enumerate(todo)]
    quiet = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = "ignore::UserWarning"  # spawned workers re-import ema_workbench
    try:
        with MultiprocessingEvaluator(model, n_processes=2) as evaluator:
            experiments, outcomes = evaluator.perform_experiments(scenarios=scenarios)
    finally:
        if quiet is None:
            os.environ.pop("PYTHONWARNINGS", None)
        else:
            os.environ["PYTHONWARNINGS"] = quiet
    labels = {}
    for i, s in enumerate(experiments["seed"]):
        hit = [o for o in OUTCOMES if outcomes[o][i] == 1.0]
        labels[int(s)] = hit[0] if len(hit) == 1 else "?"
    return labels


def _time(fn: Any) -> dict[str, Any]:
    load = loadavg()
    with sampling(interval=0.1) as sampler, contextlib.redirect_stderr(io.StringIO()):
        t0 = time.perf_counter()
        try:
            value, error = fn(), None
        except Exception as exc:  # an alternative that does not install or run: say so, go on
            value, error = None, f"{type(exc).__name__}: {exc}"
        wall = time.perf_counter() - t0
    return {"wall": wall, "value": value, "error": error, "load": load, "worker_rss": sampler.peak("child")}


def run(quick: bool) -> Section:
    n = 150 if quick else 2000
    todo = seeds(n)
    with tempfile.TemporaryDirectory(prefix="abm-bench-") as tmp:
        _cold_loky()
        ours = _time(lambda: run_abm(todo, Path(tmp) / "abm"))
    batch = _time(lambda: run_batch(todo))
    ema = _time(lambda: run_ema(todo))
    if ours["error"]:
        raise RuntimeError(f"abm failed: {ours['error']}")
    mine: dict[int, str] = ours["value"]
    batch_labels, batch_steps = batch["value"] if batch["value"] else ({}, Counter())
    ema_labels: dict[int, str] = ema["value"] or {}

    def agree(other: dict[int, str]) -> str:
        if not other:
            return "-"
        same = sum(other.get(s) == mine[s] for s in todo)
        return f"{same}/{n}"

    rows = []
    metrics: dict[str, Any] = {"runs": n}
    for name, res, labels in (
        ("abm run --jobs 2 (loky, Parquet)", ours, mine),
        ("mesa.batch_run, 2 processes", batch, batch_labels),
        ("EMA Workbench MultiprocessingEvaluator, 2 processes", ema, ema_labels),
    ):
        if res["error"]:
            rows.append([name, n, "failed", "", "", "", "", res["error"][:150]])
            continue
        rate = n / res["wall"]
        rows.append(
            [
                name,
                n,
                f"{res['wall']:.1f}",
                f"{rate:.1f}",
                f"{ours['wall'] / res['wall']:.2f}",
                agree(labels) if labels is not mine else f"{n}/{n}",
                f"{res['worker_rss'] / 2**20:.0f}",
                fmt_load(res["load"]),
            ]
        )
    metrics["abm_runs_per_s"] = round(n / ours["wall"], 1)
    if not batch["error"]:
        metrics["batch_run_runs_per_s"] = round(n / batch["wall"], 1)
        metrics["abm_speedup_vs_batch_run"] = round(batch["wall"] / ours["wall"], 2)
        metrics["batch_run_agreement"] = sum(batch_labels.get(s) == mine[s] for s in todo) / n
    if not ema["error"]:
        metrics["ema_runs_per_s"] = round(n / ema["wall"], 1)
        metrics["abm_speedup_vs_ema"] = round(ema["wall"] / ours["wall"], 2)
        metrics["ema_agreement"] = sum(ema_labels.get(s) == mine[s] for s in todo) / n

    shares = [
        [o, *(f"{Counter(lab.values())[o] / n:.1%}" if lab else "-" for lab in (mine, batch_labels, ema_labels))]
        for o in OUTCOMES
    ]
    notes = [
        f"Same {n} seeds (runs 0..{n - 1} of master seed {MASTER_SEED}) everywhere; 'x abm' = abm's wall time / "
        "this one's (below 1 = slower than abm); 'agree' = runs with the same outcome label as abm, seed by seed.",
    ]
    if batch_labels:
        horizon = baseline().horizon_days
        flips = Counter((mine[s], batch_labels[s]) for s in todo if batch_labels.get(s) != mine[s])
        notes.append(
            f"batch_run with `max_steps={horizon}` and a wrapper that does not stop itself crashes: it steps while "
            f"`model.steps <= max_steps`, i.e. {horizon + 1} times, and day {horizon + 1} is past the model's random "
            f"blocks. With the wrapper stopping at day {horizon}, it returns `model_vars[steps - 1]`, the record "
            f"before the last step: day {horizon - 1} for {batch_steps.get(horizon, 0)} runs that reached the "
            "horizon, the eve of the war for runs stopped by one. Disagreements (abm -> batch_run): "
            + (", ".join(f"{a} -> {b}: {k}" for (a, b), k in flips.most_common()) or "none")
            + ". Its workers also keep every model alive (Mesa's `Agent._ids`, never released), see the worker "
            "RSS column; and the wrapper classifies the history at every step (the DataCollector pattern)."
        )
    if ema["error"]:
        notes.append(f"EMA Workbench could not run here: {ema['error'][:300]}")
    else:
        notes.append(
            "EMA calls abm's own `simulate`, so its labels must equal abm's; it dispatches one run per task "
            "(`apply_async`) and keeps results in memory (numpy arrays and a DataFrame of experiments)."
        )
    return Section(
        name="alternatives",
        title="6. Alternatives on the same workload (2 processes)",
        columns=["tool", "runs", "wall s", "runs/s", "x abm", "agree with abm", "largest worker MiB", "load"],
        rows=rows,
        metrics=metrics,
        notes=notes,
        extra_tables=[
            {"title": "Outcome shares, same seeds", "columns": ["outcome", "abm", "batch_run", "EMA"], "rows": shares}
        ],
    )
