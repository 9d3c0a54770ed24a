"""Robust decision-making: lever settings across an ensemble of uncertain worlds (`abm robust`, issue 13 item 5).

Why: `abm compare` asks which setting does better in the one configured world. Robust
decision-making (Lempert, Popper & Bankes 2003, RAND MR-1626; Lempert et al. 2006, Management
Science 52(4)) asks which setting holds up across many plausible worlds, none of which we can
claim is the true one: EMA Workbench's policies x scenarios, then regret and satisficing tables.

* Worlds: N points of SALib's Latin hypercube over the uncertainties, through the sampler of
  `abm sweep --lhs` (`abm.runner.designs.design_points`, seeded by `design_seed(master)`): the same
  N worlds as `abm sweep CONFIG --lhs ... --points N --seed S`. A block's keys and ranges come from
  the schema (`abm.config.ranges.block_parameters`); `KEY=LO:HI` is parsed by the one parser of
  `abm.runner.designs` (that of `abm sensitivity --param` and `abm sweep --lhs`).
* Settings: the cross product of the lever values (`abm.analysis.compare.build_design(full=True)`).
  Not one lever at a time: regret is measured against the best setting in each world, and that
  best has to range over the strategies one could adopt. A combination (massive doctrine with
  tight proxy restraint) is a strategy; leaving it out could crown a setting that an untested
  combination beats in every world, and would hide the levers' interactions.
* Common random numbers: every (setting, world) cell runs R runs, run r with seed
  `run_seed(master, 0, r)` (the runner's `common_random_numbers`, as `abm compare` and
  `abm sensitivity`): run r is the same random stream in every cell, so the differences between
  settings in one world, which regret is made of, are not swamped by Monte Carlo noise.
* Cells: P(outcome) among finished runs (failed runs left out of n) with its Wilson interval
  (`abm.stats.wilson`, statsmodels).
* Regret (Savage 1951): per world, how far a setting falls short of the best setting in that
  world, P - min P for a bad outcome, max P - P for a good one (`DIRECTIONS`). The best is an
  estimate too, so with few runs per cell regret leans high (the minimum of noisy estimates
  is biased low); common random numbers keep that small.
* Satisficing (Simon 1955; Starr's domain criterion): share of worlds where a setting meets
  every `--satisfice` criterion on the point estimates; `satisficing_strict` asks the whole 95%
  interval to meet them (a conservative reading).
* Rankings: minimax regret (max regret, then 90th-percentile and mean regret) and satisficing
  (share, then the strict share; never regret, so that the two rankings stay independent and
  their agreement means something): the same best setting, and Kendall's tau of the two
  rankings (scipy).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.analysis.compare import Lever, build_design
from abm.analysis.run_and_read import RunAccount, run_and_read
from abm.config import ConfigError, Scenario, config_hash, with_overrides
from abm.config.loader import check_value_text, refuse_fixed_and_varied, refuse_repeated
from abm.config.ranges import BlockParam, key_parameter, salib_problem
from abm.model.outcomes import DEAL, DEESCALATION, OUTCOMES, SPIRAL
from abm.runner import Experiment, points_experiment
from abm.runner.designs import ParamRange, Range, design_points, gather_ranges, get_dotted
from abm.runner.manifest import environment, utc_now
from abm.runner.seeds import SEED_RULE, design_seed
from abm.runner.storage import write_json_atomic
from abm.stats import ALPHA, wilson

# +1: more is better (a good outcome), -1: less is better. Only these outcomes have a regret.
DIRECTIONS: Mapping[str, int] = {SPIRAL: -1, DEESCALATION: +1, DEAL: +1}
OPERATORS: Mapping[str, Callable[[Any, float], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
# The end of the interval that must meet a criterion for the strict reading.
STRICT_BOUND: Mapping[str, str] = {"<=": "ci_high", "<": "ci_high", ">=": "ci_low", ">": "ci_low"}
SATISFICE = re.compile(r"^\s*([A-Za-z_]+)\s*(<=|>=|<|>)\s*(\S+)\s*$")
QUANTILES: Mapping[str, float] = {"q10": 0.1, "median": 0.5, "q90": 0.9}
REGRET_QUANTILE = 0.9
RUN_COLUMNS = ["point", "run", "seed", "outcome", "error"]
ENSEMBLE_DIR = "ensemble"  # the runner's folder (runs/, its own manifest.json), resumable
CELLS_FILE, SUMMARY_FILE, MARKDOWN_FILE, MANIFEST_FILE = (
    "robust.csv",
    "robust_summary.csv",
    "robust.md",
    "manifest.json",
)


# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class Criterion:
    """One satisficing criterion: P(outcome) compared with a threshold (`spiral<=0.05`)."""

    outcome: str
    op: str
    threshold: float

    @property
    def label(self) -> str:
        return f"{self.outcome}{self.op}{self.threshold:g}"

    def met(self, p: Any) -> Any:
        return OPERATORS[self.op](p, self.threshold)


def parse_satisfice(text: str) -> Criterion:
    """`OUTCOME<=P`, `OUTCOME>=P` (or < >), P in [0, 1]: e.g. `spiral<=0.05`, `deescalation>=0.8`."""
    check_value_text(text, "--satisfice")
    example = "e.g. 'spiral<=0.05' or 'deescalation>=0.8'"
    match = SATISFICE.match(text)
    if match is None:
        raise ConfigError(f"--satisfice {text!r}: expected OUTCOME<=P or OUTCOME>=P, {example}")
    outcome, op, number = match.groups()
    if outcome not in OUTCOMES:
        raise ConfigError(f"--satisfice {text!r}: unknown outcome {outcome!r}; allowed: {', '.join(OUTCOMES)}")
    try:
        threshold = float(number)
    except ValueError:
        raise ConfigError(f"--satisfice {text!r}: {number!r} is not a number; {example}") from None
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"--satisfice {text!r}: threshold {threshold:g} is not a probability in [0, 1]")
    return Criterion(outcome, op, threshold)


def uncertainty_ranges(texts: Sequence[str], blocks: Sequence[str] = ()) -> list[ParamRange]:
    """`--uncertainty KEY=LO:HI` and `--uncertainty-block NAME`, read as `abm sensitivity` reads
    `--param` and `--param-block` (same parser, same block ranges; its messages renamed to these
    options). Every key must be a numeric key of the schema (`key_parameter`), each once."""
    try:
        ranges = gather_ranges(texts, blocks)
        for r in ranges:
            key_parameter(r.key)
        if ranges:  # each key once, a block's keys included
            salib_problem([BlockParam(r.key, r.low, r.high, False) for r in ranges])
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--param", "--uncertainty")) from None
    if not ranges:
        raise ConfigError("give at least one --uncertainty KEY=LO:HI or --uncertainty-block NAME")
    return ranges


# ---------------------------------------------------------------- the ensemble


@dataclass(frozen=True)
class Ensemble:
    """Settings x worlds. Cell (setting s, world w) is runner point `s * len(worlds) + w`."""

    levers: tuple[Lever, ...]
    settings: tuple[tuple[int, ...], ...]  # per setting, the value index of each lever
    uncertainties: tuple[ParamRange, ...]
    worlds: tuple[Mapping[str, Any], ...]

    def values(self, s: int) -> dict[str, str]:
        """Lever label -> value as typed, for setting s."""
        return {lv.label: lv.value_label(k) for lv, k in zip(self.levers, self.settings[s], strict=True)}

    def label(self, s: int) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values(s).items())

    def cell(self, point: int) -> tuple[int, int]:
        return divmod(point, len(self.worlds))

    @property
    def problem(self) -> dict[str, Any]:
        return salib_problem([BlockParam(r.key, r.low, r.high, False) for r in self.uncertainties])


def sample_worlds(scenario: Scenario, ranges: Sequence[ParamRange], worlds: int, seed: int) -> list[dict[str, Any]]:
    """N Latin hypercube worlds (SALib via `abm.runner.designs`, as `abm sweep --lhs`); whole-number keys rounded."""
    return design_points("lhs", {r.key: Range(r.low, r.high) for r in ranges}, scenario, samples=worlds, seed=seed)


def _check_ends(scenario: Scenario, ranges: Sequence[ParamRange]) -> None:
    """Both ends of every range are values the schema accepts: one message naming the option,
    rather than a sampled world refused later."""
    raw = scenario.model_dump(mode="json")
    for r in ranges:
        whole = isinstance(get_dotted(raw, r.key), int) and not isinstance(get_dotted(raw, r.key), bool)
        for end in (r.low, r.high):
            try:
                with_overrides(scenario, {r.key: round(end) if whole else end})
            except ConfigError as exc:
                why = str(exc).strip().splitlines()[-1].split(": ", 1)[-1]
                raise ConfigError(f"--uncertainty {r.key}={r.low:g}:{r.high:g}: {why}") from None


def plan_robust(
    scenario: Scenario,
    levers: Sequence[Lever],
    ranges: Sequence[ParamRange],
    worlds: int,
    runs: int,
    seed: int,
    *,
    max_failure_share: float | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Ensemble, Experiment]:
    """Settings, worlds and the runner experiment, every cell validated as a scenario (nothing is run).

    A key that is both a lever and an uncertainty, given twice under two spellings, or fixed by
    --set (`overrides`, already applied to `scenario`) is refused."""
    if not ranges:
        raise ConfigError("robust: give at least one --uncertainty KEY=LO:HI or --uncertainty-block NAME")
    if worlds < 1:
        raise ConfigError(f"--worlds: got {worlds}; allowed: a whole number >= 1")
    design = build_design(levers, full=True)
    raw = scenario.model_dump(mode="json")
    varied: dict[str, Sequence[Any] | None] = {
        k: [arm[i] for arm in lever.values] for lever in levers for i, k in enumerate(lever.keys)
    }
    for r in ranges:
        if r.key in varied:
            raise ConfigError(f"{r.key}: both a --lever and an --uncertainty; allowed: one of them")
        varied[r.key] = None
    refuse_repeated(raw, varied, "command line", "--lever/--uncertainty")
    refuse_fixed_and_varied(raw, overrides or {}, varied, "command line", "--set", "--lever/--uncertainty")
    _check_ends(scenario, ranges)
    sampled = sample_worlds(scenario, ranges, worlds, seed)
    points = [{**setting, **world} for setting in design.points for world in sampled]
    options: dict[str, Any] = {} if max_failure_share is None else {"max_failure_share": max_failure_share}
    experiment = points_experiment(
        scenario, points, runs, seed, common_random_numbers=True, name=f"{scenario.name}-robust", **options
    )
    ensemble = Ensemble(tuple(levers), design.arms, tuple(ranges), tuple(sampled))
    return ensemble, experiment


# ---------------------------------------------------------------- tables (pure functions)


def cell_table(runs: pd.DataFrame, ensemble: Ensemble, alpha: float = ALPHA) -> pd.DataFrame:
    """Long table, one row per (setting, world, outcome): n finished runs, count, P, Wilson interval,
    regret (outcomes of `DIRECTIONS`), then the lever values and the world's parameters."""
    ok = runs[runs["error"].isna()] if "error" in runs else runs
    cells = len(ensemble.settings) * len(ensemble.worlds)
    counts = pd.crosstab(ok["point"], ok["outcome"]).reindex(index=range(cells), columns=list(OUTCOMES), fill_value=0)
    long = counts.rename_axis(index="point", columns="outcome").stack().rename("count").reset_index()
    long["n"] = long["point"].map(counts.sum(axis=1))
    n = long["n"].to_numpy(dtype=float)
    hits = long["count"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = wilson(hits, np.where(n > 0, n, 1.0), alpha)
        long["p"] = np.where(n > 0, hits / np.where(n > 0, n, 1.0), np.nan)
    long["ci_low"], long["ci_high"] = np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)
    long["setting"], long["world"] = zip(*(ensemble.cell(int(p)) for p in long["point"]), strict=True)
    long["regret"] = np.nan
    for outcome in DIRECTIONS:
        r = regret(wide(long, outcome), outcome)
        rows = long["outcome"] == outcome
        long.loc[rows, "regret"] = [r.at[s, w] for s, w in zip(long["setting"][rows], long["world"][rows], strict=True)]
    long["label"] = long["setting"].map(ensemble.label)
    lever_cols = pd.DataFrame([ensemble.values(int(s)) for s in long["setting"]], index=long.index)
    world_cols = pd.DataFrame([dict(ensemble.worlds[int(w)]) for w in long["world"]], index=long.index)
    head = long[["setting", "label", "world", "outcome", "n", "count", "p", "ci_low", "ci_high", "regret"]]
    return pd.concat([head, lever_cols, world_cols], axis=1)


