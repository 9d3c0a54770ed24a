"""Property test: random mutations of the baseline either validate or raise one ConfigError.

Each example changes one place in the baseline's raw mapping (an unknown key, a wrong type,
an out-of-range number, NaN/inf, an empty list, a huge int, deep nesting, a string where a
mapping belongs, an unknown reference, or a valid in-range number) and checks that
`validate` never raises anything but `ConfigError`, that a rejection names the mutated key,
and that what must be rejected is rejected and what must pass passes. Ranges come from the
schema's own Field(ge=..., le=...) declarations.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from datetime import timedelta
from inspect import isclass
from pathlib import Path
from typing import Any, get_args, get_origin

import annotated_types
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from abm.config import ConfigError, Scenario, validate
from abm.config.loader import read_yaml
from tests.reliability import ACCEPTED, OTHER, REFUSED, SILENT, TRACEBACK, record

AREA = "config mutations"  # of the reliability tally (tests/reliability.py): each example is one trial

BASELINE = Path(__file__).resolve().parents[2] / "configs" / "baseline_jan2020.yaml"
RAW: dict[str, Any] = read_yaml(BASELINE)

Key = str | int
KeyPath = tuple[Key, ...]

# Top-level mappings of id -> block: a new key there adds an entity, it is not a typo.
ENTITY_COLLECTIONS = {("states",), ("commanders",), ("militias",), ("sites",), ("channels",)}

# Leaves holding an id that must exist elsewhere in the scenario (schema `_check_references`)
# or in a fixed table (a state's capabilities and a history action: the action table; a site's kind).
REFERENCE = re.compile(
    r"^(states\.\w+\.(reach\.\d+|adversary|capabilities\.\d+)"
    r"|militias\.\w+\.(patron|enemy|reach\.\d+)"
    r"|commanders\.\w+\.(side|commands\.\d+)"
    r"|sites\.\w+\.(kind|host|owner|present\.\d+)"
    r"|channels\.\w+\.(between\.\d+|via)"
    r"|alliances\.\d+\.\d+"
    r"|history\.\d+\.(actor|target|site|action|killed\.\d+))$"
)


def dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path)


def walk(node: Any, path: KeyPath = ()) -> list[tuple[KeyPath, Any]]:
    """Every (path, value) in a raw config, the root included."""
    out = [(path, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            out += walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += walk(value, (*path, i))
    return out


def set_path(raw: dict[str, Any], path: KeyPath, value: Any) -> Any:
    """A deep copy of `raw` with the node at `path` (dict keys and list indices) replaced."""
    if not path:
        return value
    out = copy.deepcopy(raw)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def field_at(path: KeyPath) -> FieldInfo | None:
    """The schema field a leaf path lands on, skipping entity ids and list indices."""
    model: Any = Scenario
    info = None
    parts = list(path)
    while parts:
        name = parts.pop(0)
        if not (isclass(model) and issubclass(model, BaseModel)) or name not in model.model_fields:
            return None
        info = model.model_fields[name]
        origin, args = get_origin(info.annotation), get_args(info.annotation)
        if origin is dict:
            model = args[1]
            parts = parts[1:]
        elif origin is list and args and isclass(args[0]) and issubclass(args[0], BaseModel):
            model = args[0]
            parts = parts[1:]
        else:
            model = info.annotation
    return info


def bounds(path: KeyPath) -> tuple[float, float] | None:
    info = field_at(path)
    if info is None:
        return None
    metadata = list(info.metadata)
    # An optional number (`Fraction | None`, e.g. nuclear_progress) keeps its range inside the union.
    for arg in get_args(info.annotation):
        for inner in getattr(arg, "__metadata__", ()):
            metadata += inner.metadata if isinstance(inner, FieldInfo) else [inner]
    lo = [m.ge for m in metadata if isinstance(m, annotated_types.Ge)]
    hi = [m.le for m in metadata if isinstance(m, annotated_types.Le)]
    return (lo[0], hi[0]) if lo and hi else None


RAW_AT = dict(walk(RAW))
NODES = [(p, v) for p, v in RAW_AT.items() if p]
MAPPINGS = [p for p, v in RAW_AT.items() if isinstance(v, dict)]
SCALARS = [(p, v) for p, v in NODES if not isinstance(v, dict | list)]
LISTS = [p for p, v in NODES if isinstance(v, list)]
NUMBERS = [
    (p, v, bounds(p)) for p, v in SCALARS if isinstance(v, int | float) and not isinstance(v, bool) and bounds(p)
]
REFERENCES = [p for p, _ in NODES if REFERENCE.match(dotted(p))]
assert len(NUMBERS) > 50 and len(REFERENCES) > 40, "baseline walk found too little to fuzz"

REJECT, ACCEPT, EITHER = "reject", "accept", "either"


class Mutation:
    """One change to the baseline: what kind, where, the new value, and what must happen.

    A plain class, not a dataclass, so that Hypothesis prints it with the short repr below.
    """

    def __init__(self, kind: str, path: KeyPath, value: Any, expect: str) -> None:
        self.kind, self.path, self.value, self.expect = kind, path, value, expect

    def __repr__(self) -> str:  # short: values can be 6000-digit ints or 300-deep nests
        try:
            shown = repr(self.value)
        except (ValueError, RecursionError):
            shown = f"<{type(self.value).__name__}>"
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return f"Mutation({self.kind}: {dotted(self.path)} = {shown}, expect {self.expect})"


ids = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).map(lambda s: f"zz_{s}")
words = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
small_values = st.one_of(st.none(), st.integers(-5, 5), finite, words, st.lists(words, max_size=3), st.just({}))
non_finite = st.sampled_from([float("nan"), float("inf"), float("-inf")])
non_finite_text = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "1e999"])


def wrong_type_for(value: Any) -> st.SearchStrategy[Any]:
    """Values of a type the leaf cannot take (bools-as-numbers are left out: pydantic's lax mode)."""
    containers = st.one_of(
        st.lists(st.integers(), min_size=1, max_size=3), st.dictionaries(words, st.integers(), max_size=2)
    )
    if isinstance(value, bool):
        return st.one_of(containers, words.map(lambda s: f"zz{s}"))
    if isinstance(value, int | float):
        return st.one_of(containers, words)
    if isinstance(value, str) or value is None:
        return st.one_of(containers, st.integers(2, 10**6), finite.filter(lambda x: x not in (0, 1)))
    if isinstance(value, dt.date):
        return containers
    if isinstance(value, list):
        return st.one_of(st.integers(2, 10**6), words, st.dictionaries(words, st.integers(), min_size=1, max_size=2))
    raise AssertionError(f"unexpected leaf {value!r}")


def nested(depth: int, leaf: Any, as_list: bool) -> Any:
    for _ in range(depth):
        leaf = [leaf] if as_list else {"a": leaf}
    return leaf


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    kind = draw(
        st.sampled_from(
            [
                "unknown_key",
                "wrong_type",
                "out_of_range",
                "non_finite",
                "empty_list",
                "huge_int",
                "deep_nesting",
                "string_for_mapping",
                "unknown_reference",
                "in_range",
            ]
        )
    )
    if kind == "unknown_key":
        parent = draw(st.sampled_from(MAPPINGS))
        value = draw(small_values)
        return Mutation(kind, (*parent, draw(ids)), value, EITHER if parent in ENTITY_COLLECTIONS else REJECT)
    if kind == "wrong_type":
        path, old = draw(st.sampled_from(SCALARS + [(p, RAW_AT[p]) for p in LISTS]))
        return Mutation(kind, path, draw(wrong_type_for(old)), REJECT)
    if kind in ("out_of_range", "in_range"):
        path, old, (lo, hi) = draw(st.sampled_from(NUMBERS))
        integral = isinstance(old, int)
        if kind == "in_range":
            value = draw(st.integers(int(lo), int(hi)) if integral else st.floats(lo, hi))
            # A history event's day, and free_from_day, must also fall before the horizon: cross-field rules.
            return Mutation(kind, path, value, EITHER if path[-1] in ("day", "free_from_day") else ACCEPT)
        step = draw(st.integers(1, 10**9) if integral else st.floats(1e-6, 1e9))
        value = hi + step if draw(st.booleans()) else lo - step
        if draw(st.booleans()):
            value = str(value)  # numbers given as text are coerced, then range-checked
        return Mutation(kind, path, value, REJECT)
    if kind == "non_finite":
        if draw(st.booleans()):
            path, _, _ = draw(st.sampled_from(NUMBERS))
            return Mutation(kind, path, draw(non_finite_text), REJECT)
        path, _ = draw(st.sampled_from(NODES))
        return Mutation(kind, path, draw(non_finite), REJECT)
    if kind == "empty_list":
        path, _ = draw(st.sampled_from(NODES))
        return Mutation(kind, path, [], EITHER)
    if kind == "huge_int":
        path, _ = draw(st.sampled_from(NODES))
        sign = draw(st.sampled_from([1, -1]))
        return Mutation(kind, path, sign * 10 ** draw(st.integers(19, 6000)), REJECT)
    if kind == "deep_nesting":
        path, _ = draw(st.sampled_from(NODES))
        value = nested(draw(st.integers(2, 300)), draw(st.sampled_from([1, "x", None])), draw(st.booleans()))
        return Mutation(kind, path, value, REJECT)
    if kind == "string_for_mapping":
        path = draw(st.sampled_from([p for p in MAPPINGS if p]))
        return Mutation(kind, path, draw(words), REJECT)
    if kind == "unknown_reference":
        return Mutation(kind, draw(st.sampled_from(REFERENCES)), draw(ids), REJECT)
    raise AssertionError(kind)


def error_keys(message: str) -> list[str]:
    """The dotted key each line of a ConfigError names (`source: key: ...` or `key: ...`)."""
    keys = []
    for line in message.splitlines():
        head, _, rest = line.partition(": ")
        keys.append(rest.partition(": ")[0] if head == "config" else head)
    return keys


def names_path(message: str, path: KeyPath) -> bool:
    """The error names the mutated key, a key below it, or (for an item of a list) the list."""
    want = dotted(path)
    accepted = {want}
    if path and isinstance(path[-1], int):
        accepted.add(dotted(path[:-1]))  # e.g. `alliances.0` for alliances.0.1, `*.reach` for reach.3
    return any(k in accepted or k.startswith(want + ".") for k in error_keys(message))


FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=2),  # one validation takes milliseconds; a slow one is a bug
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(mutations())
def test_mutated_baseline_validates_or_raises_a_config_error_naming_the_key(m: Mutation):
    event(m.kind)
    raw = set_path(RAW, m.path, m.value)
    try:
        scenario = validate(raw)
    except ConfigError as exc:
        message = str(exc)
        record(AREA, REFUSED if m.expect != ACCEPT and names_path(message, m.path) else OTHER)
        assert m.expect != ACCEPT, f"{m.kind} at {dotted(m.path)} = {m.value!r} was refused: {message}"
        assert names_path(message, m.path), f"{m.kind}: {dotted(m.path)!r} not named in {message!r}"
    except Exception:
        record(AREA, TRACEBACK)
        raise
    else:
        record(AREA, SILENT if m.expect == REJECT else ACCEPTED)
        assert m.expect != REJECT, f"{m.kind}: {dotted(m.path)} = {m.value!r} was silently accepted"
        assert isinstance(scenario, Scenario)


