"""Hand-made run and event tables for quantity tests (the columns the validation runner adds)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import TypeAdapter

from abm.model.actions import BY_NAME
from abm.validation.quantities import Quantity, Tables

KINDS = {"us": "state", "iran": "state", "kataib_hezbollah": "militia", "pmf_other": "militia"}


def quantity(**spec: Any) -> Any:
    """A validated quantity spec from keyword arguments (as a case file would give them)."""
    return TypeAdapter(Quantity).validate_python(spec)


def runs(rows: list[dict[str, Any]], part: int = 0) -> pd.DataFrame:
    """A runs table: run numbers in order, `outcome` defaulting to 'unresolved'."""
    out = []
    for i, row in enumerate(rows):
        out.append({"part": part, "run": i, "seed": 1000 + i, "scenario": "test", "outcome": "unresolved", **row})
    return pd.DataFrame(out)


def ev(run: int, day: int, side: str, action: str, target_side: str | None = None, **kw: Any) -> dict[str, Any]:
    row = BY_NAME[action]
    return {
        "part": kw.pop("part", 0),
        "run": run,
        "day": day,
        "side": side,
        "actor": side,
        "action": action,
        "rung": row.rung,
        "target_side": target_side,
        "kinetic": row.kinetic,
        "violent": row.violent,
        "state_deaths": 0,
        "deaths": 0,
        "imposed": False,
        "side_kind": KINDS.get(side, "state"),
        "target_kind": KINDS.get(target_side) if target_side else None,
        **kw,
    }


def events(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """An events table in the given order; `seq` numbers events within each run."""
    frame = pd.DataFrame(rows)
    frame["seq"] = frame.groupby(["part", "run"]).cumcount()
    return frame


def tables(
    run_rows: list[dict[str, Any]], event_rows: list[dict[str, Any]] | None = None, horizon: int = 180
) -> Tables:
    return Tables(runs(run_rows), events(event_rows) if event_rows is not None else None, {0: horizon})
