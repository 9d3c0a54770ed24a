"""One run's climb up the ladder as a timeline: every act a marker at (day, rung), coloured by side.

Why: the story (`abm.analysis.story`) says what happened; the picture shows the shape at a
glance: how high each side went, when, who fired through proxies, which strikes came with a
warning, where people died, and when the outcome was reached. A state and its proxies share a
hue (the proxies lighter, each its own shape), so "Iran" and its proxies read as one camp.

`ladder_points` (pure: a table of what to draw) is separate from `ladder_timeline` (the
drawing), so tests check the data without looking at pixels. Matplotlib's object API on the Agg
canvas, as in `abm.analysis.figures`, whose `save` writes the PNG and SVG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from abm.analysis.figures import FIGURE_FORMATS, OUTCOME_COLORS, RUNG_LABELS, save
from abm.analysis.story import OUTCOME_NAMES, date_of, name_of
from abm.config import Scenario

SIDE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f")
PROXY_LIGHTEN = 0.45  # a proxy's colour: its patron's, this far towards white (same camp, told apart)
MARKERS = {"state": "o", "militia": "s"}  # a state (or its commander), a militia with no patron
PROXY_MARKERS = ("^", "v", "D", "P", "<", ">")  # a patron's proxies: its hue, told apart by shape
BASE_SIZE = 36.0  # marker area (points^2) of an act with no deaths
DEATH_SIZE = 14.0  # added area per sqrt(death): 100 deaths is a marker ~5x the area of none
DODGE = 0.16  # rungs between acts on the same day and rung, so none hides another
NO_RUNG_Y = -0.6  # where acts with no rung (accidents) sit, below the ladder
NO_RUNG_LABEL = "accident (no rung)"
WARNED_RING = 2.2  # a warned strike's ring: this many times its marker's area
ANNOTATE_MIN_DEATHS = 1  # acts with at least this many deaths carry their toll as text
CROWDED_DAYS = 8  # a toll this close (days) to the previous one on its rung goes below its marker, not above
LABEL_ABOVE, LABEL_BELOW = (5, 4), (5, -11)  # offsets (points) of a toll's text from its marker
POINT_COLUMNS = {
    "day": "int64", "y": "float64", "side": "object", "kind": "object", "color": "object", "marker": "object",
    "size": "float64", "deaths": "int64", "warned": "bool", "imposed": "bool", "no_rung": "bool", "label_below": "bool",
}  # fmt: skip


def _lighten(color: str, amount: float) -> str:
    rgb = np.array(to_rgb(color))
    return to_hex(rgb + (1.0 - rgb) * amount)


def camps(events: pd.DataFrame, scenario: Scenario) -> dict[str, tuple[str, str]]:
    """Each acting side's (camp, kind): a state is its own camp; a militia with a patron is in its patron's.

    In the scenario's order (states, then militias), each camp's proxies right after it: the legend's order."""
    out: dict[str, tuple[str, str]] = {}
    sides = events["side"].dropna().astype(str) if "side" in events else []
    for side in dict.fromkeys(sides):
        militia = scenario.militias.get(side)
        if militia is None:
            out[side] = (side, "state")
        elif militia.patron:
            out[side] = (militia.patron, "proxy")
        else:
            out[side] = (side, "militia")
    order = [*scenario.states, *scenario.militias]

    def rank(side: str) -> tuple[int, int]:
        camp = out[side][0]
        return (order.index(camp) if camp in order else len(order), order.index(side) if side in order else len(order))

    return {side: out[side] for side in sorted(out, key=rank)}


