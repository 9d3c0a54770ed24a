"""Reference forecasts the model must beat: climatology from generic base rates, and persistence.

**Climatology.** Each question gets q, the share of crises in which its event happens at least
once, from the ICB v14 / MID v5.0 shares of `shared/data/base_rates.yaml` (copied below with
their keys; `rates_from_file` reads the file itself). q is spread over a crisis of median
length T = 81 days (ICB v14, all crises) with a constant daily hazard, so

    P(event within W days) = 1 - (1 - q) ** (W / T),

the same on every forecast date. This is rough on purpose, and rough in known ways: the base
rates are shares of whole crises, not of days; they are conditional on different triggers than
the question's; real hazards are front-loaded (the ICB median response delay is 5 days), and a
product of two shares treats them as independent. It is the answer of an analyst who knows
the generic record and nothing about this crisis.

**Persistence.** p = 0.9 if the question's event happened in the 7 days up to and including the
forecast date, else 0.1 (the same for every window). Days before the merged
record's first day count as "did not happen".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abm.config import ConfigError
from abm.config.loader import read_yaml

# The shares used, keyed as in shared/data/base_rates.yaml (tests compare them with the file).
BASE_RATES: Mapping[str, float] = {
    "icb_v14.violent_response_given_trigger.violent": 0.606,
    "icb_v14.violent_response_given_trigger.proxy": 0.455,
    "icb_v14.war_given_trigger.violent": 0.292,
    "icb_v14.median_crisis_duration_days.all": 81.0,
    "mid_v5.reciprocated_share": 0.49,
    "mid_v5.no_fatalities_share": 0.71,
}
DURATION_KEY = "icb_v14.median_crisis_duration_days.all"
DEAL_ASSUMED_SHARE = 0.05  # NOT a base rate: base_rates.yaml has no share of crises ending in a signed deal

PERSISTENCE_HIGH = 0.9
PERSISTENCE_LOW = 0.1
PERSISTENCE_LOOKBACK_DAYS = 7


@dataclass(frozen=True, slots=True)
class ClimatologyRow:
    """q = product of factors; a factor is a base-rate key, or `1-KEY` for its complement."""

    question: str
    factors: tuple[str, ...]
    reading: str
    assumed: float | None = None  # used instead of factors when no base rate exists


CLIMATOLOGY: tuple[ClimatologyRow, ...] = (
    ClimatologyRow(
        "answer",
        ("icb_v14.violent_response_given_trigger.violent",),
        "the target of a violent trigger answers with violence in 61% of ICB crises",
    ),
    ClimatologyRow(
        "counter",
        ("icb_v14.violent_response_given_trigger.violent", "mid_v5.reciprocated_share"),
        "a violent answer (ICB 0.606) that is itself reciprocated (MID 0.49): the trigger's author strikes again",
    ),
    ClimatologyRow(
        "proxy_kills",
        ("icb_v14.violent_response_given_trigger.proxy", "1-mid_v5.no_fatalities_share"),
        "proxy violence (ICB violent response to a proxy trigger, 0.455) that is lethal "
        "(MID: 29% of disputes have fatalities)",
    ),
    ClimatologyRow(
        "strikes_proxy",
        ("icb_v14.violent_response_given_trigger.proxy",),
        "the target of proxy violence answers with force in 46% of ICB crises",
    ),
    ClimatologyRow(
        "deal",
        (),
        "no base rate for a signed agreement in base_rates.yaml: an assumed 5% per crisis, a placeholder",
        assumed=DEAL_ASSUMED_SHARE,
    ),
    ClimatologyRow(
        "war",
        ("icb_v14.war_given_trigger.violent",),
        "full-scale war follows a violent trigger in 29% of ICB crises",
    ),
)
BY_QUESTION = {row.question: row for row in CLIMATOLOGY}


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: node}


def rates_from_file(path: str | Path) -> dict[str, float]:
    """The shares CLIMATOLOGY needs, read from a base_rates.yaml (dotted keys)."""
    flat = _flatten(read_yaml(path))
    missing = [k for k in BASE_RATES if k not in flat]
    if missing:
        raise ConfigError(f"{path}: missing base rates {missing}")
    return {k: float(flat[k]) for k in BASE_RATES}


def crisis_share(row: ClimatologyRow, rates: Mapping[str, float] = BASE_RATES) -> float:
    """q: the share of crises in which the question's event happens at least once."""
    if row.assumed is not None:
        return row.assumed
    q = 1.0
    for factor in row.factors:
        q *= 1.0 - rates[factor[2:]] if factor.startswith("1-") else rates[factor]
    return q


def window_probability(q: float, window: int, duration: float) -> float:
    """1 - (1 - q) ** (window / duration): a constant daily hazard that gives q over `duration` days."""
    if not 0.0 <= q < 1.0:
        return 1.0 if q >= 1.0 else float("nan")
    return 1.0 - (1.0 - q) ** (window / duration)


def climatology(question: str, window: int, rates: Mapping[str, float] = BASE_RATES) -> float:
    """The climatological probability of a question's event within `window` days."""
    return window_probability(crisis_share(BY_QUESTION[question], rates), window, rates[DURATION_KEY])


def persistence(happened_recently: bool) -> float:
    """0.9 if the event happened in the last 7 days (forecast date included), else 0.1."""
    return PERSISTENCE_HIGH if happened_recently else PERSISTENCE_LOW


def describe(rates: Mapping[str, float] = BASE_RATES, windows: tuple[int, ...] = (7, 30, 90)) -> list[dict[str, Any]]:
    """The climatology table with its numbers (for the manifest and the docs)."""
    rows = []
    for row in CLIMATOLOGY:
        q = crisis_share(row, rates)
        entry: dict[str, Any] = {
            "question": row.question,
            "factors": list(row.factors),
            "q_per_crisis": q,
            "assumed": row.assumed is not None,
            "reading": row.reading,
        }
        for w in windows:
            entry[f"p_{w}d"] = window_probability(q, w, rates[DURATION_KEY])
        rows.append(entry)
    return rows
