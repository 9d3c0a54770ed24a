"""A calibration that reports its uncertainty (issue 12 item 4): ABC rejection with history matching.

The rejection calibration (`abm.validation.calibrate`) names one best point; this module keeps
every point the data cannot rule out and asks what that set says: which world parameters the
January 2020 record and the generic base rates pin down, which cases no parameter value fits,
whether the shipped defaults are among the plausible points, and whether the lever effect table
keeps its ranking across them. It is a report: nothing here changes a default or a config.

Procedure (`run_posterior`; the numbers in brackets are the defaults of `Acceptance`):

1. Prior: uniform over each parameter's screening range (`abm.config.ranges.block_parameters`)
   for every numeric parameter of the blocks the spec names (`world`), or over a range the spec
   gives; whole numbers are uniform over their integers.
2. Design: a Latin hypercube (SALib) in the unit cube, scaled to the ranges.
3. Runs: every in-sample case of `configs/validation/` (never an out-of-sample one) at every
   point, the point's values set on every scenario of every case, `runs` runs per config and
   the same master seed at every point (common random numbers: two points differ by their
   parameters, not by their dice). The shipped configs are run the same way as a reference.
4. Distance of a case from its band, in standard units (`band_distance`):
   z = d / sqrt(s^2 + t^2), where d is how far the estimate lies outside the band (0 inside; a
   missing bound is open, so a one-sided band can only be missed on its closed side), s is the
   Monte Carlo standard error on the side that faces the band (the 95% interval's half-width
   toward the band / 1.96), and t is the model-discrepancy tolerance, [10%] of the crossed bound
   (at least [0.005] in the case's unit). The band already holds the data's own uncertainty
   (each case's `source` says how); t allows the model to miss by a little for reasons no
   parameter can fix. A case with no estimate (nothing to condition on) counts as z = 10.
5. Acceptance rule, in this order:
   a. structural misses: a case that no design point passes (by the case's own rule) is
      reported and left out of b and c: no value in the prior fits it, so it says where the
      model lacks a mechanism, not where the parameters lie, and keeping it would let the
      acceptance turn on how nearly each point misses a pattern it cannot produce (its
      smallest z over the design is reported with it);
   b. history matching: a point's implausibility is the [second]-largest z over the remaining
      cases (Vernon, Goldstein & Bower 2010: one case may miss by noise); a point is
      non-implausible when it is at most the cutoff [3] (Pukelsheim's three-sigma rule);
   c. ABC rejection: D = the sum of z over the remaining cases; a point is within the ABC
      quantile when D is at most the [0.1]-quantile of D over all design points (Pritchard et
      al. 1999; Beaumont, Zhang & Balding 2002);
   d. accepted = non-implausible and within the ABC quantile. The accepted points are the
      posterior sample.
6. Per parameter (`posterior_summary`): prior range, posterior 5/50/95 percentiles, the ratio of
   the posterior's 5-95 width to the prior's (on the unit-cube coordinate, whose prior width is
   0.9) and a one-sample Kolmogorov-Smirnov test of the accepted unit coordinates against U(0, 1)
   (scipy), Holm-adjusted across parameters. Verdict: `pinned` when the adjusted p < [0.05] and
   the width ratio <= [0.5] (the data keep at most half the prior's 90% range); `constrained`
   when the adjusted p < 0.05 but the posterior is wider than that (e.g. one tail ruled out);
   else `not pinned`. Whether the shipped default lies within the posterior 5-95 range.
7. Lever robustness (`abm.validation.posterior_levers`: `lever_effects_at`, `lever_robustness`):
   at K accepted points spread over the posterior (greedy maximin in the unit cube from the best
   point) and at the shipped defaults, the lever table of `abm levers`
   (`abm.analysis.lever_table.run_lever_table`, every arm on the same seeds) and from its runs the
   paired effect of each row on P(spiral), P(de-escalation) and P(deal) at the horizon (Newcombe
   interval, McNemar, Holm across the point's table); per row its rank at every point, whether its
   direction and detectability hold, and Kendall's W (from scipy's Friedman statistic) and the
   mean pairwise Kendall tau of the rankings.

The report's tables (markdown) are written by `abm.validation.posterior_report`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from joblib import Parallel, delayed
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from abm.config import ConfigError, load_config
from abm.config.ranges import BlockParam, block_parameters, problem_dict
from abm.runner.designs import ParamRange, salib_sample
from abm.stats import ALPHA, Z95, adjust
from abm.validation.calibrate import calibration_cases, shifted
from abm.validation.cases import Case, default_configs_root
from abm.validation.posterior_levers import lever_effects_at, lever_robustness, rank_levers, spread
from abm.validation.run import CaseResult, run_cases

UNDEFINED_Z = 10.0  # a case with no estimate at a point: a gross miss, but finite so sums stay comparable


# ---------------------------------------------------------------- spec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Acceptance(_Strict):
    """The acceptance rule's numbers (module docstring, step 5)."""

    quantile: float = Field(0.1, gt=0.0, le=1.0, description="ABC: keep points with D <= this quantile of D")
    cutoff: float = Field(3.0, gt=0.0, description="implausibility cutoff (three-sigma rule)")
    rank: int = Field(2, ge=1, description="implausibility = the rank-th largest z over the cases")
    tolerance: float = Field(0.1, ge=0.0, description="model discrepancy: share of the crossed bound")
    floor: float = Field(0.005, ge=0.0, description="model discrepancy at least this, in the case's unit")


