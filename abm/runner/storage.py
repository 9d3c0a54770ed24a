"""Streaming Parquet storage: one part file per finished chunk, written atomically.

Schemas are fixed up front from `RUN_COLUMNS` / `EVENT_COLUMNS` (Arrow type names), so every
part has the same columns and a failed run is a row of nulls plus its error. A part is written
to a hidden temporary name (`.part-….parquet.tmp`, which pyarrow datasets skip because of the
leading dot) and moved into place with `os.replace`, so a reader or a resume never sees half
a file. `pandas.read_parquet(DIR / "runs")` reads the whole dataset.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from abm.model.records import EVENT_COLUMNS, RUN_COLUMNS

RUNS_DIR, EVENTS_DIR = "runs", "events"
POINTS_FILE = "points.csv"


def arrow_type(name: str) -> pa.DataType:
    """Arrow type from its name in records.py ("int64", "string", "bool", "float64" …)."""
    return pa.type_for_alias(name)


def runs_schema(param_types: Mapping[str, pa.DataType] | None = None, with_point: bool = False) -> pa.Schema:
    """`[point,] run, seed`, one column per varied parameter, RUN_COLUMNS, `error`."""
    fields = [pa.field("point", pa.int64())] if with_point else []
    fields += [pa.field("run", pa.int64()), pa.field("seed", pa.int64())]
    fields += [pa.field(k, t) for k, t in (param_types or {}).items()]
    fields += [pa.field(k, arrow_type(t)) for k, t in RUN_COLUMNS.items()]
    fields.append(pa.field("error", pa.string()))
    return pa.schema(fields)


def events_schema(with_point: bool = False) -> pa.Schema:
    """`[point,] run` + EVENT_COLUMNS."""
    fields = [pa.field("point", pa.int64())] if with_point else []
    fields.append(pa.field("run", pa.int64()))
    fields += [pa.field(k, arrow_type(t)) for k, t in EVENT_COLUMNS.items()]
    return pa.schema(fields)


def param_types(points: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, pa.DataType]:
    """Arrow type of each varied parameter from its values; mixed kinds fall back to text."""
    types: dict[str, pa.DataType] = {}
    for key in keys:
        values = [p.get(key) for p in points]
        try:
            inferred = pa.array(values).type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            inferred = pa.string()
        types[key] = pa.string() if pa.types.is_null(inferred) else inferred
    return types


def param_value(value: Any, dtype: pa.DataType) -> Any:
    """A parameter value as stored in its column (text columns hold mixed values as text)."""
    if value is None:
        return None
    return str(value) if pa.types.is_string(dtype) and not isinstance(value, str) else value


def part_path(directory: Path, chunk_id: str) -> Path:
    return directory / f"part-{chunk_id}.parquet"


def write_part(directory: Path, chunk_id: str, table: pa.Table) -> int:
    """Write one chunk's table as `part-<id>.parquet` atomically; returns its row count."""
    directory.mkdir(parents=True, exist_ok=True)
    final = part_path(directory, chunk_id)
    tmp = directory / f".{final.name}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, final)
    return table.num_rows


def part_rows(directory: Path, chunk_id: str) -> int | None:
    """Row count of a part file from its footer, or None if it is missing or unreadable."""
    try:
        return pq.read_metadata(part_path(directory, chunk_id)).num_rows
    except (OSError, pa.ArrowException):
        return None


def clean_temporaries(directory: Path) -> None:
    """Remove half-written parts left by a killed process."""
    for sub in (RUNS_DIR, EVENTS_DIR):
        for tmp in (directory / sub).glob(".part-*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON through a temporary file and `os.replace`: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_points(directory: Path, points: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
    """`points.csv`: point id -> parameter values (written atomically)."""
    import pandas as pd

    frame = pd.DataFrame([{"point": i, **{k: p.get(k) for k in keys}} for i, p in enumerate(points)])
    tmp = directory / f".{POINTS_FILE}.tmp"
    frame.to_csv(tmp, index=False)
    os.replace(tmp, directory / POINTS_FILE)
