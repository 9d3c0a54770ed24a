"""The posterior calibration: distances, the acceptance rule, the summaries, and a tiny end-to-end run."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from abm.config import ConfigError
from abm.config.ranges import BlockParam
from abm.validation.posterior import (
    UNDEFINED_Z,
    Z95,
    Acceptance,
    Pinning,
    PosteriorSpec,
    accept,
    band_distance,
    design,
    judge_reference,
    load_posterior_spec,
    posterior_summary,
    prior,
    run_posterior,
)
from abm.validation.posterior_levers import kendall_w, lever_robustness, spread

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
SPEC = ROOT / "experiments" / "calibration" / "posterior.yaml"
SCRIPT = ROOT / "experiments" / "calibration" / "posterior.py"
LEVERS = ROOT / "experiments" / "levers" / "jan2020.yaml"
INF = math.inf


# ---------------------------------------------------------------- distance


def test_distance_is_zero_inside_the_band_and_standardised_outside() -> None:
    assert band_distance(0.2, 0.1, 0.3, 0.1, 0.3) == 0.0
    assert band_distance(0.1, 0.05, 0.15, 0.1, 0.3) == 0.0  # on the bound is inside
    # above: gap 0.2, MC se from the lower half-width (0.5 - 0.4) / 1.96, discrepancy 10% of 0.3
    expected = 0.2 / math.hypot(0.1 / Z95, 0.03)
    assert band_distance(0.5, 0.4, 0.6, 0.1, 0.3) == pytest.approx(expected)
    # below: the upper half-width counts (a skewed Wilson interval at 0), discrepancy 10% of 0.1
    assert band_distance(0.0, 0.0, 0.02, 0.1, 0.3) == pytest.approx(0.1 / math.hypot(0.02 / Z95, 0.01))
    # further out is further; more Monte Carlo error is nearer
    assert band_distance(0.7, 0.6, 0.8, 0.1, 0.3) > band_distance(0.5, 0.4, 0.6, 0.1, 0.3)
    assert band_distance(0.5, 0.2, 0.8, 0.1, 0.3) < band_distance(0.5, 0.4, 0.6, 0.1, 0.3)


def test_one_sided_bands_are_missed_only_on_their_closed_side() -> None:
    assert band_distance(-0.5, -0.6, -0.4, -INF, 0.02) == 0.0  # far below an upper bound: fine
    assert band_distance(0.05, 0.04, 0.06, -INF, 0.02) == pytest.approx(0.03 / math.hypot(0.01 / Z95, 0.005))
    assert band_distance(100.0, 90.0, 110.0, 5.0, INF) == 0.0  # far above a lower bound: fine
    assert band_distance(2.0, 1.0, 3.0, 5.0, INF) == pytest.approx(3.0 / math.hypot(1.0 / Z95, 0.5))


def test_floor_tolerance_and_missing_estimates() -> None:
    # a bound at 0 would give no discrepancy: the floor stands in, in the case's unit
    assert band_distance(-0.05, -0.05, -0.05, 0.0, 1.0, tolerance=0.1, floor=0.005) == pytest.approx(10.0)
    assert band_distance(math.nan, math.nan, math.nan, 0.1, 0.3) == UNDEFINED_Z
    assert band_distance(0.5, math.nan, math.nan, 0.1, 0.3) == pytest.approx(0.2 / 0.03)  # no interval: se 0


# ---------------------------------------------------------------- acceptance


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    z = pd.DataFrame(
        {
            "a": [0.0, 0.0, 4.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 5.0],
            "b": [0.0, 1.0, 0.0, 3.5, 1.0, 0.0, 2.5, 2.5, 0.0, 5.0],
            "c": [9.0, 8.0, 9.0, 9.0, 8.5, 9.0, 9.0, 9.0, 9.0, 9.0],  # passed by no point: structural
        }
    )
    passed = pd.DataFrame({"a": z["a"].eq(0), "b": z["b"].eq(0), "c": False})
    return z, passed


def test_acceptance_rule_on_a_synthetic_table() -> None:
    z, passed = _tables()
    v = accept(z, passed, Acceptance(quantile=0.5, cutoff=3.0, rank=2))
    assert v.structural == ("c",)
    t = v.points
    assert t["distance"].tolist() == [0.0, 1.0, 4.0, 3.5, 2.0, 0.0, 2.5, 4.5, 0.0, 10.0]  # c left out
    # second-largest z over a and b (the smaller of the two here)
    assert t["implausibility"].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 5.0]
    assert v.threshold == pytest.approx(np.quantile(t["distance"], 0.5))
    assert t.loc[t["accepted"]].index.tolist() == [0, 1, 4, 5, 8]
    assert not t.loc[9, "non_implausible"] and not t.loc[2, "abc"]
    # with the largest z as implausibility, point 3 (one case at 3.5) is ruled out by history matching
    strict = accept(z, passed, Acceptance(quantile=1.0, cutoff=3.0, rank=1)).points
    assert not strict.loc[3, "non_implausible"] and strict.loc[6, "non_implausible"]
    assert strict["abc"].all()


def test_a_reference_point_is_judged_by_the_same_rule_and_threshold() -> None:
    z, passed = _tables()
    v = accept(z, passed, Acceptance(quantile=0.5))
    good = judge_reference(pd.Series({"a": 0.0, "b": 0.5, "c": 9.0}), v, Acceptance())
    assert good["accepted"] and good["distance"] == 0.5 and good["distance_rank"] == 4
    bad = judge_reference(pd.Series({"a": 4.0, "b": 3.5, "c": 0.0}), v, Acceptance())
    assert not bad["accepted"] and not bad["non_implausible"]


# ---------------------------------------------------------------- design and summary


def test_design_is_reproducible_uniform_and_whole_numbers_stay_whole() -> None:
    params = [BlockParam("world.face_decay", 0.02, 0.08, False), BlockParam("world.successor_delay_days", 1, 30, True)]
    unit, values = design(params, 60, 7)
    again = design(params, 60, 7)
    assert unit.equals(again[0]) and values.equals(again[1])
    assert values["world.face_decay"].between(0.02, 0.08).all()
    assert values["world.successor_delay_days"].between(1, 30).all()
    assert values["world.successor_delay_days"].dtype.kind == "i"
    # Latin hypercube: one point in each of the 60 strata of every coordinate
    assert sorted(np.floor(unit["world.face_decay"] * 60).astype(int)) == list(range(60))


def test_posterior_summary_tells_pinned_constrained_and_not_pinned() -> None:
    rng = np.random.default_rng(1)
    keys = ["pinned", "free", "constrained"]
    params = [BlockParam(f"world.{k}", 0.0, 10.0, False) for k in keys]
    unit = pd.DataFrame(rng.uniform(size=(3000, 3)), columns=[p.key for p in params])
    values = unit * 10.0
    accepted = (unit["world.pinned"] < 0.2) & (unit["world.constrained"] > 0.3)
    shipped = {"world.pinned": 1.0, "world.free": 5.0, "world.constrained": 1.0}
    table = posterior_summary(params, unit, values, accepted, shipped, Pinning()).set_index("parameter")
    assert table.loc["world.pinned", "verdict"] == "pinned"
    assert table.loc["world.pinned", "width_ratio"] < 0.25
    assert table.loc["world.free", "verdict"] == "not pinned"
    assert table.loc["world.free", "width_ratio"] > 0.9
    assert table.loc["world.constrained", "verdict"] == "constrained"
    assert table.loc["world.pinned", "post_p95"] < 2.0
    assert table["shipped_inside"].tolist() == ["inside", "inside", "below"]


def test_spread_starts_at_the_best_point_and_reaches_the_far_corner() -> None:
    unit = pd.DataFrame({"x": [0.5, 0.52, 0.0, 1.0], "y": [0.5, 0.5, 0.0, 1.0]}, index=[10, 11, 12, 13])
    distance = pd.Series([0.3, 0.1, 0.5, 0.4], index=[10, 11, 12, 13])
    chosen = spread(unit, distance, 3)
    assert chosen[0] == 11 and set(chosen[1:]) == {12, 13}
    assert spread(unit, distance, 10) == [11, 12, 13, 10]  # never more points than the posterior has
    assert spread(unit, distance, 0) == []


# ---------------------------------------------------------------- lever robustness


def _effects(scores: dict[int, list[float]], detectable: bool = True) -> pd.DataFrame:
    rows = []
    for point, diffs in scores.items():
        for row, diff in enumerate(diffs):
            for outcome, sign in (("spiral", -1.0), ("deescalation", 1.0), ("deal", 1.0)):
                rows.append(
                    {
                        "point": point,
                        "row": row,
                        "lever": f"lever {row}",
                        "outcome": outcome,
                        "diff": sign * diff,
                        "detectable": detectable and abs(diff) > 0.05,
                        "row_detectable": detectable and abs(diff) > 0.05,
                    }
                )
    return pd.DataFrame(rows)


def test_identical_rankings_concord_and_a_sign_change_is_a_flip() -> None:
    same = _effects({0: [0.3, 0.2, 0.1, 0.0], 1: [0.31, 0.19, 0.12, 0.01], 2: [0.4, 0.3, 0.2, 0.1]})
    summary, concordance = lever_robustness(same)
    assert concordance["kendall_w"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert concordance["mean_kendall_tau"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    first = summary[(summary["row"] == 0) & (summary["outcome"] == "deescalation")].iloc[0]
    assert first["rank_min"] == first["rank_max"] == 1.0 and first["direction"] == "holds (+)"
    assert first["detectable_points"] == 3
    spiral = summary[(summary["row"] == 0) & (summary["outcome"] == "spiral")].iloc[0]
    assert spiral["direction"] == "holds (-)" and spiral["rank_min"] == 1.0  # lowering war ranks first
    flipped = _effects({0: [0.3, 0.2, 0.1, 0.0], 1: [-0.3, 0.2, 0.1, 0.0], 2: [0.0, 0.1, 0.2, 0.3]})
    summary, concordance = lever_robustness(flipped)
    row0 = summary[(summary["row"] == 0) & (summary["outcome"] == "deal")].iloc[0]
    assert row0["direction"] == "flips" and row0["rank_max"] == 4.0
    assert concordance["kendall_w"].iloc[0] < 0.5
    late = summary[(summary["row"] == 3) & (summary["outcome"] == "deal")].iloc[0]
    assert late["direction"] == "holds (+)" and late["detectable_points"] == 1
    quiet, _ = lever_robustness(_effects({0: [0.3, 0.2, 0.1, 0.0], 1: [-0.3, 0.2, 0.1, 0.0]}, detectable=False))
    assert set(quiet["direction"]) == {"never detected"}


def test_kendall_w_extremes() -> None:
    assert kendall_w(np.array([[1.0, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]))[0] == pytest.approx(1.0)
    assert kendall_w(np.array([[1.0, 2, 3, 4], [4, 3, 2, 1]]))[0] == pytest.approx(0.0)
    assert math.isnan(kendall_w(np.array([[1.0, 2, 3, 4]]))[0])  # one judge: nothing to agree on


# ---------------------------------------------------------------- spec, out-of-sample, end to end


def test_shipped_spec_loads_and_covers_every_world_parameter() -> None:
    spec = load_posterior_spec(SPEC)
    assert len(prior(spec)) == 34 and spec.levers is not None


def test_spec_ranges_replace_screening_ranges_and_bad_ones_are_refused(tmp_path: Path) -> None:
    spec = PosteriorSpec(parameters={"world.face_decay": (0.05, 0.06)}, exclude=["world.talk_rate"])
    params = {p.key: p for p in prior(spec)}
    assert (params["world.face_decay"].low, params["world.face_decay"].high) == (0.05, 0.06)
    assert "world.talk_rate" not in params and len(params) == 33
    path = tmp_path / "p.yaml"
    path.write_text("parameters: {world.face_decay: [0.08, 0.02]}\n")
    with pytest.raises(ConfigError, match=r"world\.face_decay"):
        load_posterior_spec(path)
    path.write_text("exclude: [world.no_such_thing]\n")
    with pytest.raises(ConfigError, match="no_such_thing"):
        load_posterior_spec(path)


def _case_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "validation"
    folder.mkdir()
    for name, sample in (("p5_expulsion_vote_common", "in-sample"), ("p7_deal_rare_maximal", "out-of-sample")):
        raw = yaml.safe_load((CONFIGS / "validation" / f"{name}.yaml").read_text(encoding="utf-8"))
        raw.update(sample=sample, scenario=str(CONFIGS / "baseline_jan2020.yaml"))
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return folder


def _tiny(**update: object) -> PosteriorSpec:
    return PosteriorSpec.model_validate(
        {
            "blocks": [],
            "parameters": {"world.face_decay": (0.02, 0.08), "world.talk_rate": (0.02, 0.15)},
            "points": 3,
            "runs": 8,
            "acceptance": {"quantile": 1.0, "cutoff": 50.0},
            **update,
        }
    )


def test_posterior_drops_and_refuses_out_of_sample_cases(tmp_path: Path) -> None:
    folder = _case_folder(tmp_path)
    result = run_posterior(_tiny(points=2, runs=5), cases_dir=folder, configs_root=CONFIGS)
    assert result.cases == ["expulsion_vote_common"] and set(result.long["case"]) == {"expulsion_vote_common"}
    with pytest.raises(ConfigError, match="deal_rare_maximal"):
        run_posterior(_tiny(cases=["deal_rare_maximal"]), cases_dir=folder, configs_root=CONFIGS)


def test_tiny_end_to_end_run_writes_every_table(tmp_path: Path) -> None:
    spec = _tiny(
        cases=["expulsion_vote_common", "deal_rare_maximal"],
        levers={"file": str(LEVERS), "scenario": str(CONFIGS / "baseline_jan2020.yaml"), "points": 1, "runs": 10},
    )
    path = tmp_path / "posterior.yaml"
    path.write_text(yaml.safe_dump(spec.model_dump(mode="json")), encoding="utf-8")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(path), "--jobs", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    points = pd.read_csv(out / "posterior_points.csv")
    assert len(points) == 3 and points["accepted"].all()  # quantile 1 and a lax cutoff accept all
    assert {"z:expulsion_vote_common", "value:deal_rare_maximal", "world.talk_rate"} <= set(points.columns)
    summary = pd.read_csv(out / "posterior_summary.csv")
    assert summary["parameter"].tolist() == ["world.face_decay", "world.talk_rate"]
    assert summary["shipped"].tolist() == [0.077, 0.06]
    cases = pd.read_csv(out / "posterior_cases.csv")
    assert cases["case"].tolist() == ["expulsion_vote_common", "deal_rare_maximal"]
    levers = pd.read_csv(out / "lever_robustness.csv")
    assert set(levers["point"].astype(str)) == {str(points.loc[points["lever_point"], "point"].iloc[0]), "shipped"}
    assert levers.groupby("point").size().tolist() == [12 * 3, 12 * 3]
    report = (out / "posterior_report.md").read_text(encoding="utf-8")
    for heading in ("## Posterior of the world parameters", "## Cases across the posterior", "## Lever effects"):
        assert heading in report
    assert "`world.face_decay`" in report and "Kendall's W" in report and "Commit: `" in report
