"""PRIM: recovers a known box on synthetic data; folder-level discovery and its error messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abm.analysis.discovery import BOX_COLUMNS, discover, full_box, peel, prim, select, to_markdown, write_discovery
from abm.analysis.errors import AnalysisError
from tests.analysis.conftest import write_sweep


@pytest.fixture
def cloud() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.random((1500, 3)), columns=["a", "b", "c"])
    X["d"] = rng.choice(["x", "y", "z"], len(X))
    return X


def in_true_box(X: pd.DataFrame) -> np.ndarray:
    return ((X.a > 0.6) & (X.b < 0.3) & (X.d != "z")).to_numpy()


def test_prim_finds_the_planted_box(cloud) -> None:
    y = in_true_box(cloud).astype(float)
    [(chosen, trajectory)] = prim(cloud, y)
    limits = {name: (lo, hi) for name, lo, hi in chosen.box.limits}
    assert limits["a"][0] == pytest.approx(0.6, abs=0.05) and limits["b"][1] == pytest.approx(0.3, abs=0.05)
    assert limits["c"] == pytest.approx((cloud.c.min(), cloud.c.max()))  # irrelevant dimension left alone
    assert dict(chosen.box.categories)["d"] == frozenset({"x", "y"})
    assert chosen.density > 0.95 and chosen.coverage > 0.85
    assert chosen.density == max(b.density for b in trajectory if b.coverage >= 0.5)
    assert trajectory[-1].mass >= 0.05 and len({b.points for b in trajectory}) == len(trajectory)
    assert trajectory[0].coverage == 1.0 and trajectory[0].mass == 1.0


def test_select_respects_min_coverage(cloud) -> None:
    y = in_true_box(cloud).astype(float)
    trajectory = peel(cloud, y)
    strict = select(trajectory, min_coverage=0.99)
    assert strict.coverage >= 0.99 and strict.density <= select(trajectory, 0.5).density
    assert full_box(cloud).contains(cloud).all()


def test_covering_finds_a_second_box() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.random((2000, 2)), columns=["a", "b"])
    y = (((X.a < 0.2) & (X.b < 0.2)) | ((X.a > 0.8) & (X.b > 0.8))).to_numpy(float)
    found = prim(X, y, boxes=2, min_coverage=0.3)
    assert len(found) == 2
    centres = sorted(np.mean([lo, hi]) for _, lo, hi in (b.box.limits[0] for b, _ in found))
    assert centres[0] < 0.3 and centres[1] > 0.7


def test_discover_on_a_sweep_folder(tmp_path) -> None:
    rng = np.random.default_rng(3)
    points = pd.DataFrame(
        {
            "world.militia_attack_rate": rng.uniform(0.02, 0.12, 120),
            "us.doctrine": rng.choice(["proportional", "massive"], 120),
        }
    )
    folder = write_sweep(
        tmp_path / "sweep",
        points,
        40,
        lambda r: 0.8 if r["world.militia_attack_rate"] > 0.09 and r["us.doctrine"] == "massive" else 0.05,
    )
    result = discover(folder, "spiral", threshold=0.5)
    assert list(result.table.columns) == list(BOX_COLUMNS)
    rows = result.table.set_index("param")
    assert rows.loc["world.militia_attack_rate", "low"] == pytest.approx(0.09, abs=0.01)
    assert rows.loc["us.doctrine", "values"] == "massive"
    assert rows["restricted"].all() and rows["density"].iloc[0] > 0.9
    written = write_discovery(folder, result)
    assert [p.name for p in written if p.parent == folder] == [
        "discovery.csv",
        "discovery_trajectory.csv",
        "discovery_cart.csv",
        "discovery.md",
    ]
    text = to_markdown(result)
    assert "coverage" in text and "| `us.doctrine` | massive |" in text


def test_discover_explains_what_is_wrong(tmp_path) -> None:
    with pytest.raises(AnalysisError, match="no runs/"):
        discover(tmp_path)
    points = pd.DataFrame({"x.a": [0.1, 0.2, 0.3]})
    folder = write_sweep(tmp_path / "low", points, 10, lambda r: 0.0)
    with pytest.raises(AnalysisError, match="lower --threshold"):
        discover(folder, threshold=0.5)
    with pytest.raises(AnalysisError, match="--outcome"):
        discover(folder, outcome="victory")
