"""The lever panel: one Mesa user parameter (slider, drop-down or check box) per lever of the scenario.

Which levers: those `abm.api.list_levers` gives (`abm levers`' default rows: every trait of
`abm.analysis.levers.TRAIT_LEVERS` the scenario declares, every channel's `open`), so the panel
follows the scenario and no list is typed here. Which widget: read off the schema field the
lever's key names (`abm.config.schema`), so it follows the schema's types and bounds:

* a bounded number (`Fraction`, 0-1) -> `SliderFloat` over its bounds;
* a boolean (`StrictBool`) -> `Checkbox`;
* a choice (`Literal[...]`, optionally None, optionally "or a fraction" as `advance_warning`)
  -> `Select` over its labels (None reads "none"; a fraction is offered at `FRACTION_CHOICES`).

A `Select` shows text, so each control keeps the map from its labels back to config values
(`LeverControl.config_value`), which `abm.explore.model.ExploreModel` applies before the lever
reaches `abm.api.set_levers` (and so the schema's own validation).
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from abm.config import ConfigError, Scenario
from abm.config.loader import canonical_key

SLIDER_STEPS = 20  # a bounded number's slider moves in 1/20ths of its range (0.05 for a fraction)
FRACTION_CHOICES = (0.0, 0.25, 0.5, 0.75, 1.0)  # offered for "a word or a fraction" fields (advance_warning)
NONE_LABEL = "none"  # how None (no doctrine, no demands) reads in a drop-down

SLIDER, SELECT, CHECKBOX = "SliderFloat", "Select", "Checkbox"  # Mesa's input types (UserInputs)


@dataclass(frozen=True)
class LeverControl:
    """One lever as a widget: its dotted key, Mesa input type, the scenario's setting as the widget shows it,
    and for a drop-down the labels with the config value each stands for."""

    key: str
    widget: str
    value: Any
    choices: tuple[tuple[str, Any], ...] = ()
    low: float = 0.0
    high: float = 1.0
    mechanisms: str = ""

    def param(self) -> dict[str, Any]:
        """The lever as an entry of SolaraViz's `model_params` (a dict Mesa's `UserInputs` reads)."""
        if self.widget == SLIDER:
            step = (self.high - self.low) / SLIDER_STEPS
            return {
                "type": SLIDER,
                "label": self.key,
                "value": self.value,
                "min": self.low,
                "max": self.high,
                "step": step,
            }
        if self.widget == SELECT:
            return {"type": SELECT, "label": self.key, "value": self.value, "values": [c for c, _ in self.choices]}
        return {"type": CHECKBOX, "label": self.key, "value": self.value}

    def config_value(self, shown: Any) -> Any:
        """The config value of what the widget shows (a drop-down's label, a slider's number, a box's tick)."""
        if self.widget == SELECT:
            for label, value in self.choices:
                if shown == label:
                    return value
            labels = ", ".join(c for c, _ in self.choices)
            raise ConfigError(f"lever {self.key}: got {shown!r}; allowed: {labels}")
        if self.widget == SLIDER:
            # The slider's steps are binary fractions of the range: round off their float noise.
            return round(float(shown), 10)
        return bool(shown)


def label_of(value: Any) -> str:
    """A config value as a drop-down shows it: None as "none", a whole float without its noise."""
    if value is None:
        return NONE_LABEL
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def schema_field(key: str, model: type[BaseModel] = Scenario) -> FieldInfo:
    """The schema field a full dotted key (`states.us.doctrine`, `channels.swiss.open`) names.

    An id block (`states`, `channels`: a dict of configs) takes the next part as an id and goes on
    into the config class; a nested block goes on into its class."""
    parts = key.split(".")
    node: type[BaseModel] = model
    i = 0
    while True:
        field = node.model_fields.get(parts[i])
        if field is None:
            raise ConfigError(f"lever {key}: {parts[i]!r} is not a field of {node.__name__}")
        if i == len(parts) - 1:
            return field
        annotation = field.annotation
        if typing.get_origin(annotation) is dict:
            annotation, i = typing.get_args(annotation)[1], i + 1  # skip the id
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)) or i + 1 >= len(parts):
            raise ConfigError(f"lever {key}: {'.'.join(parts[: i + 1])} holds no further fields")
        node, i = annotation, i + 1


def _bounds(field: FieldInfo) -> tuple[float, float] | None:
    low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)  # pydantic's Ge / Le constraints
    high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    return float(low), float(high)


def _choices(annotation: Any) -> tuple[list[Any], bool] | None:
    """The words a field allows (None included when it may be None) and whether it also takes a fraction;
    None when the field is not a choice."""
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    members = list(args) or [annotation]
    words: list[Any] = []
    fraction = False
    for member in members:
        if typing.get_origin(member) is typing.Literal:
            words += list(typing.get_args(member))
        elif member is type(None):
            words.append(None)
        elif member is float:
            fraction = True
        else:
            return None
    return (words, fraction) if any(w is not None for w in words) else None


def control_for(key: str, full_key: str, value: Any, mechanisms: str = "") -> LeverControl:
    """The widget of one lever: from its schema field's type and bounds, showing `value` (the scenario's)."""
    field = schema_field(full_key)
    annotation = field.annotation
    if annotation is bool:
        return LeverControl(key, CHECKBOX, bool(value), mechanisms=mechanisms)
    if annotation in (float, int):
        bounds = _bounds(field)
        if bounds is None:
            raise ConfigError(f"lever {key}: a number without bounds has no slider range")
        return LeverControl(key, SLIDER, float(value), low=bounds[0], high=bounds[1], mechanisms=mechanisms)
    found = _choices(annotation)
    if found is None:
        raise ConfigError(f"lever {key}: its type {annotation} has no widget (number, yes/no or a choice)")
    words, fraction = found
    values = [*words, *(FRACTION_CHOICES if fraction else ())]
    if value not in values:  # the scenario's own setting is always offered
        values.append(value)
    choices = tuple((label_of(v), v) for v in values)
    return LeverControl(key, SELECT, label_of(value), choices, mechanisms=mechanisms)


def lever_controls(scenario: Scenario, table: Iterable[Mapping[str, Any]] | None = None) -> list[LeverControl]:
    """One control per lever of the scenario, in `abm.api.list_levers`' order.

    `table`: its rows (key, value, mechanisms) when the caller has them; by default they are read."""
    if table is None:
        from abm.api import list_levers

        table = list_levers(scenario).to_dict("records")
    raw = scenario.model_dump(mode="json")
    return [
        control_for(row["key"], canonical_key(raw, row["key"]), row["value"], row.get("mechanisms", ""))
        for row in table
    ]


def model_params(controls: Iterable[LeverControl]) -> dict[str, dict[str, Any]]:
    """The levers as SolaraViz `model_params` entries, keyed by lever key (the model takes them as keywords)."""
    return {control.key: control.param() for control in controls}


def lever_values(controls: Iterable[LeverControl], shown: Mapping[str, Any]) -> dict[str, Any]:
    """Config values of the widgets' values, by lever key; a key without a control is refused."""
    by_key = {control.key: control for control in controls}
    unknown = sorted(set(shown) - set(by_key))
    if unknown:
        raise ConfigError(f"levers {', '.join(unknown)}: not levers of this scenario; allowed: {', '.join(by_key)}")
    return {key: by_key[key].config_value(value) for key, value in shown.items()}