class Pinning(_Strict):
    """When a parameter counts as pinned down by the data (module docstring, step 6)."""

    width_ratio: float = Field(0.5, gt=0.0, le=1.0, description="posterior 5-95 width / prior's, at most")
    alpha: float = Field(ALPHA, gt=0.0, lt=1.0, description="Holm-adjusted KS p below this")


class LeverSpec(_Strict):
    """The lever robustness part: which lever file on which scenario, at how many posterior points."""

    file: str = Field(description="lever file, e.g. experiments/levers/jan2020.yaml (relative to the repository)")
    scenario: str = Field(description="scenario the levers move, e.g. configs/baseline_jan2020.yaml")
    points: int = Field(8, ge=0, le=100, description="accepted points to run the table at (0: skip)")
    runs: int = Field(1000, ge=10, le=100_000, description="paired runs per arm")
    alpha: float = Field(ALPHA, gt=0.0, lt=1.0)


class PosteriorSpec(_Strict):
    """`experiments/calibration/posterior.yaml`."""

    blocks: list[str] = Field(default_factory=lambda: ["world"], description="config blocks whose parameters vary")
    parameters: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="dotted key -> [low, high]: a range replacing the screening one, or more"
    )
    exclude: list[str] = Field(default_factory=list, description="keys left at the scenarios' values")
    points: int = Field(200, ge=2, le=100_000, description="Latin hypercube points (prior draws)")
    runs: int = Field(100, ge=5, le=100_000, description="runs per config per point")
    seed: int = Field(20200103, ge=0, description="master seed: the design and every point's runs")
    cases: list[str] = Field(default_factory=list, description="case names (empty: every in-sample case)")
    defaults_from: str = Field("configs/baseline_jan2020.yaml", description="where the shipped defaults are read")
    acceptance: Acceptance = Acceptance()
    pinning: Pinning = Pinning()
    levers: LeverSpec | None = None


