"""Lever comparison: parsing, arm design, pairing, multiplicity adjustment, end to end on the real model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from abm.analysis.compare import (
    COMPARISON_COLUMNS,
    CURVE_COMPARISON_COLUMNS,
    METRIC_COLUMNS,
    build_design,
    check_correction,
    compare_curves,
    compare_runs,
    parse_lever,
    run_comparison,
)
from abm.analysis.curves import HOT_DAYS, indicators
from abm.config import ConfigError
from abm.model.outcomes import OUTCOMES
from abm.stats import PairedCounts, adjust, independent_diff, paired_diff


def test_parse_single_and_bundled_levers() -> None:
    lever = parse_lever("iran.advance_warning=0.8,0.0")
    assert lever.keys == ("iran.advance_warning",) and lever.values == ((0.8,), (0.0,))
    assert [lever.value_label(i) for i in range(2)] == ["0.8", "0.0"]
    bundle = parse_lever("us.demands+us.sanctions_relief_offer=maximal+false,nuclear_only+true")
    assert bundle.label == "us.demands+us.sanctions_relief_offer"
    assert bundle.assignment(1) == {"us.demands": "nuclear_only", "us.sanctions_relief_offer": True}
    assert bundle.value_label(1) == "nuclear_only+true"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("us.doctrine", "expected KEY=A,B"),
        ("us.doctrine=massive", "at least two values"),
        ("us.doctrine=massive,massive", "distinct"),
        ("us.demands+us.sanctions_relief_offer=maximal,nuclear_only", "2 keys"),
        ("us..doctrine=a,b", "not a dotted key"),
    ],
)
def test_bad_levers_are_rejected_with_a_hint(text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_lever(text)


def test_ofat_and_full_designs() -> None:
    a, b = parse_lever("x.a=1,2,3"), parse_lever("x.b=p,q")
    ofat = build_design([a, b])
    assert ofat.arms == ((0, 0), (1, 0), (2, 0), (0, 1))
    assert ofat.points[3] == {"x.a": 1, "x.b": "q"}
    assert ofat.pairs() == [(0, 0, 1), (0, 0, 2), (0, 1, 2), (1, 0, 1)]
    assert ofat.matches(0, 1, 2) == [(1, 2)]
    assert ofat.matches(1, 0, 1) == [(0, 3)]
    full = build_design([a, b], full=True)
    assert len(full.points) == 6
    assert sorted(full.matches(1, 0, 1)) == [(0, 1), (2, 3), (4, 5)]
    with pytest.raises(ConfigError, match="two levers"):
        build_design([a, parse_lever("x.a+x.c=1+1,2+2")])


def test_adjust_matches_multipletests_and_skips_nan() -> None:
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    ok = ~np.isnan(p)
    for method in ("holm", "bonferroni", "fdr_bh"):
        out = adjust(p, method)
        assert np.isnan(out[2])
        assert out[ok] == pytest.approx(multipletests(p[ok], method=method)[1])
    with pytest.raises(ValueError, match="sidak-ish"):
        adjust(p, "sidak-ish")
    with pytest.raises(ConfigError, match="--correction"):  # refused before any run, as a usage error
        check_correction("sidak-ish")


def synthetic_runs(seed_shared: bool = True) -> pd.DataFrame:
    """Two arms (points 0 and 1) with known outcome columns; point 1 spirals more often."""
    rng = np.random.default_rng(0)
    n = 400
    base = rng.choice(OUTCOMES, size=n, p=[0.1, 0.3, 0.1, 0.5])
    alt = np.where(rng.random(n) < 0.15, "spiral", base)
    frames = []
    for point, outcomes in ((0, base), (1, alt)):
        frames.append(
            pd.DataFrame(
                {
                    "point": point,
                    "run": np.arange(n),
                    "seed": np.arange(n) + (0 if seed_shared or point == 0 else 10**6),
                    "outcome": outcomes,
                    "error": pd.array([None] * n, dtype="string"),
                    "days": rng.integers(0, 60, n),
                    "battle_deaths": rng.poisson(3, n),
                    "state_deaths": rng.poisson(1, n),
                    "max_rung": rng.integers(0, 10, n),
                    "escalation_score": rng.normal(100, 10, n),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_compare_runs_paired_rows_equal_the_count_functions() -> None:
    runs = synthetic_runs()
    design = build_design([parse_lever("iran.advance_warning=0.8,0.0")])
    outcomes, metrics = compare_runs(runs, design, paired=True, seed=5)
    assert list(outcomes.columns) == list(COMPARISON_COLUMNS)
    assert list(metrics.columns) == list(METRIC_COLUMNS)
    assert list(outcomes["outcome"]) == list(OUTCOMES)
    a, b = runs[runs.point == 0], runs[runs.point == 1]
    for _, row in outcomes.iterrows():
        counts = PairedCounts.from_arrays((a.outcome == row.outcome).to_numpy(), (b.outcome == row.outcome).to_numpy())
        ref = paired_diff(counts)
        assert (row["diff"], row.ci_low, row.ci_high, row.p_value) == pytest.approx(
            (ref.diff, ref.ci_low, ref.ci_high, ref.p_value)
        )
        assert (row.a_only, row.b_only, row.n) == (counts.a_only, counts.b_only, 400)
    assert outcomes["p_adjusted"].to_numpy() == pytest.approx(multipletests(outcomes["p_value"], method="holm")[1])
    again = compare_runs(runs, design, paired=True, seed=5)[1]
    pd.testing.assert_frame_equal(metrics, again)


def test_failed_runs_drop_their_pair_and_unshared_seeds_are_refused() -> None:
    runs = synthetic_runs()
    runs.loc[(runs.point == 1) & (runs.run < 10), "error"] = "boom"
    design = build_design([parse_lever("iran.advance_warning=0.8,0.0")])
    outcomes, _ = compare_runs(runs, design, paired=True)
    assert set(outcomes["n"]) == {390}
    independent, _ = compare_runs(runs, design, paired=False)
    assert set(independent["n"]) == {400} and set(independent["n_b"]) == {390}
    spiral = independent[independent.outcome == "spiral"].iloc[0]
    a, b = runs[runs.point == 0], runs[(runs.point == 1) & runs.error.isna()]
    ref = independent_diff(int((a.outcome == "spiral").sum()), 400, int((b.outcome == "spiral").sum()), 390)
    assert spiral["ci_low"] == pytest.approx(ref.ci_low)
    with pytest.raises(ValueError, match="common random numbers"):
        compare_runs(synthetic_runs(seed_shared=False), design, paired=True)


def test_run_comparison_end_to_end_writes_tables(compare_dir) -> None:
    table = pd.read_csv(compare_dir / "comparison.csv")
    metrics = pd.read_csv(compare_dir / "comparison_metrics.csv")
    spec = json.loads((compare_dir / "compare.json").read_text())
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    assert len(table) == 2 * len(OUTCOMES) and len(metrics) == 2 * 5
    assert spec["paired"] and spec["design"] == "ofat" and len(spec["arms"]) == 3
    runs = pd.read_parquet(compare_dir / "runs")
    seeds = runs.pivot(index="run", columns="point", values="seed")
    assert (seeds.nunique(axis=1) == 1).all()  # common random numbers: run i has one seed in every arm
    for name in ("summary.csv", "points.csv", "manifest.json"):
        assert (compare_dir / name).is_file()
    assert ((table["ci_low"] <= table["diff"]) & (table["diff"] <= table["ci_high"])).all()


def test_independent_mode_gives_each_arm_its_own_seeds(short_baseline) -> None:
    res = run_comparison(short_baseline, [parse_lever("iran.advance_warning=0.8,0.0")], 6, 3, paired=False)
    seeds = res.runs.pivot(index="run", columns="point", values="seed")
    assert (seeds[0] != seeds[1]).all()
    assert set(res.outcomes["test"]) == {"score_2indep"}
    assert not res.spec["common_random_numbers"]


def curve_arms() -> pd.DataFrame:
    """Two arms of 40 paired runs with known curves.

    Arm A: no spiral, every run hot on day 45 (quiet at day 30, not at day 60). Arm B: runs 0-9
    spiral on day 20, runs 10-19 on day 50, none is ever hot (quiet unless spiralled)."""
    n = 40
    runs = np.arange(n)
    spiral_day = np.where(runs < 10, 20, 50)
    a = pd.DataFrame({"point": 0, "outcome": "unresolved", "days": 60, HOT_DAYS: [[45]] * n})
    b = pd.DataFrame(
        {
            "point": 1,
            "outcome": np.where(runs < 20, "spiral", "deescalation"),
            "days": np.where(runs < 20, spiral_day, 0),
            HOT_DAYS: [[] for _ in range(n)],
        }
    )
    both = pd.concat([a.assign(run=runs), b.assign(run=runs)], ignore_index=True)
    return both.assign(seed=both["run"], error=pd.array([None] * len(both), dtype="string"))


def test_compare_curves_known_discordant_pairs_and_their_own_holm_family() -> None:
    design = build_design([parse_lever("iran.advance_warning=0.8,0.0")])
    table = compare_curves(curve_arms(), design, horizons=[60, 60])
    assert list(table.columns) == list(CURVE_COMPARISON_COLUMNS)
    assert table["day"].tolist() == [30] * 3 + [60] * 3 and table["curve"].tolist() == ["spiral", "deal", "quiet"] * 2
    rows = table.set_index(["curve", "day"])
    expected = {  # (a_only, b_only)
        ("spiral", 30): (0, 10),
        ("spiral", 60): (0, 20),
        ("deal", 30): (0, 0),
        ("quiet", 30): (10, 0),  # A quiet everywhere; B's ten early spirals are not
        ("quiet", 60): (0, 20),  # A busy (hot day 45); B quiet where it has not spiralled
    }
    for key, (a_only, b_only) in expected.items():
        assert (rows.loc[key, "a_only"], rows.loc[key, "b_only"], rows.loc[key, "n"]) == (a_only, b_only, 40), key
    assert rows.loc[("spiral", 30), "p_value"] == pytest.approx(2 * 0.5**10)  # exact McNemar: 10 vs 0
    assert rows.loc[("spiral", 30), "test"] == "mcnemar_exact" and rows.loc[("quiet", 60), "diff"] == 0.5
    assert rows.loc[("spiral", 60), "ci_low"] > 0 and rows.loc[("quiet", 30), "ci_high"] < 0
    assert table["p_adjusted"].to_numpy() == pytest.approx(multipletests(table["p_value"], method="holm")[1])


def test_compare_curves_days_pairs_and_modes() -> None:
    design = build_design([parse_lever("iran.advance_warning=0.8,0.0")])
    runs = curve_arms()
    assert sorted(set(compare_curves(runs, design, horizons=[40, 200])["day"])) == [30, 40]  # shorter arm's horizon
    runs.loc[(runs.point == 1) & (runs.run == 0), "error"] = "boom"
    paired = compare_curves(runs, design, horizons=[60, 60])
    assert set(paired["n"]) == {39}
    independent = compare_curves(runs, design, horizons=[60, 60], paired=False)
    assert set(independent["test"]) == {"score_2indep"} and set(independent["n_b"]) == {39}
    without = compare_curves(runs.drop(columns=HOT_DAYS), design, horizons=[60, 60])
    assert set(without["curve"]) == {"spiral", "deal"}


def test_run_comparison_writes_curve_rows_consistent_with_the_outcomes(compare_dir) -> None:
    """The real model, horizon 60: days 30 and 60; P(spiral by the horizon) is the spiral outcome's share."""
    curves = pd.read_csv(compare_dir / "comparison_curves.csv")
    outcomes = pd.read_csv(compare_dir / "comparison.csv")
    runs = pd.read_parquet(compare_dir / "runs")
    assert list(curves.columns) == list(CURVE_COMPARISON_COLUMNS)
    assert sorted(set(curves["day"])) == [30, 60] and set(curves["n"]) == {30}
    assert set(curves["curve"]) == ({"spiral", "deal", "quiet"} if HOT_DAYS in runs else {"spiral", "deal"})
    at_horizon = curves[(curves["curve"] == "spiral") & (curves["day"] == 60)].reset_index(drop=True)
    spiral = outcomes[outcomes["outcome"] == "spiral"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        at_horizon[["p_a", "p_b", "a_only", "b_only"]], spiral[["p_a", "p_b", "a_only", "b_only"]]
    )
    if HOT_DAYS in runs:  # the label and the curve read the same hot days: quiet at the horizon = de-escalated
        good = runs[runs["error"].isna() & (runs["outcome"] != "deal")].reset_index(drop=True)
        quiet = indicators(good, 60)["quiet"]
        assert (quiet == (good["outcome"] == "deescalation").to_numpy()).all()