def wide(cells: pd.DataFrame, outcome: str, column: str = "p") -> pd.DataFrame:
    """One column of one outcome as settings (rows) x worlds (columns)."""
    part = cells[cells["outcome"] == outcome]
    return part.pivot(index="setting", columns="world", values=column).sort_index().sort_index(axis=1)


def regret(p: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Regret per cell of a settings x worlds table of P(outcome): the shortfall from the best
    setting in the same world (P - min for a bad outcome, max - P for a good one); 0 for the best."""
    if outcome not in DIRECTIONS:
        raise ConfigError(f"regret: {outcome!r} is neither good nor bad; allowed: {', '.join(DIRECTIONS)}")
    score = p * DIRECTIONS[outcome]
    return (-score).add(score.max(axis=0), axis=1)


def meets(cells: pd.DataFrame, criteria: Sequence[Criterion], strict: bool = False) -> pd.DataFrame:
    """Settings x worlds: True where every criterion holds (on P, or with `strict` on the whole interval)."""
    met: pd.DataFrame | None = None
    for c in criteria:
        values = wide(cells, c.outcome, STRICT_BOUND[c.op] if strict else "p")
        ok = c.met(values) & values.notna()
        met = ok if met is None else met & ok
    if met is None:
        raise ConfigError("satisficing: no criterion given; e.g. --satisfice 'spiral<=0.05'")
    return met


def satisficing(cells: pd.DataFrame, criteria: Sequence[Criterion], strict: bool = False) -> pd.Series:
    """Per setting, the share of worlds where it meets every criterion."""
    return meets(cells, criteria, strict).mean(axis=1)


def _rank(frame: pd.DataFrame, keys: Sequence[str], ascending: Sequence[bool]) -> pd.Series:
    """1 = best; rows equal on every key share a rank (competition ranking: 1, 1, 3)."""
    ordered = frame.sort_values(list(keys), ascending=list(ascending), kind="stable")
    rows = list(ordered[list(keys)].itertuples(index=False, name=None))
    ranks: list[int] = []
    for i, row in enumerate(rows):
        ranks.append(ranks[-1] if i and row == rows[i - 1] else i + 1)
    return pd.Series(ranks, index=ordered.index).reindex(frame.index)


def summarize(cells: pd.DataFrame, outcome: str, criteria: Sequence[Criterion] = ()) -> pd.DataFrame:
    """Per setting, over worlds: mean, worst, quantiles of P(outcome); max, 90th-percentile and mean
    regret; satisficing shares; the minimax-regret and satisficing ranks."""
    p = wide(cells, outcome)
    r = regret(p, outcome)
    labels = cells.drop_duplicates("setting").set_index("setting")["label"]
    table = pd.DataFrame(
        {
            "setting": p.index,
            "label": labels.reindex(p.index).to_numpy(),
            "outcome": outcome,
            "worlds": p.notna().sum(axis=1).to_numpy(),
            "mean": p.mean(axis=1).to_numpy(),
            "worst": (p.max(axis=1) if DIRECTIONS[outcome] < 0 else p.min(axis=1)).to_numpy(),
            **{name: p.quantile(q, axis=1).to_numpy() for name, q in QUANTILES.items()},
            "max_regret": r.max(axis=1).to_numpy(),
            "p90_regret": r.quantile(REGRET_QUANTILE, axis=1).to_numpy(),
            "mean_regret": r.mean(axis=1).to_numpy(),
        }
    )
    table["rank_minimax"] = _rank(table, ["max_regret", "p90_regret", "mean_regret"], [True, True, True])
    if criteria:
        table["satisficing"] = satisficing(cells, criteria).reindex(p.index).to_numpy()
        table["satisficing_strict"] = satisficing(cells, criteria, strict=True).reindex(p.index).to_numpy()
        table["rank_satisficing"] = _rank(table, ["satisficing", "satisficing_strict"], [False, False])
    return table


@dataclass(frozen=True)
class Agreement:
    """Whether minimax regret and satisficing pick the same settings."""

    minimax_best: tuple[str, ...]
    satisficing_best: tuple[str, ...]
    tau: float  # Kendall's tau-b of the two rankings (1: identical order)

    @property
    def same_best(self) -> bool:
        return set(self.minimax_best) == set(self.satisficing_best)


def agreement(summary: pd.DataFrame) -> Agreement | None:
    """The two rankings compared (None without satisficing criteria)."""
    if "rank_satisficing" not in summary:
        return None
    from scipy.stats import kendalltau

    best_m = tuple(summary.loc[summary["rank_minimax"] == 1, "label"])
    best_s = tuple(summary.loc[summary["rank_satisficing"] == 1, "label"])
    tau = float(kendalltau(summary["rank_minimax"], summary["rank_satisficing"]).statistic)
    return Agreement(best_m, best_s, tau)


# ---------------------------------------------------------------- run, write, show


@dataclass
class RobustResult(RunAccount):
    """Tables of a robustness study and how its runs went (`RunAccount`; `out_dir` is the study's
    folder, the runs are in its `ensemble/`)."""

    cells: pd.DataFrame
    summary: pd.DataFrame
    ensemble: Ensemble
    outcome: str
    criteria: tuple[Criterion, ...]
    manifest: dict[str, Any]
    markdown: str = ""
    files: list[Path] = field(default_factory=list)


def run_robust(
    scenario: Scenario,
    levers: Sequence[Lever],
    ranges: Sequence[ParamRange],
    worlds: int,
    runs: int,
    seed: int,
    *,
    outcome: str = SPIRAL,
    criteria: Sequence[Criterion] = (),
    alpha: float = ALPHA,
    out_dir: str | Path | None = None,
    jobs: int | None = 1,
    backend: str = "serial",
    scheduler: str | None = None,
    progress: bool = False,
    max_failure_share: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    command: str | None = None,
    config_path: str | Path | None = None,
) -> RobustResult:
    """Run every setting in every world on common random numbers and build the tables; with
    `out_dir`, the runs go to `out_dir/ensemble/` (a runner folder: resumed by the same call) and
    robust.csv, robust_summary.csv, robust.md, figures/ and manifest.json to `out_dir`."""
    if outcome not in DIRECTIONS:
        raise ConfigError(f"--outcome: got {outcome!r}; allowed: {', '.join(DIRECTIONS)}")
    started = utc_now()
    ensemble, experiment = plan_robust(
        scenario, levers, ranges, worlds, runs, seed, max_failure_share=max_failure_share, overrides=overrides
    )
    folder = None if out_dir is None else Path(out_dir) / ENSEMBLE_DIR
    ran = run_and_read(
        experiment, folder, RUN_COLUMNS, jobs=jobs, backend=backend, scheduler=scheduler, progress=progress
    )
    manifest = robust_manifest(ensemble, experiment, outcome, criteria, command, config_path, started, overrides)
    manifest["alpha"] = alpha
    result = RobustResult(
        pd.DataFrame(),
        pd.DataFrame(),
        ensemble,
        outcome,
        tuple(criteria),
        manifest,
        **{**ran.account(), "out_dir": None if out_dir is None else Path(out_dir)},
    )
    if ran.runs is None:
        return result
    result.cells = cell_table(ran.runs, ensemble, alpha)
    result.summary = summarize(result.cells, outcome, criteria)
    result.markdown = format_markdown(result, scenario.name, runs, seed)
    manifest.update({"status": ran.status, "runs_done": ran.runs_done, "failures": ran.failures, "finished": utc_now()})
    if out_dir is not None:
        result.files = write_robust(Path(out_dir), result, scenario.name, runs)
    return result


def robust_manifest(
    ensemble: Ensemble,
    experiment: Experiment,
    outcome: str,
    criteria: Sequence[Criterion],
    command: str | None,
    config_path: str | Path | None,
    started: str,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What manifest.json records: the command, seeds, the worlds' design and values, the
    settings, the config hash and the versions (`abm.runner.manifest.environment`, as `abm hindcast`)."""
    return {
        "command": command,
        "kind": "robust",
        "started": started,
        "config": None if config_path is None else str(config_path),
        "config_resolved": None if config_path is None else str(Path(config_path).resolve()),
        "config_hash": config_hash(experiment.base),
        "set": dict(overrides or {}),
        "seed": experiment.seed,
        "seed_rule": f"{SEED_RULE}; point key 0 in every (setting, world) cell (common random numbers)",
        "runs_per_cell": experiment.runs,
        "outcome": outcome,
        "direction": "lower is better" if DIRECTIONS[outcome] < 0 else "higher is better",
        "satisfice": [c.label for c in criteria],
        "levers": [
            {"label": lv.label, "values": [lv.value_label(i) for i in range(len(lv.values))]} for lv in ensemble.levers
        ],
        "settings": [{"setting": s, **ensemble.values(s)} for s in range(len(ensemble.settings))],
        "worlds_design": {
            "sampler": "SALib latin (abm.runner.designs, as abm sweep --lhs); whole-number keys rounded",
            "samples": len(ensemble.worlds),
            "design_seed": design_seed(experiment.seed),
            "problem": ensemble.problem,
            "worlds": [dict(w) for w in ensemble.worlds],
        },
        "cells": "point = setting * worlds + world in ensemble/ (the runner's folder)",
        "environment": environment(),
    }


def _atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.parent / f".{path.name}.tmp"
    frame.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(path)


def write_robust(out_dir: Path, result: RobustResult, name: str, runs: int) -> list[Path]:
    """robust.csv, robust_summary.csv, robust.md, figures/robust.{png,svg}, then manifest.json (last:
    its presence says the rest is written)."""
    from abm.analysis.figures import save
    from abm.analysis.robust_figures import robust_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / CELLS_FILE, out_dir / SUMMARY_FILE, out_dir / MARKDOWN_FILE]
    _atomic_csv(result.cells, files[0])
    _atomic_csv(result.summary, files[1])
    files[2].write_text(result.markdown, encoding="utf-8")
    title = f"{name}: P({result.outcome}) and its regret over {len(result.ensemble.worlds)} worlds ({runs} runs each)"
    files += save(
        robust_figure(result.cells, result.summary, result.outcome, result.criteria, title),
        out_dir / "figures" / "robust",
    )
    result.manifest["outputs"] = [str(p.relative_to(out_dir)) for p in files] + [MANIFEST_FILE, f"{ENSEMBLE_DIR}/"]
    write_json_atomic(out_dir / MANIFEST_FILE, result.manifest)
    return [*files, out_dir / MANIFEST_FILE]