def load_posterior_spec(path: str | Path) -> PosteriorSpec:
    """Read and validate a posterior spec; a problem is a `ConfigError` naming the file."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    try:
        spec = PosteriorSpec.model_validate(raw)
    except Exception as exc:  # pydantic's message names the key
        raise ConfigError(f"{path}: {exc}") from None
    for key, (low, high) in spec.parameters.items():
        if not low < high:
            raise ConfigError(f"{path}: parameters.{key}: low {low} must be below high {high}")
    prior(spec)  # unknown blocks or an exclusion that names nothing fail here, before any run
    return spec


def repo_path(text: str) -> Path:
    """A path of the spec: absolute, or relative to the repository (the folder holding `configs/`)."""
    path = Path(text)
    return path if path.is_absolute() else default_configs_root().parent / path


def prior(spec: PosteriorSpec) -> list[BlockParam]:
    """The varied parameters with their prior ranges: the blocks' screening ranges, the spec's ranges on top."""
    params: dict[str, BlockParam] = {}
    for block in spec.blocks:
        params.update({p.key: p for p in block_parameters(block)})
    for key, (low, high) in spec.parameters.items():
        integer = params[key].integer if key in params else False
        params[key] = BlockParam(key, float(low), float(high), integer)
    unknown = [k for k in spec.exclude if k not in params]
    if unknown:
        raise ConfigError(f"exclude: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not varied anyway")
    return [p for k, p in params.items() if k not in spec.exclude]


# ---------------------------------------------------------------- design


def design(params: Sequence[BlockParam], points: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Latin hypercube: unit-cube coordinates and parameter values (one row per point, same index).

    Whole numbers take each integer of [low, high] with equal chance (floor of the scaled
    coordinate), so the unit coordinate stays uniform for the KS test of the summary."""
    names = [p.key for p in params]
    problem = problem_dict([ParamRange(name, 0.0, 1.0) for name in names])
    unit = pd.DataFrame(salib_sample("lhs", problem, points, seed), columns=names)
    values = pd.DataFrame(index=unit.index)
    for p in params:
        u = unit[p.key].to_numpy()
        if p.integer:
            values[p.key] = np.minimum(p.low + np.floor(u * (p.high - p.low + 1)), p.high).astype(int)
        else:
            values[p.key] = [float(f"{v:.6g}") for v in p.low + u * (p.high - p.low)]
    unit.index.name = values.index.name = "point"
    return unit, values


def overrides(values: pd.DataFrame, point: Any) -> dict[str, Any]:
    """A design point as config overrides, in plain Python numbers (whole numbers stay whole)."""
    row = values.loc[[point]].to_dict("records")[0]
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


# ---------------------------------------------------------------- distance


def band_distance(
    value: float,
    low95: float,
    high95: float,
    band_low: float,
    band_high: float,
    tolerance: float = 0.1,
    floor: float = 0.005,
) -> float:
    """Standardised distance of an estimate from its band (module docstring, step 4); 0 inside.

    `band_low`/`band_high` may be -inf/inf (an open side is never crossed). The Monte Carlo
    error is read on the side facing the band, so a skewed (Wilson) interval is used as it is."""
    if not math.isfinite(value):
        return UNDEFINED_Z
    if value < band_low:
        gap, bound, half = band_low - value, band_low, high95 - value
    elif value > band_high:
        gap, bound, half = value - band_high, band_high, value - low95
    else:
        return 0.0
    se = half / Z95 if math.isfinite(half) and half > 0 else 0.0
    discrepancy = max(tolerance * abs(bound), floor)
    scale = math.hypot(se, discrepancy)
    return gap / scale if scale > 0 else math.inf


def case_rows(results: Iterable[CaseResult]) -> list[dict[str, Any]]:
    """The numbers of judged cases that the posterior needs (small: they cross process boundaries)."""
    return [
        {
            "case": r.case.name,
            "value": r.estimate.value,
            "low95": r.estimate.low,
            "high95": r.estimate.high,
            "n": r.estimate.n,
            "status": r.status,
        }
        for r in results
    ]


def evaluate(cases: Sequence[Case], point: Mapping[str, Any], runs: int, seed: int) -> list[dict[str, Any]]:
    """Run every case at one point (serially: the design is parallel over points) and return its rows."""
    moved = [shifted(c, point) for c in cases] if point else list(cases)
    return case_rows(run_cases(moved, runs=runs, seed=seed, jobs=1, backend="serial"))


def bands(cases: Sequence[Case]) -> pd.DataFrame:
    """Band bounds per case (open sides as -inf/inf), its pattern and sample."""
    return pd.DataFrame(
        [
            {
                "case": c.name,
                "pattern": c.spec.pattern,
                "band_low": c.spec.band.lo,
                "band_high": c.spec.band.hi,
                "sample": c.sample,
            }
            for c in cases
        ]
    ).set_index("case")


def distances(long: pd.DataFrame, case_bands: pd.DataFrame, acceptance: Acceptance) -> pd.Series:
    """z for every row of a long table (`case`, `value`, `low95`, `high95`)."""
    b = case_bands.loc[long["case"]]
    return pd.Series(
        [
            band_distance(v, lo, hi, bl, bh, acceptance.tolerance, acceptance.floor)
            for v, lo, hi, bl, bh in zip(
                long["value"], long["low95"], long["high95"], b["band_low"], b["band_high"], strict=True
            )
        ],
        index=long.index,
        name="z",
    )


