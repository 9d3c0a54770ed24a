"""The rows of the lever effect table (`abm levers`, issue 15 item 5): which lever, which two settings,
which mechanism is meant to carry the effect.

Rows come from one of three places, all ending as `LeverRow`s:

* derived from the scenario (the default): every trait of `TRAIT_LEVERS` that a scenario declares
  (MODEL.md §8: doctrine, sanctions, demands, relief offer, force protection, posture, proxy
  restraint, advance warning, mediation) and every channel's `open`, each from the scenario's
  own value (reference) to a generic alternative. The table is keyed by trait name, never by
  state id, so it works on any crisis (tests/scenarios/test_any_crisis.py);
* a lever file (`--levers FILE`, e.g. experiments/levers/jan2020.yaml): rows written for one
  crisis, with state ids in their keys (ids belong in files, not in code);
* `--lever KEY=A,B[,C]` on the command line: A is the reference, each later value an alternative.

`plan_levers` resolves rows against one scenario: a row whose state, channel or other named
block the scenario lacks is skipped with a one-line note (so one lever file runs on variants of
its crisis), values are validated and normalised through the schema, and rows that move the
same key(s) are gathered into one `abm.analysis.compare.Lever` whose first value is the
scenario's own. The arms are then exactly those of `abm compare` one lever at a time (OFAT)
from the scenario; each row is one pair of those arms.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from abm.analysis.compare import Lever, parse_lever, value_label
from abm.analysis.mechanisms import Quantity, parse_quantity
from abm.config import ConfigError, Scenario, with_overrides
from abm.config.loader import TOP_LEVEL, canonical_key, format_validation_error, read_yaml, same_value
from abm.runner.designs import get_dotted


@dataclass(frozen=True)
class TraitLever:
    """A trait that is a lever wherever a scenario declares it, with its generic alternative.

    `alternatives`: the first one that differs from the scenario's value is used (a scenario
    already at the usual alternative is moved to the other setting). `declared_only`: only
    where the scenario's file sets the trait (a state's default is "no policy", not a lever)."""

    block: str
    trait: str
    alternatives: tuple[Any, ...]
    mechanisms: str
    declared_only: bool = True


# MODEL.md §8 levers, by trait; mechanisms are MODEL.md §6 numbers and names.
TRAIT_LEVERS: tuple[TraitLever, ...] = (
    TraitLever("states", "doctrine", ("proportional", "lethal_red_line"), "2 lethality threshold; 14 commitment"),
    TraitLever("states", "sanctions_level", (0.0, 0.8), "9 bargaining, pain threshold"),
    TraitLever("states", "demands", ("nuclear_only", "maximal"), "9 bargaining"),
    TraitLever("states", "sanctions_relief_offer", (True, False), "9 bargaining"),
    TraitLever("states", "force_protection", (0.2, 0.6), "2 lethality threshold; 3 costly signals"),
    TraitLever("states", "posture", ("consolidated", "forward"), "11 host-state pressure"),
    TraitLever("states", "proxy_restraint", (1.0, 0.6), "6 principal-agent"),
    TraitLever("states", "advance_warning", (0.0, 0.8), "3 costly signals"),
    TraitLever("states", "mediation", (0.0, 0.5), "9 bargaining; 11 host-state pressure"),
    TraitLever("channels", "open", (False, True), "9 bargaining; 3 costly signals", declared_only=False),
)


def _first_open_channel(scenario: Scenario) -> str | None:
    return next((cid for cid, ch in scenario.channels.items() if ch.open), None)


# `{name}` in a lever file's key stands for an id read from the scenario (no id in the file's key).
PLACEHOLDERS: Mapping[str, Callable[[Scenario], str | None]] = {"first_open_channel": _first_open_channel}
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Top-level blocks that map ids to configs: a missing id there is "not in this scenario", not a typo.
ID_BLOCKS: tuple[str, ...] = tuple(
    name for name, f in Scenario.model_fields.items() if typing.get_origin(f.annotation) is dict
)


@dataclass(frozen=True)
class LeverRow:
    """A row as declared: dotted key (short forms allowed, `K1+K2` for a bundle), the alternative
    value(s), the reference value(s) (None: the scenario's own) and the mechanisms meant to carry it."""

    key: str
    alternative: tuple[Any, ...]
    reference: tuple[Any, ...] | None = None
    mechanisms: str = ""
    quantity: Quantity | None = None  # where the mechanism carrying it should show, besides the three curves

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.key.split("+"))


