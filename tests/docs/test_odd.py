"""docs/ODD.md documents every config parameter and every action of the model.

Keys are dotted paths of the schema (`abm/config/schema.py`): `<name>` stands for an entry of
a mapping (`militias.<name>.autonomy`), `<i>` for an entry of a list (`history.<i>.day`).
Each must appear in ODD.md in backticks, so a new parameter or action without documentation
fails this test.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from abm.config.behaviour import markdown_table
from abm.config.ranges import block_parameters
from abm.config.schema import Scenario
from abm.model.actions import ACTION_NAMES

ODD = Path(__file__).resolve().parents[2] / "docs" / "ODD.md"


def _model_in(annotation: object) -> tuple[str, type[BaseModel]] | None:
    """('', M) for a model field, ('<name>', M) for dict[str, M], ('<i>', M) for list[M]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "", annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
        return "<name>", args[-1]
    if origin is list and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return "<i>", args[0]
    return None


def schema_keys(model: type[BaseModel] = Scenario, prefix: str = "") -> list[str]:
    """Every leaf field of the schema as a dotted key."""
    keys = []
    for name, field in model.model_fields.items():
        inner = _model_in(field.annotation)
        if inner is None:
            keys.append(f"{prefix}{name}")
            continue
        slot, sub = inner
        keys += schema_keys(sub, f"{prefix}{name}.{slot + '.' if slot else ''}")
    return keys


@pytest.fixture(scope="module")
def odd() -> str:
    return ODD.read_text(encoding="utf-8")


def test_schema_walk_finds_the_nested_blocks() -> None:
    keys = schema_keys()
    for expected in (
        "states.<name>.doctrine",
        "states.<name>.advance_warning",
        "states.<name>.capabilities",
        "sites.<name>.kind",
        "militias.<name>.autonomy",
        "history.<i>.day",
        "world.accident_rate",
        "mechanisms.hubris",
    ):
        assert expected in keys
    assert len(keys) > 90


def test_every_parameter_is_documented(odd: str) -> None:
    missing = [key for key in schema_keys() if f"`{key}`" not in odd]
    assert not missing, f"docs/ODD.md lacks these config keys (in backticks): {missing}"


def test_every_action_is_documented(odd: str) -> None:
    missing = sorted(name for name in ACTION_NAMES if f"`{name}`" not in odd)
    assert not missing, f"docs/ODD.md lacks these actions (in backticks): {missing}"


def test_odd_has_the_protocol_sections(odd: str) -> None:
    for heading in (
        "Purpose and patterns",
        "Entities, state variables and scales",
        "Process overview and scheduling",
        "Design concepts",
        "Initialisation",
        "Input data",
        "Submodels",
    ):
        assert heading in odd
    for concept in (
        "Basic principles",
        "Emergence",
        "Adaptation",
        "Objectives",
        "Learning",
        "Prediction",
        "Sensing",
        "Interaction",
        "Stochasticity",
        "Collectives",
        "Observation",
    ):
        assert f"**{concept}.**" in odd


def test_the_behaviour_table_is_the_schema_s(odd: str) -> None:
    """Appendix A's behaviour table is generated from abm/config/behaviour.py: defaults, ranges,
    units and sources cannot drift from the code."""
    assert markdown_table() in odd, "docs/ODD.md: regenerate the behaviour table with `python -m abm.config.behaviour`"


def test_the_world_screening_ranges_are_the_schema_s(odd: str) -> None:
    missing = [p.key for p in block_parameters("world") if f"`{p.key}` {p.low:g}–{p.high:g}" not in odd]
    assert not missing, f"docs/ODD.md: the screening range of these world keys differs from the schema: {missing}"
