"""Parquet parts: fixed schema from records.py, atomic writes, temporaries invisible to readers."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from abm.model.records import EVENT_COLUMNS, RUN_COLUMNS
from abm.runner import storage


def test_schemas_follow_records() -> None:
    runs = storage.runs_schema({"us.doctrine": pa.string()}, with_point=True)
    assert runs.names == ["point", "run", "seed", "us.doctrine", *RUN_COLUMNS, "error"]
    assert runs.field("outcome").type == pa.string() and runs.field("expelled").type == pa.bool_()
    assert storage.runs_schema().names == ["run", "seed", *RUN_COLUMNS, "error"]
    assert storage.events_schema().names == ["run", *EVENT_COLUMNS]


def test_param_types_accept_any_scalar() -> None:
    points = [{"a": 1, "b": True, "c": "x", "d": 1}, {"a": 2, "b": False, "c": "y", "d": 2.5}]
    types = storage.param_types(points, ["a", "b", "c", "d"])
    assert types == {"a": pa.int64(), "b": pa.bool_(), "c": pa.string(), "d": pa.float64()}
    assert storage.param_types([{"m": 1}, {"m": "x"}], ["m"]) == {"m": pa.string()}


def test_parts_are_atomic_and_temporaries_are_ignored(tmp_path) -> None:
    schema = storage.runs_schema()
    table = pa.Table.from_pylist([{"run": i, "seed": i, "outcome": "deal"} for i in range(3)], schema=schema)
    assert storage.write_part(tmp_path / "runs", "p000000-r000000000-000000003", table) == 3
    (tmp_path / "runs" / ".part-p000000-r000000003-000000006.parquet.tmp").write_bytes(b"half a file")
    frame = pd.read_parquet(tmp_path / "runs")
    assert frame["run"].tolist() == [0, 1, 2]
    assert storage.part_rows(tmp_path / "runs", "p000000-r000000000-000000003") == 3
    assert storage.part_rows(tmp_path / "runs", "p000000-r000000003-000000006") is None
    storage.clean_temporaries(tmp_path)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["part-p000000-r000000000-000000003.parquet"]


def test_json_is_written_atomically(tmp_path) -> None:
    storage.write_json_atomic(tmp_path / "m.json", {"a": 1})
    assert (tmp_path / "m.json").read_text().strip().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