@dataclass(frozen=True)
class PlannedRow:
    """A row resolved on a scenario: its lever in the plan and the value indices of its two arms."""

    label: str
    reference: str
    alternative: str
    mechanisms: str
    lever: int
    ref_index: int
    alt_index: int
    quantity: Quantity | None = None


@dataclass(frozen=True)
class LeverPlan:
    """The levers to run (first value = the scenario's), the rows as pairs of their values, the notes."""

    levers: tuple[Lever, ...]
    rows: tuple[PlannedRow, ...]
    notes: tuple[str, ...]


# ---------------------------------------------------------------- where rows come from


def derive_levers(scenario: Scenario) -> list[LeverRow]:
    """Rows of `TRAIT_LEVERS` for every state and channel of the scenario that declares the trait."""
    rows = []
    for entry in TRAIT_LEVERS:
        for ident, block in getattr(scenario, entry.block).items():
            if entry.declared_only and entry.trait not in block.model_fields_set:
                continue
            current = getattr(block, entry.trait)
            alternative = next((v for v in entry.alternatives if v != current), entry.alternatives[0])
            key = f"{ident}.{entry.trait}" if entry.block == "states" else f"{entry.block}.{ident}.{entry.trait}"
            rows.append(LeverRow(key, (alternative,), None, entry.mechanisms))
    return rows


def option_levers(texts: Sequence[str]) -> list[LeverRow]:
    """`--lever KEY=A,B[,C]`: rows A -> B, A -> C (syntax and checks of `abm compare --lever`)."""
    rows = []
    for text in texts:
        lever = parse_lever(text)
        rows += [LeverRow(lever.label, values, lever.values[0]) for values in lever.values[1:]]
    return rows


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _FileRow(_Strict):
    key: str = Field(min_length=1, max_length=300, description="dotted key; K1+K2 for a bundle; {placeholders}")
    reference: Any = Field(None, description="the reference setting (omitted: the scenario's own value)")
    alternative: Any = Field(description="the setting compared with the reference")
    mechanisms: str = Field("", max_length=200, description="MODEL.md §6 mechanisms meant to carry the effect")
    quantity: dict[str, Any] | None = Field(
        None, description="the outcome-level quantity the carrying mechanism should move (as in abm mechanisms)"
    )


class _LeverFile(_Strict):
    description: str = Field("", max_length=4000)
    levers: list[_FileRow] = Field(min_length=1, max_length=500)


def _values(value: Any, keys: tuple[str, ...], where: str) -> tuple[Any, ...]:
    if len(keys) == 1:
        return (value,)
    if not isinstance(value, list) or len(value) != len(keys):
        raise ConfigError(f"{where}: a bundle of {len(keys)} keys needs a list of {len(keys)} values, got {value!r}")
    return tuple(value)


def load_levers(path: str | Path) -> list[LeverRow]:
    """Rows of a lever file (`levers:` list of {key, reference?, alternative, mechanisms}); one error per problem."""
    raw = read_yaml(path)
    try:
        spec = _LeverFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
    rows = []
    for i, entry in enumerate(spec.levers):
        where = f"{path}: levers.{i} ({entry.key})"
        unknown = sorted(set(PLACEHOLDER.findall(entry.key)) - set(PLACEHOLDERS))
        if unknown:
            raise ConfigError(f"{where}: unknown placeholder {{{unknown[0]}}}; known: {', '.join(PLACEHOLDERS)}")
        row = LeverRow(entry.key, (), None, entry.mechanisms)
        reference = _values(entry.reference, row.keys, where) if "reference" in entry.model_fields_set else None
        quantity = parse_quantity(entry.quantity, where) if entry.quantity is not None else None
        alternative = _values(entry.alternative, row.keys, where)
        rows.append(LeverRow(entry.key, alternative, reference, entry.mechanisms, quantity))
    return rows


# ---------------------------------------------------------------- rows on one scenario


def short_key(raw: Mapping[str, Any], key: str) -> str:
    """`states.us.doctrine` -> `us.doctrine` (MODEL.md §8 names levers by state id); other keys unchanged."""
    head, _, rest = key.partition(".")
    return rest if head == "states" and rest and canonical_key(raw, rest) == key else key


