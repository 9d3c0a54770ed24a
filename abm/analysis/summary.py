"""Outcome proportions with Wilson 95% intervals, per run set or per design point.

Wilson rather than Wald because outcomes such as `spiral` can be rare: the Wald interval
collapses to zero width at 0 counts and undercovers near 0 and 1 (Brown, Cai & DasGupta 2001).
Every outcome of `abm.model.outcomes.OUTCOMES` gets a row, even with count 0; failed runs get
an `error` row (only when there are some) and count in the denominator: p is over all runs,
so failures are visible, never silently dropped.

`write_summary(out_dir)` reads the Parquet dataset batch by batch (flat memory) and writes
`summary.csv`; `format_summary` renders the table for a terminal.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
from statsmodels.stats.proportion import proportion_confint

from abm.model.outcomes import OUTCOMES
from abm.model.records import RUN_COLUMNS

SUMMARY_COLUMNS = ("outcome", "count", "p", "ci_low", "ci_high")
ERROR_LABEL = "error"
SUMMARY_FILE = "summary.csv"
RUNS_DIR = "runs"
ALPHA = 0.05
BATCH_ROWS = 65_536


def wilson(count: Any, n: Any, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval of count/n (arrays allowed), via statsmodels."""
    low, high = proportion_confint(np.asarray(count), np.asarray(n), alpha=alpha, method="wilson")
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


def labels(runs: pd.DataFrame) -> pd.Series:
    """A run's label: its outcome, or `error` when it failed."""
    if "error" not in runs:
        return runs["outcome"].astype(object)
    return runs["outcome"].astype(object).where(runs["error"].isna(), ERROR_LABEL)


def _ordered_labels(seen: Iterable[str]) -> list[str]:
    """OUTCOMES first (always), then unexpected outcomes, then `error` if present."""
    seen = set(seen)
    extra = sorted(s for s in seen if s not in OUTCOMES and s != ERROR_LABEL)
    return [*OUTCOMES, *extra, *([ERROR_LABEL] if ERROR_LABEL in seen else [])]


def table_from_counts(counts: dict[tuple[Hashable, ...], Counter[str]], by: Sequence[str] = ()) -> pd.DataFrame:
    """Long table `by…, outcome, count, p, ci_low, ci_high` from per-group label counts."""
    rows = []
    for group, counter in counts.items():
        n = sum(counter.values())
        for label in _ordered_labels(k for k, v in counter.items() if v or k in OUTCOMES):
            rows.append({**dict(zip(by, group, strict=True)), "outcome": label, "count": counter.get(label, 0), "n": n})
    frame = pd.DataFrame(rows, columns=[*by, "outcome", "count", "n"])
    frame["count"] = frame["count"].astype("int64")
    frame["p"] = frame["count"] / frame["n"]
    low, high = wilson(frame["count"].to_numpy(), frame["n"].to_numpy())
    frame["ci_low"], frame["ci_high"] = low, high
    return frame.drop(columns="n")[[*by, *SUMMARY_COLUMNS]]


def summarize(runs: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Summary of an in-memory runs table (e.g. from `abm.runner.run_scenario`)."""
    tally: dict[tuple[Hashable, ...], Counter[str]] = {}
    _accumulate(tally, runs, list(by))
    return table_from_counts(dict(sorted(tally.items(), key=lambda kv: _sort_key(kv[0]))), by)


def _accumulate(tally: dict[tuple[Hashable, ...], Counter[str]], runs: pd.DataFrame, by: list[str]) -> None:
    frame = runs[by].copy() if by else pd.DataFrame(index=runs.index)
    frame["_label"] = labels(runs)
    sizes = frame.groupby([*by, "_label"], dropna=False, sort=False).size()
    for key, size in sizes.items():
        key = key if isinstance(key, tuple) else (key,)
        group, label = tuple(_plain(k) for k in key[:-1]), key[-1]
        tally.setdefault(group, Counter())[label] += int(size)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python, NaN -> None, so group keys compare and print cleanly."""
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _sort_key(group: tuple[Hashable, ...]) -> tuple[Any, ...]:
    return tuple((v is None, str(type(v)), v) if v is not None else (True, "", 0) for v in group)


def parameter_columns(names: Sequence[str]) -> list[str]:
    """Columns of a runs table that hold design parameters (neither ids nor model output)."""
    fixed = {"point", "run", "seed", "error", *RUN_COLUMNS}
    return [c for c in names if c not in fixed]


def summarize_dataset(runs_dir: str | Path) -> pd.DataFrame:
    """Summary straight from a runs Parquet dataset, read in batches (flat memory).

    A sweep's dataset (with a `point` column) is summarised per point, with its parameters.
    """
    dataset = ds.dataset(str(runs_dir), format="parquet")
    names = dataset.schema.names
    by = ["point", *parameter_columns(names)] if "point" in names else []
    tally: dict[tuple[Hashable, ...], Counter[str]] = {}
    for batch in dataset.to_batches(columns=[*by, "outcome", "error"], batch_size=BATCH_ROWS):
        _accumulate(tally, batch.to_pandas(), by)
    ordered = dict(sorted(tally.items(), key=lambda kv: kv[0][0])) if by else tally
    return table_from_counts(ordered, by)


def write_summary(out_dir: str | Path) -> pd.DataFrame:
    """Compute `summary.csv` from `out_dir/runs` and write it atomically; returns the table."""
    out_dir = Path(out_dir)
    table = summarize_dataset(out_dir / RUNS_DIR)
    tmp = out_dir / f".{SUMMARY_FILE}.tmp"
    table.to_csv(tmp, index=False)
    os.replace(tmp, out_dir / SUMMARY_FILE)
    return table


def _interval(row: pd.Series) -> str:
    return f"{row['p']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def format_summary(table: pd.DataFrame, max_points: int = 40) -> str:
    """Aligned text: one row per outcome, or for sweeps one row per point, one column per outcome."""
    if "point" not in table:
        shown = table.copy()
        for col in ("p", "ci_low", "ci_high"):
            shown[col] = shown[col].map(lambda x: f"{x:.4f}")
        n = int(table["count"].sum())
        return f"{shown.to_string(index=False)}\n(n = {n} runs, 95% Wilson intervals)"
    params = [c for c in table.columns if c not in ("point", *SUMMARY_COLUMNS)]
    keys = ["point", *params]
    cells = table.assign(cell=table.apply(_interval, axis=1))
    wide = cells.pivot_table(index="point", columns="outcome", values="cell", aggfunc="first", sort=False)
    order = _ordered_labels(table["outcome"].unique())
    wide = wide[[o for o in order if o in wide.columns]].fillna("-")
    first = cells.drop_duplicates("point").set_index("point")[params]
    counts = table.groupby("point", sort=False)["count"].sum().rename("n")
    frame = first.join(counts).join(wide).reset_index()[[*keys, "n", *wide.columns]]
    more = len(frame) - max_points
    text = frame.head(max_points).to_string(index=False)
    if more > 0:
        text += f"\n... {more} more points (see summary.csv)"
    return text + "\n(p [95% Wilson interval] per outcome)"
