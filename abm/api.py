"""The Python API in one place: load a scenario, set levers, run, compare, sweep, read a folder, plot.

Why a facade: the functions it wraps live in four layers (config, runner, analysis, reader),
each with the options the command line needs. An analyst at a notebook wants one import, a
few verbs and DataFrames back. Nothing is computed here: every row comes from the runner and
every statistic from the function `abm run`, `abm sweep` and `abm compare` call, so the same
scenario and seed give the same runs as the command line (tests/api/test_api.py), and a bad
lever key is the command line's `ConfigError`, naming the key and what is allowed.

    >>> import abm
    >>> baseline = abm.load_scenario("baseline_jan2020")
    >>> result = abm.run(baseline, runs=20, seed=1)
    >>> list(result.summary.columns)
    ['outcome', 'count', 'p', 'ci_low', 'ci_high']

Lever keys are the dotted keys of `--set` (`us.doctrine`, `channels.swiss.open`); values are
Python values (`"massive"`, `0.5`, `False`) or, as on the command line, `KEY=VALUE` text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from abm import API_NAMES
from abm.analysis.compare import ComparisonResult, Lever, run_comparison, value_label
from abm.analysis.curves import CURVE_COLUMNS, accumulate, curve_table, curves, folder_horizon, format_curves
from abm.analysis.levers import derive_levers
from abm.analysis.summary import format_summary, parameter_columns, summarize, summary_columns
from abm.config import ConfigError, Scenario, load_config, parse_assignments, with_overrides
from abm.config.loader import canonical_key, refuse_repeated
from abm.defaults import DEFAULT_MAX_FAILURE_SHARE, DEFAULT_RUNS, DEFAULT_SEED
from abm.runner import points_experiment, run_experiment, run_in_memory, single_experiment
from abm.runner.designs import design_points, get_dotted, parse_parameters
from abm.runner.reader import open_folder
from abm.stats import ALPHA

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from abm.runner import Experiment

SHIPPED_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# Folders of configs/ that hold scenarios (the others hold validation cases, records, references).
SCENARIO_FOLDERS: tuple[str, ...] = ("", "examples", "generic", "mechanisms")
Levers = Mapping[str, Any] | Iterable[str]


# ---------------------------------------------------------------- scenarios and levers


def shipped_scenarios() -> list[str]:
    """Names `load_scenario` accepts besides a path: the scenarios in the repository's `configs/`.

    >>> "baseline_jan2020" in shipped_scenarios() and "examples/border_crisis" in shipped_scenarios()
    True
    """
    names = []
    for folder in SCENARIO_FOLDERS:
        for path in sorted((SHIPPED_CONFIGS / folder).glob("*.yaml")):
            names.append(path.relative_to(SHIPPED_CONFIGS).with_suffix("").as_posix())
    return names


def _config_path(source: str | Path) -> Path:
    """A path that exists, or is spelled as a file (`.yaml`), is used as given; else a shipped name."""
    path = Path(source)
    if isinstance(source, Path) or path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    shipped = SHIPPED_CONFIGS / f"{source}.yaml"
    if shipped.is_file():
        return shipped
    known = shipped_scenarios()
    raise ConfigError(
        f"{source}: no such file, and not a shipped scenario; shipped: {', '.join(known[:12])}"
        + (f" and {len(known) - 12} more (abm.shipped_scenarios())" if len(known) > 12 else "")
    )


def _texts(levers: Iterable[str]) -> list[str]:
    """`KEY=VALUE` texts; one text alone is one lever, not a string of characters."""
    return [levers] if isinstance(levers, str) else list(levers)


def load_scenario(source: str | Path, levers: Levers = ()) -> Scenario:
    """A validated scenario from a YAML path or a shipped name, with levers set as `--set` does.

    This is `abm run CONFIG --set ...`'s own loading (`abm.config.load_config`), so a bad key or
    value raises the same `ConfigError` with the same message.

    >>> load_scenario("baseline_jan2020", {"us.doctrine": "massive"}).states["us"].doctrine
    'massive'
    >>> load_scenario("baseline_jan2020", ["us.doctrin=massive"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    abm.config.loader.ConfigError: .../baseline_jan2020.yaml: states.us.doctrin: got 'massive'; not a known key (...)
    """
    pairs = levers if isinstance(levers, Mapping) else _texts(levers)
    return load_config(_config_path(source), pairs)


def set_levers(scenario: Scenario, levers: Levers) -> Scenario:
    """A copy of `scenario` with levers set (dotted keys, short state ids), validated like a loaded config.

    >>> baseline = load_scenario("baseline_jan2020")
    >>> set_levers(baseline, {"us.doctrine": "proportional", "iran.advance_warning": 0}).states["us"].doctrine
    'proportional'
    >>> set_levers(baseline, ["us.sanctions_level=0.2"]).states["us"].sanctions_level
    0.2
    """
    pairs = dict(levers) if isinstance(levers, Mapping) else parse_assignments(_texts(levers))
    if not pairs:
        return scenario
    refuse_repeated(scenario.model_dump(mode="json"), {k: [v] for k, v in pairs.items()}, "set_levers", "lever")
    return with_overrides(scenario, pairs)


def list_levers(scenario: Scenario) -> pd.DataFrame:
    """The levers the scenario declares (`abm levers`' default rows): key, value now, a generic
    alternative and the mechanisms (MODEL.md §6) meant to carry its effect.

    >>> table = list_levers(load_scenario("baseline_jan2020"))
    >>> table.set_index("key").loc["us.doctrine", "value"]
    'lethal_red_line'
    """
    raw = scenario.model_dump(mode="json")
    rows = [
        {
            "key": row.key,
            "value": get_dotted(raw, canonical_key(raw, row.key)),
            "alternative": row.alternative[0],
            "mechanisms": row.mechanisms,
        }
        for row in derive_levers(scenario)
    ]
    return pd.DataFrame(rows, columns=["key", "value", "alternative", "mechanisms"])


# ---------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)  # fields are DataFrames: no field-wise ==, identity hash
class RunSet:
    """Runs of one scenario (or of every point of a sweep) with their outcome table and time curves.

    `runs`: one row per run (README "Per-run columns"; a sweep adds `point` and its parameters).
    `summary`: outcome, count, p and the 95% Wilson interval (per point for a sweep), as `summary.csv`.
    `curves`: P(spiral by day t), P(deal by day t), P(state track quiet at day t) with Wilson
    bands for every day, as `curves.csv`. `status` is the runner's: "complete", or "failed"
    when more runs raised than `max_failure_share` allows (the rows say why in `error`).
    """

    name: str
    runs: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    curves: pd.DataFrame = field(repr=False)
    status: str = "complete"
    out_dir: Path | None = None
    parameters: tuple[str, ...] = ()
    events: pd.DataFrame | None = field(default=None, repr=False)
    manifest: Mapping[str, Any] | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    @property
    def failures(self) -> int:
        """Runs that raised (kept as rows with their error, counted in every denominator)."""
        return int(self.runs["error"].notna().sum()) if "error" in self.runs else 0

    def point_labels(self) -> dict[int, str]:
        """A sweep's points as `key=value, ...` (empty for a single run set)."""
        if "point" not in self.runs:
            return {}
        first = self.runs.drop_duplicates("point").set_index("point")
        return {
            int(p): ", ".join(f"{k}={value_label(_plain(row[k]))}" for k in self.parameters)
            for p, row in first.iterrows()
        }

    def __str__(self) -> str:
        """The tables `abm run` prints: outcomes with Wilson intervals, then the curves at days 30, 90, 180."""
        if "point" in self.curves:
            return format_summary(self.summary)
        return f"{format_summary(self.summary)}\n{format_curves(self.curves)}"


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _tables(runs: pd.DataFrame, horizon: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outcome summary and curves of a runs table: per point for a sweep, as summary.csv and curves.csv."""
    summary = summarize(runs, summary_columns(list(runs.columns))[:-2])
    if "point" not in runs:
        last = int(pd.to_numeric(runs["days"], errors="coerce").max()) if len(runs) else 0
        return summary, curves(runs, last if horizon is None else horizon)
    totals = accumulate([runs], horizon)
    tables = [curve_table(totals[p]).assign(point=p) for p in sorted(totals)]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["point", *CURVE_COLUMNS])
    return summary, table[["point", *CURVE_COLUMNS]]


def _backend(jobs: int, backend: str | None, scheduler: str | None = None) -> str:
    """The backend asked for; else dask when a scheduler is named, serial for one job, loky for more."""
    return backend or ("dask" if scheduler else "serial" if jobs == 1 else "loky")


def _run_set(
    experiment: Experiment,
    out: str | Path | None,
    jobs: int,
    backend: str | None,
    progress: bool,
    scheduler: str | None = None,
) -> RunSet:
    """In memory, or streamed to `out` with summary.csv and curves.csv written (as the CLI does) and read back."""
    backend = _backend(jobs, backend, scheduler)
    if out is None:
        mem = run_in_memory(experiment, jobs=jobs, backend=backend, scheduler=scheduler, progress=progress)
        summary, table = _tables(mem.runs, experiment.base.horizon_days)
        return RunSet(experiment.name, mem.runs, summary, table, mem.status, None, experiment.parameters, mem.events)
    from abm.analysis.curves import write_curves
    from abm.analysis.summary import write_summary

    result = run_experiment(experiment, out, jobs=jobs, backend=backend, scheduler=scheduler, progress=progress)
    if result.status in ("complete", "failed"):
        write_summary(out)
        write_curves(out, experiment.base.horizon_days)
    return dataclasses.replace(read_results(out), status=result.status)


def run(
    scenario: Scenario,
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    *,
    out: str | Path | None = None,
    jobs: int = 1,
    backend: str | None = None,
    scheduler: str | None = None,
    events: bool = False,
    max_failure_share: float = DEFAULT_MAX_FAILURE_SHARE,
    progress: bool = False,
) -> RunSet:
    """`runs` replications of a scenario: what `abm run CONFIG --runs N --seed S` computes.

    Run i draws from the seed derived from (`seed`, i), so the rows equal the command line's
    for the same seed whatever `jobs` or `backend`. In memory by default; with `out`, the
    folder `abm run --out` writes (runs/, manifest.json, summary.csv, curves.csv), resumed if it
    holds the same run. `backend`: "serial" for one job, else "loky" (or "dask"); `scheduler`: a
    dask scheduler's address (`abm run --backend dask --scheduler ADDRESS`; implies "dask").

    >>> result = run(load_scenario("baseline_jan2020"), runs=20, seed=7)
    >>> len(result.runs), int(result.summary["count"].sum()), int(result.curves["day"].max())
    (20, 20, 180)
    """
    experiment = single_experiment(scenario, runs, seed, events=events, max_failure_share=max_failure_share)
    return _run_set(experiment, out, jobs, backend, progress, scheduler)


def sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]],
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    *,
    common_random_numbers: bool = False,
    out: str | Path | None = None,
    jobs: int = 1,
    backend: str | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> RunSet:
    """Every point of a full-factorial grid x `runs`: what `abm sweep CONFIG --grid KEY=V1,V2 ...` computes.

    Points are the grid's product in the order given (the first key varies slowest), each run
    seeded as the command line seeds it; `common_random_numbers` gives run i of every point
    the same seed (`--crn`). `summary` and `curves` have one block per point. `jobs`, `backend`
    and `scheduler` as for `run`.

    >>> grid = {"us.sanctions_relief_offer": [0.0, 1.0]}
    >>> swept = sweep(load_scenario("baseline_jan2020"), grid, runs=10, seed=3)
    >>> swept.point_labels()
    {0: 'us.sanctions_relief_offer=0.0', 1: 'us.sanctions_relief_offer=1.0'}
    """
    try:
        parsed = parse_parameters({k: list(v) for k, v in grid.items()}, "grid")
    except ValueError as exc:
        raise ConfigError(f"grid: {exc}") from None
    points = design_points("grid", parsed, scenario)
    experiment = points_experiment(
        scenario, points, runs, seed, common_random_numbers=common_random_numbers, name=scenario.name
    )
    return _run_set(experiment, out, jobs, backend, progress, scheduler)


def read_results(folder: str | Path) -> RunSet:
    """A results folder written by `abm run`, `abm sweep`, `abm compare` (or `run(..., out=)`) read back.

    Every part file is checked against the manifest's sha256 and row count before it is read
    (`abm.runner.reader`); a stray, missing or damaged part raises the CLI's `FolderError`.
    An unfinished folder is read from its finished chunks, with a note in `notes`.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = run(load_scenario("baseline_jan2020"), runs=10, seed=5, out=f"{tmp}/baseline")
    ...     again = read_results(f"{tmp}/baseline")
    >>> len(again.runs), again.manifest["master_seed"]
    (10, 5)
    """
    opened = open_folder(folder)
    runs = opened.read("runs")
    summary, table = _tables(runs, folder_horizon(opened))
    events = opened.read("events") if opened.has("events") else None
    manifest = opened.manifest
    return RunSet(
        str(manifest.get("name") or opened.path.name),
        runs,
        summary,
        table,
        str(opened.status),
        opened.path,
        tuple(parameter_columns(list(runs.columns))),
        events,
        manifest,
        tuple(opened.notes),
    )


# ---------------------------------------------------------------- comparisons


@dataclass(frozen=True, eq=False)  # fields are DataFrames: no field-wise ==, identity hash
class Comparison:
    """Lever settings compared on common random numbers: the tables `abm compare` writes, and each arm's runs.

    `outcomes`, `metrics`, `curves`: comparison.csv, comparison_metrics.csv and
    comparison_curves.csv (diff = B - A, 95% Newcombe paired interval, McNemar p, Holm-adjusted
    p; bootstrap and Wilcoxon for the metrics). `arms`: each arm's own `RunSet` by label
    (`us.doctrine=proportional`). `result`: everything `run_comparison` returned.
    """

    outcomes: pd.DataFrame = field(repr=False)
    metrics: pd.DataFrame = field(repr=False)
    curves: pd.DataFrame = field(repr=False)
    arms: Mapping[str, RunSet] = field(repr=False)
    status: str
    out_dir: Path | None
    result: ComparisonResult = field(repr=False)


def _lever(key: str, values: Sequence[Any]) -> Lever:
    """A lever from a key (`K1+K2` for a bundle) and its values (tuples for a bundle), checked as `--lever`."""
    keys = tuple(k.strip() for k in key.split("+"))
    if any(not k or any(not part for part in k.split(".")) for k in keys) or len(set(keys)) != len(keys):
        raise ConfigError(f"lever {key!r}: not a dotted key, or distinct keys joined by +")
    if isinstance(values, str) or len(values) < 2:
        raise ConfigError(f"lever {key}: got {values!r}; allowed: a list of at least two values to compare")
    arms = tuple(tuple(v) if len(keys) > 1 and isinstance(v, list | tuple) else (v,) for v in values)
    if any(len(arm) != len(keys) for arm in arms):
        raise ConfigError(f"lever {key}: a bundle of {len(keys)} keys needs a tuple of {len(keys)} values per arm")
    if len({tuple((type(v).__name__, v) for v in arm) for arm in arms}) != len(arms):
        raise ConfigError(f"lever {key}: got {list(values)!r}; allowed: distinct values")
    return Lever(keys, arms)


def _levers(levers: Mapping[str, Sequence[Any]] | Sequence[str] | str) -> list[Lever]:
    from abm.analysis.compare import parse_lever

    if isinstance(levers, str):
        return [parse_lever(levers)]
    if isinstance(levers, Mapping):
        return [_lever(k, v) for k, v in levers.items()]
    return [parse_lever(text) for text in levers]


def _arm_label(levers: Sequence[Lever], arm: Sequence[int]) -> str:
    return ", ".join(f"{lever.label}={lever.value_label(k)}" for lever, k in zip(levers, arm, strict=True))


def compare(
    scenario: Scenario,
    levers: Mapping[str, Sequence[Any]] | Sequence[str] | str,
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    *,
    paired: bool = True,
    full: bool = False,
    correction: str = "holm",
    alpha: float = ALPHA,
    out: str | Path | None = None,
    jobs: int = 1,
    backend: str | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> Comparison:
    """Compare lever settings: what `abm compare CONFIG --lever KEY=A,B ...` computes.

    `levers` maps a dotted key to its values, the first the reference (`{"us.doctrine":
    ["lethal_red_line", "proportional"]}`; a bundle `{"k1+k2": [(a1, a2), (b1, b2)]}`), or is
    `--lever` text (`"us.doctrine=lethal_red_line,proportional"`). Every arm runs the same
    `runs` seeds (common random numbers) and differences are tested on pairs, unless `paired`
    is False; `full` runs the cross product of several levers instead of one at a time. With
    `out`, the folder `abm compare --out` writes; the arms then hold the columns the comparison
    reads back (outcome, days, deaths, rungs), and `read_results(out)` gives every column.
    `jobs`, `backend` and `scheduler` as for `run`.

    >>> cmp = compare(load_scenario("baseline_jan2020"), {"us.doctrine": ["lethal_red_line", "proportional"]}, runs=20)
    >>> list(cmp.arms)
    ['us.doctrine=lethal_red_line', 'us.doctrine=proportional']
    >>> cmp.outcomes[["outcome", "p_a", "p_b", "diff", "ci_low", "ci_high", "p_adjusted"]].shape
    (4, 7)
    """
    parsed = _levers(levers)
    result = run_comparison(
        scenario,
        parsed,
        runs,
        seed,
        paired=paired,
        full=full,
        correction=correction,
        alpha=alpha,
        out_dir=out,
        jobs=jobs,
        backend=_backend(jobs, backend, scheduler),
        scheduler=scheduler,
        progress=progress,
    )
    arms: dict[str, RunSet] = {}
    if result.runs is not None:
        for i, (arm, point) in enumerate(zip(result.design.arms, result.design.points, strict=True)):
            rows = result.runs[result.runs["point"] == i].drop(columns=["point", *point], errors="ignore")
            rows = rows.reset_index(drop=True)
            horizon = with_overrides(scenario, point).horizon_days if point else scenario.horizon_days
            summary, table = _tables(rows, horizon)
            label = _arm_label(result.design.levers, arm)
            arms[label] = RunSet(label, rows, summary, table, result.status, result.out_dir)
    return Comparison(result.outcomes, result.metrics, result.curves, arms, result.status, result.out_dir, result)


# ---------------------------------------------------------------- figures


def plot_curves(
    results: RunSet | Comparison | Mapping[str, RunSet | pd.DataFrame],
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """The time-curve figure of `abm report`: P(spiral by day t), P(deal by day t), P(state track
    quiet at day t) with 95% Wilson bands, one line per run set, sweep point or comparison arm.

    With `path` the figure is also written there (PNG or SVG by its suffix, 150 dpi).

    >>> fig = plot_curves(run(load_scenario("baseline_jan2020"), runs=10, seed=2))
    >>> [ax.get_title() for ax in fig.axes]
    ['P(spiral by day t)', 'P(deal by day t)', 'P(state track quiet at day t)']
    """
    from abm.analysis.figures import DPI, time_curves

    groups: dict[str, pd.DataFrame] = {}
    if isinstance(results, Comparison):
        groups = {label: arm.curves for label, arm in results.arms.items()}
    elif isinstance(results, RunSet) and "point" in results.curves:
        labels = results.point_labels()
        groups = {labels[int(p)]: t.drop(columns="point") for p, t in results.curves.groupby("point", sort=True)}
    elif isinstance(results, RunSet):
        groups = {f"{results.name}, {len(results.runs)} runs": results.curves}
    else:
        groups = {k: v.curves if isinstance(v, RunSet) else v for k, v in results.items()}
    if not groups:
        raise ValueError("plot_curves: nothing to plot (no finished runs)")
    fig = time_curves(groups, title or "Time curves")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return fig


# The facade's names are listed once, in the package (which exports them lazily).
__all__ = sorted(API_NAMES)
