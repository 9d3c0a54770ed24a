"""Shared constants and helpers for runner and CLI tests (importable as tests.runner.support)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"
SHORT = ["horizon_days=60"]  # a full crisis in a third of the time
FAKE = "tests.runner.runner_fakes:simulate"  # through the runner's test-only simulator hook


def doctrine_sweep(runs: int, chunk_size: int, *extra: str, horizon: int = 40) -> list[str]:
    """`abm sweep` argv of the baseline over us.doctrine (two points, a short horizon): the small sweep the
    fault, kill and lost-worker tests disturb, each with its own runs, chunks and `extra` options."""
    grid = ["--grid", "us.doctrine=proportional,massive"]
    sizes = ["--runs", str(runs), "--chunk-size", str(chunk_size), "--set", f"horizon_days={horizon}"]
    return ["sweep", str(BASELINE), *grid, *sizes, *extra, "-q"]


def subprocess_env(fake: bool = False) -> dict[str, str]:
    """Environment for `python -m abm.cli` subprocesses: repo importable, no stray ABM_* hooks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if fake:
        env["ABM_SIMULATOR"] = FAKE
    return env


def seal(folder: Path, status: str = "complete") -> Path:
    """Make `folder/manifest.json` vouch for its part files as they are now (row counts, sha256).

    For a hand-made folder (parts written by a test) a minimal manifest is written; for a real
    one, the entries of edited parts are updated: an edit the checksums cannot see (as if the
    rows had been written so by other code), which is what `abm replay` is there to catch."""
    import hashlib
    import json

    import pyarrow.parquet as pq

    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"status": status, "chunks": []}
    entries = {c["id"]: c for c in manifest["chunks"]}
    for sub, rows, sha in (("runs", "rows", "sha256"), ("events", "events", "events_sha256")):
        for part in sorted((folder / sub).glob("part-*.parquet")):
            cid = part.name[len("part-") : -len(".parquet")]
            entry = entries.setdefault(cid, {"id": cid, "rows": 0, "events": None})
            entry[rows] = pq.read_metadata(part).num_rows
            entry[sha] = hashlib.sha256(part.read_bytes()).hexdigest()
    manifest["chunks"] = [entries[k] for k in sorted(entries)]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return folder