def side_markers(kinds: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """A marker per acting side: circles for states, squares for free militias, a shape per proxy of a camp."""
    out: dict[str, str] = {}
    for side, (camp, kind) in kinds.items():
        if kind == "proxy":
            rank = sum(1 for other in out if kinds[other] == (camp, "proxy"))
            out[side] = PROXY_MARKERS[rank % len(PROXY_MARKERS)]
        else:
            out[side] = MARKERS[kind]
    return out


def side_colors(events: pd.DataFrame, scenario: Scenario) -> dict[str, str]:
    """A colour per acting side: one hue per camp in the scenario's order, proxies a lighter shade of it."""
    kinds = camps(events, scenario)
    heads = list(dict.fromkeys(camp for camp, _ in kinds.values()))
    hue = {camp: SIDE_COLORS[i % len(SIDE_COLORS)] for i, camp in enumerate(heads)}
    return {
        side: _lighten(hue[camp], PROXY_LIGHTEN) if kind == "proxy" else hue[camp]
        for side, (camp, kind) in kinds.items()
    }


def ladder_points(events: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """What to draw, one row per act: day, y (its rung, dodged), side, kind, colour, marker, size and the
    flags drawn on top (deaths, warned, imposed). Acts with no rung (accidents) sit at `NO_RUNG_Y`."""
    if events.empty:
        return pd.DataFrame({k: pd.Series(dtype=t) for k, t in POINT_COLUMNS.items()})
    kinds, colors = camps(events, scenario), side_colors(events, scenario)
    markers = side_markers(kinds)
    ev = events.reset_index(drop=True)
    rung = pd.to_numeric(ev["rung"], errors="coerce")
    deaths = pd.to_numeric(ev["deaths"], errors="coerce").fillna(0).astype(int)
    slot = ev.assign(_r=rung.fillna(NO_RUNG_Y)).groupby(["day", "_r"]).cumcount()
    crowd = ev.assign(_r=rung.fillna(NO_RUNG_Y)).groupby(["day", "_r"])["day"].transform("size")
    side = ev["side"].astype(str)
    points = pd.DataFrame(
        {
            "day": ev["day"].astype(int),
            "y": rung.fillna(NO_RUNG_Y) + (slot - (crowd - 1) / 2) * DODGE,
            "side": side,
            "kind": [kinds[s][1] for s in side],
            "color": [colors[s] for s in side],
            "marker": [markers[s] for s in side],
            "size": BASE_SIZE + DEATH_SIZE * np.sqrt(deaths),
            "deaths": deaths,
            "warned": ev.get("warned", pd.Series(False, index=ev.index)).fillna(False).astype(bool),
            "imposed": ev.get("imposed", pd.Series(False, index=ev.index)).fillna(False).astype(bool),
        }
    )
    points["no_rung"] = rung.isna()
    points["label_below"] = _label_below(points, rung.fillna(NO_RUNG_Y))
    return points


def _label_below(points: pd.DataFrame, rung: pd.Series) -> pd.Series:
    """Per act, whether its toll's text goes below its marker: it alternates along a rung while the tolls
    come within `CROWDED_DAYS` of each other, so neighbouring numbers do not overprint."""
    below = pd.Series(False, index=points.index)
    tolls = points[points["deaths"] >= ANNOTATE_MIN_DEATHS].assign(_r=rung).sort_values(["_r", "day"], kind="stable")
    for _, group in tolls.groupby("_r"):
        last_day, last_below = None, True
        for i, day in group["day"].items():
            flip = last_day is not None and day - last_day < CROWDED_DAYS and not last_below
            below[i], last_day, last_below = flip, day, flip
    return below


def ladder_timeline(events: pd.DataFrame, scenario: Scenario, record: Mapping[str, Any], title: str) -> Figure:
    """The run's acts on the ladder by day (dates under the days), the outcome as a line at its day."""
    points = ladder_points(events, scenario)
    fig = Figure(figsize=(11.0, 5.2), layout="constrained")
    ax = fig.subplots()
    for (marker, imposed), group in points.groupby(["marker", "imposed"], sort=False):
        ax.scatter(
            group["day"],
            group["y"],
            s=group["size"],
            marker=marker,
            c="white" if imposed else list(group["color"]),
            edgecolors=list(group["color"]) if imposed else "black",
            linewidths=1.6 if imposed else 0.4,
            zorder=3,
        )
    warned = points[points["warned"]]
    ax.scatter(
        warned["day"],
        warned["y"],
        s=warned["size"] * WARNED_RING,
        facecolors="none",
        edgecolors="black",
        linewidths=1.2,
        zorder=2,
    )
    for row in points[points["deaths"] >= ANNOTATE_MIN_DEATHS].itertuples():
        offset = LABEL_BELOW if row.label_below else LABEL_ABOVE
        ax.annotate(f"{row.deaths}†", (row.day, row.y), xytext=offset, textcoords="offset points", fontsize=7)
    _outcome(ax, record, scenario)
    _axes(ax, points, scenario, record)
    ax.legend(
        handles=_legend(events, scenario, record),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        title="who acted, and how",
        title_fontsize=8,
        frameon=False,
    )
    ax.set_title(title, fontsize=10)
    return fig


def _outcome(ax: Axes, record: Mapping[str, Any], scenario: Scenario) -> None:
    label, day = record.get("outcome"), record.get("days")
    if label is None or day is None or pd.isna(day):
        return
    color = OUTCOME_COLORS.get(str(label), "black")
    ax.axvline(int(day), color=color, linestyle=":", linewidth=1.5, zorder=1)
    ax.annotate(
        f"{OUTCOME_NAMES.get(str(label), label)}\nday {int(day)} ({date_of(scenario.start_date, int(day))})",
        (int(day), 9.4),
        xytext=(4, 0),
        textcoords="offset points",
        color=color,
        fontsize=8,
        va="top",
    )


def _axes(ax: Axes, points: pd.DataFrame, scenario: Scenario, record: Mapping[str, Any]) -> None:
    last = max(int(points["day"].max()) if len(points) else 0, int(record.get("days") or 0), 1)
    ax.set_xlim(-0.02 * last - 1, last * 1.02 + 1)
    unranked = bool(points["no_rung"].any())
    ax.set_ylim(NO_RUNG_Y - 0.5 if unranked else -0.5, len(RUNG_LABELS) - 0.4)
    ticks = [*([NO_RUNG_Y] if unranked else []), *range(len(RUNG_LABELS))]
    ax.set_yticks(ticks, [*([NO_RUNG_LABEL] if unranked else []), *RUNG_LABELS], fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x)}\n{date_of(scenario.start_date, int(x))[:-5]}"))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(f"day of the crisis (date; day 0 = {date_of(scenario.start_date, 0)})")
    ax.set_ylabel("escalation rung")
    ax.grid(axis="y", alpha=0.3)


def _legend(events: pd.DataFrame, scenario: Scenario, record: Mapping[str, Any]) -> list[Line2D]:
    kinds, colors = camps(events, scenario), side_colors(events, scenario)
    markers = side_markers(kinds)
    handles = []
    for side, (camp, kind) in kinds.items():
        name = name_of(side, scenario).text
        if kind == "proxy":
            name += f" (proxy of {name_of(camp, scenario).text})"
        handles.append(_handle(markers[side], colors[side], name))
    handles += [
        Line2D([], [], marker="o", linestyle="none", mfc="white", mec="grey", mew=1.6, label="observed (history)"),
        Line2D([], [], marker="o", linestyle="none", mfc="none", mec="black", ms=11, label="warned strike (ring)"),
        Line2D([], [], marker="o", linestyle="none", color="grey", ms=9, label="n† deaths (larger marker)"),
    ]
    label = record.get("outcome")
    if label is not None:
        handles.append(
            Line2D(
                [],
                [],
                color=OUTCOME_COLORS.get(str(label), "black"),
                linestyle=":",
                label=f"outcome: {OUTCOME_NAMES.get(str(label), label)}",
            )
        )
    return handles


def _handle(marker: str, color: str, label: str) -> Line2D:
    return Line2D([], [], marker=marker, linestyle="none", mfc=color, mec="black", mew=0.4, ms=7, label=label)


def write_ladder_timeline(
    events: pd.DataFrame,
    scenario: Scenario,
    record: Mapping[str, Any],
    stem: Path,
    title: str,
    formats: Sequence[str] = FIGURE_FORMATS,
) -> list[Path]:
    """Draw the timeline and write `stem.png` and `stem.svg`; returns the paths written."""
    return save(ladder_timeline(events, scenario, record, title), stem, formats)
