"""Report figures (matplotlib, object API on the Agg canvas: no pyplot state, no display needed).

Every figure has a title, axis labels with units and a legend, and is saved as PNG and SVG.
The data preparation (ladder matrix, cumulative outcome curves) is in pure functions so
tests can check the numbers without drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from abm.model.outcomes import DEAL, OUTCOMES, SPIRAL
from abm.stats import wilson

OUTCOME_COLORS = {"spiral": "#c0392b", "deescalation": "#2e86c1", "deal": "#27ae60", "unresolved": "#7f8c8d"}
RUNG_LABELS = (
    "0 quiet / talks",
    "1 words",
    "2 economic",
    "3 posture",
    "4 cyber / naval",
    "5 militia attack",
    "6 limited strike",
    "7 lethal strike / killing",
    "8 direct interstate",
    "9 war",
)
LADDER_WINDOW_DAYS = 7
DPI = 150


FIGURE_FORMATS = ("png", "svg")


def save(fig: Figure, stem: Path, formats: Sequence[str] = FIGURE_FORMATS) -> list[Path]:
    """Write `stem.png` and/or `stem.svg`; returns the paths written."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, dpi=DPI if fmt == "png" else "figure", bbox_inches="tight")
        paths.append(path)
    return paths


def _yerr(p: np.ndarray, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Error-bar lengths; clipped at 0 because a Wilson bound at p = 0 can sit 1e-17 above p."""
    return np.clip(np.vstack([p - low.to_numpy(dtype=float), high.to_numpy(dtype=float) - p]), 0.0, None)


def _color(outcome: str, i: int) -> str:
    return OUTCOME_COLORS.get(outcome, f"C{i}")


def outcome_probabilities(
    table: pd.DataFrame, key: str, title: str, xlabel: str, order: Sequence[str] | None = None
) -> Figure:
    """P(outcome) per value of `key` with 95% Wilson error bars; `table` is long: key, outcome, p, ci_low, ci_high."""
    present = list(dict.fromkeys(table[key]))
    values = [v for v in order if v in present] if order is not None else present
    outcomes = [o for o in dict.fromkeys(table["outcome"]) if o != "error"]
    width = max(6.0, 1.2 * len(values) + 2)
    fig = Figure(figsize=(min(width, 14), 4.5))
    ax = fig.subplots()
    x = np.arange(len(values))
    step = 0.7 / max(len(outcomes), 1)
    for i, outcome in enumerate(outcomes):
        rows = table[table["outcome"] == outcome].set_index(key).reindex(values)
        p = rows["p"].to_numpy(dtype=float)
        err = _yerr(p, rows["ci_low"], rows["ci_high"])
        ax.errorbar(
            x + (i - (len(outcomes) - 1) / 2) * step,
            p,
            yerr=err,
            fmt="o",
            capsize=3,
            color=_color(outcome, i),
            label=outcome,
        )
    ax.set_xticks(
        x,
        [str(v) for v in values],
        rotation=30 if max(len(str(v)) for v in values) > 8 else 0,
        ha="right" if max(len(str(v)) for v in values) > 8 else "center",
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("probability (share of runs)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    ax.legend(title="outcome (95% Wilson CI)", fontsize=8, title_fontsize=8, loc="best")
    return fig


def outcome_bars(table: pd.DataFrame, title: str) -> Figure:
    """Bars of P(outcome) with 95% Wilson error bars for one set of runs; `table`: outcome, p, ci_low, ci_high."""
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.subplots()
    x = np.arange(len(table))
    p = table["p"].to_numpy(dtype=float)
    err = _yerr(p, table["ci_low"], table["ci_high"])
    for i, (outcome, xi, pi) in enumerate(zip(table["outcome"], x, p, strict=True)):
        ax.bar(xi, pi, yerr=err[:, i : i + 1], capsize=4, color=_color(outcome, i), label=f"{outcome}: {pi:.3f}")
    ax.set_xticks(x, list(table["outcome"]))
    ax.set_xlabel("outcome")
    ax.set_ylabel("probability (share of runs)")
    ax.set_ylim(0, 1.02)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    ax.legend(title="p (error bars: 95% Wilson CI)", fontsize=8, title_fontsize=8, loc="upper left")
    return fig


def ladder_shares(
    events: pd.DataFrame, runs: pd.DataFrame, horizon: int, window: int = LADDER_WINDOW_DAYS
) -> np.ndarray:
    """Share of runs at each rung (rows 0-9) on each day (columns 0..horizon).

    A run's rung on day t is the highest rung of its actions in the `window` days up to t (0 when
    none). Runs that ended early stay where they ended: from the day a spiral began they count
    as rung 9 (war), from the day a deal was signed as rung 0.
    """
    keys = ["point", "run"] if "point" in runs and "point" in events else ["run"]
    n_runs = len(runs)
    daily = np.zeros((n_runs, horizon + 1), dtype=np.int8)
    ev = events.dropna(subset=["rung"])
    ev = ev[(ev["day"] >= 0) & (ev["day"] <= horizon)]
    rows = pd.MultiIndex.from_frame(runs[keys]).get_indexer(pd.MultiIndex.from_frame(ev[keys]))
    ev, rows = ev[rows >= 0], rows[rows >= 0]
    np.maximum.at(daily, (rows, ev["day"].to_numpy(dtype=int)), ev["rung"].to_numpy(dtype=np.int8))
    level = daily.copy()
    for shift in range(1, window):
        level[:, shift:] = np.maximum(level[:, shift:], daily[:, :-shift])
    days = np.arange(horizon + 1)
    outcome, end = runs["outcome"].to_numpy(), runs["days"].to_numpy()
    for i in range(n_runs):
        if outcome[i] == SPIRAL:
            level[i, days >= end[i]] = 9
        elif outcome[i] == DEAL:
            level[i, days >= end[i]] = 0
    return np.vstack([(level == r).mean(axis=0) for r in range(10)]) if n_runs else np.zeros((10, horizon + 1))


def ladder(panels: Mapping[str, np.ndarray], title: str) -> Figure:
    """Stacked areas: share of runs at each rung by day, one panel per group."""
    n = len(panels)
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(6.2 * cols + 1.8, 3.4 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    colors = [_ladder_color(r) for r in range(10)]
    for ax, (label, shares) in zip(axes, panels.items(), strict=False):
        days = np.arange(shares.shape[1])
        ax.stackplot(days, shares, colors=colors, labels=RUNG_LABELS, linewidth=0)
        ax.set_xlim(0, days[-1])
        ax.set_ylim(0, 1)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("day since the trigger (days)")
        ax.set_ylabel("share of runs")
    for ax in axes[n:]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles[::-1],
        labels[::-1],
        title=f"rung (highest, last {LADDER_WINDOW_DAYS} days)",
        loc="outside right",
        fontsize=8,
        title_fontsize=8,
    )
    fig.suptitle(title)
    return fig


def _ladder_color(rung: int) -> tuple[float, float, float, float]:
    from matplotlib import colormaps

    return colormaps["RdYlBu_r"](0.05 + 0.9 * rung / 9)


def cumulative_outcomes(runs: pd.DataFrame, outcome: str, horizon: int) -> np.ndarray:
    """Share of runs (all runs in the group) that reached `outcome` by each day 0..horizon."""
    n = len(runs)
    if n == 0:
        return np.zeros(horizon + 1)
    days = runs.loc[runs["outcome"] == outcome, "days"].to_numpy(dtype=int)
    counts = np.bincount(np.clip(days, 0, horizon), minlength=horizon + 1)
    return np.cumsum(counts) / n


def time_to_outcome(
    groups: Mapping[str, pd.DataFrame],
    horizon: int,
    title: str,
    outcomes: Sequence[str] = (SPIRAL, "deescalation", DEAL),
) -> Figure:
    """Cumulative share of runs reaching each outcome by day; one panel per outcome that occurs, one line per group."""
    reached = [o for o in outcomes if any((runs["outcome"] == o).any() for runs in groups.values())]
    outcomes = reached or list(outcomes[:1])
    fig = Figure(figsize=(4.2 * len(outcomes) + 1.5, 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(outcomes), squeeze=False)).ravel()
    for ax, outcome in zip(axes, outcomes, strict=True):
        for i, (label, runs) in enumerate(groups.items()):
            curve = cumulative_outcomes(runs, outcome, horizon)
            ax.step(np.arange(horizon + 1), curve, where="post", color=f"C{i}", label=label)
        ax.set_title(outcome, color=_color(outcome, 0))
        ax.set_xlabel("day the outcome was reached (days)")
        ax.set_ylabel("cumulative share of runs")
        ax.set_xlim(0, horizon)
        ax.grid(alpha=0.3)
    _legend_below(fig, axes[0], "group")
    fig.suptitle(title)
    return fig


def _legend_below(fig: Figure, ax: Axes, title: str) -> None:
    """One legend for all panels, under them (the groups are the same in every panel)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncol=min(len(labels), 3), fontsize=8, title=title, title_fontsize=8
    )


