"""Time curves on hand-made run tables with known answers, against a brute-force reference, and from a folder."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from statsmodels.stats.proportion import proportion_confint

from abm.analysis import summary
from abm.analysis.curves import (
    CURVE_COLUMNS,
    CURVES,
    HOT_DAYS,
    curves,
    curves_dataset,
    format_curves,
    hot_days,
    indicators,
    report_days,
    write_curves,
)
from abm.model.outcomes import QUIET_WINDOW_DAYS
from tests.runner.support import seal

HORIZON = 60


def hand_made() -> pd.DataFrame:
    """Six runs, one failed. Known answers are worked out in the tests below."""
    return pd.DataFrame(
        {
            "run": range(6),
            "outcome": ["spiral", "deal", "unresolved", "deescalation", "spiral", "unresolved"],
            "days": [5, 20, 60, 10, 40, 60],
            HOT_DAYS: [
                np.array([0, 3]),  # spiral on day 5: busy from day 0 and for ever after
                [0, 10],  # deal signed day 20 (run over): busy 0..39, quiet from day 40
                [55],  # quiet 0..54, busy from 55
                None,  # never hot
                [],  # spiral on day 40 without a hot state act: quiet until 39
                [10],  # failed: left out
            ],
            "error": pd.array([None, None, None, None, None, "boom"], dtype="string"),
        }
    )


def test_known_answers_with_early_deal_spiral_failures_and_empty_lists() -> None:
    table = curves(hand_made(), HORIZON)
    assert list(table.columns) == list(CURVE_COLUMNS)
    assert table["day"].tolist() == list(range(HORIZON + 1)) and (table["n"] == 5).all()
    counts = (table[["p_spiral", "p_deal", "p_quiet"]] * 5).round().astype(int).set_index(table["day"])
    expected = {  # day: (spiral by, deal by, quiet at)
        0: (0, 0, 3),  # runs 2, 3, 4 quiet
        4: (0, 0, 3),
        5: (1, 0, 3),  # run 0 spirals
        19: (1, 0, 3),
        20: (1, 1, 3),  # the deal is signed; still busy (hot day 10)
        39: (1, 1, 3),  # hot day 10 = 39 - 29 is inside the window t-29..t
        40: (2, 1, 3),  # run 4 spirals (no longer quiet), run 1 quiet: hot day 10 = 40 - 30 is outside
        54: (2, 1, 3),
        55: (2, 1, 2),  # run 2's hot day
        60: (2, 1, 2),
    }
    for day, row in expected.items():
        assert tuple(counts.loc[day]) == row, day
    low, high = proportion_confint(counts["p_quiet"], 5, alpha=0.05, method="wilson")
    np.testing.assert_allclose(table["quiet_low"], np.clip(low, 0, 1))
    np.testing.assert_allclose(table["quiet_high"], np.clip(high, 0, 1))


def test_window_edges_for_a_single_hot_day() -> None:
    runs = pd.DataFrame({"outcome": ["unresolved"], "days": [HORIZON], HOT_DAYS: [[10]]})
    quiet = curves(runs, HORIZON)["p_quiet"].to_numpy()
    assert quiet[9] == 1.0 and quiet[10] == 0.0  # hot on its own day
    assert quiet[10 + QUIET_WINDOW_DAYS - 1] == 0.0  # t - 29 = 10: still in the window
    assert quiet[10 + QUIET_WINDOW_DAYS] == 1.0  # t - 30 = 10: out of it
    edges = [indicators(runs, day)["quiet"][0] for day in (9, 10, 10 + QUIET_WINDOW_DAYS - 1, 10 + QUIET_WINDOW_DAYS)]
    assert edges == [True, False, False, True]


def test_spiral_run_is_never_quiet_from_its_spiral_day_even_after_a_long_calm() -> None:
    runs = pd.DataFrame({"outcome": ["spiral"], "days": [50], HOT_DAYS: [[2]], "error": [None]})
    quiet = curves(runs, HORIZON)["p_quiet"].to_numpy()
    assert quiet[:2].tolist() == [1.0, 1.0] and not quiet[2:32].any() and quiet[32:50].all() and not quiet[50:].any()


def test_unsorted_repeated_hot_days_and_arrow_lists_give_the_same_curves() -> None:
    plain = hand_made()
    messy = plain.copy()
    messy[HOT_DAYS] = [[3, 0, 3], [10, 0, 10], [55, 55], [], None, [10]]
    arrow = plain.copy()
    cells = [None if v is None else list(v) for v in plain[HOT_DAYS]]
    arrow[HOT_DAYS] = pd.Series(cells, dtype=pd.ArrowDtype(pa.list_(pa.int64())))
    pd.testing.assert_frame_equal(curves(messy, HORIZON), curves(plain, HORIZON))
    pd.testing.assert_frame_equal(curves(arrow, HORIZON), curves(plain, HORIZON))
    rows, days = hot_days(messy[HOT_DAYS])
    assert rows.tolist() == [0, 0, 1, 1, 2, 5] and days.tolist() == [0, 3, 0, 10, 55, 10]


def reference(runs: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The definitions, run by run and day by day."""
    good = runs[runs["error"].isna()]
    rows = []
    for t in range(horizon + 1):
        spiral = deal = quiet = 0
        for r in good.itertuples():
            by = r.days <= t
            hot = [] if r.state_hot_days is None else list(r.state_hot_days)
            spiral += r.outcome == "spiral" and by
            deal += r.outcome == "deal" and by
            quiet += not (r.outcome == "spiral" and by) and not any(t - 30 < h <= t for h in hot)
        rows.append((spiral, deal, quiet))
    return pd.DataFrame(rows, columns=list(CURVES)) / len(good)


