"""CART beside PRIM: a planted box is found, leaf statistics are right, figures are written, the command runs."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from abm.analysis import discovery
from abm.analysis.discovery import BOX_COLUMNS, TRAJECTORY_COLUMNS, cart, discover, write_discovery
from abm.cli import main
from abm.commands import discover as discover_command
from tests.analysis.conftest import write_sweep


@pytest.fixture
def cloud() -> tuple[pd.DataFrame, np.ndarray]:
    """x1, x2, x3 uniform on [0, 1] and an irrelevant category; y = x1 > 0.7 and x2 < 0.3."""
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.random((1200, 3)), columns=["x1", "x2", "x3"])
    X["d"] = rng.choice(["a", "b", "c"], len(X))
    return X, ((X.x1 > 0.7) & (X.x2 < 0.3)).to_numpy(float)


def test_cart_finds_the_planted_box(cloud) -> None:
    X, y = cloud
    tree = cart(X, y)
    [found] = [leaf for leaf in tree.leaves if leaf.interest]
    limits = {name: (lo, hi) for name, lo, hi in found.stats.box.limits}
    assert limits["x1"][0] == pytest.approx(0.7, abs=0.02) and limits["x1"][1] == X.x1.max()
    assert limits["x2"][1] == pytest.approx(0.3, abs=0.02) and limits["x2"][0] == X.x2.min()
    assert limits["x3"] == (X.x3.min(), X.x3.max())  # irrelevant dimensions left alone
    assert dict(found.stats.box.categories)["d"] == frozenset({"a", "b", "c"})
    assert [c.split()[0] for c in found.conditions] == ["x1", "x2"]
    assert found.conditions[0].startswith("x1 > 0.7") or found.conditions[0].startswith("x1 > 0.69")
    assert found.stats.density == 1.0 and found.stats.coverage == 1.0
    assert "-> cases of interest" in tree.rules and tree.rules.count("leaf ") == len(tree.leaves)


def test_cart_leaf_statistics_are_those_of_their_points(cloud) -> None:
    X, y = cloud
    y = np.where(np.random.default_rng(8).random(len(y)) < 0.1, 1 - y, y)  # 10% noise: impure leaves
    tree = cart(X, y, depth=3, min_leaf=0.05)
    masks = np.array([leaf.mask for leaf in tree.leaves])
    assert (masks.sum(axis=0) == 1).all()  # the leaves partition the points
    assert len(tree.leaves) <= 2**3 and tree.min_points == 60
    for leaf in tree.leaves:
        st, inside = leaf.stats, y[leaf.mask]
        assert st.points == leaf.mask.sum() >= 60
        assert st.density == pytest.approx(inside.mean())
        assert st.coverage == pytest.approx(inside.sum() / y.sum())
        assert st.mass == pytest.approx(leaf.mask.mean())
        assert leaf.interest == (st.density > 0.5)
        assert (st.box.contains(X) == leaf.mask).all()  # the box's limits hold exactly the leaf's points
        assert 1 <= len(leaf.conditions) <= 3
    assert sum(leaf.stats.coverage for leaf in tree.leaves) == pytest.approx(1.0)


def test_cart_splits_categories_one_hot() -> None:
    rng = np.random.default_rng(9)
    X = pd.DataFrame({"rate": rng.random(600), "doctrine": rng.choice(["massive", "proportional", "red"], 600)})
    y = ((X.rate > 0.5) & (X.doctrine == "massive")).to_numpy(float)
    tree = cart(X, y, depth=2)
    [found] = [leaf for leaf in tree.leaves if leaf.interest]
    assert dict(found.stats.box.categories)["doctrine"] == frozenset({"massive"})
    assert "doctrine = massive" in found.conditions and "doctrine != massive" in tree.rules
    assert found.stats.density == 1.0 and found.stats.coverage == 1.0


def test_cart_rejects_what_it_cannot_fit(cloud) -> None:
    X, y = cloud
    with pytest.raises(ValueError, match="rows"):
        cart(X, y[:-1])
    with pytest.raises(ValueError, match="depth"):
        cart(X, y, depth=0)
    [only] = cart(X, y, min_leaf=1.0).leaves  # no split can keep every point on both sides
    assert only.conditions == () and only.stats.coverage == 1.0


@pytest.fixture
def sweep(tmp_path):
    rng = np.random.default_rng(3)
    points = pd.DataFrame(
        {
            "world.militia_attack_rate": rng.uniform(0.02, 0.12, 80),
            "us.doctrine": rng.choice(["proportional", "massive"], 80),
        }
    )
    return write_sweep(
        tmp_path / "sweep",
        points,
        30,
        lambda r: 0.8 if r["world.militia_attack_rate"] > 0.09 and r["us.doctrine"] == "massive" else 0.05,
    )


def test_discover_writes_cart_table_and_figures(sweep) -> None:
    result = discover(sweep, "spiral", threshold=0.5)
    assert list(result.cart_table.columns) == list(BOX_COLUMNS)
    assert sorted(result.cart_table["box"].unique()) == [leaf.number for leaf in result.cart.leaves]
    [found] = [leaf for leaf in result.cart.leaves if leaf.interest]
    rows = result.cart_table[result.cart_table["box"] == found.number].set_index("param")
    assert rows.loc["us.doctrine", "values"] == "massive" and rows["restricted"].all()
    assert rows.loc["world.militia_attack_rate", "low"] == pytest.approx(0.09, abs=0.01)
    assert list(result.trajectory.columns) == list(TRAJECTORY_COLUMNS)
    dims = result.trajectory["restricted_dims"].to_numpy()
    assert dims[0] == 0 and (np.diff(dims) >= 0).all()  # peeling only narrows the box

    written = write_discovery(sweep, result)
    names = [p.name for p in written]
    assert names[:4] == ["discovery.csv", "discovery_trajectory.csv", "discovery_cart.csv", "discovery.md"]
    for stem in ("discovery_tradeoff_box1", "discovery_limits_box1"):
        for suffix in (".png", ".svg"):
            assert (sweep / "figures" / f"{stem}{suffix}").stat().st_size > 2000
    text = (sweep / "discovery.md").read_text()
    assert "## CART leaves" in text and "```text" in text and "us.doctrine = massive" in text
    assert "](figures/discovery_tradeoff_box1.png)" in text and ".svg)" not in text

    write_discovery(sweep, result, figure_formats=["png"])  # an earlier call's figures do not linger
    assert not list((sweep / "figures").glob("*.svg")) and len(list((sweep / "figures").glob("*.png"))) == 2
    write_discovery(sweep, result, figure_formats=[])
    assert not list((sweep / "figures").glob("discovery_*"))
    assert "## Figures" not in (sweep / "discovery.md").read_text()


def test_discover_command_with_cart_options(sweep, capsys) -> None:
    code = main(["discover", str(sweep), "--cart-depth", "1", "--cart-min-leaf", "0.1", "--boxes", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "## Box 1" in captured.out and "## CART leaves" in captured.out and "depth at most 1" in captured.out
    cart_table = pd.read_csv(sweep / "discovery_cart.csv")
    assert cart_table["box"].nunique() == 2 and (cart_table["points"] >= 8).all()
    assert (sweep / "figures" / "discovery_tradeoff_box1.png").is_file()
    assert "discovery_limits_box1.svg" in captured.err  # the paths written, on stderr


def test_cart_options_are_checked_and_defaults_agree(capsys) -> None:
    assert discover_command.CART_DEPTH == discovery.CART_DEPTH  # the parser cannot import the analysis module
    parser = argparse.ArgumentParser(prog="abm")
    discover_command.register(parser.add_subparsers())
    args = parser.parse_args(["discover", "somewhere"])
    assert (args.cart_depth, args.cart_min_leaf) == (discovery.CART_DEPTH, discovery.CART_MIN_LEAF)
    for bad in (["--cart-depth", "0"], ["--cart-min-leaf", "1.5"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["discover", "somewhere", *bad])
    assert "--cart" in capsys.readouterr().err
