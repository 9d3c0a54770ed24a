"""Sensitivity: SALib sampling and analysis wiring, per-point outputs, a small real run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from abm.analysis.sensitivity import (
    MORRIS_COLUMNS,
    SOBOL_COLUMNS,
    ParamRange,
    analyze,
    gather_ranges,
    point_outputs,
    run_sensitivity,
    sample,
)
from abm.config import ConfigError
from abm.runner.designs import block_ranges, matrix_points, parse_range, ranges_problem

RANGES = [
    ParamRange("world.militia_attack_rate", 0.02, 0.12),
    ParamRange("world.successor_delay_days", 1, 30),
    ParamRange("iran.advance_warning", 0.0, 1.0),
]


def test_parse_param() -> None:
    assert parse_range("world.hubris_rate=0.1:0.4") == ParamRange("world.hubris_rate", 0.1, 0.4)
    for bad in ("world.hubris_rate", "world.hubris_rate=0.4:0.1", "x=a:b", "=0:1"):
        with pytest.raises(ConfigError):
            parse_range(bad)


def test_sample_sizes_seeding_and_rounding(short_baseline) -> None:
    prob = ranges_problem(RANGES)
    sobol = sample("sobol", prob, 8, seed=1)
    assert sobol.shape == (8 * (3 + 2), 3)
    assert np.array_equal(sobol, sample("sobol", prob, 8, seed=1))
    morris = sample("morris", prob, 5, seed=1)
    assert morris.shape == (5 * (3 + 1), 3)
    with pytest.raises(ConfigError, match="power of two"):
        sample("sobol", prob, 6, seed=1)
    points = matrix_points(sobol, RANGES, short_baseline)
    assert all(isinstance(p["world.successor_delay_days"], int) for p in points)
    assert all(isinstance(p["world.militia_attack_rate"], float) for p in points)
    with pytest.raises(ConfigError, match="twice"):
        ranges_problem([RANGES[0], RANGES[0]])


def test_point_outputs_are_shares_and_means() -> None:
    runs = pd.DataFrame(
        {
            "point": [0, 0, 0, 1, 1],
            "run": [0, 1, 2, 0, 1],
            "outcome": ["spiral", "deal", "spiral", "unresolved", None],
            "error": pd.array([None, None, None, None, "boom"], dtype="string"),
            "days": [10, 20, 30, 180, None],
        }
    )
    out = point_outputs(runs, metrics=["days"]).set_index("point")
    assert out.loc[0, "p_spiral"] == pytest.approx(2 / 3) and out.loc[0, "p_deal"] == pytest.approx(1 / 3)
    assert out.loc[1, "p_unresolved"] == 1.0 and out.loc[1, "runs"] == 1
    assert out.loc[0, "mean_days"] == 20


def test_analysis_recovers_a_known_linear_model() -> None:
    """y = x0 only: Sobol S1 and ST of x0 near 1, of the others near 0; Morris mu* of the others 0."""
    prob = ranges_problem([ParamRange("a", 0, 1), ParamRange("b", 0, 1), ParamRange("c", 0, 1)])
    for method, columns in (("sobol", SOBOL_COLUMNS), ("morris", MORRIS_COLUMNS)):
        matrix = sample(method, prob, 256 if method == "sobol" else 20, seed=2)
        outputs = pd.DataFrame({"p_spiral": matrix[:, 0], "p_deal": np.zeros(len(matrix))})
        indices, skipped = analyze(method, prob, matrix, outputs, seed=2)
        assert list(indices.columns) == list(columns) and skipped == ["p_deal"]
        rows = indices.set_index("param")
        if method == "sobol":
            assert rows.loc["a", "S1"] == pytest.approx(1, abs=0.05) and rows.loc["a", "ST"] == pytest.approx(
                1, abs=0.05
            )
            assert abs(rows.loc["b", "ST"]) < 0.02 and abs(rows.loc["c", "S1"]) < 0.05
        else:
            assert rows.loc["a", "mu_star"] == pytest.approx(1.0) and rows.loc["b", "mu_star"] == 0


def test_small_real_sobol_writes_its_tables(tmp_path, short_baseline) -> None:
    out = tmp_path / "sens"
    res = run_sensitivity(short_baseline, RANGES[:2], "sobol", 4, 4, seed=9, out_dir=out)
    assert res.status == "complete" and len(res.outputs) == 4 * 4
    table = pd.read_csv(out / "sensitivity.csv")
    assert list(table.columns) == list(SOBOL_COLUMNS)
    assert set(table["param"]) <= {r.key for r in RANGES[:2]}
    spec = json.loads((out / "sensitivity.json").read_text())
    assert spec["common_random_numbers"] and spec["points"] == 16
    runs = pd.read_parquet(out / "runs")
    assert runs.groupby("run")["seed"].nunique().eq(1).all()  # CRN: run i has one seed at every point
    assert (out / "sensitivity_points.csv").is_file() and (out / "sensitivity_design.csv").is_file()


def test_gather_ranges_expands_blocks_and_lets_a_param_replace_a_range() -> None:
    ranges = gather_ranges(["behaviour.militias.leash_without_liaison=0.1:0.2"], ["behaviour.militias", "behaviour"])
    keys = [r.key for r in ranges]
    assert len(keys) == len(set(keys)) == len(block_ranges("behaviour"))  # the nested block adds nothing twice
    assert ranges[-1] == ParamRange("behaviour.militias.leash_without_liaison", 0.1, 0.2)
    assert ParamRange("behaviour.militias.revenge_on_loss", 0.0, 0.5) in ranges
    assert gather_ranges(["world.hubris_rate=0.1:0.4"]) == [ParamRange("world.hubris_rate", 0.1, 0.4)]


def test_design_points_stay_inside_their_ranges(short_baseline) -> None:
    """SALib's Morris grid can overshoot an end by one rounding error; a schema bound would refuse it."""
    r = ParamRange("behaviour.beliefs.decapitation_if_unlimited", 0.3, 0.9)
    points = matrix_points(np.array([[0.9000000000000001], [0.29999999999999993], [0.5]]), [r], short_baseline)
    assert [p[r.key] for p in points] == [0.9, 0.3, 0.5]
