"""Designs: what sweep, compare, sensitivity and robust vary, and the points they run.

The one home of design input and design points (issue 14 item 2):

* `KEY=SPEC` options, read by one splitter (`_split`) into small typed values:
  `--grid KEY=V1,V2,...` (`parse_grid` -> `GridValues`), `--lhs`, `--param` and `--uncertainty
  KEY=LO:HI` (`parse_range` -> `ParamRange`), `--lever KEY=A,B` or `K1+K2=A1+A2,B1+B2`
  (`parse_lever` -> `Lever`). Values go through the loader's strict YAML (`parse_value`: no
  aliases, bounded size and depth, `check_value_text` first); a message quotes at most
  SHOWN_CHARS characters of what was typed. `grid_parameters` and `range_parameters` turn the
  options of `abm sweep` into an experiment's `parameters`, each key once.
* Experiment-file parameters (`parse_parameters`): grid lists and `{low, high}` ranges.
* The SALib problem of command-line ranges (`ranges_problem`, each key once), built by
  `abm.config.ranges.problem_dict`, as `salib_problem` builds the schema's.
* The one SALib sampler (`salib_sample`: latin, sobol, morris), imported lazily (SALib pulls in
  matplotlib-sized dependencies, which `abm run` never needs).
* Points: `design_points` (grid, lhs, sobol, points) and `matrix_points` (a sample matrix as
  points, clipped to the ranges, whole numbers rounded).

Samplers are seeded by their caller: a design from the master seed (`seeds.design_seed`), so
the same experiment file always yields the same points; `abm sensitivity` by its own key. A
range parameter whose base value is an integer is rounded to integers; any YAML scalar works in
a grid (str, int, float, bool).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from abm.config import ConfigError, Scenario
from abm.config.loader import canonical_key, check_value_text, parse_value
from abm.config.ranges import block_parameters, problem_dict
from abm.runner.seeds import design_seed

DESIGNS = ("grid", "lhs", "sobol", "points")
SAMPLERS = ("lhs", "sobol", "morris")  # salib_sample's methods (lhs is SALib's latin)
SCALARS = (str, int, float, bool, type(None))
# Every point is validated as a scenario before any run (~1 ms each) and listed in points.csv:
# a design this large is almost surely a typo in a grid, and would take minutes just to check.
MAX_POINTS = 250_000
# What a message quotes of a command-line option (the option itself may hold 10,000 characters).
SHOWN_CHARS = 200
GRID_FORM, RANGE_FORM, LEVER_FORM = "V1,V2,...", "LO:HI", "A,B[,...]"
GRID_EXAMPLE = "e.g. us.doctrine=proportional,massive"
RANGE_EXAMPLE = "e.g. world.militia_attack_rate=0.02:0.12"
LEVER_EXAMPLE = (
    "e.g. iran.advance_warning=0.8,0.0 or us.demands+us.sanctions_relief_offer=maximal+false,nuclear_only+true"
)


# ---------------------------------------------------------------- KEY=SPEC options


def _cut(text: str, limit: int = SHOWN_CHARS) -> str:
    """At most `limit` characters of a user's text, cut with …"""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _quoted(text: str) -> str:
    return repr(_cut(text))


@dataclass(frozen=True, slots=True)
class GridValues:
    """`--grid KEY=V1,V2,...`: a dotted key and the values a full-factorial sweep gives it."""

    key: str
    values: list[Any]


@dataclass(frozen=True, slots=True)
class ParamRange:
    """`KEY=LO:HI` (`--lhs`, `--param`, `--uncertainty`) or a block's parameter: dotted key and [low, high]."""

    key: str
    low: float
    high: float


