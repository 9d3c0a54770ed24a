"""Replay one stored run: re-simulate it from the folder's manifest and compare with its row.

The model is a pure function of (scenario, seed), so run K of point P of a results folder can
be rebuilt from `DIR/manifest.json` alone: the resolved base config, the point's values (from
the manifest, or `points.csv` for large designs), the master seed and the seed rule. Replaying
it must give the stored row exactly: every model column (`RUN_COLUMNS`, floats compared for
exact equality), the seed and the point's parameter values, and the run's events when the
folder stored them. A difference means the row, the folder or the code is not what the
manifest says (a damaged or edited file, another model version, a non-deterministic model).

The stored row is read through `abm.runner.reader`: the folder's listing must match its
manifest (no stray or missing part), and the part holding the run (and its events part) is
checked against the manifest's sha256 and row count before it is parsed, so a damaged file is
refused (`FolderError`, exit 2) rather than reported as a difference. Design values are
compared by value (`0` in the design equals a stored `0.0`), not by their text.

Refusals (`RunnerError`) are for input that cannot be replayed: no manifest, one whose fields a
replay reads are damaged (`check_manifest`, naming the field), a point or run that is not in the
folder, a manifest whose config does not match its own hash, results made by another simulator
than the one selected, part files that do not match the manifest.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from abm.config import ConfigError, Scenario, config_hash, validate, with_overrides
from abm.model.records import EVENT_COLUMNS, RUN_COLUMNS
from abm.runner import storage
from abm.runner.errors import RunnerError
from abm.runner.manifest import MANIFEST_FILE, code_version
from abm.runner.reader import RunFolder, open_folder
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
    scenario: Scenario | None = None  # the scenario replayed (dates and names for `--story`, `--plot`)

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
    keys = [k for k in manifest.get("parameters") or [] if k in frame.columns]
    return [
        {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame[keys].to_dict("records")
    ]


def _same_value(stored: Any, design: Any) -> bool:
    """A design value against its stored column, by value: numbers numerically (the design's `0`
    is a float column's `0.0`), text columns as the runner stores mixed values (`str(value)`)."""
    if stored is None or design is None:
        return stored is None and design is None
    if isinstance(stored, str) and not isinstance(design, str):
        return stored == str(design) or _same_value(_number(stored), design)
    if isinstance(stored, bool) or isinstance(design, bool):
        return type(stored) is type(design) and stored == design
    if isinstance(stored, numbers.Real) and isinstance(design, numbers.Real):
        return stored == design or (math.isnan(stored) and math.isnan(design))
    return _same(stored, design)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _stored_rows(folder: RunFolder, sub: str, point: int | None, run: int) -> list[dict[str, Any]]:
    """The (verified) rows of run `run` (of `point`) in `sub`: only the chunks that can hold it are read."""
    chunks = [
        e
        for e in folder.parts(sub)
        if (e.point is None or point is None or e.point == point)
        and (e.start is None or e.stop is None or e.start <= run < e.stop)
    ]
    if not chunks:
        return []
    rows: list[dict[str, Any]] = []
    for table in folder.tables(sub, entries=chunks):
        where = pc.equal(table["run"], run)
        if point is not None and "point" in table.column_names:
            where = pc.and_(where, pc.equal(table["point"], point))
        rows += table.filter(where).to_pylist()
    return rows


def _scenario(directory: Path, manifest: Mapping[str, Any], point: int | None) -> tuple[Scenario, dict[str, Any]]:
    try:
        base = validate(manifest["config"], source=f"{directory / MANIFEST_FILE}: config")
    except (KeyError, TypeError):
        raise RunnerError(f"{directory / MANIFEST_FILE}: no resolved config recorded") from None
    if manifest.get("config_hash") and config_hash(base) != manifest["config_hash"]:
        raise RunnerError(f"{directory / MANIFEST_FILE}: the recorded config does not match its config_hash")
    if point is None:
        return base, {}
    points = _points(directory, manifest)
    if point >= len(points):  # `points` was checked against design_points, not against points.csv
        raise RunnerError(
            f"{directory}: damaged: {storage.POINTS_FILE} holds {len(points)} design points, the manifest "
            f"{manifest.get('points')}; the run cannot be replayed"
        )
    values = points[point]
    try:
        return (with_overrides(base, values) if values else base), values
    except ConfigError as exc:
        raise RunnerError(f"point {point} of {directory} is not a valid scenario: {exc}") from None


def _count(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


# The fields a replay reads (and `chunk_size`, `runs`: a manifest whose plan is damaged is not
# trusted for the rest), each with its check and what it may hold. None (absent: folders of older
# versions) is allowed except for the kind and the master seed, which every manifest has had.
_FIELDS: dict[str, tuple[Any, str]] = {
    "kind": (lambda v: v in ("run", "sweep"), "'run' or 'sweep'"),
    "points": (lambda v: v is None or _count(v, 1), "a whole number >= 1"),
    "runs": (lambda v: v is None or _count(v, 1), "a whole number >= 1"),
    "chunk_size": (lambda v: v is None or _count(v, 1), "a whole number >= 1"),
    "master_seed": (lambda v: _count(v, 0), "a whole number >= 0"),
    "seed_rule": (lambda v: v is None or isinstance(v, str), "text"),
    "common_random_numbers": (lambda v: v is None or isinstance(v, bool), "true or false"),
    "simulator": (lambda v: v is None or isinstance(v, str), "text (module:function)"),
    "config_hash": (lambda v: v is None or isinstance(v, str), "text (a sha256)"),
    "parameters": (
        lambda v: v is None or (isinstance(v, list) and all(isinstance(k, str) for k in v)),
        "a list of keys",
    ),
    "design_points": (
        lambda v: v is None or (isinstance(v, list) and all(isinstance(p, Mapping) for p in v)),
        "a list of mappings (one per design point)",
    ),
}


def check_manifest(manifest: Mapping[str, Any], where: Path) -> None:
    """Refuse (RunnerError, exit 2) a manifest whose fields a replay relies on are damaged, naming the
    field, instead of failing on it half-way (a traceback) or replaying something else (a false
    mismatch)."""
    for key, (ok, allowed) in _FIELDS.items():
        value = manifest.get(key)
        if not ok(value):
            shown = "missing" if key not in manifest else _short(value)
            raise RunnerError(f"{where}: damaged: {key!r} is {shown}; allowed: {allowed}; the run cannot be replayed")
    points, design = manifest.get("points") or 1, manifest.get("design_points")
    if manifest.get("kind") == "sweep" and design is None and manifest.get("parameters") is None:
        shown = "missing" if "parameters" not in manifest else "null"
        raise RunnerError(
            f"{where}: damaged: 'parameters' is {shown}; with no 'design_points' it names the columns of "
            f"{storage.POINTS_FILE} that hold the design; the run cannot be replayed"
        )
    if manifest.get("kind") == "sweep" and design is not None and len(design) != points:
        raise RunnerError(
            f"{where}: damaged: 'design_points' lists {len(design)} points, 'points' says {points}; "
            "the run cannot be replayed"
        )


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else f"{text[:37]}..."


def replay_run(directory: str | Path, run: int, point: int | None = None, *, simulator: str | None = None) -> Replay:
    """Re-simulate run `run` (of design point `point` for sweeps) of a results folder and compare."""
    directory = Path(directory)
    folder = open_folder(directory)  # the manifest checked, the listing of runs/ and events/ matches it
    manifest = folder.manifest
    check_manifest(manifest, directory / MANIFEST_FILE)
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
    if not (directory / storage.RUNS_DIR).is_dir():
        raise RunnerError(f"{directory / storage.RUNS_DIR}: missing; nothing stored to compare with")
    rows = _stored_rows(folder, storage.RUNS_DIR, point, run)
    where = f"run {run}" + (f" of point {point}" if point is not None else "")
    if not rows:
        raise RunnerError(f"{directory}: {where} is not in {storage.RUNS_DIR}/")
    stored = rows[0]
    scenario, values = _scenario(directory, manifest, point)
    key = 0 if manifest.get("common_random_numbers") or point is None else point
    seed = run_seed(int(manifest["master_seed"]), key, run)
    result = load_simulator(chosen)(scenario, seed, True)
    replay = Replay(point, run, seed, {k: result.record.get(k) for k in RUN_COLUMNS}, [], stored, scenario=scenario)
    replay.events = [dict(e.as_row() if hasattr(e, "as_row") else e) for e in result.events]
    _compare(replay, stored, values, len(rows))
    _compare_events(replay, folder)
    replay.notes += folder.notes
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
        if key in stored and not _same_value(stored[key], value):
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


def _compare_events(replay: Replay, folder: RunFolder) -> None:
    if not folder.manifest.get("events") or not folder.has(storage.EVENTS_DIR) or replay.stored.get("error"):
        return
    stored = _stored_rows(folder, storage.EVENTS_DIR, replay.point, replay.run)
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