CURVE_PANELS = (
    ("spiral", "P(spiral by day t)", OUTCOME_COLORS["spiral"]),
    ("deal", "P(deal by day t)", OUTCOME_COLORS["deal"]),
    ("quiet", "P(state track quiet at day t)", OUTCOME_COLORS["deescalation"]),
)


def time_curves(groups: Mapping[str, pd.DataFrame], title: str) -> Figure:
    """Cumulative incidence with 95% Wilson bands: spiral by t, deal by t, state track quiet at t.

    `groups` maps a label (point, arm, "all runs") to its curve table (`abm.analysis.curves`);
    one panel per curve, groups overlaid (one colour each; a single group takes the outcome
    colours). The quiet panel is left out when no group has it (no `state_hot_days`)."""
    panels = [p for p in CURVE_PANELS if any(t[f"p_{p[0]}"].notna().any() for t in groups.values())]
    panels = panels or list(CURVE_PANELS[:1])
    fig = Figure(figsize=(4.2 * len(panels) + 1.5, 3.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)).ravel()
    for ax, (name, label, own) in zip(axes, panels, strict=True):
        top = 0.0
        for i, (group, table) in enumerate(groups.items()):
            color = own if len(groups) == 1 else f"C{i}"
            day = table["day"].to_numpy()
            low, high = table[f"{name}_low"].to_numpy(dtype=float), table[f"{name}_high"].to_numpy(dtype=float)
            ax.fill_between(day, low, high, step="post", color=color, alpha=0.18, linewidth=0)
            ax.step(day, table[f"p_{name}"].to_numpy(dtype=float), where="post", color=color, label=group)
            top = max(top, float(np.nanmax(high, initial=0.0)))
        upper = min(1.0, 1.1 * top + 0.02)
        ax.set_ylim(-0.02 * upper, upper + 0.02 * upper)  # a curve at 0 or 1 stays visible off the frame
        ax.set_xlim(0, max(int(t["day"].max()) for t in groups.values()))
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("day since the trigger, t (days)")
        ax.set_ylabel("share of runs")
        ax.grid(alpha=0.3)
    if len(groups) == 1:  # one colour per panel: the group is named in the title, not in a legend
        fig.suptitle(f"{title}\n{next(iter(groups))}; bands: 95% Wilson intervals", fontsize=11)
        return fig
    _legend_below(fig, axes[0], "lines: share of runs; bands: 95% Wilson interval")
    fig.suptitle(title)
    return fig