@FUZZ
@given(st.sampled_from(NUMBERS), st.floats(1e-9, 1e12), st.booleans(), st.booleans())
def test_out_of_range_numbers_are_never_accepted(number, step, above, as_text):
    path, old, (lo, hi) = number
    if isinstance(old, int):
        step = max(1, int(step))
    value: Any = hi + step if above else lo - step
    if as_text:
        value = str(value)
    try:
        validate(set_path(RAW, path, value))
    except ConfigError as exc:
        record(AREA, REFUSED if names_path(str(exc), path) else OTHER)
        assert names_path(str(exc), path), str(exc)
    except Exception:
        record(AREA, TRACEBACK)
        raise
    else:
        record(AREA, SILENT)
        raise AssertionError(f"{dotted(path)} = {value!r} is outside [{lo}, {hi}] but was accepted")


def test_the_unmutated_baseline_is_valid():
    assert validate(copy.deepcopy(RAW)).name == "baseline_jan2020"


def test_the_oracle_finds_the_documented_ranges():
    # Guards the fuzzers' oracle itself: these are MODEL.md §8 levers with known ranges.
    assert bounds(("states", "us", "sanctions_level")) == (0.0, 1.0)
    assert bounds(("states", "iran", "proxy_restraint")) == (0.0, 1.0)
    assert bounds(("states", "iran", "nuclear_progress")) == (0.0, 1.0)
    assert bounds(("states", "iraq", "sovereignty_sensitivity")) == (0.0, 5.0)
    assert bounds(("states", "israel", "entry_hazard")) == (0.0, 1.0)
    assert bounds(("horizon_days",)) == (31, 3650)
    assert bounds(("sites", "al_asad", "population")) == (0.0, 1.0)
    assert bounds(("history", 0, "deaths")) == (0, 10**7)
    # Every state's numbers are fuzzed, the bystanders' too, not only those of the old principals.
    assert {p[1] for p, _, _ in NUMBERS if p[0] == "states"} == set(RAW["states"])
    assert ("states", "us", "reach", 0) in REFERENCES
    assert ("states", "israel", "adversary") in REFERENCES
    assert ("states", "iraq", "adversary") in REFERENCES  # null in the baseline: a mutation names a state
    assert ("states", "us", "capabilities", 0) in REFERENCES
    assert ("sites", "al_asad", "kind") in REFERENCES
    assert ("channels", "iraqi_pm", "via") in REFERENCES
    assert ("channels", "oman", "between", 1) in REFERENCES
    assert ("militias", "kataib_hezbollah", "reach", 0) in REFERENCES
    assert ("history", 0, "action") in REFERENCES
