"""Validation cases as data: one YAML file per case under `configs/validation/`.

A case names a scenario (a config path, relative to the case file or to the repository's
`configs/`; a list pools several configs), optional dotted overrides (`set`), how many runs
per config it wants, the quantity it measures (`abm.validation.quantities`), the acceptance
band and the source of that band. Example::

    name: baseline_spiral_minority
    description: A spiral into direct war is a minority outcome of the baseline.
    pattern: 1 baseline
    scenario: baseline_jan2020.yaml
    runs: 500
    quantity: {kind: share, where: "outcome == 'spiral'"}
    band: {low: 0.017, high: 0.292}
    source: MID v5 post-1945 war share (low); ICB v14 P(war | violent trigger) (high)

Loading validates everything (keys, expressions, configs and overrides) before any run, and
every problem becomes a `CaseError` naming the file and key, so the CLI can exit 2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from abm.config import ConfigError, Scenario, load_config
from abm.config.loader import check_named_path, format_validation_error, read_yaml
from abm.validation.quantities import DifferenceSpec, Quantity, Spec, Strict
from abm.validation.stats import Estimate

DEFAULT_RUNS = 500
CASES_SUBDIR = "validation"
Rule = Literal["estimate", "interval", "overlap"]
# in-sample: the model was built or calibrated with the case's period in view; out-of-sample: a
# crisis the model was not built on (MODEL.md §10), never read by calibration.
Sample = Literal["in-sample", "out-of-sample"]
Status = Literal["pass", "fail", "no data"]


class CaseError(ConfigError):
    """A case file is invalid; the message names the file and the key."""


class Band(Strict):
    """Acceptance band; a missing bound is open (e.g. only `high` for 'rarely')."""

    low: float | None = Field(None, description="lowest acceptable value (None: no lower bound)")
    high: float | None = Field(None, description="highest acceptable value (None: no upper bound)")

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.low is None and self.high is None:
            raise ValueError("band needs 'low', 'high' or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"band: low {self.low} is above high {self.high}")
        return self

    @property
    def lo(self) -> float:
        return -math.inf if self.low is None else self.low

    @property
    def hi(self) -> float:
        return math.inf if self.high is None else self.high


class CaseSpec(Strict):
    """A validation case file as written."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60, description="unique case name")
    description: str = Field("", max_length=2000, description="what the case checks, in words")
    pattern: str = Field("", max_length=80, description="which validation pattern it belongs to, e.g. '1 baseline'")
    scenario: str | list[str] = Field(description="config path(s); a list pools the runs of several configs")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted-key overrides for every config of the case")
    runs: int = Field(DEFAULT_RUNS, ge=1, le=10**6, description="runs per config (the --runs option overrides)")
    quantity: Quantity
    band: Band
    rule: Rule = Field(
        "estimate",
        description="pass when the estimate is in the band (estimate), its whole 95% interval is (interval), "
        "or its interval touches the band (overlap)",
    )
    source: str = Field(min_length=1, max_length=2000, description="where the band comes from")
    sample: Sample = Field(
        "in-sample",
        description="in-sample (the model was built or calibrated with it in view) or out-of-sample "
        "(a crisis the model was not built on; calibration never reads it)",
    )

    @model_validator(mode="after")
    def _scenarios(self) -> CaseSpec:
        if isinstance(self.scenario, list) and not self.scenario:
            raise ValueError("scenario: an empty list; give one config or several")
        return self


@dataclass(frozen=True)
class Arm:
    """The runs a quantity is computed on: one or several configs (pooled), each with overrides."""

    scenarios: tuple[Scenario, ...]
    paths: tuple[Path, ...]
    overrides: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        names = " + ".join(s.name for s in self.scenarios)
        sets = ", ".join(f"{k}={v}" for k, v in self.overrides)
        return f"{names} ({sets})" if sets else names


@dataclass(frozen=True)
class Case:
    """A loaded case: its spec, its file and its arm(s) with validated scenarios."""

    spec: CaseSpec
    path: Path
    arm: Arm
    versus: Arm | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def sample(self) -> Sample:
        return self.spec.sample

    @property
    def quantity(self) -> Spec:
        return self.spec.quantity  # type: ignore[return-value]

    def judge(self, estimate: Estimate) -> Status:
        """pass / fail by the case's rule; `no data` when nothing could be estimated."""
        band, rule = self.spec.band, self.spec.rule
        if not estimate.defined or (rule != "estimate" and not math.isfinite(estimate.low + estimate.high)):
            return "no data"
        if rule == "estimate":
            ok = band.lo <= estimate.value <= band.hi
        elif rule == "interval":
            ok = band.lo <= estimate.low and estimate.high <= band.hi
        else:
            ok = estimate.low <= band.hi and estimate.high >= band.lo
        return "pass" if ok else "fail"


