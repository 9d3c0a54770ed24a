"""Every numeric parameter of a config block, with the range a screening explores.

`abm sensitivity --param-block world --param-block behaviour` varies every number of the two
blocks without listing them: this module walks the schema for them. A field's range is its
`screen` (schema `screened`, for fields whose validation range is far wider than any value worth
exploring), else its validation range (`ge`, `le`); a field whose `screen` is None (a definition
such as `world.war_death_threshold`) is left out, and so are switches and text.

`salib_problem` turns blocks, single dotted keys or `BlockParam`s into SALib's problem
dictionary (`num_vars`, `names`, `bounds`) for any caller that samples the schema's ranges
(`abm.ema` uses it). `problem_dict` is where that dictionary is built, for it and for the
command-line ranges of `abm.runner.designs` (sweep, sensitivity, robust).
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from abm.config.behaviour import bounds
from abm.config.loader import ConfigError
from abm.config.schema import ChooseOrFraction, Fraction, Scenario


@dataclass(frozen=True, slots=True)
class BlockParam:
    """A numeric parameter of a block: dotted key, the range to explore, whether it is a whole number."""

    key: str
    low: float
    high: float
    integer: bool


def _blocks(model: type[BaseModel] = Scenario, prefix: str = "") -> dict[str, type[BaseModel]]:
    """Every block reachable from the scenario's top level without entering a mapping or a list
    (`world`, `behaviour`, `behaviour.militias`, ...), by dotted name."""
    out: dict[str, type[BaseModel]] = {}
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out[prefix + name] = sub
            out.update(_blocks(sub, f"{prefix}{name}."))
    return out


def _numeric(info: FieldInfo) -> bool:
    return info.annotation in (int, float)  # Strict numbers and Fraction; not bool, text, ids or optionals


def screening_range(info: FieldInfo) -> tuple[float, float] | None:
    """The range a screening explores for one numeric field, or None if it is not screened."""
    extra: dict[str, Any] = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "screen" in extra:
        screen = extra["screen"]
        return None if screen is None else (screen[0], screen[1])
    return bounds(info)


def is_block(name: str) -> bool:
    """Whether `name` is a block `block_parameters` walks (`world`, `behaviour.militias`, ...)."""
    return name in _blocks()


def block_parameters(block: str) -> list[BlockParam]:
    """Every screened numeric parameter of `block` (sub-blocks included), in schema order."""
    blocks = _blocks()
    model = blocks.get(block)
    if model is None:
        raise ConfigError(f"--param-block {block!r}: not a config block; allowed: {', '.join(sorted(blocks))}")
    out: list[BlockParam] = []
    for name, info in model.model_fields.items():
        key = f"{block}.{name}"
        if key in blocks:
            out += block_parameters(key)
        elif _numeric(info):
            span = screening_range(info)
            if span is not None:
                out.append(BlockParam(key, span[0], span[1], info.annotation is int))
    if not out:
        raise ConfigError(f"--param-block {block!r}: the block has no numeric parameters to vary")
    return out


# ---------------------------------------------------------------- single keys, SALib problem

# Types whose number arm is checked by a validator function rather than declared with ge/le:
# each with the declared type its numbers are (`choose` or a Fraction -> 0..1).
NUMBER_ARMS: tuple[tuple[Any, Any], ...] = ((ChooseOrFraction, Fraction),)


def _same_type(info: FieldInfo, annotation: Any) -> bool:
    ref = FieldInfo.from_annotation(annotation)
    return info.annotation == ref.annotation and info.metadata == ref.metadata


def arms(annotation: Any) -> tuple[Any, ...]:
    """The alternatives of a union annotation (`Literal[...] | None` -> both), else the annotation alone."""
    return get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)


def schema_field(key: str) -> FieldInfo:
    """The schema field a dotted key names, or a ConfigError naming the key.

    A key is written as for `abm run --set`: a state may be named by its id alone
    (`us.doctrine` is `states.us.doctrine`). An entry of an id map (`states.<id>`,
    `channels.<id>`) is walked through by the schema of its values: which ids exist is the
    scenario's business (`abm.config.loader.canonical_key` and `set_dotted` check them)."""
    parts = key.split(".")
    if not all(parts):
        raise ConfigError(f"{key!r}: not a dotted key like us.doctrine or world.talk_rate")
    by_id = parts[0] not in Scenario.model_fields
    if by_id:
        parts = ["states", *parts]
    model: type[BaseModel] | None = Scenario
    info: FieldInfo | None = None
    i = 0
    while i < len(parts):
        if model is None:
            raise ConfigError(f"{key}: {'.'.join(parts[:i])} is a single value; nothing below it can be set")
        if parts[i] not in model.model_fields:
            read_as = f" ({parts[1]!r} is no config block, so it is read as a state id)" if by_id else ""
            where = ".".join(parts[:i]) or "the top level"
            raise ConfigError(f"{key}: unknown key{read_as}; allowed below {where}: {', '.join(model.model_fields)}")
        info = model.model_fields[parts[i]]
        origin, args = get_origin(info.annotation), get_args(info.annotation)
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            model, i = info.annotation, i + 1
        elif origin is dict and isinstance(args[1], type) and issubclass(args[1], BaseModel):
            model, i = args[1], i + 2  # skip the entry's id
        elif origin is list and i + 1 < len(parts):
            raise ConfigError(f"{key}: {'.'.join(parts[: i + 1])} is a list; its items cannot be named here")
        else:
            model, i = None, i + 1
    if model is not None:
        raise ConfigError(f"{key}: a block, not a single value; allowed below it: {', '.join(model.model_fields)}")
    assert info is not None
    return info


