"""Replay one stored run: re-simulate it from the folder's manifest and compare with its row.

The model is a pure function of (scenario, seed), so run K of point P of a results folder can
be rebuilt from `DIR/manifest.json` alone: the resolved base config, the point's values (from
the manifest, or `points.csv` for large designs), the master seed and the seed rule. Replaying
it must give the stored row exactly: every model column (`RUN_COLUMNS`, floats compared for
exact equality), the seed and the point's parameter values, and the run's events when the
folder stored them. A difference means the row, the folder or the code is not what the
manifest says (a damaged or edited file, another model version, a non-deterministic model).

Refusals (`RunnerError`) are for input that cannot be replayed: no manifest, a point or run
that is not in the folder, a manifest whose config does not match its own hash, results made
by another simulator than the one selected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from abm.config import ConfigError, Scenario, config_hash, validate, with_overrides
from abm.model.records import EVENT_COLUMNS, RUN_COLUMNS
from abm.runner import storage
from abm.runner.errors import RunnerError
from abm.runner.manifest import MANIFEST_FILE, code_version, read_manifest
from abm.runner.seeds import SEED_RULE, run_seed
from abm.runner.worker import load_simulator, resolve_simulator


@dataclass
class Replay:
    """A replayed run: its record and events, the stored row, and every difference found."""

    point: int | None
    run: int
    seed: int
    record: dict[str, Any]
    events: list[dict[str, Any]]
    stored: dict[str, Any]
    mismatches: list[str] = field(default_factory=list)
    events_compared: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _same(a: Any, b: Any) -> bool:
    """Exact equality of stored and replayed values: same type, same value; NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def _points(directory: Path, manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    if manifest.get("design_points") is not None:
        return [dict(p) for p in manifest["design_points"]]
    path = directory / storage.POINTS_FILE
    if not path.is_file():
        raise RunnerError(f"{directory}: the manifest lists no design points and {storage.POINTS_FILE} is missing")
    frame = pd.read_csv(path)
    keys = [k for k in manifest.get("parameters", []) if k in frame.columns]
    return [
        {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame[keys].to_dict("records")
    ]


def _stored_rows(directory: Path, point: int | None, run: int) -> list[dict[str, Any]]:
    if not directory.is_dir():
        raise RunnerError(f"{directory}: missing; nothing stored to compare with")
    where = ds.field("run") == run
    if point is not None:
        where = where & (ds.field("point") == point)
    try:
        return ds.dataset(directory, format="parquet").to_table(filter=where).to_pylist()
    except (OSError, pa.ArrowException) as exc:
        raise RunnerError(
            f"{directory}: cannot read the stored rows ({str(exc).splitlines()[0]}); resuming the sweep that wrote "
            "the folder recomputes damaged parts"
        ) from None


def _scenario(directory: Path, manifest: Mapping[str, Any], point: int | None) -> tuple[Scenario, dict[str, Any]]:
    try:
        base = validate(manifest["config"], source=f"{directory / MANIFEST_FILE}: config")
    except (KeyError, TypeError):
        raise RunnerError(f"{directory / MANIFEST_FILE}: no resolved config recorded") from None
    if manifest.get("config_hash") and config_hash(base) != manifest["config_hash"]:
        raise RunnerError(f"{directory / MANIFEST_FILE}: the recorded config does not match its config_hash")
    if point is None:
        return base, {}
    values = _points(directory, manifest)[point]
    try:
        return (with_overrides(base, values) if values else base), values
    except ConfigError as exc:
        raise RunnerError(f"point {point} of {directory} is not a valid scenario: {exc}") from None


def replay_run(directory: str | Path, run: int, point: int | None = None, *, simulator: str | None = None) -> Replay:
    """Re-simulate run `run` (of design point `point` for sweeps) of a results folder and compare."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is None:
        raise RunnerError(f"{directory}: not a results folder (no readable {MANIFEST_FILE})")
    sweep = manifest.get("kind") == "sweep"
    n_points = int(manifest.get("points") or 1)
    if sweep and point is None:
        if n_points != 1:
            raise RunnerError(f"{directory}: a sweep of {n_points} points; give --point P (0..{n_points - 1})")
        point = 0
    if not sweep and point not in (None, 0):
        raise RunnerError(f"{directory}: a single-scenario run has no point {point}")
    point = point if sweep else None
    if point is not None and not 0 <= point < n_points:
        raise RunnerError(f"point: got {point}; allowed: 0..{n_points - 1}")
    if manifest.get("seed_rule") not in (None, SEED_RULE):
        raise RunnerError(f"{directory}: seeds were drawn by another rule ({manifest['seed_rule']!r})")
    chosen = resolve_simulator(simulator)
    if manifest.get("simulator", chosen) != chosen:
        raise RunnerError(
            f"{directory}: results were made with simulator {manifest['simulator']!r}, not {chosen!r}; "
            f"set ABM_SIMULATOR={manifest['simulator']} to replay them"
        )
    rows = _stored_rows(directory / storage.RUNS_DIR, point, run)
    where = f"run {run}" + (f" of point {point}" if point is not None else "")
    if not rows:
        raise RunnerError(f"{directory}: {where} is not in {storage.RUNS_DIR}/")
    stored = rows[0]
    scenario, values = _scenario(directory, manifest, point)
    key = 0 if manifest.get("common_random_numbers") or point is None else point
    seed = run_seed(int(manifest["master_seed"]), key, run)
    result = load_simulator(chosen)(scenario, seed, True)
    replay = Replay(point, run, seed, {k: result.record.get(k) for k in RUN_COLUMNS}, [], stored)
    replay.events = [dict(e.as_row() if hasattr(e, "as_row") else e) for e in result.events]
    _compare(replay, stored, values, len(rows))
    _compare_events(replay, directory, manifest)
    now = code_version()
    if manifest.get("model_hash") not in (None, now["model_hash"]):
        replay.notes.append(
            f"the folder was written by model code {str(manifest['model_hash'])[:12]}, this is {now['model_hash'][:12]}"
        )
    return replay


def _compare(replay: Replay, stored: Mapping[str, Any], values: Mapping[str, Any], copies: int) -> None:
    if copies > 1:
        replay.mismatches.append(f"the folder holds {copies} rows for this run (expected one)")
    if stored.get("seed") != replay.seed:
        replay.mismatches.append(f"seed: stored {stored.get('seed')}, derived {replay.seed}")
    for key, value in values.items():
        if key in stored and not _same(stored[key], value) and str(stored[key]) != str(value):
            replay.mismatches.append(f"{key}: stored {stored[key]!r}, the design has {value!r}")
    if stored.get("error"):
        replay.mismatches.append(f"the stored run failed ({stored['error']}); the replay completed")
        return
    # Cast the replayed record through the storage schema, as the worker does, then compare exactly.
    schema = pa.schema([pa.field(k, storage.arrow_type(t)) for k, t in RUN_COLUMNS.items()])
    try:
        replayed = pa.Table.from_pylist([replay.record], schema=schema).to_pylist()[0]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        replay.mismatches.append(f"the replayed record does not fit the table schema: {exc}")
        return
    for key in RUN_COLUMNS:
        if not _same(stored.get(key), replayed[key]):
            replay.mismatches.append(f"{key}: stored {stored.get(key)!r}, replayed {replayed[key]!r}")


def _compare_events(replay: Replay, directory: Path, manifest: Mapping[str, Any]) -> None:
    events_dir = directory / storage.EVENTS_DIR
    if not manifest.get("events") or not events_dir.is_dir() or replay.stored.get("error"):
        return
    stored = _stored_rows(events_dir, replay.point, replay.run)
    schema = pa.schema([pa.field(k, storage.arrow_type(t)) for k, t in EVENT_COLUMNS.items()])
    replayed = pa.Table.from_pylist(replay.events, schema=schema).to_pylist()
    replay.events_compared = True
    if len(stored) != len(replayed):
        replay.mismatches.append(f"events: {len(stored)} stored, {len(replayed)} replayed")
        return
    for i, (a, b) in enumerate(zip(stored, replayed, strict=True)):
        diffs = [k for k in EVENT_COLUMNS if not _same(a.get(k), b[k])]
        if diffs:
            shown = ", ".join(f"{k}: stored {a.get(k)!r}, replayed {b[k]!r}" for k in diffs[:3])
            replay.mismatches.append(f"event {i}: {shown}")
