"""The crisis model under EMA Workbench: an EMA `Model` whose parameters come from the schema.

EMA Workbench (Kwakkel 2017, https://emaworkbench.readthedocs.io) declares an experiment as
uncertainties, levers and outcomes, samples scenarios and policies, and runs every pair on an
evaluator. `ema_model` builds that declaration from this project's own: each uncertainty and
lever is a dotted key as `abm run --set` takes it (a state by its id alone: `us.doctrine`), or
a block (`world`, `behaviour`) standing for every numeric key `block_parameters` lists. Its
range or choices are read from the pydantic schema, never typed here:

* a number: `RealParameter` / `IntegerParameter` over its screening range (`abm.config.ranges`;
  a number that may also be None or `choose` ranges over its number arm);
* a switch (`channels.<id>.open`): `BooleanParameter`;
* a choice (`us.doctrine`): `CategoricalParameter` over the Literal's values (None, "no
  policy", is left out: a `policy(...)` may still set it).

Names: EMA wants Python identifiers, so a key's dots become `__` (`us.doctrine` ->
`us__doctrine`); `ema_name` refuses a key that would not map back, `dotted_key` reverses it.

One experiment (a scenario x policy pair) is one Monte Carlo of `runs` runs of the configured
scenario with the experiment's values as overrides, through `abm.runner.run_scenario`: run i has
seed `run_seed(seed, 0, i)`, exactly as in `abm run --seed seed --set ...`, so every experiment's
numbers equal `abm run`'s and all experiments share their run seeds (common random numbers).
Outcomes (ScalarOutcome): `p_<outcome>` for each of OUTCOMES and `p_error`, over all runs with
failures in the denominator as in `summary.csv`; `mean_<metric>` over the runs where the metric
is defined.

The runs table behind an experiment is `run_scenario(configured(model, values), runs, seed)`;
`overrides(model, row)` turns a row of EMA's experiments table back into `--set` overrides.
The SALib problem of the same ranges is `salib_problem` (from `abm.config.ranges`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_args, get_origin

import numpy as np
import pandas as pd

from abm.config import ConfigError, Scenario, load_config, with_overrides
from abm.config.loader import canonical_key
from abm.config.ranges import (
    arms,
    block_parameters,
    is_block,
    number_range,
    salib_problem,
    schema_field,
)
from abm.defaults import DEFAULT_RUNS, DEFAULT_SEED
from abm.model.outcomes import OUTCOMES
from abm.model.records import RUN_COLUMNS
from abm.runner import run_scenario
from abm.runner.designs import get_dotted

SEP = "__"  # stands for a key's dots in an EMA name
DEFAULT_METRICS: tuple[str, ...] = ("escalation_score", "battle_deaths", "max_rung", "days")
METRIC_TYPES = ("int64", "float64", "bool")  # run columns a mean makes sense of
ERROR = "error"


def workbench() -> ModuleType:
    """ema_workbench, imported only here so that `import abm` never needs it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "ipyparallel not installed": not an evaluator we use
            import ema_workbench
    except ImportError as exc:
        raise ImportError("abm.ema needs EMA Workbench: pip install 'abm[ema]'") from exc
    return ema_workbench


def ema_name(key: str) -> str:
    """The EMA name of a dotted key (`us.doctrine` -> `us__doctrine`), refused if it would not map back."""
    name = key.replace(".", SEP)
    if not name.isidentifier() or dotted_key(name) != key:
        raise ConfigError(
            f"{key}: cannot be named in EMA Workbench reversibly ({name!r}); allowed: keys whose parts "
            f"neither contain {SEP!r} nor start or end with '_'"
        )
    return name


def dotted_key(name: str) -> str:
    """The dotted key of an EMA name (`us__doctrine` -> `us.doctrine`)."""
    return name.replace(SEP, ".")


def _plain(value: Any) -> Any:
    """numpy scalars -> Python (the schema's strict types refuse numpy's)."""
    return value.item() if isinstance(value, np.generic) else value


def _cell(value: Any) -> Any:
    """A value read back from EMA's experiments table: Python scalars, NaN (a stored None) as None."""
    value = _plain(value)
    return None if isinstance(value, float) and np.isnan(value) else value


def choices(key: str) -> list[Any]:
    """The values of a choice key's Literal, as the schema declares them (None left out)."""
    info = schema_field(key)
    return [c for arm in arms(info.annotation) if get_origin(arm) is Literal for c in get_args(arm) if c is not None]


