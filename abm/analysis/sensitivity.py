"""Global sensitivity of outcome probabilities and metrics to uncertain parameters (SALib).

Each design point (a parameter vector from SALib's Sobol or Morris sampler) runs R
replications; the model output at the point is the share of its runs with each outcome and
the mean of each run metric. SALib then gives Sobol first-order and total indices (S1, ST,
with bootstrap intervals) or Morris elementary-effect statistics (mu*, its interval, sigma).

Why common random numbers: every point uses the same R seeds, so the Monte Carlo noise is
(largely) shared between points and cancels in the differences SALib's estimators are built
from; without it, noise of order sqrt(p(1-p)/R) at every point inflates the variance that
Sobol attributes to the parameters and the Morris elementary effects.

Sobol samples without second-order terms (N x (D + 2) points); N should be a power of two
(Saltelli / Sobol' sequence balance). Morris uses `num_levels` grid levels (default 4) and N
trajectories (N x (D + 1) points). Integer parameters (their base value is an int) are
rounded at each point; the analysis uses SALib's unrounded design.

`--param KEY=LO:HI` and `--param-block` are read, the SALib problem built, the design sampled
and turned into points by `abm.runner.designs`, as for `abm sweep`, `abm compare` and `abm robust`.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from abm.analysis.errors import AnalysisError
from abm.analysis.run_and_read import RunAccount, run_and_read
from abm.config import ConfigError, Scenario
from abm.config.loader import refuse_fixed_and_varied, refuse_repeated
from abm.defaults import SENSITIVITY_METHODS as METHODS
from abm.model.outcomes import OUTCOMES
from abm.runner import Experiment, points_experiment
from abm.runner.designs import ParamRange, matrix_points, ranges_problem, salib_sample
from abm.runner.designs import gather_ranges as gather_ranges  # `abm sensitivity` reads its options here

Method = Literal["sobol", "morris"]
OUTPUT_METRICS: tuple[str, ...] = ("days", "battle_deaths", "state_deaths", "max_rung", "escalation_score")
SOBOL_COLUMNS = ("param", "outcome_metric", "S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("param", "outcome_metric", "mu_star", "mu_star_conf", "sigma")
SENSITIVITY_FILE, POINTS_OUTPUT_FILE, DESIGN_FILE, SPEC_FILE = (
    "sensitivity.csv",
    "sensitivity_points.csv",
    "sensitivity_design.csv",
    "sensitivity.json",
)
RESAMPLES = 1000
INDEX_COLUMNS = {"sobol": SOBOL_COLUMNS, "morris": MORRIS_COLUMNS}  # table columns by method
SAMPLER_KEY, ANALYSIS_KEY = 0x5A1B, 0xA7A1


def _derived_seed(seed: int, key: int) -> int:
    return int(np.random.SeedSequence([seed, key]).generate_state(1, np.uint32)[0])


def sample(method: str, prob: Mapping[str, Any], samples: int, seed: int, num_levels: int = 4) -> np.ndarray:
    """SALib design matrix (rows = points) of `abm sensitivity`: Sobol without second-order terms, or
    Morris; seeded from the master seed (`designs.salib_sample`, the sampler of every design)."""
    if method == "sobol":
        if samples < 2 or samples & (samples - 1):
            raise ConfigError(f"--samples: got {samples}; Sobol needs a power of two >= 2 (e.g. 64, 256)")
    elif method == "morris":
        if samples < 2:
            raise ConfigError(f"--samples: got {samples}; Morris needs at least 2 trajectories")
    else:
        raise ConfigError(f"--method: got {method!r}; allowed: {', '.join(METHODS)}")
    sampler_seed = _derived_seed(seed, SAMPLER_KEY)
    return salib_sample(method, prob, samples, sampler_seed, second_order=False, num_levels=num_levels)


def point_outputs(runs: pd.DataFrame, metrics: Sequence[str] = OUTPUT_METRICS) -> pd.DataFrame:
    """Per point: share of finished runs with each outcome (`p_<outcome>`) and metric means (`mean_<m>`)."""
    ok = runs[runs["error"].isna()] if "error" in runs else runs
    grouped = ok.groupby("point")
    shares = pd.crosstab(ok["point"], ok["outcome"], normalize="index")
    out = pd.DataFrame(index=sorted(runs["point"].unique()))
    out.index.name = "point"
    for outcome in OUTCOMES:
        out[f"p_{outcome}"] = shares.get(outcome, 0.0)
    for metric in metrics:
        out[f"mean_{metric}"] = grouped[metric].mean()
    out["runs"] = grouped.size()
    return out.fillna({"runs": 0}).reset_index()


def analyze(
    method: str, prob: Mapping[str, Any], matrix: np.ndarray, outputs: pd.DataFrame, seed: int, num_levels: int = 4
) -> tuple[pd.DataFrame, list[str]]:
    """Sensitivity indices for every output column; constant outputs are skipped (noted)."""
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    columns = [c for c in outputs.columns if c.startswith(("p_", "mean_"))]
    analysis_seed = _derived_seed(seed, ANALYSIS_KEY)
    for column in columns:
        y = outputs[column].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            skipped.append(column)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "sobol":
                from SALib.analyze import sobol

                res = sobol.analyze(dict(prob), y, calc_second_order=False, num_resamples=RESAMPLES, seed=analysis_seed)
            else:
                from SALib.analyze import morris

                res = morris.analyze(
                    dict(prob), matrix, y, num_resamples=RESAMPLES, num_levels=num_levels, seed=analysis_seed
                )
        for i, name in enumerate(prob["names"]):
            indices = {k: res[k][i] for k in INDEX_COLUMNS[method][2:]}  # after param, outcome_metric
            rows.append({"param": name, "outcome_metric": column, **indices})
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS[method])), skipped


@dataclass
class SensitivityResult(RunAccount):
    """Indices and outputs of a sensitivity analysis and how the runs went (`RunAccount`)."""

    indices: pd.DataFrame
    outputs: pd.DataFrame
    skipped: list[str]
    spec: dict[str, Any]
    matrix: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)


def plan_sensitivity(
    scenario: Scenario,
    ranges: Sequence[ParamRange],
    method: str,
    samples: int,
    runs_per_point: int,
    seed: int,
    *,
    num_levels: int = 4,
    max_failure_share: float | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], np.ndarray, list[dict[str, Any]], Experiment]:
    """SALib problem, design matrix, points and the runner experiment, every point validated (nothing run).

    `overrides` are the --set values already applied to `scenario`: a parameter that is one of
    them, or one key given twice under two spellings (`us.x`, `states.us.x`), is refused."""
    if not ranges:
        raise ConfigError("sensitivity: give at least one --param KEY=LO:HI or --param-block NAME")
    prob = ranges_problem(ranges)
    raw = scenario.model_dump(mode="json")
    varied: dict[str, Sequence[Any] | None] = {r.key: None for r in ranges}
    refuse_repeated(raw, varied, "command line", "--param")
    refuse_fixed_and_varied(raw, overrides or {}, varied, "command line", "--set", "--param")
    matrix = sample(method, prob, samples, seed, num_levels)
    points = matrix_points(matrix, ranges, scenario)
    options: dict[str, Any] = {}
    if max_failure_share is not None:
        options["max_failure_share"] = max_failure_share
    experiment = points_experiment(
        scenario, points, runs_per_point, seed, common_random_numbers=True, name=f"{scenario.name}-{method}", **options
    )
    return prob, matrix, points, experiment


def run_sensitivity(
    scenario: Scenario,
    ranges: Sequence[ParamRange],
    method: str,
    samples: int,
    runs_per_point: int,
    seed: int,
    *,
    num_levels: int = 4,
    out_dir: str | Path | None = None,
    jobs: int | None = 1,
    backend: str = "serial",
    scheduler: str | None = None,
    progress: bool = False,
    max_failure_share: float | None = None,
    simulator: str | None = None,
) -> SensitivityResult:
    """Sample, run every point on common random numbers, analyse; with `out_dir` write the tables."""
    prob, matrix, points, experiment = plan_sensitivity(
        scenario,
        ranges,
        method,
        samples,
        runs_per_point,
        seed,
        num_levels=num_levels,
        max_failure_share=max_failure_share,
    )
    spec = {
        "method": method,
        "samples": samples,
        "points": len(points),
        "runs_per_point": runs_per_point,
        "seed": seed,
        "num_levels": num_levels if method == "morris" else None,
        "second_order": False,
        "common_random_numbers": True,
        "problem": prob,
    }
    columns = ["point", "run", "outcome", "error", *OUTPUT_METRICS]
    ran = run_and_read(
        experiment,
        out_dir,
        columns,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        simulator=simulator,
    )
    if ran.runs is None:
        return SensitivityResult(pd.DataFrame(), pd.DataFrame(), [], spec, matrix, **ran.account())
    runs = ran.runs
    outputs = point_outputs(runs)
    if len(outputs) != len(points):
        raise AnalysisError(f"expected {len(points)} points in the runs, found {len(outputs)}")
    indices, skipped = analyze(method, prob, matrix, outputs, seed, num_levels)
    params = pd.DataFrame(points)
    outputs = pd.concat([outputs[["point"]], params, outputs.drop(columns="point")], axis=1)
    result = SensitivityResult(
        indices, outputs, skipped, {**spec, "skipped_constant_outputs": skipped}, matrix, **ran.account()
    )
    if out_dir is not None:
        write_sensitivity(Path(out_dir), result, [r.key for r in ranges])
    return result


def _atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.parent / f".{path.name}.tmp"
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def write_sensitivity(out_dir: Path, result: SensitivityResult, names: Sequence[str]) -> None:
    """sensitivity.csv (indices), sensitivity_points.csv (outputs per point), the design and the spec."""
    _atomic_csv(result.indices, out_dir / SENSITIVITY_FILE)
    _atomic_csv(result.outputs, out_dir / POINTS_OUTPUT_FILE)
    _atomic_csv(pd.DataFrame(result.matrix, columns=list(names)), out_dir / DESIGN_FILE)
    tmp = out_dir / f".{SPEC_FILE}.tmp"
    tmp.write_text(json.dumps(result.spec, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / SPEC_FILE)


def format_sensitivity(indices: pd.DataFrame, method: str, outputs: Sequence[str] | None = None) -> str:
    """Aligned text, one block per output, parameters by decreasing total effect (ST or mu*)."""
    if indices.empty:
        return "(no indices: every output was constant)"
    key = "ST" if method == "sobol" else "mu_star"
    blocks = []
    for name, group in indices.groupby("outcome_metric", sort=False):
        if outputs is not None and name not in outputs:
            continue
        shown = group.sort_values(key, ascending=False).drop(columns="outcome_metric")
        blocks.append(f"{name}:\n" + shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return "\n\n".join(blocks)
