"""5. Cost growth: time per run against the horizon and against the number of agents.

Horizon: the baseline with `horizon_days` 45..360. Agents: the baseline plus 4, 8 or 16 extra
militias, clones of `pmf_other` (Iran's patron, US enemy) with reach to existing US sites, added
as config overrides `militias.extra_NN = {...}`. Runs stop early at a war or a deal, and more
militias mean more attacks and earlier wars, so besides time per run the cost per simulated
day is reported: that is what "linear" should be read on.

Each point: the same seeds, `run_model` + `summarize` (what `simulate` does), CPU time of this
process (robust to other jobs on the machine), best of the repeats.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

from benchmarks.common import BASELINE, BENCH_DIR, Section, seeds

CLONE = {
    "patron": "iran",
    "enemy": "us",
    "autonomy": 0.35,
    "loyalty": 0.6,
    "revenge": 0.2,
    "capability": 0.5,
    "deniability": 0.7,
    "reach": ["camp_taji", "us_embassy_baghdad", "al_asad", "erbil"],
}


def scenario_with(horizon: int = 180, extra_militias: int = 0) -> Any:
    from abm.config import load_config

    overrides: dict[str, Any] = {"horizon_days": horizon}
    overrides.update({f"militias.extra_{i:02d}": dict(CLONE) for i in range(extra_militias)})
    return load_config(BASELINE, overrides)


def point(scenario: Any, n: int, repeats: int) -> dict[str, Any]:
    from abm.model.simulate import release, run_model, summarize

    todo = seeds(n)
    best_cpu = best_wall = math.inf
    days = agents = 0
    outcomes: Counter[str] = Counter()
    for _ in range(repeats):
        days, outcomes = 0, Counter()
        c0, t0 = time.process_time(), time.perf_counter()
        for s in todo:
            model = run_model(scenario, s)
            outcomes[str(summarize(model)["outcome"])] += 1
            days += model.day
            agents = len(model.agents)
            release(model)
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - t0)
    return {
        "ms_per_run": 1000 * best_cpu / n,
        "wall_ms_per_run": 1000 * best_wall / n,
        "mean_days": days / n,
        "us_per_day": 1e6 * best_cpu / days,
        "agents": agents,
        "spiral": outcomes["spiral"] / n,
    }


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b x: (a, b, R^2)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    a = my - b * mx
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))
    ss_tot = sum((y - my) ** 2 for y in ys) or 1e-300
    return a, b, 1 - ss_res / ss_tot


def _elasticity(xs: list[float], ys: list[float]) -> float:
    """Slope of log y on log x: 1 = linear, < 1 = sublinear, > 1 = superlinear."""
    return _fit([math.log(x) for x in xs], [math.log(y) for y in ys])[1]


def plot(horizon: list[dict[str, Any]], agents: list[dict[str, Any]], quick: bool) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suffix = "_quick" if quick else ""
    names = []
    # horizon
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    h = [p["horizon"] for p in horizon]
    ms = [p["ms_per_run"] for p in horizon]
    a, b, r2 = _fit(h, ms)
    a1.plot(h, ms, "o-", label="measured (CPU time, best of repeats)")
    a1.plot([0, max(h)], [a, a + b * max(h)], ":", color="grey", label=f"linear fit (R² = {r2:.3f})")
    a1.set_xlabel("horizon (days)")
    a1.set_ylabel("time per run (ms)")
    a1.set_title("Time per run against horizon")
    a1.set_xlim(0, max(h) * 1.05)
    a1.set_ylim(0, None)
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    a2.plot(h, [p["us_per_day"] for p in horizon], "o-", color="C1", label="CPU time / simulated day")
    a2.set_xlabel("horizon (days)")
    a2.set_ylabel("time per simulated day (µs)")
    a2.set_title("Cost per simulated day (runs can stop early)")
    a2.set_xlim(0, max(h) * 1.05)
    a2.set_ylim(0, None)
    a2.legend(fontsize=8)
    a2.grid(alpha=0.3)
    fig.suptitle("Baseline scenario, cost against horizon")
    fig.tight_layout()
    name = f"scaling_horizon{suffix}.png"
    fig.savefig(BENCH_DIR / name, dpi=110)
    plt.close(fig)
    names.append(name)
    # agents
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    n = [p["agents"] for p in agents]
    ms = [p["ms_per_run"] for p in agents]
    per_day = [p["us_per_day"] for p in agents]
    a1.plot(n, ms, "o-", label="measured (CPU time, best of repeats)")
    a1.plot(n, [ms[0] * x / n[0] for x in n], ":", color="grey", label="proportional to agents (linear)")
    for p in agents:
        a1.annotate(f"+{p['extra']}", (p["agents"], p["ms_per_run"]), textcoords="offset points", xytext=(4, -12))
    a1.set_xlabel("agents in the model (states + commanders + militias)")
    a1.set_ylabel("time per run (ms)")
    a1.set_title("Time per run against agent count")
    a1.set_ylim(0, None)
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    a2.plot(n, per_day, "o-", color="C1", label="CPU time / simulated day")
    a2.plot(n, [per_day[0] * x / n[0] for x in n], ":", color="grey", label="proportional to agents (linear)")
    a2.set_xlabel("agents in the model (states + commanders + militias)")
    a2.set_ylabel("time per simulated day (µs)")
    a2.set_title("Cost per simulated day against agent count")
    a2.set_ylim(0, None)
    a2.legend(fontsize=8)
    a2.grid(alpha=0.3)
    fig.suptitle("Baseline scenario (180 days) plus 0, 4, 8, 16 cloned militias")
    fig.tight_layout()
    name = f"scaling_agents{suffix}.png"
    fig.savefig(BENCH_DIR / name, dpi=110)
    plt.close(fig)
    names.append(name)
    return names


def run(quick: bool) -> Section:
    n, repeats = (40, 1) if quick else (200, 2)
    horizons = [45, 180, 360] if quick else [45, 90, 135, 180, 270, 360]
    extras = [0, 8, 16] if quick else [0, 4, 8, 16]
    point(scenario_with(), 10, 1)  # warm-up
    horizon = [{"horizon": h, "extra": 0, **point(scenario_with(h), n, repeats)} for h in horizons]
    agents = [{"horizon": 180, "extra": e, **point(scenario_with(180, e), n, repeats)} for e in extras]
    figures = plot(horizon, agents, quick)
    rows = [
        [
            p["horizon"],
            f"+{p['extra']}",
            p["agents"],
            f"{p['ms_per_run']:.2f}",
            f"{p['wall_ms_per_run']:.2f}",
            f"{p['mean_days']:.0f}",
            f"{p['us_per_day']:.0f}",
            f"{p['spiral']:.1%}",
        ]
        for p in horizon + agents
    ]
    hx = [p["horizon"] for p in horizon]
    _, slope, r2 = _fit(hx, [p["ms_per_run"] for p in horizon])
    ax = [p["agents"] for p in agents]
    metrics = {
        "runs_per_point": n,
        "horizon_r2_linear": round(r2, 4),
        "horizon_ms_per_day_slope": round(slope, 4),
        "horizon_elasticity_per_run": round(_elasticity(hx, [p["ms_per_run"] for p in horizon]), 3),
        "horizon_elasticity_per_day_cost": round(_elasticity(hx, [p["us_per_day"] for p in horizon]), 3),
        "agents_elasticity_per_run": round(_elasticity(ax, [p["ms_per_run"] for p in agents]), 3),
        "agents_elasticity_per_day": round(_elasticity(ax, [p["us_per_day"] for p in agents]), 3),
        "agents_range": [min(ax), max(ax)],
        "points": horizon + agents,
    }
    notes = [
        f"{n} runs per point (the same seeds), CPU time of this process, best of {repeats}.",
        f"Horizon: linear fit of time per run R² = {r2:.3f}, {slope:.3f} ms per horizon day; elasticity "
        f"(log-log slope) of time per run {metrics['horizon_elasticity_per_run']:.2f}, of the cost per simulated "
        f"day {metrics['horizon_elasticity_per_day_cost']:+.2f} (0 = constant cost per day).",
        f"Agents ({min(ax)} -> {max(ax)}): elasticity of time per run {metrics['agents_elasticity_per_run']:.2f}, "
        f"of cost per simulated day {metrics['agents_elasticity_per_day']:.2f} (1 = proportional to agents). "
        "Clones raise the attack rate, so the spiral share rises and runs get shorter (see columns).",
    ]
    return Section(
        name="scaling",
        title="5. Cost growth with horizon and agent count",
        columns=[
            "horizon (days)",
            "extra militias",
            "agents",
            "ms/run (CPU)",
            "ms/run (wall)",
            "mean simulated days",
            "µs per simulated day",
            "spiral share",
        ],
        rows=rows,
        metrics=metrics,
        notes=notes,
        figures=figures,
    )
