"""Every numeric parameter of a config block, with the range a screening explores.

`abm sensitivity --param-block world --param-block behaviour` varies every number of the two
blocks without listing them: this module walks the schema for them. A field's range is its
`screen` (schema `screened`, for fields whose validation range is far wider than any value worth
exploring), else its validation range (`ge`, `le`); a field whose `screen` is None (a definition
such as `world.war_death_threshold`) is left out, and so are switches and text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from abm.config.behaviour import bounds
from abm.config.loader import ConfigError
from abm.config.schema import Scenario


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
