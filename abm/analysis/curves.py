"""Time curves of a run set: P(spiral by day t), P(deal by day t), P(state track quiet at day t).

Why: an outcome label is read at the horizon, so a result could hinge on where the horizon
falls (MODEL.md §7, issue 16). The curves show the same runs on every day 0..horizon:

* `p_spiral`: share of runs whose spiral began on or before day t (`outcome == "spiral"` and
  `days <= t`); `p_deal` likewise for deals (signing day). Both only grow with t.
* `p_quiet`: share of runs whose state track is quiet at day t: no spiral by t, and no day of
  the run's `state_hot_days` (days with a state-track act above rung 3) in the window
  t-29..t (`QUIET_WINDOW_DAYS` = 30 days). A deal ends a run early: it counts as quiet once
  30 days have passed since its last hot day, as if nothing more happened. A spiral run is
  never quiet from its spiral day on. Without a `state_hot_days` column (folders written
  before the model recorded it) the quiet columns are NaN.

Failed runs (`error` not null) are left out: `n` counts the good runs. Intervals are the
project's Wilson interval (`abm.stats.wilson`). Everything is counted with numpy
(`bincount` over day offsets; a run's hot days become disjoint busy intervals), so 100,000
runs x 180 days take well under a second; `write_curves` reads a results folder part file by
part file, like `summary.csv` (through `abm.runner.reader`: every part checked against the
manifest before it is parsed), so memory grows with points x days, not with runs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from abm.analysis.summary import RUNS_DIR, folder_of, read_columns
from abm.model.outcomes import DEAL, QUIET_WINDOW_DAYS, SPIRAL
from abm.runner.reader import RunFolder
from abm.stats import ALPHA, wilson

HOT_DAYS = "state_hot_days"
HORIZON_KEY = "horizon_days"
CURVES_FILE = "curves.csv"
CURVES: tuple[str, ...] = ("spiral", "deal", "quiet")  # p_<curve>, <curve>_low, <curve>_high
CURVE_COLUMNS: tuple[str, ...] = ("day", "n", *(c for k in CURVES for c in (f"p_{k}", f"{k}_low", f"{k}_high")))
REPORT_DAYS: tuple[int, ...] = (30, 90, 180)
CURVE_LABELS = {
    "spiral": "P(spiral by day t)",
    "deal": "P(deal by day t)",
    "quiet": "P(state track quiet at day t)",
}


def report_days(horizon: int) -> list[int]:
    """Days printed and compared: 30, 90 and 180 up to the horizon, and the horizon itself.

    The horizon is added so a short run (e.g. 60 days) still shows its end, and the last row
    matches the horizon's outcome table."""
    return sorted({d for d in REPORT_DAYS if d <= horizon} | {int(horizon)})


def curve_label(curve: str, day: int) -> str:
    """A curve at one day for people: "spiral by day 30", "deal by day 90", "quiet at day 180"."""
    return f"{curve} {'at' if curve == 'quiet' else 'by'} day {day}"


@dataclass
class CurveCounts:
    """Counts behind one curve table: good runs, and per day 0..horizon the runs that had
    spiralled / signed a deal by that day and whose state track was quiet at it."""

    n: int
    spiral: np.ndarray
    deal: np.ndarray
    quiet: np.ndarray | None  # None without state_hot_days

    def __add__(self, other: CurveCounts) -> CurveCounts:
        quiet = None if self.quiet is None or other.quiet is None else self.quiet + other.quiet
        return CurveCounts(self.n + other.n, self.spiral + other.spiral, self.deal + other.deal, quiet)


# ---------------------------------------------------------------- per-run pieces


def _good(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["error"].isna().to_numpy()] if "error" in runs else runs


def _is(outcome: pd.Series, label: str) -> np.ndarray:
    return (outcome == label).to_numpy(dtype=bool, na_value=False)


def _day_index(days: pd.Series, width: int) -> np.ndarray:
    """`days` as grid indices: clipped to [0, width]; `width` (and a missing day) means after the grid."""
    values = pd.to_numeric(days, errors="coerce").to_numpy(dtype=float, na_value=np.inf)
    return np.clip(values, 0, width).astype(np.int64)


