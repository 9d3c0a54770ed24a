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
from abm.defaults import PRIM_PEEL as ALPHA
from abm.model.outcomes import OUTCOMES
from abm.runner.reader import open_folder
from abm.runner.storage import RUNS_DIR

DISCOVERY_FILE, TRAJECTORY_FILE, MARKDOWN_FILE = "discovery.csv", "discovery_trajectory.csv", "discovery.md"
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
    alpha: float = ALPHA,
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
    alpha: float = ALPHA,
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
    alpha: float = ALPHA
    mass_min: float = MASS_MIN
    notes: list[str] = field(default_factory=list)  # about the folder read (e.g. not finished)


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


def box_table(boxes: Sequence[tuple[BoxStats, list[BoxStats]]], X: pd.DataFrame, shares: np.ndarray) -> pd.DataFrame:
    """One row per (box, parameter): range in the box vs the full range, plus the box's statistics."""
    whole = full_box(X)
    rows = []
    for i, (stats, _) in enumerate(boxes, start=1):
        mask = stats.box.contains(X)
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


def trajectory_table(boxes: Sequence[tuple[BoxStats, list[BoxStats]]]) -> pd.DataFrame:
    rows = [
        {
            "box": i,
            "step": b.step,
            "coverage": b.coverage,
            "density": b.density,
            "mass": b.mass,
            "points": b.points,
            "chosen": b.step == chosen.step,
        }
        for i, (chosen, trajectory) in enumerate(boxes, start=1)
        for b in trajectory
    ]
    return pd.DataFrame(rows, columns=["box", "step", "coverage", "density", "mass", "points", "chosen"])


def discover(
    out_dir: str | Path,
    outcome: str = "spiral",
    threshold: float = 0.5,
    boxes: int = 1,
    alpha: float = ALPHA,
    mass_min: float = MASS_MIN,
    min_coverage: float = MIN_COVERAGE,
) -> DiscoveryResult:
    """PRIM on a sweep folder: boxes of parameter space where P(outcome) >= threshold at most points."""
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
    return DiscoveryResult(
        outcome,
        threshold,
        found,
        points,
        varied,
        box_table(found, X, points["share"].to_numpy()),
        trajectory_table(found),
        min_coverage,
        alpha,
        mass_min,
        list(folder.notes),
    )


def _num(x: float) -> str:
    return f"{x:.4g}"


def to_markdown(result: DiscoveryResult, source: str = "") -> str:
    """Readable summary: one table of ranges per box, with coverage and density."""
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
            "| parameter | range in box | full range | restricted |",
            "|---|---|---|---|",
        ]
        for _, r in rows.sort_values("restricted", ascending=False).iterrows():
            if r["kind"] == "numeric":
                inside, full = (
                    f"{_num(r['low'])} – {_num(r['high'])}",
                    f"{_num(r['full_low'])} – {_num(r['full_high'])}",
                )
            else:
                inside, full = r["values"], r["full_values"]
            lines.append(f"| `{r['param']}` | {inside} | {full} | {'yes' if r['restricted'] else 'no'} |")
        lines.append("")
    return "\n".join(lines)


def write_discovery(out_dir: str | Path, result: DiscoveryResult) -> list[Path]:
    """discovery.csv (box ranges), discovery_trajectory.csv, discovery.md."""
    out_dir = Path(out_dir)
    written = []
    for name, frame in ((DISCOVERY_FILE, result.table), (TRAJECTORY_FILE, result.trajectory)):
        tmp = out_dir / f".{name}.tmp"
        frame.to_csv(tmp, index=False)
        os.replace(tmp, out_dir / name)
        written.append(out_dir / name)
    tmp = out_dir / f".{MARKDOWN_FILE}.tmp"
    tmp.write_text(to_markdown(result, str(out_dir)) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / MARKDOWN_FILE)
    written.append(out_dir / MARKDOWN_FILE)
    return written
