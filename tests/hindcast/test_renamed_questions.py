"""The role-named questions give the same answers as the 2020-named ones on the 2020 record and its runs.

The first hindcast's predicates (`iran_strikes_us`, `us_strikes_iran`, `militia_kills_us`,
`us_strikes_militia`) are copied here as they were; the renamed ones widened two of them to
either party (`proxy_kills`, `strikes_proxy`), which must change nothing where only the US was
hit by, and struck, militias.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm.config import load_config
from abm.hindcast.questions import ATTACK_RUNG, BY_QUESTION, RENAMED, Context, _killed_militia, _kinetic, _rung
from abm.hindcast.questions import _strikes as strikes
from abm.hindcast.record import RECORDS_DIR, conditioned, load_record, observed_events
from abm.runner import run_in_memory, single_experiment


def old_militia_kills_us(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    deaths = pd.to_numeric(ev["state_deaths"], errors="coerce").fillna(0)
    hit = ev["target_side"] == ctx.author
    return ev["side"].isin(ctx.militias) & _kinetic(ev) & (_rung(ev) >= ATTACK_RUNG) & hit & (deaths > 0)


def old_us_strikes_militia(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    on_militia = (
        (ev["action"] == "strike_militia_sites") | ev["target_side"].isin(ctx.militias) | _killed_militia(ev, ctx)
    )
    return (ev["side"] == ctx.author) & _kinetic(ev) & (_rung(ev) >= ATTACK_RUNG) & on_militia


OLD = {
    "iran_strikes_us": lambda ev, ctx: strikes(ev, ctx.struck, ctx.author),
    "us_strikes_iran": lambda ev, ctx: strikes(ev, ctx.author, ctx.struck),
    "militia_kills_us": old_militia_kills_us,
    "us_strikes_militia": old_us_strikes_militia,
    "deal": lambda ev, ctx: ev["action"] == "sign_deal",
}


def _same(events: pd.DataFrame, ctx: Context) -> dict[str, int]:
    hits = {}
    for old, predicate in OLD.items():
        before = predicate(events, ctx).to_numpy(dtype=bool)
        after = BY_QUESTION[RENAMED[old]].mask(events, ctx).to_numpy(dtype=bool)
        assert np.array_equal(before, after), old
        hits[old] = int(before.sum())
    return hits


@pytest.mark.parametrize("name", ["jan_mar_2020", "dec_2019"])
def test_renamed_questions_answer_as_before_on_the_2020_record(name: str) -> None:
    record = load_record(RECORDS_DIR / f"{name}.yaml")
    scenario = load_config(record.scenario_path)
    events = observed_events(record, scenario)
    hits = _same(events, Context.of(scenario, record.parties))
    # the record has each event: 8 Jan, 3 Jan, 27 Dec and 11 Mar, 29 Dec + 3 Jan + 12 Mar
    assert hits == {
        "iran_strikes_us": 1,
        "us_strikes_iran": 1,
        "militia_kills_us": 2,
        "us_strikes_militia": 3,
        "deal": 0,
    }


def test_renamed_questions_answer_as_before_on_2020_runs() -> None:
    record = load_record(RECORDS_DIR / "jan_mar_2020.yaml")
    scenario = load_config(record.scenario_path)
    ctx = Context.of(scenario, record.parties)
    assert ctx.militia_sites == {"kh_depots", "pmf_bases"}  # strikes there count as strikes on militias
    total = dict.fromkeys(OLD, 0)
    for cut in (0, 14, 68):  # the baseline itself, stage two, the Taji attack of 11 Mar
        exp = single_experiment(conditioned(scenario, record, cut, 180), 12, 5, events=True, name="renames")
        events = run_in_memory(exp, jobs=1, backend="serial").events
        for k, v in _same(events, ctx).items():
            total[k] += v
    assert total["iran_strikes_us"] > 0 and total["militia_kills_us"] > 0 and total["us_strikes_militia"] > 0
