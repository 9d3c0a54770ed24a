"""Global calibration by rejection: one parameter set scored against all patterns at once.

Pattern-oriented modelling (Grimm et al. 2005): the uncertain parameters are sampled by a
Latin hypercube (SALib), every validation case is run at every point with the *same*
overrides for every scenario (no case-by-case tuning), and a point is scored by how many
cases it passes and, among equals, by how far its estimates sit outside their bands (in band
widths). The accepted set is the points that pass the most cases; the chosen defaults are the
best-scoring accepted point. The whole table is kept so a user can see how sharp the choice is.

Calibration reads in-sample cases only: an out-of-sample case (`sample: out-of-sample`, a crisis
the model was not built on) is dropped when no cases are named and refused when a spec names it,
so a later out-of-sample check is not contaminated by having tuned on it (`calibration_cases`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from abm.config import ConfigError, with_overrides
from abm.config.ranges import problem_dict
from abm.runner.designs import ParamRange, salib_sample
from abm.validation.cases import Arm, Case, load_cases
from abm.validation.run import CaseResult, run_cases


class CalibrationSpec(BaseModel):
    """`experiments/calibration.yaml`: what to vary, how much, and which cases to score."""

    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, tuple[float, float]] = Field(min_length=1, description="dotted key -> [low, high]")
    points: int = Field(24, ge=2, le=10_000, description="Latin hypercube points")
    runs: int = Field(100, ge=10, le=100_000, description="runs per scenario per point")
    seed: int = Field(20200103, ge=0, description="master seed (sampling and runs)")
    cases: list[str] = Field(
        default_factory=list, description="case names to score (empty: all in-sample; never an out-of-sample one)"
    )


def load_spec(path: str | Path) -> CalibrationSpec:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    try:
        spec = CalibrationSpec.model_validate(raw)
    except Exception as exc:  # pydantic's message already names the key
        raise ConfigError(f"{path}: {exc}") from None
    for key, (low, high) in spec.parameters.items():
        if not low < high:
            raise ConfigError(f"{path}: parameters.{key}: low {low} must be below high {high}")
    return spec


def calibration_cases(
    names: Sequence[str] | None = None,
    cases_dir: str | Path | None = None,
    configs_root: str | Path | None = None,
) -> list[Case]:
    """The cases a calibration may read: all in-sample ones, or those named (an out-of-sample one is refused)."""
    cases = load_cases(list(names) if names else None, cases_dir, configs_root)
    if names:
        held_out = [c.name for c in cases if c.sample == "out-of-sample"]
        if held_out:
            raise ConfigError(
                f"cases: {', '.join(held_out)} {'is' if len(held_out) == 1 else 'are'} out-of-sample; "
                "calibration never reads out-of-sample cases (remove it from the list)"
            )
        return cases
    return [c for c in cases if c.sample != "out-of-sample"]


def design(spec: CalibrationSpec) -> pd.DataFrame:
    """The Latin hypercube of parameter points (one row per point)."""
    names = list(spec.parameters)
    problem = problem_dict([ParamRange(n, *spec.parameters[n]) for n in names])
    sample = salib_sample("lhs", problem, spec.points, spec.seed)
    return pd.DataFrame(np.round(sample, 4), columns=names)


def shifted(case: Case, point: Mapping[str, Any]) -> Case:
    """The same case with the point's overrides applied to every scenario of every arm."""

    def arm(a: Arm) -> Arm:
        return dataclasses.replace(a, scenarios=tuple(with_overrides(s, dict(point)) for s in a.scenarios))

    return dataclasses.replace(case, arm=arm(case.arm), versus=arm(case.versus) if case.versus else None)


def miss(result: CaseResult) -> float:
    """Distance of the estimate outside its band, in band widths (0 inside the band)."""
    if not result.estimate.defined:
        return 10.0
    band = result.case.spec.band
    lo, hi = band.lo, band.hi
    width = (hi - lo) if np.isfinite(hi - lo) and hi > lo else max(abs(lo), abs(hi), 1.0)
    value = result.estimate.value
    return max(0.0, lo - value, value - hi) / width


def score(results: Sequence[CaseResult]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "passed": sum(r.status == "pass" for r in results),
        "cases": len(results),
        "miss": round(sum(miss(r) for r in results), 4),
    }
    row.update({f"value:{r.case.name}": r.estimate.value for r in results})
    return row


def calibrate(
    spec: CalibrationSpec,
    *,
    jobs: int | None = 1,
    backend: str = "serial",
    scheduler: str | None = None,
    log: Callable[[str], None] | None = None,
    cases_dir: str | Path | None = None,
    configs_root: str | Path | None = None,
) -> pd.DataFrame:
    """Score every design point on every in-sample case; best points first."""
    say = log or (lambda text: None)
    cases = calibration_cases(spec.cases, cases_dir, configs_root)
    if not cases:
        raise ConfigError("calibration: no in-sample validation case to score")
    points = design(spec)
    rows = []
    for i, point in points.iterrows():
        say(f"point {i + 1}/{len(points)}: " + ", ".join(f"{k}={v:g}" for k, v in point.items()))
        results = run_cases(
            [shifted(c, point) for c in cases],
            runs=spec.runs,
            seed=spec.seed,
            jobs=jobs,
            backend=backend,
            scheduler=scheduler,
        )
        rows.append({"point": i, **dict(point), **score(results)})
    table = pd.DataFrame(rows)
    return table.sort_values(["passed", "miss"], ascending=[False, True], kind="stable").reset_index(drop=True)
