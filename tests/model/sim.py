"""Helpers for model tests: run a scenario many times in-process and look at the records."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from abm.config import Scenario, load_config, with_overrides
from abm.model.simulate import simulate

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@cache
def scenario(name: str = "baseline_jan2020") -> Scenario:
    return load_config(CONFIGS / f"{name}.yaml")


def variant(name: str = "baseline_jan2020", **sets: Any) -> Scenario:
    """A scenario with dotted overrides given as keyword arguments (`__` stands for `.`)."""
    return with_overrides(scenario(name), {k.replace("__", "."): v for k, v in sets.items()})


def records(s: Scenario, runs: int = 150, first_seed: int = 0, events: bool = False) -> pd.DataFrame:
    """Records of `runs` seeded runs (seeds first_seed..), with their events if asked."""
    rows, evs = [], []
    for seed in range(first_seed, first_seed + runs):
        res = simulate(s, seed, record_events=events)
        rows.append({"seed": seed, **res.record})
        evs += [{"seed": seed, **e} for e in res.events]
    df = pd.DataFrame(rows)
    if events:
        df.attrs["events"] = pd.DataFrame(evs)
    return df


def strikes(df: pd.DataFrame, striker: str, target: str) -> pd.Series:
    """Per run: direct strikes by `striker` on `target` after day 0 (from `direct_strikes_by_state`)."""
    return df["direct_strikes_by_state"].map(lambda text: json.loads(text).get(f"{striker}>{target}", 0))


def events_of(df: pd.DataFrame) -> pd.DataFrame:
    return df.attrs["events"]