def forest(table: pd.DataFrame, title: str, alpha: float = 0.05) -> Figure:
    """Difference B - A per lever pair and outcome with its interval; filled markers: p_adjusted < alpha."""
    rows = table[~((table["p_a"] == 0) & (table["p_b"] == 0))].reset_index(drop=True)
    pairs = list(dict.fromkeys(zip(rows["lever"], rows["value_a"], rows["value_b"], strict=True)))
    outcomes = [o for o in OUTCOMES if o in set(rows["outcome"])]
    fig = Figure(figsize=(8.5, 1.0 + 0.28 * len(rows) + 0.35 * len(pairs)), layout="constrained")
    ax = fig.subplots()
    y, ticks, labels = 0.0, [], []
    drawn: set[str] = set()
    for lever, a, b in reversed(pairs):
        block = rows[(rows["lever"] == lever) & (rows["value_a"] == a) & (rows["value_b"] == b)]
        start = y
        for i, outcome in enumerate(reversed(outcomes)):
            r = block[block["outcome"] == outcome]
            if r.empty:
                continue
            r = r.iloc[0]
            d, lo, hi = 100 * r["diff"], 100 * r["ci_low"], 100 * r["ci_high"]
            significant = bool(r["p_adjusted"] < alpha)
            color = _color(outcome, i)
            ax.errorbar(
                d,
                y,
                xerr=[[max(d - lo, 0.0)], [max(hi - d, 0.0)]],
                fmt="o",
                color=color,
                capsize=3,
                markerfacecolor=color if significant else "white",
                label=outcome if outcome not in drawn else None,
            )
            drawn.add(outcome)
            y += 1
        ticks.append((start + y - 1) / 2)
        labels.append(f"{lever}\n{a} → {b}")
        y += 0.8
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(ticks, labels, fontsize=8)
    ax.set_xlabel("difference in probability, B − A (percentage points, 95% CI)")
    ax.set_ylabel("lever: value A → value B")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    handles, names = ax.get_legend_handles_labels()
    order = [names.index(o) for o in OUTCOMES if o in names]
    ax.legend(
        [handles[i] for i in order],
        [names[i] for i in order],
        fontsize=8,
        loc="best",
        title=f"outcome (filled: adjusted p < {alpha:g})",
        title_fontsize=8,
    )
    return fig


