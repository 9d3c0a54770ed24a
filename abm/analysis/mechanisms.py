"""The mechanism effect table as data (MODEL.md §6, issue 15 item 6): switches, rows, quantities.

MODEL.md §6 asks that every mechanism be visible in behaviour: switched off, a named
outcome-level quantity moves by more than its Monte Carlo error in a scenario built to exercise
it. Which scenario and which quantity is data (experiments/mechanisms/table.yaml, read by
`load_mechanism_table`), not code, for two reasons: its scenarios are config files that name
the states of one crisis (ids belong in files, tests/scenarios/test_any_crisis.py), and a
reader can add or change a row without touching the package. The switches themselves are read
from `MechanismsConfig.model_fields`, so a switch added to the schema shows up in the table at
once, as "no exercising scenario listed" until a row names one. Running the rows is
`abm.analysis.mechanism_table`.

Quantities (`quantity:` in the table, `QUANTITY_KINDS`): `{outcome: spiral}` (share of runs
ending so), `{curve: quiet, day: 90}` (P(spiral by / deal by / state track quiet at day t)),
`{share: COL}` (a true/false column of the runs table) and `{mean: COL}` (a numeric column),
columns from `abm.model.records.RUN_COLUMNS`. Shares are compared with Newcombe's paired
interval and McNemar's test, means with the paired BCa bootstrap and Wilcoxon's test.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from abm.analysis.curves import CURVES, HOT_DAYS, curve_label, indicators
from abm.analysis.errors import AnalysisError
from abm.config import ConfigError
from abm.config.loader import check_named_path, format_validation_error, read_yaml
from abm.config.schema import MechanismsConfig
from abm.model.outcomes import OUTCOMES
from abm.model.records import RUN_COLUMNS

TABLE_PATH = Path("experiments") / "mechanisms" / "table.yaml"


def switches() -> tuple[str, ...]:
    """Every mechanism switch of the schema, in MODEL.md §6 order."""
    return tuple(MechanismsConfig.model_fields)


# ---------------------------------------------------------------- quantities


@dataclass(frozen=True)
class QuantityKind:
    """How a kind of quantity is read off the runs: which names it takes, per-run values, a label."""

    proportion: bool
    names: Callable[[], Collection[str]]
    values: Callable[[pd.DataFrame, str, int | None], np.ndarray]
    label: Callable[[str, int | None], str]
    needs_day: bool = False


def _columns(*types: str) -> Callable[[], list[str]]:
    return lambda: [c for c, t in RUN_COLUMNS.items() if t in types]


def _curve(runs: pd.DataFrame, name: str, day: int | None) -> np.ndarray:
    found = indicators(runs, int(day or 0))
    if name not in found:
        raise AnalysisError(f"curve {name!r} needs the {HOT_DAYS} column, which these runs do not have")
    return found[name]


QUANTITY_KINDS: Mapping[str, QuantityKind] = {
    "outcome": QuantityKind(
        True, lambda: OUTCOMES, lambda r, n, _: (r["outcome"] == n).to_numpy(), lambda n, _: f"P({n})"
    ),
    "curve": QuantityKind(True, lambda: CURVES, _curve, lambda n, d: f"P({curve_label(n, int(d or 0))})", True),
    "share": QuantityKind(
        True, _columns("bool"), lambda r, n, _: r[n].fillna(False).astype(bool).to_numpy(), lambda n, _: f"P({n})"
    ),
    "mean": QuantityKind(
        False,
        _columns("int64", "float64"),
        lambda r, n, _: pd.to_numeric(r[n], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        lambda n, _: f"mean {n}",
    ),
}


@dataclass(frozen=True)
class Quantity:
    """An outcome-level quantity: its kind (a key of QUANTITY_KINDS), name, and day for curves."""

    kind: str
    name: str
    day: int | None = None

    @property
    def proportion(self) -> bool:
        return QUANTITY_KINDS[self.kind].proportion

    @property
    def label(self) -> str:
        return QUANTITY_KINDS[self.kind].label(self.name, self.day)

    @property
    def columns(self) -> tuple[str, ...]:
        """Runs-table columns it reads beyond those every comparison reads."""
        return (self.name,) if self.kind in ("share", "mean") else ()

    def values(self, runs: pd.DataFrame) -> np.ndarray:
        return QUANTITY_KINDS[self.kind].values(runs, self.name, self.day)


def parse_quantity(spec: Mapping[str, Any], where: str) -> Quantity:
    """`{outcome: spiral}`, `{curve: quiet, day: 90}`, `{share: COL}`, `{mean: COL}`: one error per problem."""
    kinds = [k for k in spec if k in QUANTITY_KINDS]
    other = sorted(set(spec) - set(QUANTITY_KINDS) - {"day"})
    if len(kinds) != 1 or other:
        raise ConfigError(
            f"{where}: quantity needs exactly one of {', '.join(QUANTITY_KINDS)} (and `day` with curve), got "
            f"{dict(spec)!r}"
        )
    kind = QUANTITY_KINDS[kinds[0]]
    name, day = spec[kinds[0]], spec.get("day")
    if name not in kind.names():
        raise ConfigError(f"{where}: {kinds[0]} {name!r} is not one of: {', '.join(kind.names())}")
    if kind.needs_day != (day is not None):
        raise ConfigError(f"{where}: `day` goes with `curve` (and only there), e.g. {{curve: quiet, day: 90}}")
    if day is not None and (not isinstance(day, int) or isinstance(day, bool) or day < 0):
        raise ConfigError(f"{where}: day must be a whole number of days >= 0, got {day!r}")
    return Quantity(kinds[0], str(name), day)


# ---------------------------------------------------------------- the table as data


@dataclass(frozen=True)
class MechanismRow:
    """One switch, the scenario built to exercise it, the quantity that should move, and why."""

    mechanism: str
    scenario: Path
    quantity: Quantity
    why: str = ""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Entry(_Strict):
    scenario: str = Field(min_length=1, max_length=1000, description="config path, relative to the table or configs/")
    quantity: dict[str, Any] = Field(description="the outcome-level quantity the switch should move")
    why: str = Field("", max_length=1000, description="why this scenario and quantity exercise the mechanism")


class _Table(_Strict):
    description: str = Field("", max_length=4000)
    mechanisms: dict[str, _Entry] = Field(min_length=1)


def _shipped(relative: Path) -> Path:
    """`relative` under the working directory when it is there (a checkout), else next to the package."""
    here = Path.cwd() / relative
    return here if here.exists() else Path(__file__).resolve().parents[2] / relative


def default_table() -> Path:
    """experiments/mechanisms/table.yaml of the working directory, else of the checkout the package is in."""
    return _shipped(TABLE_PATH)


def _scenario_path(ref: str, table: Path, where: str) -> Path:
    """A row's config: relative to the table file, else to the repository's configs/ (as validation cases)."""
    root = _shipped(Path("configs"))
    candidates = [Path(ref)] if Path(ref).is_absolute() else [table.parent / ref, root / ref]
    for candidate in candidates:
        if candidate.is_file():
            return check_named_path(table, f"{where}.scenario", ref, candidate, extra_roots=[root])
    raise ConfigError(f"{table}: {where}.scenario: no config {ref!r} (looked for {', '.join(map(str, candidates))})")


def load_mechanism_table(path: str | Path) -> tuple[MechanismRow, ...]:
    """Rows of a mechanism table file; an unknown switch, quantity or path is one error naming the key."""
    try:
        spec = _Table.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
    known = switches()
    rows = []
    for name, entry in spec.mechanisms.items():
        where = f"{path}: mechanisms.{name}"
        if name not in known:
            raise ConfigError(f"{where}: no such mechanism switch; known: {', '.join(known)}")
        scenario = _scenario_path(entry.scenario, Path(path), f"mechanisms.{name}")
        rows.append(MechanismRow(name, scenario, parse_quantity(entry.quantity, f"{where}.quantity"), entry.why))
    return tuple(rows)


__all__ = [
    "QUANTITY_KINDS",
    "TABLE_PATH",
    "MechanismRow",
    "Quantity",
    "default_table",
    "load_mechanism_table",
    "parse_quantity",
    "switches",
]
