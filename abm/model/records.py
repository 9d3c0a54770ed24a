"""The columns a run produces: the contract between the model, the runner and the tables.

Types are Arrow type names so storage can build a fixed schema: a failed run is a row with
nulls in every model column and its error text, never a missing row.
"""

from __future__ import annotations

from types import MappingProxyType

# Per-run columns produced by `abm.model.simulate.simulate`, in table order.
RUN_COLUMNS: MappingProxyType[str, str] = MappingProxyType(
    {
        "outcome": "string",
        "days": "int64",
        "max_stage": "int64",
        "exchange_day": "int64",
        "state_hot_days": "list<int64>",
        "proxy_active": "bool",
        "max_rung": "int64",
        "state_deaths": "int64",
        "militia_deaths": "int64",
        "civilian_deaths": "int64",
        "battle_deaths": "int64",
        "deaths_by_state": "string",
        "expulsion_vote": "bool",
        "expulsion_vote_day": "int64",
        "expelled": "bool",
        "expelled_day": "int64",
        "accident": "bool",
        "third_party_entry": "bool",
        "nuclear_progress": "float64",
        "breakout": "bool",
        "breakout_day": "int64",
        "deal_terms": "string",
        "warned_share": "float64",
        "sanctions_level": "float64",
        "first_violent_response_day": "int64",
        "n_militia_attacks": "int64",
        "militia_attacks_by_theatre": "string",
        "n_direct_strikes": "int64",
        "direct_strikes_by_state": "string",
        "n_strikes_on_militias": "int64",
        "n_killings": "int64",
        "n_nuclear_steps": "int64",
        "n_accidents": "int64",
        "escalation_score": "float64",
    }
)

# Per-event columns (with --events); `run` (and `point` in sweeps) are added by the runner.
EVENT_COLUMNS: MappingProxyType[str, str] = MappingProxyType(
    {
        "day": "int64",
        "actor": "string",
        "side": "string",
        "action": "string",
        "rung": "int64",
        "target": "string",
        "target_side": "string",
        "site": "string",
        "deaths": "int64",
        "state_deaths": "int64",
        "militia_deaths": "int64",
        "civilian_deaths": "int64",
        "warned": "bool",
        "attributed_to": "string",
        "kinetic": "bool",
        "imposed": "bool",
    }
)
