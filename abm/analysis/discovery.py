"""Scenario discovery: which parameter ranges make an outcome likely (PRIM, Friedman & Fisher 1999).

Friedman JH, Fisher NI. Bump hunting in high-dimensional data. Statistics and Computing
1999;9:123-143. PRIM looks for a box (an interval per numeric parameter, a subset of values per
categorical one) where the mean of y is high. Starting from the box holding all points it
*peels*: of all candidate cuts (the lowest or highest `alpha` share of a numeric parameter
inside the box, or one category) it makes the one with the largest gain in mean of y per point
removed, until the box would hold fewer than `mass_min` of the points. It keeps peeling when no
cut raises the mean (a bump in the middle of a range is reached only through its edges). FF's
original criterion is the gain alone; dividing by the points removed (the "lenient" objective of
the EMA Workbench) stops a categorical cut that drops a third of the box from winning just
because it is large. The result is a trajectory of nested boxes trading coverage for density
(Bryant & Lempert 2010):

* coverage = share of all cases of interest that fall in the box;
* density = share of the points in the box that are cases of interest;
* mass = share of all points in the box.

We pick the densest box whose coverage is still >= `min_coverage`. Further boxes come from
*covering*: remove the points of the chosen box and peel again. No pasting step (FF's optional
re-expansion), to keep the code small.

On a sweep folder each design point is one observation: y = 1 when the share of the point's
runs with the outcome reaches `threshold` (a case of interest), else 0. The folder is read
through `abm.runner.reader` (parts checked against the manifest; only the point, parameter,
outcome and error columns are decoded).

Beside PRIM, a classification tree (CART: Breiman, Friedman, Olshen & Stone 1984, scikit-learn's
`DecisionTreeClassifier`) is fitted to the same points and the same y, as Lempert, Bryant &
Bankes (2008, "Comparing algorithms for scenario discovery", RAND WR-557) compare the two. Each
leaf is a box: the conditions on the path from the root, with the same coverage, density and
mass. Categorical parameters enter one-hot (a split is "param = value" or "param != value").
Its limits in the box table are, like PRIM's, the outermost design values inside the leaf on
each parameter a split restricts (the split thresholds, midpoints between design values, are
in the conditions). Figures (peeling trade-off, box limits) are in `discovery_figures`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from abm.analysis.errors import AnalysisError
from abm.analysis.summary import parameter_columns, summary_columns
from abm.defaults import PRIM_MASS_MIN as MASS_MIN
from abm.defaults import PRIM_MIN_COVERAGE as MIN_COVERAGE
from abm.defaults import PRIM_PEEL
from abm.model.outcomes import OUTCOMES
from abm.runner.reader import open_folder
from abm.runner.storage import RUNS_DIR

DISCOVERY_FILE, TRAJECTORY_FILE, MARKDOWN_FILE = "discovery.csv", "discovery_trajectory.csv", "discovery.md"
CART_FILE, FIGURES_DIR = "discovery_cart.csv", "figures"
CART_DEPTH = 3  # deepest tree: at most 8 leaves, each a box of at most 3 conditions (readable)
CART_MIN_LEAF = MASS_MIN  # smallest leaf, as a share of points: the same floor as PRIM's boxes
BOX_COLUMNS = (
    "box",
    "param",
    "kind",
    "low",
    "high",
    "values",
    "full_low",
    "full_high",
    "full_values",
    "restricted",
    "coverage",
    "density",
    "mass",
    "points",
    "mean_share",
)


@dataclass(frozen=True)
class Box:
    """Inclusive bounds for numeric parameters, allowed values for categorical ones."""

    limits: tuple[tuple[str, float, float], ...]
    categories: tuple[tuple[str, frozenset[Any]], ...]

    def contains(self, X: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(X), dtype=bool)
        for name, low, high in self.limits:
            x = X[name].to_numpy(dtype=float)
            mask &= (x >= low) & (x <= high)
        for name, allowed in self.categories:
            mask &= X[name].isin(allowed).to_numpy()
        return mask

    def with_limit(self, name: str, low: float, high: float) -> Box:
        return Box(tuple((n, low, high) if n == name else (n, lo, hi) for n, lo, hi in self.limits), self.categories)

    def with_categories(self, name: str, allowed: frozenset[Any]) -> Box:
        return Box(self.limits, tuple((n, allowed) if n == name else (n, a) for n, a in self.categories))


@dataclass(frozen=True)
class BoxStats:
    """A box on the peeling trajectory and how good it is."""

    step: int
    box: Box
    coverage: float
    density: float
    mass: float
    points: int


def is_categorical(series: pd.Series) -> bool:
    return is_bool_dtype(series) or not is_numeric_dtype(series)


def full_box(X: pd.DataFrame) -> Box:
    limits, cats = [], []
    for name in X.columns:
        if is_categorical(X[name]):
            cats.append((name, frozenset(X[name].unique())))
        else:
            x = X[name].to_numpy(dtype=float)
            limits.append((name, float(x.min()), float(x.max())))
    return Box(tuple(limits), tuple(cats))


def _stats(step: int, box: Box, mask: np.ndarray, y: np.ndarray, total_interest: float, total: int) -> BoxStats:
    inside = y[mask]
    density = float(inside.mean()) if len(inside) else math.nan
    coverage = float(inside.sum() / total_interest) if total_interest > 0 else math.nan
    return BoxStats(step, box, coverage, density, len(inside) / total, len(inside))


def _candidates(box: Box, X: pd.DataFrame, mask: np.ndarray, alpha: float) -> list[Box]:
    """Every single peel of the box: low or high alpha-share of a numeric parameter, or one category."""
    out = []
    for name, _low, _high in box.limits:
        x = X[name].to_numpy(dtype=float)[mask]
        if len(x) == 0 or np.ptp(x) == 0:
            continue
        q_low, q_high = np.quantile(x, alpha), np.quantile(x, 1 - alpha)
        drop = x < q_low if np.any(x < q_low) else x <= q_low
        if not drop.all():
            out.append(box.with_limit(name, float(x[~drop].min()), float(x[~drop].max())))
        drop = x > q_high if np.any(x > q_high) else x >= q_high
        if not drop.all():
            out.append(box.with_limit(name, float(x[~drop].min()), float(x[~drop].max())))
    for name, _ in box.categories:
        present = set(X[name][mask].unique())
        if len(present) < 2:
            continue
        for value in present:
            out.append(box.with_categories(name, frozenset(present - {value})))
    return out


def peel(
    X: pd.DataFrame,
    y: np.ndarray,
    alpha: float = PRIM_PEEL,
    mass_min: float = MASS_MIN,
    total_interest: float | None = None,
    total: int | None = None,
) -> list[BoxStats]:
    """The peeling trajectory, starting with the box that holds every point."""
    y = np.asarray(y, dtype=float)
    total_interest = float(y.sum()) if total_interest is None else total_interest
    total = len(y) if total is None else total
    box = full_box(X)
    mask = box.contains(X)
    trajectory = [_stats(0, box, mask, y, total_interest, total)]
    while True:
        current, n_now = trajectory[-1].density, int(mask.sum())
        best: tuple[float, int, Box, np.ndarray] | None = None
        for cand in _candidates(box, X, mask, alpha):
            cmask = cand.contains(X) & mask
            n = int(cmask.sum())
            if n == 0 or n / total < mass_min:
                continue
            gain = (float(y[cmask].mean()) - current) / (n_now - n)  # density gained per point removed
            if best is None or (gain, n) > (best[0], best[1]):
                best = (gain, n, cand, cmask)
        if best is None:
            return trajectory
        _, _, box, mask = best
        trajectory.append(_stats(len(trajectory), box, mask, y, total_interest, total))


def select(trajectory: Sequence[BoxStats], min_coverage: float = MIN_COVERAGE) -> BoxStats:
    """Densest box whose coverage is at least `min_coverage` (ties: the larger box)."""
    eligible = [b for b in trajectory if b.coverage >= min_coverage - 1e-12] or [trajectory[0]]
    return max(eligible, key=lambda b: (b.density, b.mass))


def prim(
    X: pd.DataFrame,
    y: np.ndarray,
    boxes: int = 1,
    alpha: float = PRIM_PEEL,
    mass_min: float = MASS_MIN,
    min_coverage: float = MIN_COVERAGE,
) -> list[tuple[BoxStats, list[BoxStats]]]:
    """Up to `boxes` boxes by covering; each with its peeling trajectory. Stops when no case is left."""
    y = np.asarray(y, dtype=float)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows, y has {len(y)}")
    total_interest, total = float(y.sum()), len(y)
    remaining = np.ones(len(y), dtype=bool)
    found = []
    for _ in range(boxes):
        Xr, yr = X[remaining].reset_index(drop=True), y[remaining]
        if yr.sum() == 0 or len(yr) == 0:
            break
        trajectory = peel(Xr, yr, alpha, mass_min, total_interest, total)
        chosen = select(trajectory, min_coverage)
        if chosen.step == 0 and found:
            break  # nothing better than "everything left": no further box
        found.append((chosen, trajectory))
        remaining &= ~chosen.box.contains(X)
    return found


def restricted_dims(box: Box, whole: Box) -> list[str]:
    """Parameters on which `box` is narrower than `whole` (the box of every point)."""
    full = {name: (low, high) for name, low, high in whole.limits}
    cats = dict(whole.categories)
    return [name for name, low, high in box.limits if low > full[name][0] or high < full[name][1]] + [
        name for name, allowed in box.categories if allowed != cats[name]
    ]


# ---------------------------------------------------------------- CART


@dataclass(frozen=True)
class Leaf:
    """A leaf of the classification tree, read as a box."""

    number: int  # 1, 2, ... from left to right in the tree (as in the rules)
    conditions: tuple[str, ...]  # on the path from the root, one per restricted parameter
    stats: BoxStats  # step = the tree's node id
    interest: bool  # the tree's class at this leaf: most of its points are cases of interest
    mask: np.ndarray = field(repr=False, compare=False)  # which points fall in it (from the tree itself)


@dataclass
class CartResult:
    """The leaves of a fitted tree and its rules as text."""

    leaves: list[Leaf]
    rules: str
    depth: int
    min_leaf: float
    min_points: int  # min_leaf as a number of points


def _encode(X: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, Any]]]:
    """Numeric parameters as they are, categorical ones one-hot; column i is (param, value or None)."""
    columns: list[tuple[str, Any]] = []
    data = []
    for name in X.columns:
        if is_categorical(X[name]):
            for value in sorted(X[name].unique(), key=str):
                columns.append((name, value))
                data.append((X[name] == value).to_numpy(dtype=float))
        else:
            columns.append((name, None))
            data.append(X[name].to_numpy(dtype=float))
    return np.column_stack(data), columns


def _split_text(column: tuple[str, Any], threshold: float, left: bool) -> str:
    name, value = column
    if value is None:
        return f"{name} {'<=' if left else '>'} {_num(threshold)}"
    return f"{name} {'!=' if left else '='} {value}"  # one-hot: <= 0.5 is "not this value"


def _leaf_box(
    path: Sequence[tuple[int, float, bool]], columns: Sequence[tuple[str, Any]], X: pd.DataFrame, mask: np.ndarray
) -> tuple[Box, tuple[str, ...]]:
    """The box of a leaf from the splits on its path: (column, threshold, went left)."""
    whole = full_box(X)
    above: dict[str, float] = {}  # numeric: x > threshold
    below: dict[str, float] = {}  # numeric: x <= threshold
    allowed = {name: set(values) for name, values in whole.categories}
    for col, threshold, left in path:
        name, value = columns[col]
        if value is not None:
            allowed[name] = allowed[name] - {value} if left else allowed[name] & {value}
        elif left:
            below[name] = min(threshold, below.get(name, math.inf))
        else:
            above[name] = max(threshold, above.get(name, -math.inf))
    limits, conditions = [], []
    for name, flow, fhigh in whole.limits:
        inside = X[name].to_numpy(dtype=float)[mask]
        low = float(inside.min()) if name in above else flow
        high = float(inside.max()) if name in below else fhigh
        limits.append((name, low, high))
        if name in above and name in below:
            conditions.append(f"{_num(above[name])} < {name} <= {_num(below[name])}")
        elif name in above:
            conditions.append(f"{name} > {_num(above[name])}")
        elif name in below:
            conditions.append(f"{name} <= {_num(below[name])}")
    cats = []
    for name, full in whole.categories:
        kept = frozenset(v for v in full if v in allowed[name])
        cats.append((name, kept))
        if kept != full:
            shown = sorted(map(str, kept))
            conditions.append(f"{name} = {shown[0]}" if len(shown) == 1 else f"{name} in {{{', '.join(shown)}}}")
    return Box(tuple(limits), tuple(cats)), tuple(conditions)


def cart(X: pd.DataFrame, y: np.ndarray, depth: int = CART_DEPTH, min_leaf: float = CART_MIN_LEAF) -> CartResult:
    """A classification tree on (X, y), each leaf read as a box with PRIM's coverage and density.

    `min_leaf` is the smallest leaf as a share of points (at least one point). The tree is fitted
    with a fixed random_state: scikit-learn draws the order in which it tries features, and a
    tie between two equally good splits would otherwise go either way from one call to the next."""
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(y, dtype=float)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows, y has {len(y)}")
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    X = X.reset_index(drop=True)
    data, columns = _encode(X)
    min_points = max(1, math.ceil(min_leaf * len(y)))
    model = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=min_points, random_state=0)
    model.fit(data, y.astype(int))
    tree, landed = model.tree_, model.apply(data)
    total_interest, total = float(y.sum()), len(y)
    leaves: dict[int, Leaf] = {}
    lines: list[str] = []

    def walk(node: int, path: list[tuple[int, float, bool]]) -> None:
        indent = "    " * len(path)
        left, right = int(tree.children_left[node]), int(tree.children_right[node])
        if left == right:  # a leaf (both -1)
            mask = landed == node
            box, conditions = _leaf_box(path, columns, X, mask)
            stats = _stats(node, box, mask, y, total_interest, total)
            interest = bool(model.classes_[int(np.argmax(tree.value[node][0]))] == 1)
            leaf = Leaf(len(leaves) + 1, conditions, stats, interest, mask)
            leaves[node] = leaf
            lines.append(
                f"{indent}leaf {leaf.number}: {stats.points} points, {int(y[mask].sum())} of interest "
                f"(density {stats.density:.3f}, coverage {stats.coverage:.3f})"
                f"{' -> cases of interest' if interest else ''}"
            )
            return
        col, threshold = int(tree.feature[node]), float(tree.threshold[node])
        for child, went_left in ((left, True), (right, False)):
            lines.append(indent + _split_text(columns[col], threshold, went_left))
            walk(child, [*path, (col, threshold, went_left)])

    walk(0, [])
    return CartResult(list(leaves.values()), "\n".join(lines), depth, min_leaf, min_points)


@dataclass
class DiscoveryResult:
    """Boxes, their trajectories and the per-point data they came from."""

    outcome: str
    threshold: float
    boxes: list[tuple[BoxStats, list[BoxStats]]]
    points: pd.DataFrame
    params: list[str]
    table: pd.DataFrame
    trajectory: pd.DataFrame
    min_coverage: float = MIN_COVERAGE
    alpha: float = PRIM_PEEL
    mass_min: float = MASS_MIN
    notes: list[str] = field(default_factory=list)  # about the folder read (e.g. not finished)
    cart: CartResult | None = None
    cart_table: pd.DataFrame | None = None  # the leaves as boxes, in the columns of `table`

    @property
    def X(self) -> pd.DataFrame:
        """The varied parameters at each design point (what PRIM and CART were given)."""
        return self.points[self.params]


def point_table(runs: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, list[str]]:
    """One row per design point: its parameters, finished runs and share with the outcome."""
    if "point" not in runs:
        raise AnalysisError("discovery needs a sweep folder (runs with a point column), not a single run")
    params = parameter_columns(list(runs.columns))
    if not params:
        raise AnalysisError("no varied parameters in this folder: nothing to discover")
    ok = runs[runs["error"].isna()] if "error" in runs else runs
    grouped = ok.groupby("point")
    table = grouped[params].first()
    table["runs"] = grouped.size()
    table["share"] = grouped["outcome"].apply(lambda s: float((s == outcome).mean()))
    return table.reset_index(), params


def box_table(
    boxes: Sequence[BoxStats],
    X: pd.DataFrame,
    shares: np.ndarray,
    masks: Sequence[np.ndarray] | None = None,
) -> pd.DataFrame:
    """One row per (box, parameter): range in the box vs the full range, plus the box's statistics.

    PRIM boxes and CART leaves alike; `masks` (the points in each box) default to `box.contains(X)`."""
    whole = full_box(X)
    rows = []
    for i, stats in enumerate(boxes, start=1):
        mask = stats.box.contains(X) if masks is None else masks[i - 1]
        mean_share = float(shares[mask].mean()) if mask.any() else math.nan
        head = {
            "box": i,
            "coverage": stats.coverage,
            "density": stats.density,
            "mass": stats.mass,
            "points": stats.points,
            "mean_share": mean_share,
        }
        for (name, low, high), (_, flow, fhigh) in zip(stats.box.limits, whole.limits, strict=True):
            rows.append(
                {
                    **head,
                    "param": name,
                    "kind": "numeric",
                    "low": low,
                    "high": high,
                    "values": "",
                    "full_low": flow,
                    "full_high": fhigh,
                    "full_values": "",
                    "restricted": bool(low > flow or high < fhigh),
                }
            )
        for (name, allowed), (_, full) in zip(stats.box.categories, whole.categories, strict=True):
            rows.append(
                {
                    **head,
                    "param": name,
                    "kind": "categorical",
                    "low": math.nan,
                    "high": math.nan,
                    "values": ", ".join(sorted(map(str, allowed))),
                    "full_low": math.nan,
                    "full_high": math.nan,
                    "full_values": ", ".join(sorted(map(str, full))),
                    "restricted": allowed != full,
                }
            )
    return pd.DataFrame(rows, columns=list(BOX_COLUMNS))


TRAJECTORY_COLUMNS = ("box", "step", "coverage", "density", "mass", "points", "chosen", "restricted_dims")


def trajectory_table(boxes: Sequence[tuple[BoxStats, list[BoxStats]]], X: pd.DataFrame) -> pd.DataFrame:
    """One row per peeling step of each box; restricted_dims counts parameters narrower than their full range."""
    whole = full_box(X)
    rows = [
        {
            "box": i,
            "step": b.step,
            "coverage": b.coverage,
            "density": b.density,
            "mass": b.mass,
            "points": b.points,
            "chosen": b.step == chosen.step,
            "restricted_dims": len(restricted_dims(b.box, whole)),
        }
        for i, (chosen, trajectory) in enumerate(boxes, start=1)
        for b in trajectory
    ]
    return pd.DataFrame(rows, columns=list(TRAJECTORY_COLUMNS))


def discover(
    out_dir: str | Path,
    outcome: str = "spiral",
    threshold: float = 0.5,
    boxes: int = 1,
    alpha: float = PRIM_PEEL,
    mass_min: float = MASS_MIN,
    min_coverage: float = MIN_COVERAGE,
    cart_depth: int = CART_DEPTH,
    cart_min_leaf: float = CART_MIN_LEAF,
) -> DiscoveryResult:
    """PRIM and CART on a sweep folder: boxes of parameter space where P(outcome) >= threshold at most points."""
    if not (Path(out_dir) / RUNS_DIR).is_dir():
        raise AnalysisError(f"{out_dir}: no runs/ folder; give a folder written by abm sweep, compare or sensitivity")
    folder = open_folder(out_dir)
    runs = folder.read(RUNS_DIR, summary_columns(folder.schema(RUNS_DIR).names))
    seen = set(runs["outcome"].dropna().unique())
    if outcome not in OUTCOMES and outcome not in seen:
        raise AnalysisError(f"--outcome: got {outcome!r}; allowed: {', '.join(OUTCOMES)}")
    points, params = point_table(runs, outcome)
    X = points[params]
    varied = [p for p in params if X[p].nunique(dropna=False) > 1]
    if not varied:
        raise AnalysisError("no parameter takes more than one value across points: nothing to discover")
    X = X[varied]
    y = (points["share"].to_numpy() >= threshold).astype(float)
    if y.sum() == 0:
        raise AnalysisError(
            f"no point has P({outcome}) >= {threshold:g} (highest: {points['share'].max():.3f}); lower --threshold"
        )
    found = prim(X, y, boxes, alpha, mass_min, min_coverage)
    tree = cart(X, y, cart_depth, cart_min_leaf)
    shares = points["share"].to_numpy()
    return DiscoveryResult(
        outcome,
        threshold,
        found,
        points,
        varied,
        box_table([stats for stats, _ in found], X, shares),
        trajectory_table(found, X),
        min_coverage,
        alpha,
        mass_min,
        list(folder.notes),
        tree,
        box_table([leaf.stats for leaf in tree.leaves], X, shares, [leaf.mask for leaf in tree.leaves]),
    )


def _num(x: float) -> str:
    return f"{x:.4g}"


def _ranges(rows: pd.DataFrame) -> list[str]:
    """A box's rows of the box table as a Markdown table: range in the box against the full range."""
    lines = ["| parameter | range in box | full range | restricted |", "|---|---|---|---|"]
    for _, r in rows.sort_values("restricted", ascending=False, kind="stable").iterrows():
        if r["kind"] == "numeric":
            inside, full = (
                f"{_num(r['low'])} – {_num(r['high'])}",
                f"{_num(r['full_low'])} – {_num(r['full_high'])}",
            )
        else:
            inside, full = r["values"], r["full_values"]
        lines.append(f"| `{r['param']}` | {inside} | {full} | {'yes' if r['restricted'] else 'no'} |")
    return [*lines, ""]


