"""What each panel of the explore page shows: pure tables of a model's state, and the matplotlib figures.

Kept apart from Solara (`abm.explore.components` wraps these) so tests check the numbers without a
browser, as `abm.analysis.ladder_plot` keeps `ladder_points` apart from its drawing:

* `network_nodes` / `network_figure`: the regional network today (nodes = states, militias,
  commanders, sites): a state coloured by alert, sized by face deficit and labelled with its belief
  that its adversary has unlimited aims; a militia coloured by revenge; a killed commander crossed;
* `trace_frame` / `by_day_figure`: the states' alert, face deficit and belief by day so far;
* `events_frame` / `timeline_figure`: the ladder timeline of the acts so far
  (`abm.analysis.ladder_plot.ladder_timeline`, the figure of `abm replay --plot`);
* `run_curves`: N runs of the page's scenario and their time curves (`abm.api.run`, `abm.api.plot_curves`).

Figures use matplotlib's object API (no pyplot state), as `abm.analysis.figures` does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from abm.analysis.ladder_plot import SIDE_COLORS, ladder_timeline
from abm.analysis.story import date_of, name_of
from abm.config import Scenario
from abm.explore.model import TRACE_COLUMNS
from abm.model.history import EVENT_FIELDS
from abm.model.model import CrisisModel
from abm.model.simulate import summarize

ALERT_MAX = 3  # the schema's alert scale: 0 peacetime .. 3 maximum
ALERT_CMAP, REVENGE_CMAP = "YlOrRd", "Purples"
STATE_SIZE, FACE_SIZE, FACE_SIZE_CAP = 900.0, 420.0, 4200.0  # marker area: base + per sqrt(face deficit), capped
MILITIA_SIZE, COMMANDER_SIZE, SITE_SIZE = 420.0, 170.0, 70.0
SHAPES = {"state": "o", "militia": "s", "commander": "D", "site": "^"}
# Edges drawn, and how (reach edges, every actor to every site it can strike, would hide the rest).
EDGE_STYLES: Mapping[str, dict[str, Any]] = {
    "patron": {"color": "#6c3483", "linewidth": 1.8, "linestyle": "-"},
    "alliance": {"color": "#1f77b4", "linewidth": 1.8, "linestyle": "-"},
    "channel": {"color": "#27ae60", "linewidth": 1.4, "linestyle": "--"},
    "command": {"color": "#555555", "linewidth": 0.9, "linestyle": "-"},
    "presence": {"color": "#bbbbbb", "linewidth": 0.7, "linestyle": "-"},
    "host": {"color": "#bbbbbb", "linewidth": 0.7, "linestyle": ":"},
}
CLOSED_CHANNEL = {"color": "#c0392b", "linewidth": 1.0, "linestyle": ":"}
LAYOUT_WEIGHTS = {"patron": 1.2, "command": 0.9, "alliance": 1.3, "channel": 1.8, "presence": 1.0, "host": 0.8}
# Figure sizes (inches at 100 dpi), for half of a wide browser window each.
NETWORK_SIZE, TIMELINE_SIZE, BY_DAY_SIZE = (8.0, 6.8), (8.4, 4.4), (8.0, 4.8)
NODE_COLUMNS = ("node", "kind", "name", "x", "y", "color", "size", "marker", "label", "dead")
BY_DAY_PANELS = (
    ("alert", "alert (0-3)"),
    ("face", "face deficit"),
    ("belief", "P(adversary has\nunlimited aims)"),
)


def short_name(ident: str, scenario: Scenario) -> str:
    """An actor's or site's name for a label: its scenario label, else readable from its id, without "the"."""
    text = name_of(ident, scenario).text
    return text[4:] if text.startswith("the ") else text


# ---------------------------------------------------------------- the network


@functools.lru_cache(maxsize=16)
def _layout(nodes: tuple[str, ...], edges: tuple[tuple[str, str, float], ...]) -> dict[str, tuple[float, float]]:
    g = nx.Graph()
    g.add_nodes_from(nodes)
    for u, v, w in edges:
        if not g.has_edge(u, v) or g[u][v]["weight"] > w:
            g.add_edge(u, v, weight=w)
    start = nx.circular_layout(sorted(nodes))  # a fixed start: the same picture in every session
    try:
        pos = nx.kamada_kawai_layout(g, pos=start, weight="weight")
    except (nx.NetworkXException, ValueError):
        pos = nx.spring_layout(g, pos=start, seed=0, weight="weight")
    return {n: (float(p[0]), float(p[1])) for n, p in pos.items()}


def network_layout(graph: nx.MultiDiGraph) -> dict[str, tuple[float, float]]:
    """Node positions: Kamada-Kawai on the network without reach edges (a militia next to its patron, a
    commander next to its force, a site next to whoever is there), from a fixed start, so the picture
    stays put from day to day, across Reset and across sessions."""
    edges = tuple(
        sorted((min(u, v), max(u, v), LAYOUT_WEIGHTS[k]) for u, v, k in graph.edges(data="kind") if k in LAYOUT_WEIGHTS)
    )
    return _layout(tuple(sorted(graph.nodes)), edges)


def _face_size(face: float) -> float:
    return min(FACE_SIZE_CAP, STATE_SIZE + FACE_SIZE * math.sqrt(max(face, 0.0)))


def network_nodes(model: CrisisModel) -> pd.DataFrame:
    """What the network view draws today, one row per node (`NODE_COLUMNS`): position, colour (a state's alert,
    a militia's revenge, grey for commanders and sites), size (a state's face deficit), marker, label, killed."""
    scenario = model.scenario
    graph = model.topo.graph
    pos = network_layout(graph)
    today = {row["actor"]: row for row in _today(model)}
    alert_map, revenge_map = colormaps[ALERT_CMAP], colormaps[REVENGE_CMAP]
    alert_norm = BoundaryNorm(np.arange(-0.5, ALERT_MAX + 1.0), alert_map.N)
    rows = []
    for node, kind in graph.nodes(data="kind"):
        name = short_name(node, scenario)
        row = today.get(node, {})
        dead = kind == "commander" and row.get("alive") is False
        color, size, label = "#d5d8dc", SITE_SIZE, name
        if kind == "state":
            color = alert_map(alert_norm(row["alert"]))
            size = _face_size(row["face"])
            label = f"{name}\nalert {row['alert']} · face {row['face']:.1f}"
            if row["belief_of"]:
                label += f"\nP({short_name(row['belief_of'], scenario)} unlimited) {row['belief']:.2f}"
        elif kind == "militia":
            color = revenge_map(0.25 + 0.75 * float(row["revenge"]))
            size = MILITIA_SIZE
            label = f"{name}\nrevenge {row['revenge']:.2f}"
        elif kind == "commander":
            color, size = ("#7f8c8d" if not dead else "#ffffff"), COMMANDER_SIZE
            label = f"{name} (killed)" if dead else name
        x, y = pos[node]
        rows.append((node, kind, name, x, y, color, size, SHAPES.get(kind, "o"), label, dead))
    return pd.DataFrame(rows, columns=list(NODE_COLUMNS))


def _today(model: CrisisModel) -> list[dict[str, Any]]:
    trace = getattr(model, "trace", None)
    if trace:
        return [row for row in trace if row["day"] == model.day]
    from abm.explore.model import actor_rows

    return actor_rows(model)


def network_edges(model: CrisisModel) -> pd.DataFrame:
    """The edges drawn (not reach), one row per pair and kind: u, v, kind, open and a note. A pair's channels
    (the US and Iran talk through four) make one edge, open while any is, its note how many are open."""
    rows: dict[tuple[str, str, str], list[Any]] = {}
    channels: dict[tuple[str, str], dict[str, bool]] = {}
    for u, v, key, data in model.topo.graph.edges(keys=True, data=True):
        kind = data["kind"]
        if kind not in EDGE_STYLES:
            continue
        a, b = sorted((u, v))
        rows[(a, b, kind)] = [a, b, kind, True, ""]
        if kind == "channel":
            channels.setdefault((a, b), {})[key] = bool(data["open"])
    for (a, b), by_name in channels.items():
        n_open = sum(by_name.values())
        note = "" if n_open == len(by_name) else f"{n_open} of {len(by_name)} channels open"
        rows[(a, b, "channel")][3:] = [n_open > 0, note]
    return pd.DataFrame(list(rows.values()), columns=["u", "v", "kind", "open", "note"])


def network_figure(model: CrisisModel) -> Figure:
    """The regional network today: states by alert (colour) and face deficit (size), with their beliefs."""
    nodes = network_nodes(model).set_index("node")
    edges = network_edges(model)
    fig = Figure(figsize=NETWORK_SIZE, layout="constrained")
    ax = fig.subplots()
    for row in edges.itertuples():
        style = EDGE_STYLES[row.kind] if row.open else CLOSED_CHANNEL
        (x0, y0), (x1, y1) = nodes.loc[row.u, ["x", "y"]], nodes.loc[row.v, ["x", "y"]]
        ax.plot([x0, x1], [y0, y1], zorder=1, **style)
        if row.note:
            ax.annotate(row.note, ((x0 + x1) / 2, (y0 + y1) / 2), ha="center", va="bottom", fontsize=7,
                        color=style["color"], zorder=2)  # fmt: skip
    for (marker, dead), group in nodes.groupby(["marker", "dead"]):
        ax.scatter(
            group["x"],
            group["y"],
            s=group["size"],
            c=list(group["color"]),
            marker=marker,
            edgecolors="black",
            linewidths=0.6,
            zorder=3,
        )
        if dead:
            ax.scatter(group["x"], group["y"], s=group["size"], c="black", marker="x", zorder=4)
    for row in nodes.to_dict("records"):
        big = row["kind"] in ("state", "militia")
        ax.annotate(
            row["label"],
            (row["x"], row["y"]),
            xytext=(0, -(math.sqrt(row["size"]) / 2 + 2)),  # just below the marker (size is its area in pt^2)
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=8.5 if big else 6.5,
            color="black" if big else "#555555",
            fontweight="bold" if row["kind"] == "state" else "normal",
            zorder=5,
        )
    _network_legend(fig, ax)
    ax.set_axis_off()
    ax.margins(0.07)
    scenario = model.scenario
    ax.set_title(
        f"{scenario.name}: day {model.day} ({date_of(scenario.start_date, model.day)})  ·  "
        "state colour = alert, size = face deficit",
        fontsize=10,
    )
    return fig


def _network_legend(fig: Figure, ax: Any) -> None:
    handles = [
        Line2D([], [], marker="o", linestyle="none", mfc=colormaps[ALERT_CMAP](0.85), mec="black", ms=9,
               label="state (colour: alert 0-3)"),
        Line2D([], [], marker="s", linestyle="none", mfc=colormaps[REVENGE_CMAP](0.7), mec="black", ms=8,
               label="militia (colour: revenge)"),
        Line2D([], [], marker="D", linestyle="none", mfc="#7f8c8d", mec="black", ms=6, label="commander (× killed)"),
        Line2D([], [], marker="^", linestyle="none", mfc="#d5d8dc", mec="black", ms=6, label="site"),
        *(Line2D([], [], label=kind, **style) for kind, style in EDGE_STYLES.items()),
        Line2D([], [], label="channel (closed)", **CLOSED_CHANNEL),
    ]  # fmt: skip
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=7, frameon=False, ncols=5)
    sm = colormaps[ALERT_CMAP]
    bar = fig.colorbar(
        _mappable(sm), ax=ax, ticks=range(ALERT_MAX + 1), shrink=0.35, location="right", pad=0.01, label="state alert"
    )
    bar.ax.tick_params(labelsize=7)


def _mappable(cmap: Any) -> Any:
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=BoundaryNorm(np.arange(-0.5, ALERT_MAX + 1.0), cmap.N), cmap=cmap)


# ---------------------------------------------------------------- the states by day


def trace_frame(model: CrisisModel) -> pd.DataFrame:
    """Every actor's row of every day so far (`abm.explore.model.TRACE_COLUMNS`)."""
    rows = getattr(model, "trace", None)
    return pd.DataFrame(rows or [], columns=list(TRACE_COLUMNS))