def number_range(info: FieldInfo) -> tuple[float, float, bool] | None:
    """(low, high, whole number) of a field that takes numbers, or None (a switch, a choice, text).

    A plain number has its screening range (`screening_range`); a number that may also be None
    (`nuclear_progress`) or a word (`advance_warning`: `choose` or a fraction) ranges over its
    number arm. A number without a declared range (and not in NUMBER_ARMS) gives None."""
    if info.annotation in (int, float):
        span = screening_range(info)
        return None if span is None else (span[0], span[1], info.annotation is int)
    for typ, arm in NUMBER_ARMS:
        if _same_type(info, typ):
            info = FieldInfo.from_annotation(arm)
            break
    else:
        numbers = [a for a in arms(info.annotation) if FieldInfo.from_annotation(a).annotation in (int, float)]
        if len(numbers) != 1:
            return None
        info = FieldInfo.from_annotation(numbers[0])
    span = bounds(info)
    return None if span is None else (span[0], span[1], info.annotation is int)


def key_parameter(key: str) -> BlockParam:
    """One dotted key as a `BlockParam` (its range from the schema), or a ConfigError naming it."""
    info = schema_field(key)
    span = number_range(info)
    if span is None:
        choices = [a for arm in arms(info.annotation) if get_origin(arm) is Literal for a in get_args(arm)]
        if choices:
            what = f"a choice of {', '.join(map(str, choices))}"
        elif info.annotation in (int, float):
            what = "never screened (its schema `screen` is None: a definition, not an uncertainty)"
        else:
            what = "not a number with a range"
        raise ConfigError(f"{key}: {what}; allowed here: numeric keys with a range (ge/le or screen)")
    return BlockParam(key, span[0], span[1], span[2])


def salib_problem(items: Iterable[str | BlockParam]) -> dict[str, Any]:
    """SALib's problem dictionary for blocks (`world`), dotted keys (`us.sanctions_level`) or `BlockParam`s.

    A string is a block when `block_parameters` knows it, else a single key. Names are the
    dotted keys as given (what `with_overrides` and `--set` take), in order; a key reached twice
    (a block and one of its keys, or a key listed twice) is a ConfigError: SALib would sample it
    twice and a design would silently keep the later column. SALib has no whole numbers: round
    an integer parameter's column (`BlockParam.integer`) before use."""
    params: list[BlockParam] = []
    for item in items:
        if isinstance(item, BlockParam):
            params.append(item)
        elif is_block(item):
            params += block_parameters(item)
        else:
            params.append(key_parameter(item))
    canonical = [p.key if p.key.split(".")[0] in Scenario.model_fields else f"states.{p.key}" for p in params]
    twice = next((p.key for i, (p, c) in enumerate(zip(params, canonical, strict=True)) if c in canonical[:i]), None)
    if twice is not None:
        raise ConfigError(f"{twice}: listed twice (directly or through its block); allowed: each key once")
    if not params:
        raise ConfigError("salib_problem: no parameters; name blocks (world, behaviour, ...) or dotted keys")
    return problem_dict(params)


class Bounded(Protocol):
    """A parameter with a dotted key and a range: `BlockParam`, `abm.runner.designs.ParamRange`."""

    @property
    def key(self) -> str: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...


def problem_dict(params: Sequence[Bounded]) -> dict[str, Any]:
    """SALib's problem dictionary of parameters already resolved and checked, in order: the one
    place it is built (`salib_problem` here; sweeps, `abm sensitivity` and `abm robust` through
    `abm.runner.designs`)."""
    return {"num_vars": len(params), "names": [p.key for p in params], "bounds": [[p.low, p.high] for p in params]}