def _cart_markdown(result: DiscoveryResult) -> list[str]:
    tree, table = result.cart, result.cart_table
    if tree is None or table is None:
        return []
    lines = [
        "## CART leaves",
        "",
        f"A classification tree (CART, Breiman et al. 1984; scikit-learn) on the same points and cases: depth at "
        f"most {tree.depth}, leaves of at least {tree.min_points} points (share {tree.min_leaf:g}). Each leaf is a "
        "box: the conditions on its path, with coverage and density as for PRIM. Densest first; leaf numbers as "
        "in the rules below.",
        "",
        "| leaf | conditions | tree says | coverage | density | mass | points |",
        "|---|---|---|---|---|---|---|",
    ]
    for leaf in sorted(tree.leaves, key=lambda lf: (-lf.stats.density, -lf.stats.coverage, lf.number)):
        st = leaf.stats
        where = " and ".join(f"`{c}`" for c in leaf.conditions) or "all points"
        lines.append(
            f"| {leaf.number} | {where} | {'cases of interest' if leaf.interest else 'other'} | {st.coverage:.3f} | "
            f"{st.density:.3f} | {st.mass:.3f} | {st.points} |"
        )
    lines += ["", "Rules:", "", "```text", tree.rules, "```", ""]
    for leaf in (lf for lf in tree.leaves if lf.interest):
        st = leaf.stats
        lines += [
            f"### Leaf {leaf.number}",
            "",
            f"coverage {st.coverage:.3f}, density {st.density:.3f}, mass {st.mass:.3f} ({st.points} points)",
            "",
            *_ranges(table[table["box"] == leaf.number]),
        ]
    if not any(lf.interest for lf in tree.leaves):
        lines += ["No leaf has a majority of cases of interest at this depth and leaf size.", ""]
    return lines