def default_configs_root() -> Path:
    """`./configs` when run from a checkout, else the repository's `configs/` next to the package."""
    here = Path.cwd() / "configs"
    if (here / CASES_SUBDIR).is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "configs"


def default_cases_dir() -> Path:
    return default_configs_root() / CASES_SUBDIR


def _config_path(ref: str, case_path: Path, configs_root: Path, key: str) -> Path:
    candidates = [Path(ref)] if Path(ref).is_absolute() else [case_path.parent / ref, configs_root / ref]
    for candidate in candidates:
        if candidate.is_file():  # inside the working directory's, the case file's or the configs' tree
            return check_named_path(case_path, key, ref, candidate, extra_roots=[configs_root])
    looked = ", ".join(str(c) for c in candidates)
    raise CaseError(f"{case_path}: {key}: no config {ref!r} (looked for {looked})")


def _arm(refs: str | list[str], overrides: dict[str, Any], case_path: Path, configs_root: Path, key: str) -> Arm:
    paths = tuple(
        _config_path(ref, case_path, configs_root, f"{key}.{i}" if isinstance(refs, list) else key)
        for i, ref in enumerate([refs] if isinstance(refs, str) else refs)
    )
    scenarios = []
    for path in paths:
        try:
            scenarios.append(load_config(path, overrides))
        except ConfigError as exc:
            raise CaseError(f"{case_path}: {key} {path.name} with set {overrides}:\n{exc}") from None
    return Arm(tuple(scenarios), paths, tuple(overrides.items()))


def parse_case(raw: dict[str, Any], source: str = "case") -> CaseSpec:
    """Validate a raw case mapping, or raise one readable `CaseError`."""
    try:
        return CaseSpec.model_validate(raw)
    except ValidationError as exc:
        raise CaseError(format_validation_error(exc, source)) from None


def load_case(path: str | Path, configs_root: str | Path | None = None) -> Case:
    """Read and validate a case file and the configs it names."""
    path = Path(path)
    root = Path(configs_root) if configs_root is not None else default_configs_root()
    raw = read_yaml(path)
    spec = parse_case(raw, source=str(path))
    arm = _arm(spec.scenario, dict(spec.set), path, root, "scenario")
    versus = None
    q = spec.quantity
    if isinstance(q, DifferenceSpec) and q.versus is not None:
        refs = q.versus.scenario if q.versus.scenario is not None else spec.scenario
        versus = _arm(refs, {**spec.set, **q.versus.set}, path, root, "quantity.versus.scenario")
    return Case(spec, path, arm, versus)


def case_files(directory: str | Path) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        raise CaseError(f"{directory}: no such folder of validation cases")
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_cases(
    selectors: Sequence[str] | None = None,
    cases_dir: str | Path | None = None,
    configs_root: str | Path | None = None,
) -> list[Case]:
    """Cases of `cases_dir` (default `configs/validation`), all or those `selectors` name.

    A selector is a case name or a path to a case file. Names are unique across the folder.
    Config paths in cases are looked up next to the case file, then in `configs_root`
    (default: the repository's `configs/`).
    """
    directory = Path(cases_dir) if cases_dir is not None else default_cases_dir()
    root = Path(configs_root) if configs_root is not None else default_configs_root()
    wanted = list(selectors or [])
    files = [Path(s) for s in wanted if s.endswith((".yaml", ".yml")) or Path(s).is_file()]
    names = [s for s in wanted if Path(s) not in files]
    by_name: dict[str, Case] = {}
    if names or not wanted:
        for path in case_files(directory):
            case = load_case(path, root)
            if case.name in by_name:
                raise CaseError(f"{path}: case name {case.name!r} is also used by {by_name[case.name].path}")
            by_name[case.name] = case
    chosen: list[Case] = []
    if not wanted:
        chosen = list(by_name.values())
    for s in wanted:
        if Path(s) in files:
            if Path(s).is_dir():
                raise CaseError(f"{s}: is a folder, not a case file; give the path of a .yaml case")
            if not Path(s).is_file():
                raise CaseError(f"{s}: no such case file")
            chosen.append(load_case(s, root))
        elif s in by_name:
            chosen.append(by_name[s])
        else:
            raise CaseError(f"--case {s!r}: no such case in {directory}; known: {', '.join(sorted(by_name))}")
    return _unique(chosen)


def _unique(cases: Iterable[Case]) -> list[Case]:
    seen: dict[str, Case] = {}
    for case in cases:
        seen.setdefault(case.name, case)
    return list(seen.values())