def value_label(value: Any) -> str:
    """A lever value as the user would type it (YAML spelling: true, null, 0.8, massive)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return str(value)


@dataclass(frozen=True)
class Lever:
    """One lever: dotted key(s) and the values of its arms (one tuple per arm, aligned with keys)."""

    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]

    @property
    def label(self) -> str:
        return "+".join(self.keys)

    def value_label(self, i: int) -> str:
        return "+".join(value_label(v) for v in self.values[i])

    def assignment(self, i: int) -> dict[str, Any]:
        return dict(zip(self.keys, self.values[i], strict=True))


def _split(text: str, flag: str, form: str, example: str) -> tuple[str, str]:
    """The one reader of `KEY=SPEC`: the key (stripped) and the spec as typed, or a ConfigError naming `flag`.

    The text is bounded first (`check_value_text`: length, nesting), as every command-line value is."""
    check_value_text(text, flag)
    key, sep, spec = text.partition("=")
    if not sep or not key.strip() or not spec.strip():
        raise ConfigError(f"{flag} {_quoted(text)}: expected KEY={form}, {example}")
    return key.strip(), spec


def parse_grid(text: str, flag: str = "--grid") -> GridValues:
    """`KEY=V1,V2,...` or `KEY=[V1, V2]`: each value YAML (strict loader; text that is not YAML is refused)."""
    key, values = _split(text, flag, GRID_FORM, GRID_EXAMPLE)
    if values.strip().startswith("["):
        return GridValues(key, parse_value(values, flag, text))
    return GridValues(key, [parse_value(v, flag, text) for v in values.split(",")])


def parse_range(text: str, flag: str = "--param") -> ParamRange:
    """`KEY=LO:HI` with finite numbers LO < HI, e.g. `world.militia_attack_rate=0.02:0.12`."""
    key, bounds = _split(text, flag, RANGE_FORM, RANGE_EXAMPLE)
    low, colon, high = bounds.partition(":")
    try:
        if not colon:
            raise ValueError
        lo, hi = float(low), float(high)
    except ValueError:
        raise ConfigError(f"{flag} {_quoted(text)}: expected KEY={RANGE_FORM}, {RANGE_EXAMPLE}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ConfigError(f"{flag} {_quoted(text)}: need finite LO < HI, {RANGE_EXAMPLE}")
    return ParamRange(key, lo, hi)


def _lever_value(text: str, flag: str, whole: str) -> Any:
    value = parse_value(text, flag, whole, fallback=True)  # no aliases, bounded size and depth
    return value if isinstance(value, str | int | float | bool) or value is None else text.strip()


def parse_lever(text: str, flag: str = "--lever") -> Lever:
    """`KEY=A,B[,C...]`, or a bundle `K1+K2=A1+A2,B1+B2`; values are YAML scalars (text as written otherwise)."""
    key_part, value_part = _split(text, flag, LEVER_FORM, LEVER_EXAMPLE)
    keys = tuple(k.strip() for k in key_part.split("+"))
    if any(not k or any(not p for p in k.split(".")) for k in keys):
        raise ConfigError(f"{flag} {_quoted(text)}: {_quoted(key_part)} is not a dotted key (or keys joined by +)")
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{flag} {_quoted(text)}: a key appears twice")
    arms = []
    for arm in value_part.split(","):
        parts = arm.split("+") if len(keys) > 1 else [arm]
        if len(parts) != len(keys):
            raise ConfigError(
                f"{flag} {_quoted(text)}: arm {_quoted(arm)} has {len(parts)} values for {len(keys)} keys; "
                f"{LEVER_EXAMPLE}"
            )
        arms.append(tuple(_lever_value(p, flag, text) for p in parts))
    if len(arms) < 2:
        raise ConfigError(f"{flag} {_quoted(text)}: needs at least two values to compare, {LEVER_EXAMPLE}")
    seen = [tuple((type(v).__name__, v) for v in arm) for arm in arms]
    if len(set(seen)) != len(seen):
        raise ConfigError(f"{flag} {_quoted(text)}: values must be distinct")
    return Lever(keys, tuple(arms))


def refuse_given_twice(flag: str, keys: Sequence[str], spelled: Sequence[str], form: str) -> None:
    """One key given to `flag` twice (a mapping would keep the later silently): a ConfigError quoting both.

    `spelled` are the options as typed (or rebuilt), aligned with `keys`; `form` is the SPEC of `KEY=SPEC`."""
    twice = next((key for i, key in enumerate(keys) if key in keys[:i]), None)
    if twice is not None:
        given = "; ".join(_cut(s) for key, s in zip(keys, spelled, strict=True) if key == twice)
        one = f"{_cut(twice)}={form}"
        raise ConfigError(f"{flag} {_cut(twice)} given twice ({given}); allowed: each key once ({flag} {one})")


def grid_parameters(texts: Sequence[str], flag: str = "--grid") -> dict[str, list[Any]]:
    """`--grid` options as an experiment's grid `parameters` (key -> values), each key once."""
    specs = [parse_grid(text, flag) for text in texts]
    refuse_given_twice(flag, [s.key for s in specs], texts, GRID_FORM)
    return {s.key: s.values for s in specs}


