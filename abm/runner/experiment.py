"""Experiments: a declared set of design points × runs, validated before anything runs.

An experiment YAML (see `experiments/*.yaml`) is declarative, in the spirit of the EMA
Workbench: a base config, fixed overrides (`set`), varied parameters with their values or
ranges, a design that turns them into points, runs per point and a master seed. Loading
resolves it into an `Experiment`: the base `Scenario` plus the concrete list of points, every
one already checked with `abm.config.with_overrides`, so a typo fails before the first run.

Errors are `abm.config.ConfigError` with the same shape as the config loader's messages
(source, dotted key, value, what is allowed), so the CLI prints them and exits 2.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError, model_validator

from abm.config import ConfigError, Scenario, config_hash, load_config, with_overrides
from abm.config.loader import (
    check_named_path,
    format_validation_error,
    read_yaml,
    refuse_fixed_and_varied,
    refuse_repeated,
    reject_nonfinite,
)
from abm.defaults import DEFAULT_MAX_FAILURE_SHARE, DEFAULT_RUNS, DEFAULT_SEED
from abm.runner.designs import (
    DESIGNS,
    MAX_POINTS,
    Range,
    design_points,
    design_size,
    get_dotted,
    parse_parameters,
)

Kind = Literal["run", "sweep"]


class ExperimentSpec(BaseModel):
    """The experiment file as written; cross-field rules are checked in `_check`."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80, description="used in folder names")
    description: str = Field("", max_length=4000)
    config: str = Field(min_length=1, description="scenario YAML, relative to the experiment file")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted-key overrides applied to every point")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="dotted key -> list of values (grid) or {low, high} (lhs, sobol)"
    )
    design: Literal["grid", "lhs", "sobol", "points"] = Field("grid", description="how parameters become points")
    points: list[dict[str, Any]] | None = Field(None, description="explicit design points (design: points)")
    samples: StrictInt | None = Field(None, ge=1, le=10**7, description="LHS points, or Sobol base N (a power of two)")
    second_order: StrictBool = Field(True, description="Sobol: sample for second-order indices too (SALib default)")
    runs: StrictInt = Field(DEFAULT_RUNS, ge=1, le=10**8, description="runs per point (first batch with target_ci)")
    seed: StrictInt = Field(DEFAULT_SEED, ge=0, le=2**128, description="master seed")
    common_random_numbers: StrictBool = Field(False, description="every point uses seed key 0: run i shares its seed")
    events: StrictBool = Field(False, description="also store one row per event")
    max_failure_share: StrictFloat = Field(DEFAULT_MAX_FAILURE_SHARE, ge=0.0, le=1.0, description="stop above this")
    target_ci: StrictFloat | None = Field(
        None, gt=0.0, lt=0.5, description="sequential stopping: Wilson 95% half-width"
    )
    max_runs: StrictInt | None = Field(None, ge=1, le=10**8, description="cap on runs per point with target_ci")
    chunk_size: StrictInt | None = Field(None, ge=1, le=10**6, description="runs per chunk (default: automatic)")

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        parsed = parse_parameters(self.parameters, self.design)  # raises ValueError with the dotted key
        size = design_size(self.design, parsed, self.points, self.samples, self.second_order)
        if size > MAX_POINTS:
            raise ValueError(
                f"design {self.design!r} gives {size:,} points; allowed: at most {MAX_POINTS:,} "
                "(split the experiment, or sample fewer points with lhs or sobol)"
            )
        if self.design == "points":
            if not self.points:
                raise ValueError("points: design 'points' needs a non-empty list of points (mappings of dotted keys)")
            if self.parameters:
                raise ValueError("parameters: not used with design 'points'; put the values in 'points'")
        elif self.points is not None:
            raise ValueError(f"points: only used with design 'points' (design is {self.design!r})")
        if self.design in ("lhs", "sobol") and self.samples is None:
            raise ValueError(f"samples: design {self.design!r} needs 'samples' (number of points / Sobol base N)")
        if self.design == "sobol" and self.samples is not None and self.samples & (self.samples - 1):
            raise ValueError(f"samples: got {self.samples}; allowed: a power of two for design 'sobol' (e.g. 256)")
        if self.design in ("grid", "points") and self.samples is not None:
            raise ValueError(f"samples: only used with designs 'lhs' and 'sobol' (design is {self.design!r})")
        if self.max_runs is not None and self.target_ci is None:
            raise ValueError("max_runs: only used with target_ci (sequential stopping)")
        if self.max_runs is not None and self.max_runs < self.runs:
            raise ValueError(f"max_runs: got {self.max_runs}; allowed: at least runs ({self.runs})")
        return self


