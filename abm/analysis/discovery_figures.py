"""Scenario-discovery figures: PRIM's peeling trade-off and a box's limits (as EMA Workbench draws them).

* Trade-off (Bryant & Lempert 2010, fig. 3; EMA Workbench's `show_tradeoff`): coverage against
  density for every box on the peeling trajectory, coloured by how many parameters the box
  restricts, the chosen box ringed. The CART leaves that the tree calls cases of interest are
  drawn on the same axes, since coverage and density mean the same for both.
* Box limits (EMA Workbench's `inspect(style="graph")`): for each restricted parameter, its full
  range as a grey bar scaled to [0, 1] and the box's limits as a coloured bar on it, with the
  values written at the ends; a categorical parameter shows each value as a dot, filled when the
  box keeps it.

Object API on the Agg canvas, as `abm.analysis.figures` (no pyplot state, no display).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from abm.analysis.discovery import Box, BoxStats, DiscoveryResult, Leaf, full_box, restricted_dims
from abm.analysis.figures import FIGURE_FORMATS, save

BOX_COLOR, RANGE_COLOR, CHOSEN_COLOR, CART_COLOR = "#2e86c1", "#d5d8dc", "#c0392b", "#7d3c98"


def _num(x: float) -> str:
    return f"{x:.3g}"


def tradeoff(
    trajectory: Sequence[BoxStats],
    chosen: BoxStats,
    whole: Box,
    title: str,
    min_coverage: float | None = None,
    leaves: Sequence[Leaf] = (),
) -> Figure:
    """Coverage (x) against density (y) for each peeling step; colour = number of restricted parameters."""
    coverage = np.array([b.coverage for b in trajectory])
    density = np.array([b.density for b in trajectory])
    dims = np.array([len(restricted_dims(b.box, whole)) for b in trajectory])
    fig = Figure(figsize=(7.0, 5.0))
    ax = fig.subplots()
    ax.plot(coverage, density, color="#aab7b8", lw=0.8, zorder=1)
    top = int(dims.max()) if len(dims) else 0
    norm = BoundaryNorm(np.arange(-0.5, top + 1.5), ncolors=256)
    points = ax.scatter(coverage, density, c=dims, cmap="viridis", norm=norm, s=22, zorder=2)
    bar = fig.colorbar(points, ax=ax, ticks=range(top + 1))
    bar.set_label("restricted parameters")
    ax.scatter([chosen.coverage], [chosen.density], s=180, facecolors="none", edgecolors=CHOSEN_COLOR, lw=2, zorder=3)
    ax.annotate(
        f"chosen: step {chosen.step}\ncoverage {chosen.coverage:.2f}, density {chosen.density:.2f}",
        (chosen.coverage, chosen.density),
        xytext=(-12, -12),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=8,
        color=CHOSEN_COLOR,
    )
    handles = [
        Line2D([], [], ls="", marker="o", ms=11, mfc="none", mec=CHOSEN_COLOR, mew=2, label="chosen box"),
    ]
    if min_coverage is not None:
        ax.axvline(min_coverage, color="#7f8c8d", ls=":", lw=1)
        handles.append(Line2D([], [], color="#7f8c8d", ls=":", label=f"minimum coverage {min_coverage:g}"))
    ax.axhline(trajectory[0].density, color="#7f8c8d", ls="--", lw=0.8)
    handles.append(Line2D([], [], color="#7f8c8d", ls="--", lw=0.8, label="density of all points"))
    interest = [lf for lf in leaves if lf.interest]
    if interest:
        ax.scatter(
            [lf.stats.coverage for lf in interest],
            [lf.stats.density for lf in interest],
            marker="X",
            s=60,
            color=CART_COLOR,
            zorder=3,
        )
        at: dict[tuple[float, float], list[int]] = {}  # leaves at the same spot share one label
        for lf in interest:
            at.setdefault((round(lf.stats.coverage, 6), round(lf.stats.density, 6)), []).append(lf.number)
        for (cov, dens), numbers in at.items():
            ax.annotate(
                f"leaf {numbers[0]}" if len(numbers) == 1 else f"leaves {', '.join(map(str, numbers))}",
                (cov, dens),
                xytext=(-6, 6) if cov > 0.85 else (6, 6),  # near the right edge: label to the left
                textcoords="offset points",
                ha="right" if cov > 0.85 else "left",
                fontsize=7,
                color=CART_COLOR,
            )
        handles.append(Line2D([], [], ls="", marker="X", ms=8, color=CART_COLOR, label="CART leaf (cases of interest)"))
    ax.set_xlim(-0.02, 1.05)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("coverage (share of all cases of interest inside the box)")
    ax.set_ylabel("density (share of points in the box that are cases)")
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, fontsize=8, loc="lower left")
    ax.set_title(title)
    return fig


def _numeric_row(ax: Axes, y: float, low: float, high: float, flow: float, fhigh: float) -> None:
    span = fhigh - flow
    lo, hi = ((low - flow) / span, (high - flow) / span) if span > 0 else (0.0, 1.0)
    ax.plot([0, 1], [y, y], color=RANGE_COLOR, lw=10, solid_capstyle="butt", zorder=1)
    ax.plot([lo, hi], [y, y], color=BOX_COLOR, lw=10, solid_capstyle="butt", zorder=2)
    ax.text(-0.01, y, _num(flow), ha="right", va="center", fontsize=8, color="#7f8c8d")
    ax.text(1.01, y, _num(fhigh), ha="left", va="center", fontsize=8, color="#7f8c8d")
    if lo > 0:
        ax.text(lo, y + 0.3, _num(low), ha="center", va="bottom", fontsize=8, color=BOX_COLOR)
    if hi < 1:
        ax.text(hi, y + 0.3, _num(high), ha="center", va="bottom", fontsize=8, color=BOX_COLOR)


def _categorical_row(ax: Axes, y: float, allowed: frozenset, full: frozenset) -> None:
    values = sorted(full, key=str)
    xs = np.linspace(0, 1, len(values)) if len(values) > 1 else np.array([0.5])
    ax.plot([0, 1], [y, y], color=RANGE_COLOR, lw=1, zorder=1)
    for x, value in zip(xs, values, strict=True):
        kept = value in allowed
        ax.scatter(
            [x],
            [y],
            s=90,
            zorder=2,
            facecolors=BOX_COLOR if kept else "white",
            edgecolors=BOX_COLOR if kept else "#7f8c8d",
        )
        ax.text(
            x,
            y + 0.3,
            str(value),
            ha="center",
            va="bottom",
            fontsize=8,
            color=BOX_COLOR if kept else "#7f8c8d",
        )


def box_limits(stats: BoxStats, whole: Box, title: str) -> Figure:
    """Each restricted parameter's limits in the box against its full range (all parameters if none is)."""
    names = restricted_dims(stats.box, whole) or [n for n, *_ in whole.limits] + [n for n, _ in whole.categories]
    limits = {n: (lo, hi) for n, lo, hi in stats.box.limits}
    full = {n: (lo, hi) for n, lo, hi in whole.limits}
    cats, full_cats = dict(stats.box.categories), dict(whole.categories)
    fig = Figure(figsize=(7.5, 1.0 + 0.75 * len(names)))
    ax = fig.subplots()
    for i, name in enumerate(names):
        y = len(names) - 1 - i  # first parameter on top
        if name in limits:
            _numeric_row(ax, y, *limits[name], *full[name])
        else:
            _categorical_row(ax, y, cats[name], full_cats[name])
    ax.set_yticks(range(len(names)), list(reversed(names)))
    ax.set_ylim(-0.6, len(names) - 0.1)
    ax.set_xlim(-0.12, 1.12)
    ax.set_xticks([0, 0.5, 1], ["lowest", "middle", "highest"])
    ax.set_xlabel("position in the parameter's full range (grey: all design values; blue: the box)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.set_title(title, fontsize=10)
    return fig


def draw_discovery(result: DiscoveryResult, fig_dir: Path, formats: Sequence[str] = FIGURE_FORMATS) -> list[Path]:
    """discovery_tradeoff_boxK and discovery_limits_boxK for each PRIM box; returns the paths written."""
    whole = full_box(result.X)
    what = f"P({result.outcome}) >= {result.threshold:g}"
    leaves = result.cart.leaves if result.cart is not None else ()
    written: list[Path] = []
    for i, (chosen, trajectory) in enumerate(result.boxes, start=1):
        fig = tradeoff(
            trajectory,
            chosen,
            whole,
            f"PRIM box {i}: peeling trade-off ({what})",
            result.min_coverage,
            leaves if i == 1 else (),
        )
        written += save(fig, fig_dir / f"discovery_tradeoff_box{i}", formats)
        title = (
            f"PRIM box {i} ({what}): coverage {chosen.coverage:.2f}, density {chosen.density:.2f}, "
            f"{chosen.points} points"
        )
        written += save(box_limits(chosen, whole, title), fig_dir / f"discovery_limits_box{i}", formats)
    return written