def sensitivity_bars(indices: pd.DataFrame, method: str, outputs: Sequence[str], title: str) -> Figure:
    """Tornado-style horizontal bars per parameter: Sobol ST and S1, or Morris mu* (with sigma)."""
    outputs = [o for o in outputs if o in set(indices["outcome_metric"])]
    fig = Figure(figsize=(5.0 * len(outputs) + 1.0, 1.4 + 0.45 * indices["param"].nunique()), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(outputs), squeeze=False)).ravel()
    for ax, output in zip(axes, outputs, strict=True):
        rows = indices[indices["outcome_metric"] == output]
        key = "ST" if method == "sobol" else "mu_star"
        rows = rows.sort_values(key)
        y = np.arange(len(rows))
        if method == "sobol":
            ax.barh(
                y + 0.2, rows["ST"], height=0.4, xerr=rows["ST_conf"], color="#34495e", label="total (ST)", capsize=2
            )
            ax.barh(
                y - 0.2,
                rows["S1"],
                height=0.4,
                xerr=rows["S1_conf"],
                color="#95a5a6",
                label="first order (S1)",
                capsize=2,
            )
            ax.set_xlabel("Sobol index (share of output variance, 95% CI)")
        else:
            ax.barh(
                y,
                rows["mu_star"],
                height=0.6,
                xerr=rows["mu_star_conf"],
                color="#34495e",
                label="μ* (95% CI)",
                capsize=2,
            )
            ax.plot(rows["sigma"], y, "D", color="#e67e22", label="σ (interactions / non-linearity)")
            unit = "probability" if output.startswith("p_") else "metric units"
            ax.set_xlabel(f"mean |elementary effect| ({unit} per parameter range)")
        ax.set_yticks(y, rows["param"], fontsize=8)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(output, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("parameter")
    fig.suptitle(title)
    return fig


def wilson_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Add p and Wilson bounds to a frame with `count` and `n` columns."""
    out = counts.copy()
    out["p"] = out["count"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson(out["count"].to_numpy(), out["n"].to_numpy())
    return out
