"""Hindcast figures: a reliability diagram (a panel per sample) and a timeline of forecast probabilities per record.

matplotlib's object API on the Agg canvas (no pyplot state, no display). Every figure has a
title, labelled axes with units and a legend, and is written as PNG and SVG.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from abm.hindcast.questions import QUESTIONS
from abm.hindcast.record import SAMPLES
from abm.hindcast.scoring import RELIABILITY_BINS, reliability

DPI = 150
SAMPLE_STYLE = {"in-sample": ("#1f77b4", "o"), "held-out": ("#d62728", "s"), "out-of-sample": ("#9467bd", "D")}
WINDOW_COLOR = {7: "#1f77b4", 30: "#ff7f0e", 90: "#8c564b"}
EVENT_COLOR = "#2ca02c"


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write `stem.png` and `stem.svg`; returns both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=DPI, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    return paths


def _samples(data: pd.DataFrame) -> list[str]:
    present = set(data["sample"])
    return [s for s in SAMPLES if s in present] + sorted(present - set(SAMPLES))


def reliability_diagram(forecasts: pd.DataFrame, title: str = "Hindcast reliability") -> Figure:
    """Observed frequency against forecast probability per bin, a panel per sample, with bin counts.

    `forecasts` has columns sample, p, outcome; unresolved forecasts (outcome NA) are left out.
    Samples (in-sample, held-out, out-of-sample) get a column each, never a shared curve; the
    lower panel of a column gives the number of forecasts in each bin (the weight behind each point).
    """
    data = forecasts.dropna(subset=["outcome", "p"])
    samples = _samples(data) or ["(no resolved forecast)"]
    n = len(samples)
    fig = Figure(figsize=(6.0 * n + 1.5, 8.5))
    axes = fig.subplots(
        2, n, sharex=True, squeeze=False, gridspec_kw={"height_ratios": [3, 1.3], "hspace": 0.08, "wspace": 0.25}
    )
    edges = np.asarray(RELIABILITY_BINS)
    width = np.diff(edges)
    for i, sample in enumerate(samples):
        top, bottom = axes[0, i], axes[1, i]
        part = data[data["sample"] == sample]
        color, marker = SAMPLE_STYLE.get(sample, (f"C{i + 3}", "^"))
        top.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1, label="perfect calibration")
        counts = np.zeros(len(edges) - 1, dtype=int)
        if len(part):
            table = reliability(part["p"].to_numpy(float), part["outcome"].to_numpy(float), RELIABILITY_BINS)
            err = np.vstack([table["observed"] - table["ci_low"], table["ci_high"] - table["observed"]])
            top.errorbar(
                table["mean_p"],
                table["observed"],
                yerr=np.clip(err, 0, None),
                fmt=marker,
                ls="-",
                lw=0.8,
                alpha=0.9,
                color=color,
                capsize=3,
                ms=6,
                label=f"{len(part)} forecasts, {int(part['outcome'].sum())} events (95% Wilson CI)",
            )
            counts = np.histogram(part["p"].to_numpy(float), bins=edges)[0]
        bars = bottom.bar(edges[:-1] + width / 2, counts, width=width * 0.8, color=color, alpha=0.8)
        bottom.bar_label(bars, labels=[str(c) if c else "" for c in counts], fontsize=7, color=color, padding=1)
        records = ", ".join(dict.fromkeys(part["record"])) if "record" in part else ""
        top.set_title(f"{sample}" + (f"\n({records})" if records else ""), fontsize=10)
        top.set_xlim(-0.02, 1.02)
        top.set_ylim(-0.03, 1.03)
        top.grid(alpha=0.3)
        top.legend(loc="upper left", fontsize=8)
        bottom.set_yscale("log")
        bottom.set_ylim(0.7, max(1, int(counts.max()) if len(counts) else 1) * 3)
        bottom.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
        bottom.set_xlabel(
            "forecast probability p (model, share of runs;\nbin edges "
            + ", ".join(f"{e:g}" for e in edges[1:-1])
            + ")",
            fontsize=8,
        )
        bottom.grid(alpha=0.3)
        if i == 0:
            top.set_ylabel("observed frequency of the event (share of forecasts)")
            bottom.set_ylabel("forecasts per bin\n(count, log scale)")
    fig.suptitle(title, fontsize=12)
    return fig


def timeline(
    forecasts: pd.DataFrame,
    observed_days: dict[str, list[dt.date]],
    title: str,
    covers_until: dt.date | None = None,
    parties: tuple[str, str] | None = None,
) -> Figure:
    """Forecast probability per question and window over the forecast dates, with the observed events marked.

    `forecasts`: one record's rows (date, question, window, p, outcome, p_climatology).
    `observed_days`: question -> dates on which the record shows its event. Markers are filled
    when the event happened in that forecast's window, hollow when it did not, grey when the
    window runs past the record (unresolved). The date axis runs at least 30 days past the last
    forecast date and on to the record's last date `covers_until` (so every event that resolves
    a window is on the plot), but not past the end of the longest window; the part after
    `covers_until` is shaded. Panel titles name the record's `parties`.
    """
    names = [q.name for q in QUESTIONS if q.name in set(forecasts["question"])]
    ncols = 2
    nrows = (len(names) + ncols - 1) // ncols
    fig = Figure(figsize=(13, 3.0 * nrows + 1.0))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    dates = pd.to_datetime(forecasts["date"])
    lo, hi = dates.min(), dates.max()
    windows = sorted({int(w) for w in forecasts["window"]})
    pad = pd.Timedelta(days=max(1, (hi - lo).days // 30 + 1))
    reach = hi + pd.Timedelta(days=max(windows))
    shown = max(hi + pd.Timedelta(days=min(30, max(windows))), pd.Timestamp(covers_until or hi))
    right = min(reach, shown) + pad
    texts = {q.name: q.render(parties) for q in QUESTIONS}
    for ax, name in zip(axes, names, strict=False):
        part = forecasts[forecasts["question"] == name]
        for w in windows:
            rows = part[part["window"] == w].sort_values("date")
            if rows.empty:
                continue
            x = pd.to_datetime(rows["date"])
            color = WINDOW_COLOR.get(w, "C3")
            ax.plot(x, rows["p"], "-", color=color, lw=1.4)
            out = pd.to_numeric(rows["outcome"], errors="coerce").astype(float).to_numpy()
            yes, no, unk = out == 1.0, out == 0.0, np.isnan(out)
            ax.plot(x[yes], rows["p"][yes], "o", color=color, ms=7)
            ax.plot(x[no], rows["p"][no], "o", mfc="white", mec=color, ms=7)
            ax.plot(x[unk], rows["p"][unk], "o", color="0.6", ms=5)
            if "p_climatology" in rows:
                ax.axhline(float(rows["p_climatology"].iloc[0]), color=color, ls=":", lw=1)
        for day in observed_days.get(name, []):
            ts = pd.Timestamp(day)
            if lo - pad <= ts <= right:
                ax.axvline(ts, color=EVENT_COLOR, lw=2, alpha=0.7)
        if covers_until is not None and pd.Timestamp(covers_until) < right:
            ax.axvspan(pd.Timestamp(covers_until) + pd.Timedelta(hours=12), right, color="0.88", zorder=0)
        ax.set_title(f"{name}: " + textwrap.fill(texts.get(name, name), 72), fontsize=9)
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel("P(event in window)")
        ax.grid(alpha=0.3)
        ax.set_xlim(lo - pad, right)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in axes[max(0, len(names) - ncols) : len(names)]:
        ax.set_xlabel("forecast date (end of day)")
        locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.tick_params(axis="x", labelbottom=True)
    handles = [
        Line2D([], [], color=WINDOW_COLOR.get(w, "C3"), marker="o", lw=1.4, label=f"model, next {w} days")
        for w in windows
    ]
    handles += [
        Line2D([], [], color="0.3", ls=":", label="climatology (dotted, window colour)"),
        Line2D([], [], color="0.3", marker="o", ls="", label="filled: event happened in the window"),
        Line2D([], [], color="0.3", marker="o", mfc="white", ls="", label="hollow: it did not"),
        Line2D([], [], color="0.6", marker="o", ls="", label="grey: window outruns the record"),
        Line2D([], [], color=EVENT_COLOR, lw=2, label="observed event (date)"),
    ]
    if covers_until is not None and pd.Timestamp(covers_until) < right:
        handles.append(Patch(color="0.88", label=f"after the record's last date ({covers_until:%d %b %Y})"))
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.01))
    fig.suptitle(title, fontsize=12)
    fig.subplots_adjust(bottom=0.14 if nrows <= 3 else 0.1, hspace=0.45, wspace=0.15, top=0.91)
    return fig
