"""The figure of `abm robust`: per setting, P(outcome) over the worlds and its regret.

Two panels sharing the settings axis, best minimax-regret setting at the top: left, P(outcome)
in every world (one dot per world, a box over them; satisficing thresholds on that outcome as
dashed lines); right, the regret in every world. A world keeps the same vertical offset in every
row, so one world can be followed across settings (they share its runs' seeds). Box plots and
strips rather than means: robustness is about the spread and the worst worlds, not the average.

Object API on the Agg canvas, as `abm.analysis.figures` (no pyplot state, no display).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from abm.analysis.figures import OUTCOME_COLORS
from abm.analysis.robust import Criterion, regret, wide

REGRET_COLOR = "#7d3c98"
STRIP_HEIGHT = 0.5  # the worlds of a setting spread over this much of its row


def _offsets(worlds: int) -> np.ndarray:
    """Vertical offset of each world within a row (deterministic, no jitter stream)."""
    return np.zeros(1) if worlds == 1 else np.linspace(-STRIP_HEIGHT / 2, STRIP_HEIGHT / 2, worlds)


def _strip_box(ax: Axes, table: pd.DataFrame, order: Sequence[int], color: str) -> None:
    """A horizontal box and one dot per world for each setting of `order` (top row first)."""
    rows = [table.loc[s].dropna().to_numpy(dtype=float) * 100 for s in order]
    y = np.arange(len(order))[::-1]
    ax.boxplot(
        rows,
        positions=y,
        orientation="horizontal",
        widths=0.7,
        manage_ticks=False,
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": "white", "edgecolor": "#566573"},
        medianprops={"color": "black"},
        whiskerprops={"color": "#566573"},
        capprops={"color": "#566573"},
    )
    offsets = _offsets(table.shape[1])
    for yi, s in zip(y, order, strict=True):
        values = table.loc[s].to_numpy(dtype=float) * 100
        ax.scatter(values, yi + offsets, s=14, color=color, alpha=0.75, zorder=3, linewidths=0)
    ax.grid(axis="x", alpha=0.3)


def robust_figure(
    cells: pd.DataFrame, summary: pd.DataFrame, outcome: str, criteria: Sequence[Criterion], title: str
) -> Figure:
    """P(outcome) and regret per world, one row per setting (best minimax-regret rank at the top)."""
    ranked = summary.sort_values("rank_minimax", kind="stable")
    order = [int(s) for s in ranked["setting"]]
    labels = [str(label).replace(", ", "\n") for label in ranked["label"]]
    p = wide(cells, outcome)
    lines_per_label = max(label.count("\n") + 1 for label in labels)
    height = 1.6 + len(order) * (0.35 + 0.18 * lines_per_label)
    fig = Figure(figsize=(11.0, height), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=[1.2, 1.0])
    _strip_box(left, p, order, OUTCOME_COLORS.get(outcome, "C0"))
    for c in (c for c in criteria if c.outcome == outcome):
        left.axvline(100 * c.threshold, color="black", linestyle="--", linewidth=1, label=f"satisficing: {c.label}")
    if any(c.outcome == outcome for c in criteria):
        left.legend(fontsize=8, loc="best")
    left.set_xlabel(f"P({outcome}) in each world (% of runs)")
    left.set_ylabel("lever setting (best minimax regret at the top)")
    left.set_title(f"P({outcome}) across worlds", fontsize=10)
    _strip_box(right, regret(p, outcome), order, REGRET_COLOR)
    right.set_xlabel("regret in each world (percentage points behind the best setting there)")
    right.set_title("regret across worlds (0 = best setting in that world)", fontsize=10)
    right.set_xlim(left=min(-1.0, right.get_xlim()[0]))
    left.set_yticks(np.arange(len(order))[::-1], labels, fontsize=8)
    left.set_ylim(-0.6, len(order) - 0.4)
    fig.suptitle(title, fontsize=11)
    return fig
