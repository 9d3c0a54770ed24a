"""Experiment files: validated up front with readable errors; designs give fixed points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from abm.config import ConfigError
from abm.runner import load_experiment, points_experiment, single_experiment
from abm.runner.seeds import run_seed

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))


def write(tmp_path: Path, **spec: Any) -> Path:
    spec.setdefault("name", "t")
    spec.setdefault("config", str(ROOT / "configs" / "baseline_jan2020.yaml"))
    spec.setdefault("runs", 5)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_example_experiments_load(path: Path) -> None:
    exp = load_experiment(path)
    assert exp.points and exp.parameters and exp.runs >= 1


def test_grid_is_the_full_product_in_declaration_order(tmp_path) -> None:
    exp = load_experiment(
        write(
            tmp_path,
            parameters={
                "us.doctrine": ["proportional", "massive"],
                "us.sanctions_relief_offer": [True, False],
                "world.successor_delay_days": [1, 30],
            },
        )
    )
    assert len(exp.points) == 8
    assert exp.points[0] == {
        "us.doctrine": "proportional",
        "us.sanctions_relief_offer": True,
        "world.successor_delay_days": 1,
    }
    assert exp.points[-1]["us.doctrine"] == "massive"
    assert exp.scenario(7).states["us"].doctrine == "massive" and exp.scenario(7).world.successor_delay_days == 30


def test_lhs_is_seeded_in_bounds_and_rounds_integers(tmp_path) -> None:
    path = write(
        tmp_path,
        design="lhs",
        samples=12,
        seed=4,
        parameters={
            "world.choice_temperature": {"low": 0.1, "high": 1.0},
            "world.successor_delay_days": {"low": 1, "high": 30},
        },
    )
    a, b = load_experiment(path), load_experiment(path)
    assert a.points == b.points and len(a.points) == 12
    assert all(0.1 <= p["world.choice_temperature"] <= 1.0 for p in a.points)
    assert all(type(p["world.successor_delay_days"]) is int for p in a.points)
    c = load_experiment(path, {"seed": 5})
    assert c.points != a.points


def test_sobol_gives_n_times_2d_plus_2_points(tmp_path) -> None:
    exp = load_experiment(
        write(
            tmp_path,
            design="sobol",
            samples=8,
            parameters={
                "world.choice_temperature": {"low": 0.1, "high": 1.0},
                "world.hubris_rate": {"low": 0.0, "high": 0.5},
            },
        )
    )
    assert len(exp.points) == 8 * (2 * 2 + 2)


def test_explicit_points_fill_missing_keys_from_the_base(tmp_path) -> None:
    exp = load_experiment(
        write(tmp_path, design="points", points=[{"us.doctrine": "massive"}, {"iran.advance_warning": 0.0}])
    )
    assert exp.parameters == ("us.doctrine", "iran.advance_warning")
    assert exp.points[1]["us.doctrine"] == exp.base.states["us"].doctrine
    assert exp.points[0]["iran.advance_warning"] == exp.base.states["iran"].advance_warning


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"runs": 0, "parameters": {"us.doctrine": ["massive"]}}, "runs: got 0"),
        ({"runs": -3, "parameters": {"us.doctrine": ["massive"]}}, "runs: got -3"),
        ({"parameters": {"us.doctrine": []}}, "parameters.us.doctrine"),
        ({"parameters": {}}, "needs at least one parameter"),
        ({"parameters": {"us.doctrin": ["massive"]}}, "us.doctrin"),
        ({"parameters": {"us.doctrine": ["bogus"]}}, "us.doctrine"),
        (
            {"design": "lhs", "samples": 4, "parameters": {"world.hubris_rate": {"low": 0.5, "high": 0.1}}},
            "parameters.world.hubris_rate: got low=0.5 >= high=0.1",
        ),
        (
            {"design": "sobol", "samples": 12, "parameters": {"world.hubris_rate": {"low": 0.1, "high": 0.5}}},
            "samples: got 12; allowed: a power of two",
        ),
        ({"design": "lhs", "parameters": {"world.hubris_rate": {"low": 0.1, "high": 0.5}}}, "samples"),
        ({"design": "grid", "parameters": {"world.hubris_rate": {"low": 0.1, "high": 0.5}}}, "needs design lhs"),
        ({"parameters": {"us.doctrine": ["massive"]}, "colour": "red"}, "colour"),
        ({"parameters": {"us.doctrine": ["massive", "massive"]}}, "distinct"),
        ({"design": "points", "points": []}, "non-empty list of points"),
        ({"parameters": {"us.doctrine": ["massive"]}, "max_failure_share": 2}, "max_failure_share"),
    ],
)
def test_bad_experiments_fail_before_running_with_the_key(tmp_path, spec, needle) -> None:
    with pytest.raises(ConfigError) as err:
        load_experiment(write(tmp_path, **spec))
    assert needle in str(err.value)


def test_a_scenario_config_given_as_experiment_gets_a_hint() -> None:
    with pytest.raises(ConfigError, match="looks like a scenario config"):
        load_experiment(ROOT / "configs" / "baseline_jan2020.yaml")


def test_hash_tracks_what_decides_the_rows(short_baseline) -> None:
    base = single_experiment(short_baseline, 10, 1)
    assert base.hash == single_experiment(short_baseline, 10, 1, max_failure_share=0.5, chunk_size=3).hash
    assert base.hash != single_experiment(short_baseline, 11, 1).hash
    assert base.hash != single_experiment(short_baseline, 10, 2).hash
    assert base.hash != single_experiment(short_baseline, 10, 1, events=True).hash


def test_point_keys(short_baseline) -> None:
    crn = points_experiment(short_baseline, [{"us.posture": "forward"}, {"us.posture": "consolidated"}], 3, 9)
    assert crn.point_key(1) == 0
    apart = points_experiment(
        short_baseline, [{"us.posture": "forward"}, {"us.posture": "consolidated"}], 3, 9, common_random_numbers=False
    )
    assert apart.point_key(1) == 1
    assert run_seed(9, apart.point_key(1), 0) != run_seed(9, crn.point_key(1), 0)