def _check_entries(raw: Mapping[str, Any], key: str) -> None:
    """Every id the key names is in the scenario (`channels.nope.open` would otherwise add a channel)."""
    parts = canonical_key(raw, key).split(".")
    if parts[0] not in raw:
        states = ", ".join(sorted(raw.get("states", {})))
        raise ConfigError(f"{key}: {parts[0]!r} is neither a config block nor a state of this scenario ({states})")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node, Mapping) or part not in node:
            known = ", ".join(sorted(node)) if isinstance(node, Mapping) else "none"
            raise ConfigError(f"{key}: {'.'.join(parts[: i + 1])} is not in this scenario; known: {known}")
        node = node[part]


def _parameters(ema: ModuleType, scenario: Scenario, items: Iterable[str]) -> list[tuple[str, Any]]:
    """(dotted key, EMA parameter) for each block's keys and each key, in order."""
    raw = scenario.model_dump(mode="json")
    out: list[tuple[str, Any]] = []
    for item in items:
        if is_block(item):
            for p in block_parameters(item):
                kind = ema.IntegerParameter if p.integer else ema.RealParameter
                low, high = (int(p.low), int(p.high)) if p.integer else (p.low, p.high)
                out.append((p.key, kind(ema_name(p.key), low, high)))
            continue
        info = schema_field(item)
        _check_entries(raw, item)
        name, span = ema_name(item), number_range(info)
        if span is not None:
            low, high, integer = span
            kind = ema.IntegerParameter if integer else ema.RealParameter
            out.append((item, kind(name, int(low), int(high)) if integer else kind(name, low, high)))
        elif info.annotation is bool:
            out.append((item, ema.BooleanParameter(name)))
        elif len(values := choices(item)) >= 2:
            out.append((item, ema.CategoricalParameter(name, values)))
        else:
            raise ConfigError(
                f"{item}: not a number with a range, a switch or a choice; allowed: such keys, or a block "
                "(world, behaviour, ...)"
            )
    return out


def _check_values(ema: ModuleType, scenario: Scenario, params: Sequence[tuple[str, Any]]) -> None:
    """Each parameter's ends (or every choice), one at a time, make a valid scenario: up front, not mid-design."""
    for key, p in params:
        categorical = isinstance(p, ema.CategoricalParameter)
        values = [c.value for c in p.categories] if categorical else [p.lower_bound, p.upper_bound]
        for value in values:
            with_overrides(scenario, {key: _plain(value)})


def outcome_names(metrics: Sequence[str] = DEFAULT_METRICS) -> list[str]:
    """Outcome names of the EMA model: `p_<outcome>`, `p_error`, then `mean_<metric>`."""
    return [*(f"p_{o}" for o in OUTCOMES), f"p_{ERROR}", *(f"mean_{m}" for m in metrics)]


def outcomes_of(runs: pd.DataFrame, metrics: Sequence[str] = DEFAULT_METRICS) -> dict[str, float]:
    """The outcomes of one runs table (`run_scenario`'s): shares over all runs, means over defined values."""
    n = len(runs)
    failed = runs["error"].notna() if "error" in runs else pd.Series(False, index=runs.index)
    labels = runs["outcome"].where(~failed, ERROR)
    out = {f"p_{o}": float((labels == o).sum() / n) for o in (*OUTCOMES, ERROR)}
    for m in metrics:
        out[f"mean_{m}"] = float(runs.loc[~failed, m].astype(float).mean())
    return out


@dataclass(frozen=True)
class CrisisFunction:
    """The EMA model's function: one experiment's values in, its outcomes out (picklable for EMA's pools)."""

    scenario: Scenario
    runs: int
    seed: int
    keys: Mapping[str, str]  # EMA name -> dotted key
    metrics: tuple[str, ...]

    def configured(self, values: Mapping[str, Any]) -> Scenario:
        """The scenario with one experiment's values (by EMA name) as overrides."""
        unknown = [n for n in values if n not in self.keys]
        if unknown:
            raise ConfigError(f"EMA experiment: unknown parameter {unknown[0]!r}; known: {', '.join(self.keys)}")
        return (
            with_overrides(self.scenario, {self.keys[n]: _plain(v) for n, v in values.items()})
            if values
            else self.scenario
        )

    def __call__(self, **values: Any) -> dict[str, float]:
        return outcomes_of(run_scenario(self.configured(values), self.runs, self.seed), self.metrics)