def to_markdown(result: DiscoveryResult, source: str = "", figures: Sequence[str] = ()) -> str:
    """Readable summary: one table of ranges per PRIM box, the CART leaves and rules, links to `figures`."""
    n, k = len(result.points), int((result.points["share"] >= result.threshold).sum())
    lines = [f"# Scenario discovery: where is P({result.outcome}) >= {result.threshold:g}?", ""]
    if source:
        lines += [f"Folder: `{source}`.", ""]
    for note in result.notes:
        lines += [f"Note: {note}.", ""]
    lines += [
        f"{n} design points; {k} are cases of interest (share of runs with `{result.outcome}` >= "
        f"{result.threshold:g}); base rate {k / n:.3f}. PRIM (Friedman & Fisher 1999), peeling share "
        f"{result.alpha:g}, minimum box mass {result.mass_min:g}; the box shown is the densest with coverage >= "
        f"{result.min_coverage:g}.",
        "",
    ]
    for i, (stats, _) in enumerate(result.boxes, start=1):
        rows = result.table[result.table["box"] == i]
        mean_share = rows["mean_share"].iloc[0]
        lines += [
            f"## Box {i}",
            "",
            f"coverage {stats.coverage:.3f}, density {stats.density:.3f}, mass {stats.mass:.3f} "
            f"({stats.points} points); mean P({result.outcome}) in the box {mean_share:.3f}",
            "",
            *_ranges(rows),
        ]
    lines += _cart_markdown(result)
    shown = [f for f in figures if f.endswith(".png")] or list(figures)
    if shown:
        lines += ["## Figures", ""]
        for path in shown:
            lines += [f"![{Path(path).stem}]({path})", ""]
    return "\n".join(lines)