def random_runs(n: int, horizon: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    outcome = rng.choice(["spiral", "deal", "deescalation", "unresolved"], n, p=[0.2, 0.2, 0.3, 0.3])
    days = rng.integers(-2, horizon + 5, n)  # a few outside 0..horizon on purpose
    hot = [
        None if rng.random() < 0.1 else sorted(set(rng.integers(-5, horizon + 3, rng.integers(0, 6)))) for _ in range(n)
    ]
    error = pd.array([("x" if rng.random() < 0.05 else None) for _ in range(n)], dtype="string")
    return pd.DataFrame({"outcome": outcome, "days": days, HOT_DAYS: hot, "error": error})


def test_matches_the_definition_run_by_run() -> None:
    runs = random_runs(150, 70, seed=3)
    table = curves(runs, 70)
    expected = reference(runs, 70)
    for name in CURVES:
        np.testing.assert_allclose(table[f"p_{name}"], expected[name], err_msg=name)


@pytest.mark.parametrize("day", [0, 29, 30, 45, 70])
def test_per_run_indicators_add_up_to_the_curves(day: int) -> None:
    runs = random_runs(150, 70, seed=4)
    good = runs[runs["error"].isna()].reset_index(drop=True)
    marks = indicators(good, day)
    table = curves(runs, 70).set_index("day")
    for name in CURVES:
        assert marks[name].mean() == pytest.approx(table.loc[day, f"p_{name}"]), name


def test_without_hot_days_quiet_is_nan_and_no_good_run_gives_nan() -> None:
    runs = hand_made().drop(columns=HOT_DAYS)
    table = curves(runs, HORIZON)
    assert table["p_quiet"].isna().all() and table["p_spiral"].notna().all()
    assert "quiet" not in indicators(runs, 30)
    failed = hand_made().assign(error="boom")
    empty = curves(failed, HORIZON)
    assert (empty["n"] == 0).all() and empty["p_spiral"].isna().all()


def test_report_days_and_text() -> None:
    assert report_days(180) == [30, 90, 180]
    assert report_days(60) == [30, 60]
    assert report_days(365) == [30, 90, 180, 365]
    text = format_curves(curves(hand_made(), HORIZON))
    lines = text.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["30", "60"]
    assert "0.400 [" in lines[2] and "n = 5 runs" in text


def test_a_folder_per_point_read_in_small_batches_matches_memory(tmp_path, monkeypatch) -> None:
    """Points split across part files and batches; horizon varied per point; curves.csv = in-memory curves."""
    frames = []
    for point, horizon in ((0, 70), (1, 40), (2, 70)):
        runs = random_runs(60, horizon, seed=10 + point)
        frames.append(runs.assign(point=point, horizon_days=horizon, run=range(60)))
    every = pd.concat(frames, ignore_index=True)
    (tmp_path / "runs").mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(every)), 4)):  # parts cut through points
        every.iloc[part].to_parquet(tmp_path / "runs" / f"part-{i}.parquet")
    seal(tmp_path)  # a manifest vouching for the hand-made parts (no horizon recorded)
    monkeypatch.setattr(summary, "BATCH_ROWS", 7)
    written = write_curves(tmp_path)
    assert list(written.columns) == ["point", *CURVE_COLUMNS]
    assert written.groupby("point")["day"].max().tolist() == [70, 40, 70]
    for point, frame in every.groupby("point"):
        mine = written[written["point"] == point].drop(columns="point").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, curves(frame, int(frame["horizon_days"].iloc[0])), check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "curves.csv"), written, check_dtype=False)


def test_a_single_run_folder_takes_the_given_horizon_or_the_latest_day(tmp_path, monkeypatch) -> None:
    (tmp_path / "runs").mkdir()
    hand_made().to_parquet(tmp_path / "runs" / "part-0.parquet")
    seal(tmp_path)
    table = curves_dataset(tmp_path / "runs", horizon=50)
    assert "point" not in table and table["day"].max() == 50
    pd.testing.assert_frame_equal(table, curves(hand_made(), 50), check_dtype=False)
    monkeypatch.setattr(summary, "BATCH_ROWS", 2)  # batches reach days 20, 60, 60: one horizon for all
    pd.testing.assert_frame_equal(write_curves(tmp_path), curves(hand_made(), HORIZON), check_dtype=False)


def test_100k_runs_take_well_under_a_second_or_two() -> None:
    n, horizon = 100_000, 180
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 8, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = np.sort(rng.integers(0, horizon + 1, offsets[-1]))  # sorted overall; repeats in a run are dropped
    cells = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values))
    runs = pd.DataFrame(
        {
            "outcome": rng.choice(["spiral", "deal", "deescalation", "unresolved"], n),
            "days": rng.integers(0, horizon + 1, n),
            HOT_DAYS: pd.Series(cells.to_pylist()),
            "error": pd.array([None] * n, dtype="string"),
        }
    )
    curves(runs.head(10), horizon)  # statsmodels imported outside the clock
    began = time.perf_counter()
    table = curves(runs, horizon)
    assert time.perf_counter() - began < 2.0
    assert table["n"].iloc[0] == n and table["p_spiral"].is_monotonic_increasing