def ema_model(
    config: Scenario | str | Path,
    *,
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    uncertainties: Sequence[str] = ("world",),
    levers: Sequence[str] = (),
    metrics: Sequence[str] = DEFAULT_METRICS,
    name: str = "abm",
) -> Any:
    """An EMA `Model` running `runs` runs of `config` (a Scenario or a YAML path) per experiment.

    `uncertainties` and `levers`: blocks or dotted keys (module docstring); `metrics`: numeric
    run columns (RUN_COLUMNS) whose mean is an outcome; `name`: EMA's model name (letters and
    digits only). A key given twice, a name EMA could not map back, an unknown key or id, and a
    range end that makes an invalid scenario are ConfigErrors here, before any run."""
    ema = workbench()
    scenario = config if isinstance(config, Scenario) else load_config(config)
    if runs < 1 or seed < 0:
        raise ConfigError(f"runs {runs}, seed {seed}; allowed: runs >= 1 and seed >= 0 (as for abm run)")
    bad = [m for m in metrics if RUN_COLUMNS.get(m) not in METRIC_TYPES]
    if bad:
        numeric = ", ".join(c for c, t in RUN_COLUMNS.items() if t in METRIC_TYPES)
        raise ConfigError(f"metrics: {bad[0]!r} is not a numeric run column; allowed: {numeric}")
    unc = _parameters(ema, scenario, uncertainties)
    lev = _parameters(ema, scenario, levers)
    raw = scenario.model_dump(mode="json")
    seen: dict[str, str] = {}
    for key, _ in [*unc, *lev]:
        canonical = canonical_key(raw, key)
        if canonical in seen:
            raise ConfigError(f"{key}: given twice (as {seen[canonical]} and {key}); allowed: each key once")
        seen[canonical] = key
    _check_values(ema, scenario, [*unc, *lev])
    function = CrisisFunction(scenario, runs, seed, {p.name: k for k, p in [*unc, *lev]}, tuple(metrics))
    model = ema.Model(name, function=function)
    model.uncertainties = [p for _, p in unc]
    model.levers = [p for _, p in lev]
    model.outcomes = [ema.ScalarOutcome(o) for o in outcome_names(metrics)]
    return model


def _fits(ema: ModuleType, p: Any, value: Any) -> bool:
    """Whether `value` lies in the domain of EMA parameter `p` (a choice, or a number in its range)."""
    if isinstance(p, ema.CategoricalParameter):
        return any(type(c.value) is type(value) and c.value == value for c in p.categories)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and p.lower_bound <= value <= p.upper_bound


def policy(model: Any, name: str, values: Mapping[str, Any]) -> Any:
    """An EMA `Policy` of `model` from dotted keys (`{"us.doctrine": "massive"}`).

    EMA needs every lever in every policy (its results table stores them all, typed by the
    lever's kind) and silently drops a value for a key that is not a lever. So a key that is not
    a lever, or a value outside its lever's domain, is a ConfigError; a lever not given keeps
    the scenario's own value when that lies in the domain (else it must be given: the
    baseline's `advance_warning: choose` is not a number, its `doctrine` may be None)."""
    ema = workbench()
    levers = {p.name: p for p in model.levers}
    given = {ema_name(k): _plain(v) for k, v in values.items()}
    stray = [n for n in given if n not in levers]
    if stray:
        known = ", ".join(dotted_key(n) for n in levers) or "none"
        raise ConfigError(f"policy {name}: {dotted_key(stray[0])} is not a lever of the model (levers: {known})")
    raw = model.function.scenario.model_dump(mode="json")
    for n, p in levers.items():
        if n in given and not _fits(ema, p, given[n]):
            raise ConfigError(f"policy {name}: {dotted_key(n)}={given[n]!r}; allowed: {_domain(ema, p)}")
        if n not in given:
            own = get_dotted(raw, dotted_key(n))
            if not _fits(ema, p, own):
                raise ConfigError(
                    f"policy {name}: give {dotted_key(n)} (the scenario's {own!r} is not a lever value; "
                    f"allowed: {_domain(ema, p)})"
                )
            given[n] = own
    return ema.Policy(name, **given)


def _domain(ema: ModuleType, p: Any) -> str:
    if isinstance(p, ema.CategoricalParameter):
        return ", ".join(repr(c.value) for c in p.categories)
    return f"a number in [{p.lower_bound:g}, {p.upper_bound:g}]"


def configured(model: Any, values: Mapping[str, Any]) -> Scenario:
    """The scenario an experiment of `model` runs, from its values by EMA name."""
    return model.function.configured(values)


def overrides(model: Any, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of EMA's experiments table as `--set` overrides: {dotted key: value} of the model's parameters."""
    names = [p.name for p in (*model.uncertainties, *model.levers)]
    return {dotted_key(n): _cell(row[n]) for n in names if n in row}


__all__ = [
    "DEFAULT_METRICS",
    "CrisisFunction",
    "choices",
    "configured",
    "dotted_key",
    "ema_model",
    "ema_name",
    "outcome_names",
    "outcomes_of",
    "overrides",
    "policy",
    "salib_problem",
]