def run_design(
    cases: Sequence[Case],
    values: pd.DataFrame,
    runs: int,
    seed: int,
    *,
    jobs: int = 1,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Every case at every point (common random numbers: one seed for all); long table, one row per point and case.

    Parallel over points (each point's runs are serial), since one point's configs are too
    small to keep two workers busy."""
    say = log or (lambda text: None)
    tasks = (delayed(evaluate)(cases, overrides(values, point), runs, seed) for point in values.index)
    results: Iterable[list[dict[str, Any]]]
    if jobs == 1:
        results = (evaluate(cases, overrides(values, point), runs, seed) for point in values.index)
    else:
        results = Parallel(n_jobs=jobs, backend="loky", return_as="generator")(tasks)
    began, rows = time.monotonic(), []
    for i, (point, part) in enumerate(zip(values.index, results, strict=True), 1):
        rows += [{"point": point, **r} for r in part]
        if i == len(values) or i % max(1, len(values) // 20) == 0:
            spent = time.monotonic() - began
            say(f"design: {i}/{len(values)} points in {spent:.0f} s (about {spent / i * (len(values) - i):.0f} s left)")
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- acceptance


@dataclass(frozen=True)
class Verdicts:
    """Per point: distance D, implausibility, the two tests and acceptance; the structural misses."""

    points: pd.DataFrame
    structural: tuple[str, ...]
    threshold: float


def _kth_largest(z: pd.DataFrame, k: int) -> pd.Series:
    ordered = -np.sort(-z.to_numpy(dtype=float), axis=1)
    col = min(k, z.shape[1]) - 1
    return pd.Series(ordered[:, col] if z.shape[1] else np.zeros(len(z)), index=z.index)


def accept(z: pd.DataFrame, passed: pd.DataFrame, acceptance: Acceptance) -> Verdicts:
    """The acceptance rule (module docstring, step 5) on wide tables (points x cases) of z and of
    whether the point passes the case."""
    structural = tuple(c for c in z.columns if not passed[c].any())
    kept = z.drop(columns=list(structural))
    distance = kept.sum(axis=1)
    implausibility = _kth_largest(kept, acceptance.rank)
    threshold = float(np.quantile(distance.to_numpy(), acceptance.quantile)) if len(distance) else math.nan
    table = pd.DataFrame(
        {
            "distance": distance,
            "implausibility": implausibility,
            "non_implausible": implausibility <= acceptance.cutoff,
            "abc": distance <= threshold,
        }
    )
    table["accepted"] = table["non_implausible"] & table["abc"]
    return Verdicts(table, structural, threshold)


def judge_reference(z: pd.Series, verdicts: Verdicts, acceptance: Acceptance) -> dict[str, Any]:
    """How a point outside the design (the shipped defaults) fares under the same rule and threshold."""
    kept = z.drop(labels=list(verdicts.structural))
    distance = float(kept.sum())
    implausibility = float(_kth_largest(kept.to_frame().T, acceptance.rank).iloc[0])
    non_implausible = implausibility <= acceptance.cutoff
    abc = distance <= verdicts.threshold
    return {
        "distance": distance,
        "implausibility": implausibility,
        "non_implausible": non_implausible,
        "abc": abc,
        "accepted": non_implausible and abc,
        "distance_rank": int((verdicts.points["distance"] < distance).sum()) + 1,
    }


# ---------------------------------------------------------------- summaries


def posterior_summary(
    params: Sequence[BlockParam],
    unit: pd.DataFrame,
    values: pd.DataFrame,
    accepted: pd.Series,
    shipped: Mapping[str, Any],
    pinning: Pinning | None = None,
) -> pd.DataFrame:
    """Per parameter: prior range, shipped value, posterior 5/50/95 %, width ratio, KS test, verdict.

    The width ratio and the KS test work on the unit coordinate (uniform under the prior, also
    for whole numbers); the percentiles are in the parameter's own unit."""
    pinning = pinning or Pinning()
    post_u, post_v = unit[accepted.to_numpy()], values[accepted.to_numpy()]
    rows = []
    for p in params:
        u, v = post_u[p.key].to_numpy(dtype=float), post_v[p.key].to_numpy(dtype=float)
        enough = len(u) >= 2
        q5, q50, q95 = np.percentile(v, [5, 50, 95]) if len(v) else (math.nan,) * 3
        ratio = float(np.percentile(u, 95) - np.percentile(u, 5)) / 0.9 if enough else math.nan
        ks = stats.kstest(u, "uniform") if enough else None
        default = shipped.get(p.key)
        rows.append(
            {
                "parameter": p.key,
                "prior_low": p.low,
                "prior_high": p.high,
                "shipped": default,
                "post_p5": q5,
                "post_p50": q50,
                "post_p95": q95,
                "width_ratio": ratio,
                "ks_stat": float(ks.statistic) if ks else math.nan,
                "ks_p": float(ks.pvalue) if ks else math.nan,
                "shipped_inside": _inside(default, q5, q95),
            }
        )
    table = pd.DataFrame(rows)
    table["ks_p_holm"] = adjust(table["ks_p"].to_numpy(), "holm", pinning.alpha)
    table["verdict"] = [_pinned(p, r, pinning) for p, r in zip(table["ks_p_holm"], table["width_ratio"], strict=True)]
    order = ["parameter", "prior_low", "prior_high", "shipped", "post_p5", "post_p50", "post_p95", "width_ratio"]
    return table[[*order, "ks_stat", "ks_p", "ks_p_holm", "verdict", "shipped_inside"]]


def _inside(default: Any, low: float, high: float) -> str:
    if default is None or not math.isfinite(low):
        return "n/a"
    return "inside" if low <= float(default) <= high else ("below" if float(default) < low else "above")


def _pinned(p_holm: float, ratio: float, pinning: Pinning) -> str:
    if not (math.isfinite(p_holm) and p_holm < pinning.alpha):
        return "not pinned"
    return "pinned" if ratio <= pinning.width_ratio else "constrained"


def case_summary(
    long: pd.DataFrame,
    verdicts: Verdicts,
    case_bands: pd.DataFrame,
    reference: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per case: band, share of accepted (and of all) points passing it, its z over the design, structural miss."""
    accepted = verdicts.points.index[verdicts.points["accepted"]]
    rows = []
    for case, part in long.groupby("case", sort=False):
        passed = part["status"].eq("pass")
        in_post = part["point"].isin(accepted)
        b = case_bands.loc[case]
        row: dict[str, Any] = {
            "case": case,
            "pattern": b["pattern"],
            "band": _band_text(b["band_low"], b["band_high"]),
            "pass_accepted": float(passed[in_post].mean()) if in_post.any() else math.nan,
            "pass_all": float(passed.mean()),
            "points_passing": int(passed.sum()),
            "median_accepted": float(part.loc[in_post, "value"].median()) if in_post.any() else math.nan,
            "min_z": float(part["z"].min()),
            "median_z_accepted": float(part.loc[in_post, "z"].median()) if in_post.any() else math.nan,
            "structural_miss": case in verdicts.structural,
        }
        if reference is not None and case in set(reference["case"]):
            ref = reference.set_index("case").loc[case]
            row.update({"shipped_value": ref["value"], "shipped_status": ref["status"], "shipped_z": ref["z"]})
        rows.append(row)
    return pd.DataFrame(rows)


def _band_text(low: float, high: float) -> str:
    if not math.isfinite(low):
        return f"<= {high:g}"
    if not math.isfinite(high):
        return f">= {low:g}"
    return f"[{low:g}, {high:g}]"


# ---------------------------------------------------------------- the whole run


@dataclass
class PosteriorResult:
    """Everything the report is made of."""

    spec: PosteriorSpec
    params: list[BlockParam]
    cases: list[str]
    unit: pd.DataFrame
    values: pd.DataFrame
    long: pd.DataFrame
    verdicts: Verdicts
    reference: pd.DataFrame
    reference_verdict: dict[str, Any]
    shipped: dict[str, Any]
    summary: pd.DataFrame
    case_table: pd.DataFrame
    lever_points: list[Any] = field(default_factory=list)
    lever_effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    lever_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    concordance: pd.DataFrame = field(default_factory=pd.DataFrame)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> pd.Series:
        return self.verdicts.points["accepted"]

    def points_table(self) -> pd.DataFrame:
        """posterior_points.csv: every design point, accepted ones first (by D), with z and estimate per case."""
        z = self.long.pivot(index="point", columns="case", values="z")[self.cases].add_prefix("z:")
        v = self.long.pivot(index="point", columns="case", values="value")[self.cases].add_prefix("value:")
        table = pd.concat([self.verdicts.points, self.values, z, v], axis=1).reset_index()
        table["lever_point"] = table["point"].isin(self.lever_points)
        return table.sort_values(["accepted", "distance"], ascending=[False, True], kind="stable")


def shipped_values(path: str | Path, params: Sequence[BlockParam]) -> dict[str, Any]:
    """The shipped value of every varied parameter, as the scenario resolves it (schema defaults included)."""
    from abm.runner.designs import get_dotted

    raw = load_config(path).model_dump(mode="json")
    return {p.key: get_dotted(raw, p.key) for p in params}


def run_posterior(
    spec: PosteriorSpec,
    *,
    jobs: int = 1,
    log: Callable[[str], None] | None = None,
    cases_dir: str | Path | None = None,
    configs_root: str | Path | None = None,
) -> PosteriorResult:
    """The whole procedure of the module docstring: design, runs, acceptance, summaries, lever robustness."""
    say = log or (lambda text: None)
    began = time.monotonic()
    params = prior(spec)
    cases = calibration_cases(spec.cases, cases_dir, configs_root)
    if not cases:
        raise ConfigError("posterior: no in-sample validation case to fit")
    case_bands = bands(cases)
    unit, values = design(params, spec.points, spec.seed)
    say(f"posterior: {len(params)} parameters, {spec.points} points x {len(cases)} cases, {spec.runs} runs per config")
    long = run_design(cases, values, spec.runs, spec.seed, jobs=jobs, log=say)
    long["z"] = distances(long, case_bands, spec.acceptance)
    reference = pd.DataFrame(evaluate(cases, {}, spec.runs, spec.seed))
    reference["z"] = distances(reference, case_bands, spec.acceptance)
    seconds = {"design": time.monotonic() - began}
    names = [c.name for c in cases]
    z = long.pivot(index="point", columns="case", values="z")[names]
    passed = long.assign(ok=long["status"].eq("pass")).pivot(index="point", columns="case", values="ok")[names]
    verdicts = accept(z, passed.astype(bool), spec.acceptance)
    ref_verdict = judge_reference(reference.set_index("case")["z"], verdicts, spec.acceptance)
    shipped = shipped_values(repo_path(spec.defaults_from), params)
    summary = posterior_summary(params, unit, values, verdicts.points["accepted"], shipped, spec.pinning)
    cases_table = case_summary(long, verdicts, case_bands, reference)
    result = PosteriorResult(
        spec, params, [c.name for c in cases], unit, values, long, verdicts, reference, ref_verdict, shipped,
        summary, cases_table, seconds=seconds,
    )  # fmt: skip
    say(f"posterior: {int(verdicts.points['accepted'].sum())} of {len(values)} points accepted")
    if spec.levers is not None and spec.levers.points > 0 and verdicts.points["accepted"].any():
        lever_began = time.monotonic()
        accepted = verdicts.points.index[verdicts.points["accepted"]]
        chosen = spread(unit.loc[accepted], verdicts.points["distance"], spec.levers.points)
        tables = []
        backend = "loky" if jobs > 1 else "serial"
        for i, point in enumerate([*chosen, "shipped"], 1):
            fixed = {} if point == "shipped" else overrides(values, point)
            say(f"levers: point {point} ({i}/{len(chosen) + 1})")
            table = lever_effects_at(
                repo_path(spec.levers.scenario),
                repo_path(spec.levers.file),
                fixed,
                spec.levers.runs,
                spec.seed,
                alpha=spec.levers.alpha,
                jobs=jobs,
                backend=backend,
            )
            tables.append(table.assign(point=point))
        effects = pd.concat(tables, ignore_index=True)
        effects["rank"] = rank_levers(effects)
        summary_levers, concordance = lever_robustness(effects[effects["point"] != "shipped"])
        result.lever_points, result.lever_effects = chosen, effects
        result.lever_summary, result.concordance = summary_levers, concordance
        result.seconds["levers"] = time.monotonic() - lever_began
    result.seconds["total"] = time.monotonic() - began
    return result
