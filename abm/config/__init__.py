"""Scenario configuration: schema, YAML loading, overrides, hashing."""

from abm.config.loader import (
    ConfigError,
    config_hash,
    load_config,
    parse_assignment,
    parse_assignments,
    set_dotted,
    validate,
    with_overrides,
)
from abm.config.schema import Scenario

__all__ = [
    "ConfigError",
    "Scenario",
    "config_hash",
    "load_config",
    "parse_assignment",
    "parse_assignments",
    "set_dotted",
    "validate",
    "with_overrides",
]
