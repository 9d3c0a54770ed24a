"""Designs: turn declared parameters into concrete points (grid, LHS, Sobol, explicit).

Samplers are SALib's, seeded from the master seed (`seeds.design_seed`), so the same
experiment file always yields the same points. A range parameter whose base value is an
integer is rounded to integers; any YAML scalar works in a grid (str, int, float, bool).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from abm.config import Scenario
from abm.config.loader import canonical_key
from abm.runner.seeds import design_seed

DESIGNS = ("grid", "lhs", "sobol", "points")
SCALARS = (str, int, float, bool, type(None))
# Every point is validated as a scenario before any run (~1 ms each) and listed in points.csv:
# a design this large is almost surely a typo in a grid, and would take minutes just to check.
MAX_POINTS = 250_000


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
            out[key] = _grid_values(loc, value)
        else:
            out[key] = _range(loc, value, design)
    return out


def _grid_values(loc: str, value: Any) -> list[Any]:
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


def _range(loc: str, value: Any, design: str) -> Range:
    allowed = f"allowed: {{low: L, high: H}} with numbers L < H for design {design!r}"
    if not isinstance(value, Mapping) or set(value) != {"low", "high"}:
        raise ValueError(f"{loc}: got {value!r}; {allowed}")
    low, high = value["low"], value["high"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high)):
        raise ValueError(f"{loc}: got {value!r}; {allowed}")
    if low >= high:
        raise ValueError(f"{loc}: got low={low} >= high={high}; {allowed}")
    return Range(float(low), float(high))


def design_points(
    design: str,
    parameters: Mapping[str, Parameter],
    base: Scenario,
    points: Sequence[Mapping[str, Any]] | None = None,
    samples: int | None = None,
    seed: int = 0,
    second_order: bool = True,
) -> list[dict[str, Any]]:
    """Concrete points, each a mapping of dotted key -> value, in a fixed order."""
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
    problem = {
        "num_vars": len(parameters),
        "names": list(parameters),
        "bounds": [[r.low, r.high] for r in parameters.values()],  # type: ignore[union-attr]
    }
    matrix = _sample(design, problem, samples, design_seed(seed), second_order)
    casts = [_caster(base, key) for key in parameters]
    return [{k: cast(x) for k, cast, x in zip(parameters, casts, row, strict=True)} for row in matrix]


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


def _sample(design: str, problem: dict[str, Any], samples: int, seed: int, second_order: bool) -> Any:
    """SALib sampling, imported lazily (SALib pulls in matplotlib-sized dependencies)."""
    if design == "lhs":
        from SALib.sample import latin

        return latin.sample(problem, samples, seed=seed)
    from SALib.sample import sobol

    return sobol.sample(problem, samples, calc_second_order=second_order, seed=seed)


def _caster(base: Scenario, key: str) -> Any:
    """Round to int where the base value is an int (e.g. successor_delay_days); else float."""
    current = get_dotted(base.model_dump(mode="json"), key)
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