def _num(x: float) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.3f}"


def format_markdown(result: RobustResult, name: str, runs: int, seed: int) -> str:
    """The summary table (settings by minimax-regret rank), the rankings and whether they agree."""
    ens, summary, outcome = result.ensemble, result.summary.sort_values("rank_minimax", kind="stable"), result.outcome
    better = "lower" if DIRECTIONS[outcome] < 0 else "higher"
    ranges = ", ".join(f"{r.key} {r.low:g}..{r.high:g}" for r in ens.uncertainties)
    lines = [
        f"## Robust lever settings: P({outcome}) over {len(ens.worlds)} worlds x {runs} runs ({name}, seed {seed})",
        "",
        f"Worlds: Latin hypercube over {ranges}. Every setting runs in every world on the same run seeds "
        f"(common random numbers). P({outcome}): {better} is better; regret = shortfall from the best setting "
        "in the same world.",
        "",
    ]
    levers = [lv.label for lv in ens.levers]
    head = ["rank", *levers, "mean", "worst", "q10", "median", "q90", "max regret", "p90 regret"]
    if result.criteria:
        head += ["satisficing", "strict", "rank (satisficing)"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in summary.iterrows():
        values = ens.values(int(row["setting"]))
        cells = [str(row["rank_minimax"]), *(values[lv] for lv in levers)]
        cells += [_num(row[c]) for c in ("mean", "worst", "q10", "median", "q90", "max_regret", "p90_regret")]
        if result.criteria:
            cells += [_num(row["satisficing"]), _num(row["satisficing_strict"]), str(row["rank_satisficing"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    best = summary.loc[summary["rank_minimax"] == 1, "label"]
    lines.append(f"Minimax regret picks **{' / '.join(best)}**.")
    agree = agreement(result.summary)
    if agree is not None:
        crit = " and ".join(c.label for c in result.criteria)
        verdict = "agree on the best setting" if agree.same_best else "do NOT agree on the best setting"
        tau = _num(agree.tau) if math.isfinite(agree.tau) else "undefined, one ranking is all ties"
        lines.append(
            f"Satisficing ({crit}, share of worlds meeting all on the point estimates; strict: the whole 95% "
            f"Wilson interval meets them) picks **{' / '.join(agree.satisficing_best)}**. The two rankings "
            f"{verdict} (Kendall's tau of the two rankings: {tau})."
        )
    else:
        lines.append("No --satisfice criterion given: no satisficing ranking.")
    lines += ["", *_noise_notes(result.criteria, runs), ""]
    return "\n".join(lines)


def _noise_notes(criteria: Sequence[Criterion], runs: int) -> list[str]:
    """What R runs per cell can tell: the widest interval, and criteria no cell can meet strictly."""
    low, high = wilson(runs / 2, runs)
    notes = [
        f"With {runs} runs per cell a P has a 95% Wilson interval of half-width up to {(high - low) / 2:.2f}; regret "
        "against an estimated best leans high when cells are noisy (robust.csv has every cell's interval)."
    ]
    for c in criteria:
        upper = STRICT_BOUND[c.op] == "ci_high"
        bound = wilson(0, runs)[1] if upper else wilson(runs, runs)[0]
        if not c.met(bound):
            best = f"0 of {runs} has an upper bound of" if upper else f"{runs} of {runs} has a lower bound of"
            notes.append(f"No cell can meet {c.label} strictly with {runs} runs ({best} {bound:.3f}).")
    return notes
