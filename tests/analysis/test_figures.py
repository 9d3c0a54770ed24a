"""Figure data on hand-built histories, and every figure written as a non-empty PNG and SVG."""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.analysis import figures


def two_runs() -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = pd.DataFrame({"run": [0, 1], "outcome": ["spiral", "unresolved"], "days": [3, 20]})
    events = pd.DataFrame({"run": [0, 0, 1, 1, 1], "day": [0, 3, 0, 10, 12], "rung": [7, 8, 5, 2, None]})
    return runs, events


def test_ladder_shares_follow_the_window_and_absorbing_outcomes() -> None:
    runs, events = two_runs()
    shares = figures.ladder_shares(events, runs, horizon=20, window=7)
    assert shares.shape == (10, 21)
    assert np.allclose(shares.sum(axis=0), 1.0)
    assert shares[7, 0] == 0.5 and shares[5, 0] == 0.5  # day 0: the trigger (7) and a militia attack (5)
    assert shares[5, 6] == 0.5 and shares[0, 7] == 0.5  # rung 5 stays in the 7-day window, then quiet
    assert shares[2, 16] == 0.5 and shares[0, 17] == 0.5
    assert shares[9, 3:].tolist() == [0.5] * 18  # the spiral run is at war from its start day on


def test_cumulative_outcomes() -> None:
    runs = pd.DataFrame({"outcome": ["spiral", "spiral", "deal", "unresolved"], "days": [2, 5, 4, 10]})
    curve = figures.cumulative_outcomes(runs, "spiral", 10)
    assert curve[1] == 0 and curve[2] == 0.25 and curve[5] == 0.5 and curve[10] == 0.5


def check_saved(paths) -> None:
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert all(p.stat().st_size > 2000 for p in paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_figure_saves_png_and_svg(tmp_path) -> None:
    runs, events = two_runs()
    table = pd.DataFrame(
        {
            "value": ["a", "a", "b", "b"],
            "outcome": ["spiral", "deal"] * 2,
            "p": [0.1, 0.2, 0.3, 0.0],
            "ci_low": [0.05, 0.1, 0.2, 0.0],
            "ci_high": [0.2, 0.3, 0.4, 0.1],
        }
    )
    check_saved(figures.save(figures.outcome_probabilities(table, "value", "t", "x", ["b", "a"]), tmp_path / "o"))
    check_saved(figures.save(figures.outcome_bars(table[table.value == "a"], "t"), tmp_path / "bars"))
    shares = figures.ladder_shares(events, runs, 20)
    check_saved(figures.save(figures.ladder({"one": shares, "two": shares}, "t"), tmp_path / "ladder"))
    check_saved(figures.save(figures.time_to_outcome({"g": runs}, 20, "t"), tmp_path / "time"))
    comparison = pd.DataFrame(
        {
            "lever": ["k"] * 2,
            "value_a": ["0.8"] * 2,
            "value_b": ["0.0"] * 2,
            "outcome": ["spiral", "deal"],
            "p_a": [0.1, 0.0],
            "p_b": [0.2, 0.0],
            "diff": [0.1, 0.0],
            "ci_low": [0.05, -0.01],
            "ci_high": [0.15, 0.01],
            "p_adjusted": [0.01, 1.0],
        }
    )
    check_saved(figures.save(figures.forest(comparison, "t"), tmp_path / "forest"))
    sobol = pd.DataFrame(
        {
            "param": ["a", "b"],
            "outcome_metric": ["p_spiral"] * 2,
            "S1": [0.5, 0.1],
            "S1_conf": [0.1, 0.1],
            "ST": [0.6, 0.2],
            "ST_conf": [0.1, 0.1],
        }
    )
    check_saved(figures.save(figures.sensitivity_bars(sobol, "sobol", ["p_spiral"], "t"), tmp_path / "sobol"))
    morris = pd.DataFrame(
        {
            "param": ["a", "b"],
            "outcome_metric": ["p_spiral"] * 2,
            "mu_star": [0.5, 0.1],
            "mu_star_conf": [0.1, 0.1],
            "sigma": [0.2, 0.05],
        }
    )
    check_saved(figures.save(figures.sensitivity_bars(morris, "morris", ["p_spiral"], "t"), tmp_path / "morris"))


def test_time_curves_figure_draws_each_group_with_its_band(tmp_path) -> None:
    from abm.analysis.curves import curves

    runs = pd.DataFrame(
        {"outcome": ["spiral", "deal", "unresolved"], "days": [3, 8, 20], "state_hot_days": [[0], [1, 2], [15]]}
    )
    tables = {"a": curves(runs, 20), "b": curves(runs.iloc[1:], 20)}
    fig = figures.time_curves(tables, "t")
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == [label for _, label, _ in figures.CURVE_PANELS]
    assert all(len(ax.lines) == 2 and len(ax.collections) == 2 for ax in axes)  # a step line and a band per group
    np.testing.assert_allclose(axes[0].lines[0].get_ydata(), tables["a"]["p_spiral"])
    check_saved(figures.save(fig, tmp_path / "curves"))
    no_quiet = {"one": curves(runs.drop(columns="state_hot_days"), 20)}
    assert len(figures.time_curves(no_quiet, "t").get_axes()) == 2  # no quiet panel without hot days