def state_colors(scenario: Scenario) -> dict[str, str]:
    """A colour per state in the scenario's order (the ladder timeline's palette)."""
    return {sid: SIDE_COLORS[i % len(SIDE_COLORS)] for i, sid in enumerate(scenario.states)}


def by_day_figure(model: CrisisModel) -> Figure:
    """The states' alert, face deficit and belief that their adversary has unlimited aims, by day so far."""
    scenario = model.scenario
    states = trace_frame(model)
    states = states[states["kind"] == "state"]
    colors = state_colors(scenario)
    fig = Figure(figsize=BY_DAY_SIZE, layout="constrained")
    axes = fig.subplots(len(BY_DAY_PANELS), 1, sharex=True)
    for ax, (column, label) in zip(axes, BY_DAY_PANELS, strict=True):
        for sid, group in states.groupby("actor", sort=False):
            values = pd.to_numeric(group[column], errors="coerce")
            if values.isna().all():
                continue
            ax.step(group["day"], values, where="post", color=colors[sid], label=short_name(sid, scenario), lw=1.4)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(-0.2, ALERT_MAX + 0.2)
    axes[0].set_yticks(range(ALERT_MAX + 1))
    axes[2].set_ylim(-0.02, 1.02)
    axes[-1].set_xlabel(f"day of the crisis (day 0 = {date_of(scenario.start_date, 0)})", fontsize=8)
    axes[-1].set_xlim(0, max(model.day, 1))
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    axes[0].set_title(f"states by day, up to day {model.day}", fontsize=10)
    return fig