def _fill_placeholders(key: str, scenario: Scenario) -> tuple[str, str | None]:
    """The key with its placeholders replaced, or the reason it cannot be (then the row is skipped)."""
    for name in PLACEHOLDER.findall(key):
        ident = PLACEHOLDERS[name](scenario)
        if ident is None:
            return key, f"{key}: skipped, {scenario.name} has no {name.replace('_', ' ')}"
        key = key.replace(f"{{{name}}}", ident)
    return key, None


def _absent(raw: Mapping[str, Any], key: str, scenario: str) -> str | None:
    """Why the scenario has no such key (a state, channel ... it lacks: skip), or None; a typo raises."""
    parts = canonical_key(raw, key).split(".")
    node: Any = raw
    for i, part in enumerate(parts):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
            continue
        if i == 0 and part not in TOP_LEVEL:
            return f"{key}: skipped, {scenario} has no state {part!r}"
        if i == 1 and parts[0] in ID_BLOCKS:
            return f"{key}: skipped, {scenario} has no {parts[0]} entry {part!r}"
        raise ConfigError(f"{key}: not a key of the scenario ({'.'.join(parts[: i + 1])} does not exist)")
    return None


def _normalise(scenario: Scenario, keys: tuple[str, ...], values: tuple[Any, ...], where: str) -> tuple[Any, ...]:
    """The values as the schema holds them (`1` for a number is 1.0; a bad value is an error naming the row)."""
    try:
        dumped = with_overrides(scenario, dict(zip(keys, values, strict=True))).model_dump(mode="json")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return tuple(get_dotted(dumped, k) for k in keys)


def _labels(values: tuple[Any, ...]) -> str:
    return "+".join(value_label(v) for v in values)


def plan_levers(scenario: Scenario, rows: Sequence[LeverRow], fixed: Mapping[str, Any] | None = None) -> LeverPlan:
    """Resolve rows on a scenario (after its --set values `fixed`): skip what it lacks or what --set
    fixes, with a note each; gather rows on the same keys into one lever whose first value is the
    scenario's own; every value checked by the schema. Nothing is run."""
    raw = scenario.model_dump(mode="json")
    notes: list[str] = []
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}  # canonical keys -> values, scenario's first
    short: dict[tuple[str, ...], tuple[str, ...]] = {}
    pending = []
    for row in rows:
        key, skip = _fill_placeholders(row.key, scenario)
        keys = tuple(k.strip() for k in key.split("+"))
        skip = skip or next((why for k in keys if (why := _absent(raw, k, scenario.name))), None)
        pinned = [f for f, v in (fixed or {}).items() for k in keys if same_value(raw, f, k, [v]) is not None]
        if skip or pinned:
            notes.append(skip or f"{key}: skipped, fixed by --set {pinned[0]}")
            continue
        canonical = tuple(canonical_key(raw, k) for k in keys)
        current = tuple(get_dotted(raw, k) for k in canonical)
        reference = current if row.reference is None else _normalise(scenario, keys, row.reference, key)
        alternative = _normalise(scenario, keys, row.alternative, key)
        values = groups.setdefault(canonical, [current])
        short.setdefault(canonical, tuple(short_key(raw, k) for k in canonical))
        for value in (reference, alternative):
            if value not in values:
                values.append(value)
        pending.append((row, canonical, reference, alternative))
    levers = tuple(Lever(short[k], tuple(values)) for k, values in groups.items())
    order = list(groups)
    planned: list[PlannedRow] = []
    seen = set()
    for row, canonical, reference, alternative in pending:
        j = order.index(canonical)
        values = groups[canonical]
        pair = (j, values.index(reference), values.index(alternative))
        label = levers[j].label
        if pair in seen:
            notes.append(f"{label}: {_labels(reference)} -> {_labels(alternative)} listed twice; kept once")
            continue
        seen.add(pair)
        if reference == alternative:
            notes.append(f"{label}: reference and alternative are the same setting; its differences are 0")
        planned.append(PlannedRow(label, _labels(reference), _labels(alternative), row.mechanisms, *pair, row.quantity))
    if not planned:
        raise ConfigError(f"levers: no lever row applies to {scenario.name}" + "".join(f"\n  {n}" for n in notes))
    return LeverPlan(levers, tuple(planned), tuple(notes))
