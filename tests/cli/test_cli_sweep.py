"""`abm sweep`: experiment files and --grid/--lhs, outputs per point, validation before any run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from statsmodels.stats.proportion import proportion_confint

from abm.cli import main
from abm.model.outcomes import OUTCOMES
from abm.model.records import RUN_COLUMNS
from tests.runner.support import BASELINE, ROOT

SHORT = ["--set", "horizon_days=60", "-q"]


def sweep(*args: str) -> int:
    return main(["sweep", *args])


def test_grid_sweep_outputs(tmp_path, use_fake, capsys) -> None:
    out = tmp_path / "out"
    code = sweep(
        str(BASELINE),
        "--grid",
        "us.doctrine=proportional,massive",
        "--grid",
        "world.successor_delay_days=1,30",
        "--grid",
        "us.sanctions_relief_offer=true,false",
        "--runs",
        "15",
        "--seed",
        "2",
        "--out",
        str(out),
        *SHORT,
    )
    assert code == 0
    params = ["us.doctrine", "world.successor_delay_days", "us.sanctions_relief_offer"]
    runs = pd.read_parquet(out / "runs")
    assert list(runs.columns) == ["point", "run", "seed", *params, *RUN_COLUMNS, "error"]
    assert len(runs) == 8 * 15
    assert runs["world.successor_delay_days"].dtype == np.int64 and runs["us.sanctions_relief_offer"].dtype == bool
    points = pd.read_csv(out / "points.csv")
    assert list(points.columns) == ["point", *params] and len(points) == 8
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["point", *params, "outcome", "count", "p", "ci_low", "ci_high"]
    assert len(summary) == 8 * len(OUTCOMES)
    assert (summary.groupby("point")["count"].sum() == 15).all()
    low, high = proportion_confint(summary["count"], 15, alpha=0.05, method="wilson")
    np.testing.assert_allclose(summary["ci_low"], low)
    np.testing.assert_allclose(summary["ci_high"], high)
    merged = runs.groupby(["point", "outcome"]).size()
    for row in summary.itertuples():
        assert row.count == merged.get((row.point, row.outcome), 0)
    assert "massive" in capsys.readouterr().out


def test_seeds_per_point_unless_common_random_numbers(tmp_path, use_fake) -> None:
    base = [str(BASELINE), "--grid", "us.doctrine=proportional,massive", "--runs", "5", *SHORT]
    assert sweep(*base, "--out", str(tmp_path / "apart")) == 0
    assert sweep(*base, "--crn", "--out", str(tmp_path / "crn")) == 0
    apart = pd.read_parquet(tmp_path / "apart" / "runs").pivot(index="run", columns="point", values="seed")
    crn = pd.read_parquet(tmp_path / "crn" / "runs").pivot(index="run", columns="point", values="seed")
    assert (apart[0] != apart[1]).all() and (crn[0] == crn[1]).all()
    assert (apart[0] == crn[0]).all()  # point 0 has seed key 0 either way


def test_lhs_from_the_command_line(tmp_path, use_fake) -> None:
    assert (
        sweep(
            str(BASELINE),
            "--lhs",
            "world.hubris_rate=0.05:0.5",
            "--lhs",
            "world.successor_delay_days=1:30",
            "--points",
            "6",
            "--runs",
            "3",
            "--out",
            str(tmp_path),
            *SHORT,
        )
        == 0
    )
    points = pd.read_csv(tmp_path / "points.csv")
    assert len(points) == 6 and points["world.hubris_rate"].between(0.05, 0.5).all()


def test_example_experiment_file(tmp_path, use_fake) -> None:
    path = ROOT / "experiments" / "warning_by_doctrine.yaml"
    assert sweep(str(path), "--runs", "4", "--out", str(tmp_path), *SHORT) == 0
    assert len(pd.read_csv(tmp_path / "points.csv")) == 9
    assert len(pd.read_parquet(tmp_path / "runs")) == 36


def _experiment(tmp_path, **spec) -> str:
    spec = {"name": "t", "config": str(BASELINE), "runs": 3, **spec}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"parameters": {"us.doctrine": ["massive"]}, "runs": 0}, "runs: got 0"),
        ({"parameters": {"us.doctrine": []}}, "parameters.us.doctrine"),
        ({"parameters": {"us.doktrine": ["massive"]}}, "us.doktrine"),
        (
            {"design": "lhs", "samples": 4, "parameters": {"world.hubris_rate": {"low": 0.9, "high": 0.1}}},
            "world.hubris_rate",
        ),
        (
            {"design": "sobol", "samples": 10, "parameters": {"world.hubris_rate": {"low": 0.1, "high": 0.9}}},
            "power of two",
        ),
    ],
)
def test_bad_experiment_files_exit_2_before_running(tmp_path, spec, needle, capsys, use_fake) -> None:
    out = tmp_path / "out"
    assert sweep(_experiment(tmp_path, **spec), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--grid", "us.doctrine=proportional,bogus"], "us.doctrine"),
        (["--grid", "us.doctrine"], "--grid"),
        (["--grid", "us.doctrine=[massive"], "--grid"),
        (["--grid", "us.doctrine=[proportional, massive]", "--grid", "iran.advance_warning=0,0.5"], None),
        (["--grid", "us.doctrine=massive", "--lhs", "world.hubris_rate=0:1", "--points", "3"], "cannot be combined"),
        (["--lhs", "world.hubris_rate=0:1"], "--points"),
        (["--lhs", "world.hubris_rate=1:0", "--points", "3"], "world.hubris_rate"),
        (["--lhs", "world.hubris_rate=a:b", "--points", "3"], "KEY=LO:HI"),
    ],
)
def test_bad_sweep_options_exit_2(tmp_path, args, needle, capsys, use_fake) -> None:
    code = sweep(str(BASELINE), *args, "--runs", "2", "--out", str(tmp_path / "o"), "-q", "--backend", "serial")
    if needle is None:  # the YAML-list form of --grid works too
        assert code == 0 and len(pd.read_csv(tmp_path / "o" / "points.csv")) == 4
        return
    assert code == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_config_without_grid_gets_a_hint(tmp_path, capsys) -> None:
    assert sweep(str(BASELINE), "--out", str(tmp_path / "o")) == 2
    assert "--grid" in capsys.readouterr().err


def test_resume_needs_a_folder(capsys) -> None:
    assert sweep(str(BASELINE), "--grid", "us.doctrine=massive", "--resume") == 2
    assert capsys.readouterr().err == "abm sweep: error: --resume needs --out DIR (the folder of the run to continue)\n"


@pytest.mark.slow
def test_example_sweep_with_the_real_model(tmp_path) -> None:
    path = ROOT / "experiments" / "warning_by_doctrine.yaml"
    assert sweep(str(path), "--runs", "40", "--out", str(tmp_path), *SHORT) == 0
    runs = pd.read_parquet(tmp_path / "runs")
    assert len(runs) == 9 * 40 and runs["error"].isna().all()
    assert runs["outcome"].isin(OUTCOMES).all()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 9 * len(OUTCOMES)


def test_sweep_writes_curves_per_point_with_each_points_horizon(tmp_path, use_fake) -> None:
    out = tmp_path / "out"
    args = ["--grid", "horizon_days=40,70", "--runs", "25", "--out", str(out), "--backend", "serial", "-q"]
    assert sweep(str(BASELINE), *args) == 0
    curves = pd.read_csv(out / "curves.csv")
    assert curves.columns[0] == "point"
    assert curves.groupby("point")["day"].max().tolist() == [40, 70]
    assert (curves["n"] == 25).all()
    summary = pd.read_csv(out / "summary.csv")
    spiral = summary[summary["outcome"] == "spiral"].set_index("point")["p"]
    last = curves.groupby("point").tail(1).set_index("point")["p_spiral"]
    pd.testing.assert_series_equal(last, spiral, check_names=False)