def range_parameters(texts: Sequence[str], flag: str = "--lhs") -> dict[str, dict[str, float]]:
    """`--lhs` options as an experiment's range `parameters` (key -> {low, high}), each key once."""
    specs = [parse_range(text, flag) for text in texts]
    refuse_given_twice(flag, [s.key for s in specs], texts, RANGE_FORM)
    return {s.key: {"low": s.low, "high": s.high} for s in specs}


def block_ranges(block: str) -> list[ParamRange]:
    """`--param-block NAME`: every numeric parameter of a config block (`world`, `behaviour`,
    `behaviour.militias`, ...) with the range the schema gives for screening it
    (`abm.config.ranges`: a field's `screen` range, else its validation range)."""
    return [ParamRange(p.key, p.low, p.high) for p in block_parameters(block)]


def gather_ranges(params: Sequence[str], blocks: Sequence[str] = ()) -> list[ParamRange]:
    """The parameters of `--param-block` options (in order, each key once, so a block inside
    another adds nothing), then those of `--param` options; a `--param` replaces the range a
    block gives its key."""
    explicit = [parse_range(text) for text in params]
    given = {r.key for r in explicit}
    seen: set[str] = set()
    from_blocks = []
    for block in blocks:
        for r in block_ranges(block):
            if r.key not in given and r.key not in seen:
                seen.add(r.key)
                from_blocks.append(r)
    return [*from_blocks, *explicit]


def ranges_problem(ranges: Sequence[ParamRange], flag: str = "--param") -> dict[str, Any]:
    """SALib's problem dictionary of command-line ranges, in order; a key given twice is a ConfigError."""
    spelled = [f"{r.key}={r.low:g}:{r.high:g}" for r in ranges]
    refuse_given_twice(flag, [r.key for r in ranges], spelled, RANGE_FORM)
    return problem_dict(ranges)


# ---------------------------------------------------------------- experiment-file parameters


@dataclass(frozen=True, slots=True)
class Range:
    """A continuous (or integer) interval for LHS and Sobol designs."""

    low: float
    high: float


Parameter = list[Any] | Range


def parse_parameters(raw: Mapping[str, Any], design: str) -> dict[str, Parameter]:
    """Check declared parameters against the design; errors name the dotted key and what is allowed."""
    if design in ("grid", "lhs", "sobol") and not raw:
        raise ValueError(f"parameters: design {design!r} needs at least one parameter to vary")
    out: dict[str, Parameter] = {}
    for key, value in raw.items():
        loc = f"parameters.{key}"
        if not key or any(not part for part in str(key).split(".")):
            raise ValueError(f"{loc}: not a dotted key like us.doctrine")
        if design == "grid":
            out[key] = _checked_grid(loc, value)
        else:
            out[key] = _checked_range(loc, value, design)
    return out


def _checked_grid(loc: str, value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        raise ValueError(f"{loc}: got {value!r}; a {{low, high}} range needs design lhs or sobol; grid takes a list")
    if not isinstance(value, list) or not value:
        raise ValueError(f"{loc}: got {value!r}; allowed: a non-empty list of values, e.g. [proportional, massive]")
    bad = [v for v in value if not isinstance(v, SCALARS)]
    if bad:
        raise ValueError(f"{loc}: got {bad[0]!r}; allowed: scalar values (text, number, true/false)")
    if len({(type(v), v) for v in value}) != len(value):
        raise ValueError(f"{loc}: got {value!r}; allowed: distinct values (a repeated value is a repeated point)")
    return list(value)


def _checked_range(loc: str, value: Any, design: str) -> Range:
    allowed = f"allowed: {{low: L, high: H}} with numbers L < H for design {design!r}"
    if not isinstance(value, Mapping) or set(value) != {"low", "high"}:
        raise ValueError(f"{loc}: got {value!r}; {allowed}")
    low, high = value["low"], value["high"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high)):
        raise ValueError(f"{loc}: got {value!r}; {allowed}")
    if low >= high:
        raise ValueError(f"{loc}: got low={low} >= high={high}; {allowed}")
    return Range(float(low), float(high))