# ---------------------------------------------------------------- the ladder so far


def events_frame(model: CrisisModel) -> pd.DataFrame:
    """The run's acts so far, one row per event (`abm.model.history.EVENT_FIELDS`)."""
    return pd.DataFrame([ev.as_row() for ev in model.events], columns=list(EVENT_FIELDS))


def run_record(model: CrisisModel) -> dict[str, Any]:
    """The run's record (outcome and its day) once it has stopped; empty while it runs (no outcome yet)."""
    return {} if model.running else summarize(model)


def timeline_figure(model: CrisisModel) -> Figure:
    """The ladder timeline of the acts so far (that of `abm replay --plot`), the outcome marked once reached."""
    record = run_record(model)
    where = "stopped" if record else "so far"
    title = f"{model.scenario.name}: the ladder {where}, day {model.day}"
    fig = ladder_timeline(events_frame(model), model.scenario, record, title)
    fig.set_size_inches(*TIMELINE_SIZE)  # half a page wide, beside the network (constrained layout re-fits)
    return fig


# ---------------------------------------------------------------- N runs


def run_curves(scenario: Scenario, runs: int, seed: int) -> tuple[Any, Figure]:
    """`runs` runs of the scenario (master seed `seed`, as `abm run`), and their time curves figure:
    P(spiral by day t), P(deal by day t), P(state track quiet at day t) with 95% Wilson bands."""
    from abm.api import plot_curves, run

    result = run(scenario, runs=runs, seed=seed, jobs=1)
    return result, plot_curves(result, title=f"{scenario.name}: {runs} runs, seed {seed}")


def outcome_line(summary: pd.DataFrame) -> str:
    """The outcome table as one line: `spiral 12% · deescalation 80% · ...`."""
    return " · ".join(f"{row.outcome} {row.p:.0%}" for row in summary.itertuples())


__all__ = [
    "by_day_figure",
    "events_frame",
    "network_edges",
    "network_figure",
    "network_layout",
    "network_nodes",
    "outcome_line",
    "run_curves",
    "run_record",
    "timeline_figure",
    "trace_frame",
]