@dataclass(frozen=True)
class Experiment:
    """A resolved experiment: base scenario, concrete points and how many runs each gets.

    `points[i]` maps dotted keys to values for point i (empty for a plain run). The seed of
    run r of point i is `run_seed(seed, point_key(i), r)`.
    """

    name: str
    kind: Kind
    base: Scenario
    points: tuple[Mapping[str, Any], ...]
    parameters: tuple[str, ...]
    runs: int
    seed: int
    common_random_numbers: bool = False
    events: bool = False
    max_failure_share: float = DEFAULT_MAX_FAILURE_SHARE
    target_ci: float | None = None
    max_runs: int | None = None
    chunk_size: int | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    declaration: Mapping[str, Any] = field(default_factory=dict)

    def point_key(self, point: int) -> int:
        """Seed key of a point: 0 for all with common random numbers, else the point index."""
        return 0 if self.common_random_numbers else point

    def scenario(self, point: int) -> Scenario:
        """The scenario of one design point (validated)."""
        values = self.points[point]
        return with_overrides(self.base, values) if values else self.base

    @property
    def run_cap(self) -> int:
        """Most runs a point can get: `runs`, or `max_runs` with sequential stopping."""
        if self.target_ci is None:
            return self.runs
        return self.max_runs if self.max_runs is not None else 10 * self.runs

    @property
    def config_hash(self) -> str:
        return config_hash(self.base)

    @property
    def hash(self) -> str:
        """Content hash of everything that decides which rows the experiment produces.

        Execution settings (jobs, backend, chunk size, failure limit) are left out, so a
        resume may change them.
        """
        content = {
            "kind": self.kind,
            "config_hash": self.config_hash,
            "points": [dict(p) for p in self.points],
            "parameters": list(self.parameters),
            "runs": self.runs,
            "seed": self.seed,
            "common_random_numbers": self.common_random_numbers,
            "events": self.events,
            "target_ci": self.target_ci,
            "max_runs": self.run_cap if self.target_ci is not None else None,
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_spec(raw: Mapping[str, Any], source: str = "experiment") -> ExperimentSpec:
    """Validate a raw experiment mapping, or raise one readable `ConfigError`.

    Numbers and switches are strict: `runs: true` is not 1 and `events: 1` is not true.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: top level must be a mapping of keys, got {type(raw).__name__}")
    try:
        reject_nonfinite(raw)
        return ExperimentSpec.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    except RecursionError:
        raise ConfigError(f"{source}: nesting too deep to be an experiment") from None


def load_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Experiment:
    """Read, validate and resolve an experiment YAML; `overrides` replace top-level keys (CLI)."""
    raw = read_yaml(path)
    if "config" not in raw and ({"states", "world", "horizon_days"} & set(raw)):
        raise ConfigError(
            f"{path}: looks like a scenario config, not an experiment; sweep it with --grid/--lhs, or use `abm run`"
        )
    raw.setdefault("name", Path(path).stem)
    for key, value in (overrides or {}).items():
        if key == "set":
            raw["set"] = {**(raw.get("set") or {}), **value}
        elif value is not None:
            raw[key] = value
    spec = parse_spec(raw, source=str(path))
    # A path named in the file stays inside the working directory's or the file's tree (docs/RELIABILITY.md).
    check_named_path(path, "config", spec.config, Path(path).parent / spec.config)
    return resolve(spec, base_dir=Path(path).parent, source=str(path))


def resolve(
    spec: ExperimentSpec,
    base_dir: str | Path = ".",
    source: str = "experiment",
    *,
    names: tuple[str, str] | None = None,
) -> Experiment:
    """Load the base config, sample the design and check every point before anything runs.

    A key both fixed (`set`) and varied (`parameters`, `points`), or varied twice under two
    spellings (`us.doctrine`, `states.us.doctrine`), is refused. `names` are how messages call
    the fixed and the varied keys (the command line: `("--set", "--grid")`)."""
    config_path = Path(spec.config)
    if not config_path.is_absolute():
        config_path = Path(base_dir) / config_path
    base = load_config(config_path, spec.set)
    fixed_as, varied_as = names or ("set", "points" if spec.design == "points" else "parameters")
    raw = base.model_dump(mode="json")
    varied = _varied_values(spec)
    refuse_repeated(raw, varied, source, varied_as)
    refuse_fixed_and_varied(raw, spec.set, varied, source, fixed_as, varied_as)
    points = design_points(
        spec.design,
        parse_parameters(spec.parameters, spec.design),
        base,
        spec.points,
        spec.samples,
        spec.seed,
        spec.second_order,
    )
    keys = _parameter_keys(spec, points)
    points = _fill_missing(points, keys, base)
    _check_points(base, points, source)
    declaration = {**spec.model_dump(mode="json"), "config_path": str(config_path.resolve())}
    return _sweep(spec, base, points, keys, declaration)


def _sweep(
    spec: ExperimentSpec,
    base: Scenario,
    points: Sequence[Mapping[str, Any]],
    keys: tuple[str, ...],
    declaration: dict[str, Any],
) -> Experiment:
    """A sweep experiment from a checked spec and its checked points (experiment files and in-memory points)."""
    return Experiment(
        name=spec.name,
        kind="sweep",
        base=base,
        points=tuple(points),
        parameters=keys,
        runs=spec.runs,
        seed=spec.seed,
        common_random_numbers=spec.common_random_numbers,
        events=spec.events,
        max_failure_share=spec.max_failure_share,
        target_ci=spec.target_ci,
        max_runs=spec.max_runs,
        chunk_size=spec.chunk_size,
        overrides=dict(spec.set),
        declaration=declaration,
    )


def single_experiment(
    scenario: Scenario,
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    *,
    events: bool = False,
    max_failure_share: float = DEFAULT_MAX_FAILURE_SHARE,
    target_ci: float | None = None,
    max_runs: int | None = None,
    chunk_size: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> Experiment:
    """A plain Monte Carlo of one scenario (what `abm run` does): one point, seed key 0."""
    if runs < 1:
        raise ConfigError(f"runs: got {runs}; allowed: a whole number >= 1")
    if seed < 0:
        raise ConfigError(f"seed: got {seed}; allowed: a whole number >= 0")
    if not 0.0 <= max_failure_share <= 1.0:
        raise ConfigError(f"max_failure_share: got {max_failure_share}; allowed: a number in [0, 1]")
    if target_ci is not None and not 0.0 < target_ci < 0.5:
        raise ConfigError(f"target_ci: got {target_ci}; allowed: a half-width in (0, 0.5), e.g. 0.01")
    if max_runs is not None and (target_ci is None or max_runs < runs):
        raise ConfigError(f"max_runs: got {max_runs}; allowed: with target_ci only, and at least runs ({runs})")
    declaration = {
        "name": name or scenario.name,
        "runs": runs,
        "seed": seed,
        "events": events,
        "max_failure_share": max_failure_share,
        "target_ci": target_ci,
        "max_runs": max_runs,
        "set": dict(overrides or {}),
    }
    return Experiment(
        name=name or scenario.name,
        kind="run",
        base=scenario,
        points=({},),
        parameters=(),
        runs=runs,
        seed=seed,
        common_random_numbers=True,
        events=events,
        max_failure_share=max_failure_share,
        target_ci=target_ci,
        max_runs=max_runs,
        chunk_size=chunk_size,
        overrides=dict(overrides or {}),
        declaration=declaration,
    )


def points_experiment(
    scenario: Scenario,
    points: Sequence[Mapping[str, Any]],
    runs: int,
    seed: int = DEFAULT_SEED,
    *,
    common_random_numbers: bool = True,
    name: str | None = None,
    **options: Any,
) -> Experiment:
    """An experiment over explicit points of an in-memory scenario (for `compare`, `validate`)."""
    spec = {
        "name": name or scenario.name,
        "config": "<in memory>",
        "design": "points",
        "points": list(points),
        "runs": runs,
        "seed": seed,
        "common_random_numbers": common_random_numbers,
        **options,
    }
    parsed = parse_spec(spec, source=f"experiment {spec['name']}")
    refuse_repeated(scenario.model_dump(mode="json"), _varied_values(parsed), f"experiment {spec['name']}", "points")
    keys = _parameter_keys(parsed, [dict(p) for p in points])
    filled = _fill_missing([dict(p) for p in points], keys, scenario)
    _check_points(scenario, filled, f"experiment {spec['name']}")
    return _sweep(parsed, scenario, filled, keys, parsed.model_dump(mode="json"))


def _varied_values(spec: ExperimentSpec) -> dict[str, list[Any] | None]:
    """Each varied key with the values it takes (None: numbers from a range)."""
    if spec.design == "points":
        keys = _parameter_keys(spec, spec.points or [])
        return {k: [p[k] for p in spec.points or [] if k in p] for k in keys}
    return {k: list(v) if spec.design == "grid" else None for k, v in spec.parameters.items()}


def _parameter_keys(spec: ExperimentSpec, points: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Varied keys in declaration order (for explicit points: order of first appearance)."""
    if spec.design != "points":
        return tuple(spec.parameters)
    keys: dict[str, None] = {}
    for p in points:
        keys.update(dict.fromkeys(p))
    return tuple(keys)


def _fill_missing(points: Sequence[Mapping[str, Any]], keys: Sequence[str], base: Scenario) -> list[dict[str, Any]]:
    """Explicit points may omit keys: fill in the base value so every column is defined."""
    raw = base.model_dump(mode="json")
    return [{k: p[k] if k in p else get_dotted(raw, k) for k in keys} for p in points]


def _check_points(base: Scenario, points: Sequence[Mapping[str, Any]], source: str) -> None:
    """Every point must be a valid scenario; report the first bad one with its values."""
    for i, values in enumerate(points):
        if not values:
            continue
        try:
            with_overrides(base, values)
        except ConfigError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
            raise ConfigError(f"{source}: point {i} ({shown}) is not a valid scenario:\n{exc}") from None


__all__ = [
    "DESIGNS",
    "Experiment",
    "ExperimentSpec",
    "Range",
    "get_dotted",
    "load_experiment",
    "parse_spec",
    "points_experiment",
    "resolve",
    "single_experiment",
]
