"""Random streams and the shortcuts built on them: orders are fair, keyed by agent, and exact."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
from scipy import stats

from abm.model.model import CrisisModel
from abm.model.network import topology
from abm.model.simulate import release, run_model, simulate
from abm.model.streams import Draw, Streams, generator
from tests.model.sim import scenario, variant


def test_a_block_is_the_agents_own_segment_whoever_else_is_in_the_run() -> None:
    alone = Streams(11, ["iran"], 30)
    crowded = Streams(11, ["us", "iran", "hezbollah"], 30)
    np.testing.assert_array_equal(alone.blocks["iran"], crowded.blocks["iran"])
    np.testing.assert_array_equal(crowded.blocks["iran"], generator(11, "iran").random((31, len(Draw))))
    assert not np.array_equal(crowded.blocks["us"], crowded.blocks["iran"])
    assert not np.array_equal(Streams(12, ["iran"], 30).blocks["iran"], alone.blocks["iran"])


def test_every_activation_order_is_equally_likely() -> None:
    names = ["a", "b", "c"]
    orders = Counter(tuple(row) for seed in range(400) for row in Streams(seed, names, 9).order)
    assert set(orders) == set(itertools.permutations(range(3)))
    assert stats.chisquare(list(orders.values())).pvalue > 0.001


def test_an_added_agent_does_not_reorder_the_others() -> None:
    names = ["us", "iran", "iraq"]
    before = Streams(5, names, 40).order
    after = Streams(5, [*names, "new_militia"], 40).order
    assert [[i for i in row if i < 3] for row in after] == before


def test_chance_days_are_exactly_the_days_the_draw_is_low_enough() -> None:
    model = CrisisModel(scenario(), 3)
    militia = next(iter(model.militias.values()))
    days = militia.chance_days(Draw.ATTACK, 0.2)
    column = model.streams.blocks[militia.actor_id][:, Draw.ATTACK]
    assert days == {d for d, u in enumerate(column) if u < 0.2}
    assert militia.chance_days(Draw.ATTACK, 0.0) == frozenset()
    release(model)


def test_options_shared_across_runs_give_the_runs_a_fresh_model_would() -> None:
    """Options are cached per scenario object and layout: a run after many others (warm cache,
    commanders killed in some runs) must equal the same seed on a scenario seen for the first time."""
    sets = {"iran__deliberation_rate": 0.9, "us__doctrine": "massive"}
    shared = variant(**sets)
    warm = [simulate(shared, seed).record for seed in range(40)]
    layouts = {key[2] for key in topology(shared).options}
    assert len(layouts) > 1  # the runs did share the cache, over more than one layout
    cold = [simulate(variant(**sets), seed).record for seed in range(40)]  # a new object each: empty cache
    assert warm == cold


def test_a_consolidated_posture_at_the_start_runs_and_leaves_exposed_posts_empty() -> None:
    s = variant(us__posture="consolidated")
    model = run_model(s, 2)
    exposed = [site for site, cfg in s.sites.items() if cfg.exposed]
    assert exposed and all("us" not in model.present[site] for site in exposed)
    release(model)
