"""The model as a whole: determinism, common random numbers, memory, network, action table."""

from __future__ import annotations

from pathlib import Path

import mesa
import pytest

from abm.config import load_config
from abm.model.actions import ACTIONS, BY_NAME, usable_by
from abm.model.agents.commanders import CommanderAgent
from abm.model.agents.militias import MilitiaAgent
from abm.model.agents.states import StateAgent
from abm.model.model import CrisisModel
from abm.model.network import EDGE_KINDS, build_graph
from abm.model.outcomes import DEAL, QUIET_WINDOW_DAYS, SPIRAL, UNRESOLVED
from abm.model.records import EVENT_COLUMNS, RUN_COLUMNS
from abm.model.simulate import release, run_model, simulate, summarize
from tests.model.sim import CONFIGS, records, scenario, variant


def test_same_seed_same_run_different_seed_different_run() -> None:
    s = scenario()
    a, b = simulate(s, 7, record_events=True), simulate(s, 7, record_events=True)
    assert a.record == b.record and a.events == b.events
    others = {repr(simulate(s, seed).record) for seed in range(20)}
    assert len(others) > 10


def test_record_and_event_columns_match_the_contract() -> None:
    res = simulate(scenario(), 3, record_events=True)
    assert list(res.record) == list(RUN_COLUMNS)
    assert all(set(row) == set(EVENT_COLUMNS) for row in res.events)


def test_common_random_numbers_keep_unrelated_choices_aligned() -> None:
    """A lever that acts only in talks must not reshuffle when Iran first answers (same seeds).

    Each agent draws from its own cells by day and purpose, so the offer of relief changes the
    talks' draws only; Iran's first answer (its deliberation and choice cells) stays where it was.
    """
    base = records(scenario(), 100)
    relief = records(variant(us__sanctions_relief_offer=1.0), 100)
    same = (base.first_violent_response_day == relief.first_violent_response_day).mean()
    assert same > 0.9


def test_mesa_agent_ids_do_not_leak_across_runs() -> None:
    s = scenario()
    simulate(s, 0)
    before = len(mesa.Agent._ids)
    for seed in range(50):
        simulate(s, seed)
    assert len(mesa.Agent._ids) <= before


def test_agents_of_every_kind_exist_with_config_ids() -> None:
    m = CrisisModel(scenario(), 1)
    assert sum(isinstance(a, StateAgent) for a in m.agents) == 6
    assert sum(isinstance(a, CommanderAgent) for a in m.agents) == 4
    assert sum(isinstance(a, MilitiaAgent) for a in m.agents) == 4
    assert {a.actor_id for a in m.agents} == {*scenario().states, *scenario().commanders, *scenario().militias}


def test_network_is_built_from_config_with_typed_edges() -> None:
    s = scenario()
    g = build_graph(s)
    assert {d["kind"] for _, _, d in g.edges(data=True)} == set(EDGE_KINDS)
    assert set(g.nodes) == {*s.states, *s.commanders, *s.militias, *s.sites}
    bigger = variant(
        sites__kuwait_base={"kind": "base", "label": "Camp Arifjan", "host": "iraq", "present": ["us"]},
        militias__kataib_hezbollah__reach=["camp_taji", "kuwait_base"],
    )
    g2 = build_graph(bigger)
    assert "kuwait_base" in g2 and g2.has_edge("kataib_hezbollah", "kuwait_base")


def test_agents_strike_only_sites_they_can_reach() -> None:
    s = scenario()
    reach = {**{k: set(v.reach) for k, v in s.states.items()}, **{k: set(v.reach) for k, v in s.militias.items()}}
    for seed in range(40):
        for ev in run_model(s, seed).events:
            if ev.kinetic and ev.site and not ev.imposed:
                assert ev.site in reach[ev.side], (ev.side, ev.site)


def test_a_site_added_in_config_gets_attacked() -> None:
    """A user adds a site without touching code: militias that reach it strike it."""
    s = variant(
        sites__new_post={"kind": "base", "label": "New post", "host": "iraq", "present": ["us"]},
        militias__kataib_hezbollah__reach=["new_post"],
        militias__pmf_other__reach=["new_post"],
    )
    sites = {ev.site for seed in range(40) for ev in run_model(s, seed).events if ev.action == "militia_rocket_attack"}
    assert "new_post" in sites


def test_action_table_covers_the_ladder() -> None:
    assert {a.rung for a in ACTIONS} - {None} == set(range(10))
    for name in (
        "negotiate",
        "signal_talks",
        "ease_sanctions",
        "sign_deal",
        "public_threat",
        "expulsion_vote",
        "new_sanctions",
        "nuclear_step",
        "raise_alert",
        "cyber_attack",
        "naval_harassment",
        "militia_rocket_attack",
        "warned_missile_strike",
        "strike_militia_sites",
        "unwarned_missile_strike",
        "targeted_killing",
        "strike_territory",
        "attack_city",
        "sustained_war",
    ):
        assert name in BY_NAME
    goldstein = {
        "negotiate": 7.0,
        "signal_talks": 4.0,
        "ease_sanctions": 7.0,
        "sign_deal": 8.0,
        "public_threat": -7.0,
        "new_sanctions": -8.0,
        "raise_alert": -7.2,
        "cyber_attack": -9.2,
        "targeted_killing": -10.0,
    }
    for name, weight in goldstein.items():
        assert BY_NAME[name].goldstein == weight
    for a in ACTIONS:
        assert a.users and 0.0 <= a.p_lethal <= 1.0 and a.median_deaths >= 0.0
    assert all(a.chosen for role in ("us", "iran", "militia") for a in usable_by(role))


@pytest.mark.parametrize("path", sorted(Path(CONFIGS).glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_config_loads_and_runs(path: Path) -> None:
    """Each run stops where its record says: a war or a deal on its day, anything else at the horizon."""
    s = load_config(path)
    for seed in range(3):
        model = run_model(s, seed)
        record = summarize(model)
        release(model)
        assert list(record) == list(RUN_COLUMNS) and record == simulate(s, seed).record
        outcome, day = record["outcome"], record["days"]
        if outcome in (SPIRAL, DEAL):
            assert model.day == day, outcome  # an absorbing outcome stops the run on its day
        else:
            assert model.day == s.horizon_days, outcome
            assert day == s.horizon_days if outcome == UNRESOLVED else day <= s.horizon_days - QUIET_WINDOW_DAYS


def test_history_is_imposed_and_free_choice_starts_after_it() -> None:
    m = CrisisModel(variant("strike_with_us_deaths", horizon_days=31), 2)
    for _ in range(5):
        m.step()
    day5 = [ev for ev in m.events if ev.day == 5 and ev.imposed]
    assert day5 and day5[0].action == "unwarned_missile_strike" and day5[0].state_deaths == 5
    assert not [ev for ev in m.events if 0 < ev.day < 5 and not ev.imposed and ev.action != "raise_alert"]
    assert m.states["us"].blood.get("iran", 0) == 5