def _write_atomic(path: Path, write: Any) -> Path:
    tmp = path.parent / f".{path.name}.tmp"
    write(tmp)
    os.replace(tmp, path)
    return path


def write_discovery(
    out_dir: str | Path, result: DiscoveryResult, figure_formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """discovery.csv (PRIM box ranges), discovery_trajectory.csv, discovery_cart.csv (CART leaves as boxes),
    figures/discovery_*.png|svg (peeling trade-off and box limits per box; none when `figure_formats` is
    empty) and discovery.md linking them. Figures of an earlier call are removed first."""
    out_dir = Path(out_dir)
    written = []
    frames = [(DISCOVERY_FILE, result.table), (TRAJECTORY_FILE, result.trajectory)]
    if result.cart_table is not None:
        frames.append((CART_FILE, result.cart_table))
    for name, frame in frames:
        written.append(_write_atomic(out_dir / name, lambda tmp, frame=frame: frame.to_csv(tmp, index=False)))
    fig_dir = out_dir / FIGURES_DIR
    for stale in [*fig_dir.glob("discovery_*.png"), *fig_dir.glob("discovery_*.svg")]:
        stale.unlink(missing_ok=True)
    figures: list[Path] = []
    if figure_formats:
        from abm.analysis.discovery_figures import draw_discovery

        figures = draw_discovery(result, fig_dir, figure_formats)
    links = [p.relative_to(out_dir).as_posix() for p in figures]
    text = to_markdown(result, str(out_dir), links) + "\n"
    written.append(_write_atomic(out_dir / MARKDOWN_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8")))
    return written + figures