# ---------------------------------------------------------------- sampling and points


def salib_sample(
    method: str,
    problem: Mapping[str, Any],
    samples: int,
    seed: int,
    *,
    second_order: bool = True,
    num_levels: int = 4,
) -> Any:
    """SALib's design matrix (a numpy array, rows = points) by `method`: `lhs` (latin), `sobol`
    (Saltelli; `second_order` as SALib's `calc_second_order`) or `morris` (`num_levels`), with
    `seed` passed to SALib as it is. SALib gets a copy of `problem` (it marks the one it scales)."""
    if method == "lhs":
        from SALib.sample import latin

        return latin.sample(dict(problem), samples, seed=seed)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(dict(problem), samples, calc_second_order=second_order, seed=seed)
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(dict(problem), samples, num_levels=num_levels, seed=seed)
    raise ValueError(f"sampler: got {method!r}; allowed: {', '.join(SAMPLERS)}")


def matrix_points(matrix: Any, ranges: Sequence[ParamRange], base: Scenario) -> list[dict[str, Any]]:
    """A sample matrix (rows = points, one column per range) as points for the runner: dotted key -> value.

    A value is clipped to its range (SALib's grid arithmetic can land one rounding error past an
    end, 0.9000000000000001 for a range ending at 0.9, which a schema bound would refuse), then
    rounded where the base value is an int (e.g. successor_delay_days), else a float."""
    raw = base.model_dump(mode="json")
    casts = [_caster(raw, r.key) for r in ranges]
    return [
        {r.key: cast(min(max(float(x), r.low), r.high)) for r, cast, x in zip(ranges, casts, row, strict=True)}
        for row in matrix
    ]


def design_points(
    design: str,
    parameters: Mapping[str, Parameter],
    base: Scenario,
    points: Sequence[Mapping[str, Any]] | None = None,
    samples: int | None = None,
    seed: int = 0,
    second_order: bool = True,
) -> list[dict[str, Any]]:
    """Concrete points of an experiment's design, each a mapping of dotted key -> value, in a fixed order."""
    size = design_size(design, parameters, points, samples, second_order)
    if size > MAX_POINTS:
        raise ValueError(
            f"design {design!r}: {size:,} points; allowed: at most {MAX_POINTS:,} (split the experiment, or use "
            "an lhs or sobol design with fewer samples)"
        )
    if design == "points":
        return [dict(p) for p in points or []]
    if design == "grid":
        keys = list(parameters)
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*parameters.values())]
    if design not in ("lhs", "sobol"):
        raise ValueError(f"design: got {design!r}; allowed: {', '.join(DESIGNS)}")
    assert samples is not None
    ranges = [ParamRange(key, r.low, r.high) for key, r in parameters.items()]  # type: ignore[union-attr]
    matrix = salib_sample(design, problem_dict(ranges), samples, design_seed(seed), second_order=second_order)
    return matrix_points(matrix, ranges, base)


def design_size(
    design: str,
    parameters: Mapping[str, Parameter],
    points: Sequence[Mapping[str, Any]] | None = None,
    samples: int | None = None,
    second_order: bool = True,
) -> int:
    """Number of points a design yields, computed without building them."""
    if design == "points":
        return len(points or [])
    if design == "grid":
        return math.prod(len(v) for v in parameters.values() if isinstance(v, list))
    if design == "lhs":
        return samples or 0
    d = len(parameters)
    return (samples or 0) * (2 * d + 2 if second_order else d + 2)


def _caster(raw: Mapping[str, Any], key: str) -> Any:
    """Round to int where the base value is an int (e.g. successor_delay_days); else float."""
    current = get_dotted(raw, key)
    if isinstance(current, int) and not isinstance(current, bool):
        return lambda x: round(float(x))
    return float


def get_dotted(raw: Mapping[str, Any], key: str) -> Any:
    """Value at a dotted path of a nested mapping (a state by its id alone too), or None when absent."""
    node: Any = raw
    for part in canonical_key(raw, key).split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
