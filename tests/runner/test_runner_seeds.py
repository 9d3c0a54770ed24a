"""Seeds depend on (master, point key, run) only: never on chunking, workers or backend."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from abm.runner import points_experiment, run_in_memory, run_scenario, run_seed, run_seeds
from abm.runner.chunks import Chunk, auto_chunk_size, plan_chunks


@given(st.integers(0, 2**64), st.integers(0, 10**6), st.integers(0, 10**7))
def test_seed_is_a_python_int_below_2_63_and_repeatable(master: int, point: int, run: int) -> None:
    seed = run_seed(master, point, run)
    assert type(seed) is int
    assert 0 <= seed < 2**63
    assert seed == run_seed(master, point, run)


def test_seeds_differ_between_runs_points_and_masters() -> None:
    seeds = run_seeds(20200103, 0, range(10_000))
    assert len(set(seeds)) == len(seeds)
    assert run_seed(1, 0, 5) != run_seed(1, 1, 5)
    assert run_seed(1, 0, 5) != run_seed(2, 0, 5)


def test_run_seed_matches_documented_rule() -> None:
    import numpy as np

    expected = int(np.random.SeedSequence([7, 3, 11]).generate_state(1, np.uint64)[0] >> np.uint64(1))
    assert run_seed(7, 3, 11) == expected


def test_plan_chunks_covers_every_run_once() -> None:
    chunks = plan_chunks([0, 1], 0, 23, 5)
    runs = [(c.point, r) for c in chunks for r in c.runs]
    assert runs == [(p, r) for p in (0, 1) for r in range(23)]
    assert Chunk(1, 0, 5).id < Chunk(1, 5, 10).id < Chunk(2, 0, 5).id  # part files sort by (point, run)


def test_auto_chunk_size_balances_time_and_workers() -> None:
    assert auto_chunk_size(0.01, 1000, 1000, 2) == 32  # 150 by time, at least 16 chunks per worker
    assert auto_chunk_size(1.0, 1000, 100_000, 2) == 2  # slow runs: ~1.5 s per chunk
    assert auto_chunk_size(0.0001, 10, 1000, 2) == 10  # never beyond a point's runs


@pytest.mark.parametrize("size", [1, 7, 50])
def test_tables_do_not_depend_on_chunk_size(short_baseline, fake, size) -> None:
    reference = run_scenario(short_baseline, 50, 99, simulator=fake, chunk_size=50)
    pd.testing.assert_frame_equal(run_scenario(short_baseline, 50, 99, simulator=fake, chunk_size=size), reference)


def test_run_seeds_match_the_seed_column(short_baseline, fake) -> None:
    table = run_scenario(short_baseline, 20, 5, simulator=fake)
    assert table["seed"].tolist() == run_seeds(5, 0, range(20))
    assert table["run"].tolist() == list(range(20))


def test_common_random_numbers_share_seeds_across_points(short_baseline, fake) -> None:
    points = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]
    shared = run_in_memory(points_experiment(short_baseline, points, 10, 3), simulator=fake).runs
    by_point = shared.pivot(index="run", columns="point", values="seed")
    assert (by_point[0] == by_point[1]).all()
    apart = run_in_memory(
        points_experiment(short_baseline, points, 10, 3, common_random_numbers=False), simulator=fake
    ).runs
    assert apart.loc[apart.point == 1, "seed"].tolist() == run_seeds(3, 1, range(10))
