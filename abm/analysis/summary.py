"""Outcome proportions with Wilson 95% intervals, per run set or per design point.

Wilson rather than Wald because outcomes such as `spiral` can be rare: the Wald interval
collapses to zero width at 0 counts and undercovers near 0 and 1 (Brown, Cai & DasGupta 2001).
Every outcome of `abm.model.outcomes.OUTCOMES` gets a row, even with count 0; failed runs get
an `error` row (only when there are some) and count in the denominator: p is over all runs,
so failures are visible, never silently dropped.

`write_summary(out_dir)` reads the folder through `abm.runner.reader` (each part file checked
against the manifest's sha256 and row count before it is parsed; stray, missing or damaged
parts refuse the folder), part file by part file (flat memory), decodes only the columns a
summary needs (`summary_columns`: outcome, error, and for sweeps the point and its parameters)
and writes `summary.csv`; `format_summary` renders the table for a terminal.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from abm.model.outcomes import OUTCOMES
from abm.model.records import RUN_COLUMNS
from abm.runner.manifest import MANIFEST_FILE
from abm.runner.reader import RunFolder, open_folder
from abm.stats import wilson

SUMMARY_COLUMNS = ("outcome", "count", "p", "ci_low", "ci_high")
ERROR_LABEL = "error"
SUMMARY_FILE = "summary.csv"
RUNS_DIR = "runs"
BATCH_ROWS = 65_536


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
    fixed = {"point", "run", "seed", "error", "state_hot_days", *RUN_COLUMNS}  # hot days: model output (curves)
    return [c for c in names if c not in fixed]


def summary_columns(names: Sequence[str]) -> list[str]:
    """The only columns of a runs table that a summary reads: `[point, parameters…,] outcome, error`."""
    by = ["point", *parameter_columns(names)] if "point" in names else []
    return [*by, "outcome", "error"]


def folder_of(where: str | Path | RunFolder, runs_dir: bool = False) -> RunFolder:
    """An opened results folder: `where` itself, or the folder at that path (with `runs_dir`, the path
    may be the folder's `runs/`, as the dataset functions used to take)."""
    if isinstance(where, RunFolder):
        return where
    path = Path(where)
    if runs_dir and path.name == RUNS_DIR and not (path / MANIFEST_FILE).is_file():
        path = path.parent
    return open_folder(path)


def read_columns(folder: RunFolder, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    """`columns` of a folder's runs table, in frames of up to BATCH_ROWS rows, one part file at a time.

    Each part is checked against the manifest (sha256, row count) before it is parsed, and only
    `columns` are decoded from it (`abm.runner.reader`). One dataset scan would keep every part's
    Parquet footer in memory until the end (~75 KB per part: tens of MiB for a large run); part
    by part, memory stays flat. Small parts are gathered into one frame per BATCH_ROWS rows.
    """
    pending: list[pa.Table] = []
    rows = 0
    for table in folder.tables(RUNS_DIR, columns, batch_rows=BATCH_ROWS):
        pending.append(table)
        rows += table.num_rows
        if rows >= BATCH_ROWS:  # one DataFrame per BATCH_ROWS rows, not one per (small) part
            yield pa.concat_tables(pending).to_pandas()
            pending, rows = [], 0
    if pending:
        yield pa.concat_tables(pending).to_pandas()


def summarize_dataset(runs_dir: str | Path | RunFolder) -> pd.DataFrame:
    """Summary of a results folder's runs (`DIR/runs`, `DIR`, or an opened folder), read in batches (flat memory).

    A sweep's dataset (with a `point` column) is summarised per point, with its parameters.
    Only `summary_columns` are decoded, never the model's other columns; every part is verified.
    """
    folder = folder_of(runs_dir, runs_dir=True)
    columns = summary_columns(folder.schema(RUNS_DIR).names)
    by = columns[:-2]  # [point, parameters…] of a sweep, [] for a single run set
    tally: dict[tuple[Hashable, ...], Counter[str]] = {}
    for frame in read_columns(folder, columns):
        _accumulate(tally, frame, by)
    ordered = dict(sorted(tally.items(), key=lambda kv: kv[0][0])) if by else tally
    return table_from_counts(ordered, by)


def write_summary(out_dir: str | Path | RunFolder) -> pd.DataFrame:
    """Compute `summary.csv` from the folder's (verified) runs and write it atomically; returns the table."""
    folder = folder_of(out_dir)
    table = summarize_dataset(folder)
    tmp = folder.path / f".{SUMMARY_FILE}.tmp"
    table.to_csv(tmp, index=False)
    os.replace(tmp, folder.path / SUMMARY_FILE)
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
