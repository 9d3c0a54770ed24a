"""Streaming Parquet storage: one part file per finished chunk, written atomically.

Schemas are fixed up front from `RUN_COLUMNS` / `EVENT_COLUMNS` (Arrow type names), so every
part has the same columns and a failed run is a row of nulls plus its error. A part is written
to a hidden temporary name (`.part-….parquet.tmp`, which pyarrow datasets skip because of the
leading dot) and moved into place with `os.replace`, so a reader or a resume never sees half
a file: pyarrow's dataset discovery skips names starting with `.` or `_` (files and folders).
Each part is serialised in memory, hashed (sha256, recorded in the manifest so that a resume
can tell a damaged file), written, flushed to disk with `fsync` and then renamed.

This module writes; `abm.runner.reader` is the one reader, which parses only parts the
manifest lists, after checking their sha256 and row count. `pandas.read_parquet(DIR / "runs")`
also reads the whole dataset, but checks nothing (a stray copy would be read twice).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from abm.model.records import EVENT_COLUMNS, RUN_COLUMNS

RUNS_DIR, EVENTS_DIR = "runs", "events"
POINTS_FILE = "points.csv"
ROW_GROUP_ROWS = 65_536  # a merged part (`write_part_stream`) is written in row groups of about this many rows
HASH_BLOCK = 1 << 20


def arrow_type(name: str) -> pa.DataType:
    """Arrow type from its name in records.py ("int64", "string", "bool", "float64", "list<int64>" …)."""
    if name.startswith("list<") and name.endswith(">"):
        return pa.list_(arrow_type(name[5:-1]))
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


@dataclass(frozen=True, slots=True)
class Part:
    """A part file as written: rows, size and sha256 of its bytes (what the manifest records)."""

    rows: int
    bytes: int
    sha256: str


def write_part_file(
    directory: Path,
    chunk_id: str,
    table: pa.Table,
    *,
    write: Callable[[Any, bytes], None] | None = None,
    before_rename: Callable[[Path], None] | None = None,
) -> Part:
    """Write one chunk's table as `part-<id>.parquet` atomically and durably.

    `write(fh, data)` and `before_rename(tmp)` are test hooks (a failing disk, a kill between
    the write and the rename). On any error the temporary file is removed and nothing that
    was there before is touched.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = part_path(directory, chunk_id)
    tmp = directory / f".{final.name}.tmp"
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    data = sink.getvalue().to_pybytes()
    with _renamed_into_place(tmp, final, before_rename), open(tmp, "wb") as fh:
        (write or _write_all)(fh, data)
        fh.flush()
        os.fsync(fh.fileno())
    return Part(table.num_rows, len(data), hashlib.sha256(data).hexdigest())


@contextlib.contextmanager
def _renamed_into_place(tmp: Path, final: Path, before_rename: Callable[[Path], None] | None) -> Iterator[None]:
    """Let the body fill `tmp`, then rename it to `final` and fsync the folder; on any error remove `tmp`.

    The one commit step of both part writers: nothing that was at `final` is touched unless the
    whole temporary was written."""
    try:
        yield
        if before_rename is not None:
            before_rename(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(final.parent)


def write_part_stream(
    directory: Path,
    chunk_id: str,
    schema: pa.Schema,
    tables: Iterable[pa.Table],
    *,
    before_rename: Callable[[Path], None] | None = None,
) -> Part:
    """Write `tables` (in order, each of `schema`) as one `part-<id>.parquet`, atomically and durably.

    For parts too large to hold in memory at once (`abm compact` merges many): the tables are
    streamed into the hidden temporary file in row groups of about `ROW_GROUP_ROWS`, which is
    fsynced, hashed as it is on disk, then renamed into place. On any error the temporary is
    removed and nothing that was there before is touched."""
    directory.mkdir(parents=True, exist_ok=True)
    final = part_path(directory, chunk_id)
    tmp = directory / f".{final.name}.tmp"
    rows = 0
    with _renamed_into_place(tmp, final, before_rename):
        with pq.ParquetWriter(str(tmp), schema, compression="zstd") as writer:
            pending: list[pa.Table] = []
            for table in tables:
                pending.append(table)
                rows += table.num_rows
                if sum(t.num_rows for t in pending) >= ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                    pending = []
            if pending or not rows:
                writer.write_table(pa.concat_tables(pending) if pending else schema.empty_table())
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        digest, size = hashlib.sha256(), 0
        with open(tmp, "rb") as fh:
            while block := fh.read(HASH_BLOCK):
                digest.update(block)
                size += len(block)
    return Part(rows, size, digest.hexdigest())


def _write_all(fh: Any, data: bytes) -> None:
    fh.write(data)


def fsync_dir(directory: Path) -> None:
    """Make renames and deletions in `directory` durable (see `_fsync_dir`)."""
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_part(directory: Path, chunk_id: str, table: pa.Table) -> int:
    """Write one chunk's table as `part-<id>.parquet` atomically; returns its row count."""
    return write_part_file(directory, chunk_id, table).rows


def part_rows(directory: Path, chunk_id: str) -> int | None:
    """Row count of a part file from its footer, or None if it is missing or unreadable."""
    try:
        return pq.read_metadata(part_path(directory, chunk_id)).num_rows
    except (OSError, ValueError, pa.ArrowException):  # a damaged footer can fail to decode (UnicodeDecodeError)
        return None


def verify_part_bytes(data: bytes, rows: int | None, sha256: str | None) -> tuple[str | None, pq.ParquetFile | None]:
    """(why the bytes of a part cannot be trusted, None), or (None, the part parsed from those bytes).

    One check for every reader of part files (resume, `abm.runner.reader`): the footer must
    parse, the row count and the sha256 must be the manifest's. The bytes are read once, by the
    caller, and the parsed file reads from them, so what is checked is what is used.
    """
    try:
        parsed = pq.ParquetFile(pa.BufferReader(data))
        found = parsed.metadata.num_rows
    except (OSError, ValueError, pa.ArrowException):  # a damaged footer can fail to decode (UnicodeDecodeError)
        return "unreadable (truncated or not Parquet)", None
    if rows is not None and found != rows:
        return f"{found} rows where the manifest records {rows}", None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        return "checksum (sha256) differs from the manifest", None
    return None, parsed


def check_part(directory: Path, chunk_id: str, rows: int | None, sha256: str | None) -> str | None:
    """Why a part file cannot be trusted (missing, unreadable, wrong row count, wrong checksum), or None."""
    try:
        data = part_path(directory, chunk_id).read_bytes()
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable (truncated or not Parquet)"
    return verify_part_bytes(data, rows, sha256)[0]


def part_ids(directory: Path) -> list[str]:
    """Chunk ids of the part files in a dataset folder."""
    return sorted(p.name[len("part-") : -len(".parquet")] for p in directory.glob("part-*.parquet"))


def remove_part(directory: Path, chunk_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        part_path(directory, chunk_id).unlink()


def clean_temporaries(directory: Path) -> None:
    """Remove half-written files (parts, manifest, points) left by a killed process; only call
    this holding the folder's lock."""
    leftovers = [*directory.glob(".manifest.json.*.tmp"), *directory.glob(f".{POINTS_FILE}.tmp")]
    for sub in (RUNS_DIR, EVENTS_DIR):
        leftovers += (directory / sub).glob(".part-*.tmp")
    for tmp in leftovers:
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
            fh.flush()
            os.fsync(fh.fileno())
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
    try:
        frame.to_csv(tmp, index=False)
        os.replace(tmp, directory / POINTS_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