def hot_days(cells: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(row position, day) of every hot day, sorted by row then day, repeats dropped.

    Cells may be numpy arrays, lists, None, NaN or an Arrow list column; the model writes
    sorted distinct days, but a hand-made table need not."""
    arr = pa.array(cells, type=pa.list_(pa.int64()), from_pandas=True)
    rows = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    days = pc.list_flatten(arr).to_numpy(zero_copy_only=False)
    if days.dtype.kind == "f":  # a null inside a list: not a day
        keep = ~np.isnan(days)
        rows, days = rows[keep], days[keep]
    days = days.astype(np.int64)
    step_ok = (rows[1:] > rows[:-1]) | ((rows[1:] == rows[:-1]) & (days[1:] > days[:-1]))
    if not step_ok.all():
        order = np.lexsort((days, rows))
        rows, days = rows[order], days[order]
        first = np.ones(len(days), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (days[1:] != days[:-1])
        rows, days = rows[first], days[first]
    return rows, days


def indicators(runs: pd.DataFrame, day: int) -> dict[str, np.ndarray]:
    """Per row of `runs` (order kept, failed runs not removed): spiral by `day`, deal by `day`,
    and (with `state_hot_days`) state track quiet at `day`, as boolean arrays keyed by CURVES.

    The per-run events behind the curves, for paired tests at a given day (`abm compare`)."""
    days = pd.to_numeric(runs["days"], errors="coerce").to_numpy(dtype=float, na_value=np.inf)
    spiral = _is(runs["outcome"], SPIRAL) & (days <= day)
    out = {"spiral": spiral, "deal": _is(runs["outcome"], DEAL) & (days <= day)}
    if HOT_DAYS in runs:
        rows, hot = hot_days(runs[HOT_DAYS])
        near = np.zeros(len(runs), dtype=bool)
        near[rows[(hot > day - QUIET_WINDOW_DAYS) & (hot <= day)]] = True
        out["quiet"] = ~spiral & ~near
    return out


# ---------------------------------------------------------------- counting


def _tally(
    good: pd.DataFrame, codes: np.ndarray, groups: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Per group (`codes` of the good runs, 0..groups-1) and day 0..width-1: n, spiral, deal, quiet counts.

    Each count lives on a grid of `width + 1` columns per group; the last one collects what
    falls after the grid and is dropped."""
    stride = width + 1
    size = groups * stride
    day = _day_index(good["days"], width)
    spiral, deal = _is(good["outcome"], SPIRAL), _is(good["outcome"], DEAL)

    def grid(index: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(index, weights, minlength=size).reshape(groups, stride)[:, :width]

    n = np.bincount(codes, minlength=groups)
    spiral_by = grid(codes[spiral] * stride + day[spiral]).cumsum(axis=1)
    deal_by = grid(codes[deal] * stride + day[deal]).cumsum(axis=1)
    if HOT_DAYS not in good:
        return n, spiral_by, deal_by, None
    rows, hot = hot_days(good[HOT_DAYS])
    # Hot day h keeps the state track busy on days h..h+29. Cut at the run's next hot day, the
    # pieces [h, min(h + 30, next)) are disjoint, so +1/-1 at their ends counts runs, not hot days.
    following = np.full(len(hot), np.iinfo(np.int64).max // 2, dtype=np.int64)
    same = rows[1:] == rows[:-1]
    following[:-1][same] = hot[1:][same]
    stop = np.where(spiral, day, width)[rows]  # a spiral run is busy from its spiral day on (added below)
    start = np.clip(hot, 0, width)
    end = np.clip(np.minimum(np.minimum(hot + QUIET_WINDOW_DAYS, following), stop), 0, width)
    keep = start < end
    base = codes[rows[keep]] * stride
    busy_steps = np.bincount(base + start[keep], minlength=size) - np.bincount(base + end[keep], minlength=size)
    busy_steps += np.bincount(codes[spiral] * stride + day[spiral], minlength=size)
    busy = busy_steps.reshape(groups, stride)[:, :width].cumsum(axis=1)
    return n, spiral_by, deal_by, n[:, None] - busy


def curve_counts(runs: pd.DataFrame, horizon: int) -> CurveCounts:
    """Counts for days 0..horizon of one set of runs (failed runs left out)."""
    good = _good(runs)
    n, spiral, deal, quiet = _tally(good, np.zeros(len(good), dtype=np.int64), 1, int(horizon) + 1)
    return CurveCounts(int(n[0]), spiral[0], deal[0], None if quiet is None else quiet[0])


def curve_table(counts: CurveCounts, alpha: float = ALPHA) -> pd.DataFrame:
    """`day, n, p_spiral, spiral_low, spiral_high, p_deal, …, quiet_high` from counts (NaN when n = 0
    or, for quiet, without hot days)."""
    width = len(counts.spiral)
    frame = pd.DataFrame({"day": np.arange(width, dtype=np.int64), "n": np.full(width, counts.n, dtype=np.int64)})
    for name, count in zip(CURVES, (counts.spiral, counts.deal, counts.quiet), strict=True):
        if count is None or counts.n == 0:
            p = low = high = np.full(width, math.nan)
        else:
            p = count / counts.n
            low, high = wilson(np.asarray(count, dtype=float), np.full(width, float(counts.n)), alpha)
        frame[f"p_{name}"], frame[f"{name}_low"], frame[f"{name}_high"] = p, low, high
    return frame[list(CURVE_COLUMNS)]


def curves(runs: pd.DataFrame, horizon: int, alpha: float = ALPHA) -> pd.DataFrame:
    """Curve table of an in-memory runs table (one row per run) for days 0..horizon."""
    return curve_table(curve_counts(runs, horizon), alpha)


# ---------------------------------------------------------------- a results folder


def folder_horizon(out_dir: Path | RunFolder) -> int | None:
    """The scenario's horizon from the folder's manifest (None when it records none)."""
    try:
        manifest = folder_of(out_dir).manifest
        return int(manifest["config"][HORIZON_KEY])
    except (ValueError, KeyError, TypeError):
        return None


def _point_horizons(frame: pd.DataFrame, points: np.ndarray, horizon: int | None) -> list[int]:
    """Horizon of each point: its own `horizon_days` when the sweep varies it, else the scenario's."""
    if HORIZON_KEY in frame:
        first = frame.groupby(frame["point"].to_numpy(), sort=False)[HORIZON_KEY].first()
        return [int(first[p]) for p in points]
    return [_latest_day(frame) if horizon is None else int(horizon)] * len(points)


def _latest_day(frame: pd.DataFrame) -> int:
    """The latest `days` of any run: the horizon of a folder without a manifest."""
    latest = pd.to_numeric(frame["days"], errors="coerce").max()
    return 0 if pd.isna(latest) else int(latest)


def accumulate(
    frames: Iterable[pd.DataFrame], horizon: int | None, totals: dict[int, CurveCounts] | None = None
) -> dict[int, CurveCounts]:
    """Add batches of runs (`point` column optional) into per-point counts; all points in one pass per batch."""
    totals = {} if totals is None else totals
    for frame in frames:
        if frame.empty:
            continue
        if "point" in frame:
            codes, points = pd.factorize(frame["point"], sort=True)
            points = np.asarray(points, dtype=np.int64)
        else:
            codes, points = np.zeros(len(frame), dtype=np.int64), np.array([0])
        horizons = _point_horizons(frame, points, horizon)
        ok = frame["error"].isna().to_numpy() if "error" in frame else np.ones(len(frame), dtype=bool)
        n, spiral, deal, quiet = _tally(frame[ok], codes[ok], len(points), max(horizons) + 1)
        for i, (point, h) in enumerate(zip(points.tolist(), horizons, strict=True)):
            part = CurveCounts(
                int(n[i]), spiral[i, : h + 1], deal[i, : h + 1], None if quiet is None else quiet[i, : h + 1]
            )
            totals[point] = totals[point] + part if point in totals else part
    return totals


def curves_dataset(runs_dir: str | Path | RunFolder, horizon: int | None = None, alpha: float = ALPHA) -> pd.DataFrame:
    """Curves of a results folder's runs (`DIR/runs`, `DIR`, or an opened folder), read in batches of only
    the columns needed (flat memory; every part verified).

    A sweep's dataset (with a `point` column) gives one curve per point, `point` first."""
    folder = folder_of(runs_dir, runs_dir=True)
    names = folder.schema(RUNS_DIR).names
    sweep = "point" in names
    wanted = ["point", HORIZON_KEY, "outcome", "days", "error", HOT_DAYS]
    columns = [c for c in wanted if c in names and (sweep or c not in ("point", HORIZON_KEY))]
    for required in ("outcome", "days"):
        if required not in columns:
            columns.append(required)  # the reader names the missing column
    if horizon is None and HORIZON_KEY not in columns:  # no horizon recorded: one horizon for every batch
        horizon = max((_latest_day(frame) for frame in read_columns(folder, ["days"])), default=0)
    totals = accumulate(read_columns(folder, columns), horizon)
    if not sweep:
        return curve_table(totals.get(0) or _empty(horizon or 0), alpha)
    tables = [curve_table(totals[p], alpha).assign(point=p) for p in sorted(totals)]
    if not tables:
        return pd.DataFrame(columns=["point", *CURVE_COLUMNS])
    table = pd.concat(tables, ignore_index=True)
    return table[["point", *CURVE_COLUMNS]]


def _empty(horizon: int) -> CurveCounts:
    zeros = np.zeros(horizon + 1, dtype=np.int64)
    return CurveCounts(0, zeros, zeros, zeros)


def write_curves(out_dir: str | Path | RunFolder, horizon: int | None = None, alpha: float = ALPHA) -> pd.DataFrame:
    """Compute `curves.csv` from the folder's (verified) runs and write it atomically; returns the table.

    `horizon` defaults to the manifest's scenario horizon (a sweep that varies `horizon_days`
    uses each point's own)."""
    folder = folder_of(out_dir)
    table = curves_dataset(folder, horizon if horizon is not None else folder_horizon(folder), alpha)
    tmp = folder.path / f".{CURVES_FILE}.tmp"
    table.to_csv(tmp, index=False)
    os.replace(tmp, folder.path / CURVES_FILE)
    return table


# ---------------------------------------------------------------- text


def _cell(p: float, low: float, high: float) -> str:
    return "n/a" if not math.isfinite(p) else f"{p:.3f} [{low:.3f}, {high:.3f}]"


def format_curves(table: pd.DataFrame, days: Sequence[int] | None = None) -> str:
    """Aligned text of a single curve table at `days` (default `report_days` of its last day)."""
    last = int(table["day"].max()) if len(table) else 0
    days = report_days(last) if days is None else [d for d in days if d <= last]
    rows = table.set_index("day").loc[list(days)]
    shown: Mapping[str, object] = {
        "day": rows.index.to_numpy(),
        **{
            CURVE_LABELS[k]: [
                _cell(p, lo, hi) for p, lo, hi in zip(rows[f"p_{k}"], rows[f"{k}_low"], rows[f"{k}_high"], strict=True)
            ]
            for k in CURVES
        },
    }
    n = int(table["n"].iloc[0]) if len(table) else 0
    return (
        pd.DataFrame(shown).to_string(index=False)
        + f"\n(n = {n} runs; p [95% Wilson interval]; quiet: no state-track act above rung 3 on days "
        f"t-{QUIET_WINDOW_DAYS - 1}..t; every day in {CURVES_FILE})"
    )


__all__ = [
    "CURVES",
    "CURVES_FILE",
    "CURVE_COLUMNS",
    "HOT_DAYS",
    "REPORT_DAYS",
    "CurveCounts",
    "curve_counts",
    "curve_label",
    "curve_table",
    "curves",
    "curves_dataset",
    "format_curves",
    "indicators",
    "report_days",
    "write_curves",
]
