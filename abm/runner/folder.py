"""The run folder: what may be resumed, extended or must be refused, and what its manifest says.

A results folder holds `runs/`, `events/` (Parquet parts, `abm.runner.storage`, each with its
sha256), `points.csv` and `manifest.json` with its journal (`abm.runner.manifest`); one writer
at a time holds its lock (`abm.runner.lock`). This module is what a run asks of the folder:

* `check_folder`: the earlier manifest to resume (or extend) from, or None for a fresh start;
  refused (`RunnerError`, before anything runs): a file, a folder holding something else or
  another experiment (unless an extension with `extend`), another simulator, a damaged
  manifest or chunk list (`_check_chunk_list`), results of another version (`version_mismatch`)
  unless `allow_version_mix`;
* `resume_notes`: what a resume says about the folder it picks up;
* `already_complete`: the chunks of a folder with nothing left to do (every part verified);
* `verified`: the finished chunks whose parts are intact; every other part file is removed;
* `manifest_data`: the manifest of this session (experiment, settings, environment, versions,
  what earlier sessions, extensions and compactions left); `sync` copies progress into it;
* `storage_message`, `WriteFailed`: a write that fails stops the sweep with what is on disk intact.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from abm.runner import lock, storage
from abm.runner.chunks import span_of
from abm.runner.errors import RunnerError
from abm.runner.experiment import Experiment
from abm.runner.extend import extension_of, why_not_extension
from abm.runner.manifest import (
    COMPARED,
    DISCARDED_KEY,
    LOST_KEY,
    MANIFEST_FILE,
    ManifestWriter,
    chunk_versions,
    environment,
    read_manifest,
    recorded_version,
    utc_now,
    version_differences,
    with_journal,
    writer_version,
)
from abm.runner.seeds import SEED_RULE

MANIFEST_POINTS = 1000  # larger designs are listed in points.csv only
HISTORY = ("extensions", "compactions", LOST_KEY)  # manifest lists a resume or an extension carries over


def _leftovers_only(out_dir: Path) -> bool:
    """A folder holding nothing but what a sweep killed before its first manifest leaves (its lock)."""
    if not out_dir.is_dir():
        return False
    names = {p.name for p in out_dir.iterdir() if not (p.name.startswith(".") and p.name.endswith(".tmp"))}
    return names <= {lock.LOCK_FILE}  # empty: killed between creating the folder and locking it


def _visible(out_dir: Path) -> list[Path]:
    return [p for p in out_dir.iterdir() if not (p.name == lock.LOCK_FILE or p.name.endswith(".tmp"))]


def version_mismatch(previous: Mapping[str, Any]) -> str | None:
    """How the versions that wrote a folder's finished chunks differ from this process's (abm,
    model code, Python, numpy, Mesa, pyarrow), as "KEY OLD there, NEW here; …", or None.

    Once a folder has been allowed to mix versions (`version_mix`), resuming it with one of the
    versions already there adds nothing new and is not a mismatch."""
    now = writer_version()
    olds = chunk_versions(previous)
    changed = {k: [] for k in COMPARED}
    for old in olds:
        for key in version_differences(old, now):
            shown = _shown(key, old.get(key))
            if shown not in changed[key]:
                changed[key].append(shown)
    if not any(changed.values()):
        return None
    if previous.get("version_mix") is True and any(not version_differences(old, now) for old in olds):
        return None
    return "; ".join(
        f"{COMPARED[k]} {' and '.join(v)} there, {_shown(k, now[k])} here" for k, v in changed.items() if v
    )


def _shown(key: str, value: Any) -> str:
    if value is None:
        return "not recorded"
    return str(value)[:12] if key == "model_hash" else str(value)


def check_folder(
    out_dir: Path,
    experiment: Experiment,
    resume: bool = False,
    allow_version_mix: bool = False,
    simulator: str | None = None,
    extend: bool = False,
) -> dict[str, Any] | None:
    """The earlier manifest to resume (or, with `extend`, to extend) from, or None for a fresh
    start; refuse anything else.

    Refused (RunnerError): a folder holding something else, another experiment (with `extend`:
    anything but the folder's experiment with more runs or points, `abm.runner.extend`),
    results of another model version (unless `allow_version_mix`), or, with `resume` or
    `extend`, nothing to resume or extend.
    """
    out_dir = Path(out_dir)
    if extend and read_manifest(out_dir) is None and not (out_dir / MANIFEST_FILE).exists():
        raise RunnerError(
            f"{out_dir}: nothing to extend (no results folder there); run the same command without --extend to start it"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise RunnerError(f"{out_dir}: is a file, not a results folder; choose another --out")
    previous = read_manifest(out_dir)
    if previous is not None and not isinstance(previous, dict):
        raise RunnerError(
            f"{out_dir / MANIFEST_FILE}: damaged: not a mapping of the folder's record; the folder cannot be "
            "resumed safely. Choose another --out"
        )
    if isinstance(previous, dict):
        _check_chunk_list(previous, out_dir)
        previous = with_journal(previous, out_dir)  # chunks finished after the manifest's last rewrite
    if previous is None:
        if (out_dir / MANIFEST_FILE).exists():
            raise RunnerError(
                f"{out_dir / MANIFEST_FILE}: unreadable; the folder cannot be resumed safely. Choose another --out"
            )
        if _leftovers_only(out_dir):
            return None  # a sweep killed before it wrote anything: start it afresh
        if resume and not out_dir.exists():
            raise RunnerError(
                f"{out_dir}: nothing to resume: the folder does not exist (a run stopped before it created the "
                "folder, or a mistyped --out); nothing was kept, so run the same command without --resume to start "
                "again"
            )
        if resume:
            raise RunnerError(f"{out_dir}: nothing to resume (no readable {MANIFEST_FILE})")
        if out_dir.exists() and _visible(out_dir):
            raise RunnerError(f"{out_dir}: exists and is not an abm results folder; choose another --out")
        return None
    if previous.get("experiment_hash") != experiment.hash:
        _check_extension(out_dir, previous, experiment, extend)
    if simulator is not None and previous.get("simulator", simulator) != simulator:
        raise RunnerError(
            f"{out_dir}: was run with simulator {previous.get('simulator')!r}, this run uses {simulator!r}; "
            "resuming would mix results: choose another --out."
        )
    mismatch = version_mismatch(previous)
    if mismatch and not allow_version_mix:
        raise RunnerError(
            f"{out_dir}: was written by {_whose(mismatch)} ({mismatch}). Resuming would mix results of two "
            "versions in one folder: choose another --out, or give --allow-version-mix to continue anyway "
            "(the manifest then records both versions, and which chunks each wrote)."
        )
    return previous


def _check_chunk_list(previous: Mapping[str, Any], out_dir: Path) -> None:
    """A resume trusts the chunk list only after the reader's field checks and a whole `errors` count per chunk."""
    from abm.runner.reader import FolderError, checked_entries

    where = out_dir / MANIFEST_FILE
    try:
        checked_entries(previous, where)
    except FolderError as exc:
        raise RunnerError(f"{exc}; choose another --out") from None
    for i, chunk in enumerate(previous["chunks"]):
        errors = chunk.get("errors")
        if isinstance(errors, bool) or not isinstance(errors, int) or errors < 0:
            raise RunnerError(
                f"{where}: damaged: chunk {i} has an invalid 'errors' count ({str(errors)[:40]!r}); the folder "
                "cannot be resumed safely. Choose another --out"
            )


def _check_extension(out_dir: Path, previous: Mapping[str, Any], experiment: Experiment, extend: bool) -> None:
    """Refuse a folder holding another experiment, unless `extend` and it is this one with fewer runs or points."""
    why = why_not_extension(previous, experiment)
    if why is None and extend:
        return
    if why is None:
        raise RunnerError(
            f"{out_dir}: holds a different experiment: this one extends it ({extension_of(previous, experiment)}). "
            "Give --extend to add the new runs and points (the finished ones are kept, not re-run), or choose "
            "another --out."
        )
    if extend:
        raise RunnerError(
            f"{out_dir}: cannot be extended to this experiment: {why}. Only runs (--runs) and points may be "
            "added; choose another --out for anything else."
        )
    raise RunnerError(
        f"{out_dir}: holds a different experiment ({previous.get('name')!r}, hash "
        f"{str(previous.get('experiment_hash'))[:12]}); this one has hash {experiment.hash[:12]}. "
        "Resuming would mix results: choose another --out."
    )


def _whose(mismatch: str) -> str:
    code = mismatch.startswith((COMPARED["abm_version"], COMPARED["model_hash"]))
    libraries = any(f"{COMPARED[k]} " in mismatch for k in ("python", "numpy", "mesa", "pyarrow"))
    if code and libraries:
        return "another version of abm and of Python or its libraries"
    return "another version of abm" if code else "another version of Python or its libraries"


def _version_index(versions: list[dict[str, Any]], record: Mapping[str, Any]) -> int:
    """Index of `record` in `versions`, appended if new. An entry of an older format that agrees on
    every key it has (no libraries recorded) is that record: the keys it lacks are added, none changed."""
    for i, known in enumerate(versions):
        if all(known.get(k) == v for k, v in record.items() if k in known):
            for k, v in record.items():
                known.setdefault(k, v)
            return i
    versions.append(dict(record))
    return len(versions) - 1


def manifest_data(
    experiment: Experiment, chunk_size: int | None, previous: Mapping[str, Any] | None, settings: Mapping[str, Any]
) -> dict[str, Any]:
    exp = experiment
    data: dict[str, Any] = {
        "format": 2,
        "kind": exp.kind,
        "name": exp.name,
        "status": "running",
        "experiment_hash": exp.hash,
        "config_hash": exp.config_hash,
        "experiment": dict(exp.declaration),
        "config": exp.base.model_dump(mode="json"),
        "overrides": dict(exp.overrides),
        "master_seed": exp.seed,
        "seed_rule": SEED_RULE,
        "common_random_numbers": exp.common_random_numbers,
        "runs": exp.runs,
        "points": len(exp.points),
        "parameters": list(exp.parameters),
        "points_file": storage.POINTS_FILE if exp.kind == "sweep" else None,
        "design_points": [dict(p) for p in exp.points] if len(exp.points) <= MANIFEST_POINTS else None,
        "events": exp.events,
        "max_failure_share": exp.max_failure_share,
        "target_ci": exp.target_ci,
        "max_runs": exp.run_cap if exp.target_ci is not None else None,
        "chunk_size": chunk_size,
        **settings,
        **environment(),
        "started": utc_now(),
        "finished": None,
        "sessions": [],
        "runs_done": 0,
        "failures": 0,
        "chunks_done": 0,
        "chunks": [],
    }
    current = writer_version()
    versions: list[dict[str, Any]] = []
    if previous:
        data["started"] = previous.get("started", data["started"])
        data["sessions"] = list(previous.get("sessions", []))
        for key in HISTORY:  # what `abm compact` and earlier extensions did: kept
            if isinstance(previous.get(key), list):
                data[key] = list(previous[key])
        if previous.get("experiment_hash") != exp.hash:  # an extension (check_folder allowed it)
            grown = extension_of(previous, exp)
            data.setdefault("extensions", []).append(
                {
                    "at": utc_now(),
                    "from_hash": previous.get("experiment_hash"),
                    "runs": grown.runs,
                    "points": grown.points,
                }
            )
        versions = [v for v in previous.get("versions") or [] if isinstance(v, dict)]  # never rewritten
        last = _version_index(versions, recorded_version(previous))  # the last writer (the top level is rewritten)
        for entry in previous.get("chunks") or []:  # chunks recorded before per-chunk versions: the last writer's
            if isinstance(entry, dict) and type(entry.get("v")) is not int:
                entry["v"] = last  # (the same dicts are the resumed entries)
    data["writer"] = _version_index(versions, current)  # `v` of the chunks this session writes
    data["versions"] = versions
    data["version_mix"] = any(version_differences(a, b) for a in versions for b in versions)
    return data


def already_complete(
    out_dir: Path, experiment: Experiment, previous: Mapping[str, Any], retry_failed: bool
) -> list[Mapping[str, Any]] | None:
    """The chunks of a folder that holds this very experiment, complete, every part verified
    (listing, row counts, sha256): nothing to run and nothing to write. None otherwise (a
    folder to resume, repair or retry, one left by an interrupted `abm compact`, or one of
    another version re-run with `allow_version_mix`, whose session the manifest records)."""
    from abm.runner.reader import FolderError, open_folder

    if previous.get("status") != "complete" or previous.get("experiment_hash") != experiment.hash:
        return None
    chunks = previous.get("chunks") or []
    failures = sum(int(c.get("errors") or 0) for c in chunks)
    if previous.get("journalled") or previous.get(DISCARDED_KEY) or (retry_failed and failures):
        return None
    if version_mismatch(previous):  # written by another version (allowed): the session is recorded, as before
        return None
    try:
        folder = open_folder(out_dir)
        folder.verify()
    except FolderError:
        return None  # damaged, missing or stray parts: the run below repairs them and says so
    return list(chunks)


def resume_notes(out_dir: Path, experiment: Experiment, previous: Mapping[str, Any] | None, resume: bool) -> list[str]:
    """What a run says, once the folder is locked, about the earlier session it picks up."""
    notes = []
    if previous is not None and previous.get("experiment_hash") != experiment.hash:
        notes.append(
            f"extending {out_dir}: {extension_of(previous, experiment)}; the "
            f"{sum(int(c.get('rows') or 0) for c in previous.get('chunks') or [])} runs finished there are kept"
        )
    if previous is None and resume:
        notes.append(f"{out_dir}: the earlier session stopped before finishing any chunk; starting from the beginning")
    if previous is not None and previous.get("status") == "running":
        notes.append(f"{out_dir}: the earlier session ended without closing the folder (killed?); resuming")
    mismatch = version_mismatch(previous) if previous else None
    if mismatch:
        notes.append(f"warning: --allow-version-mix: this folder now mixes results of two versions ({mismatch})")
    return notes


def verified(
    previous: Mapping[str, Any], out_dir: Path, events: bool, retry_failed: bool, note: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """Chunks of earlier sessions whose part files are intact (row count and, where recorded,
    sha256); every other part file is removed, so it is recomputed and never read twice."""
    good = {}
    retried = 0
    for entry in previous.get("chunks", []):
        cid = entry["id"]
        if span_of(cid, entry) is None:
            note(f"chunk {cid} does not say which runs it holds; recomputing them")
            continue
        problems = []
        why = storage.check_part(out_dir / storage.RUNS_DIR, cid, entry["rows"], entry.get("sha256"))
        if why:
            problems.append(f"{storage.RUNS_DIR}/{storage.part_path(Path(), cid)}: {why}")
        if events and entry.get("events") is not None:
            why = storage.check_part(out_dir / storage.EVENTS_DIR, cid, entry["events"], entry.get("events_sha256"))
            if why:
                problems.append(f"{storage.EVENTS_DIR}/{storage.part_path(Path(), cid)}: {why}")
        if problems:
            note(f"chunk {cid} cannot be trusted ({'; '.join(problems)}); recomputing it")
            continue
        if retry_failed and int(entry.get("errors") or 0):
            retried += 1
            continue
        good[cid] = entry
    if retried:
        note(f"--retry-failed: recomputing {retried} chunk(s) that had failed runs")
    for sub in (storage.RUNS_DIR, storage.EVENTS_DIR):
        for cid in storage.part_ids(out_dir / sub):
            if cid not in good:  # damaged, retried, or written after the last manifest flush
                storage.remove_part(out_dir / sub, cid)
    return good


class WriteFailed(Exception):
    """Results could not be written; the sweep stops with what is on disk intact."""


def storage_message(exc: OSError, out_dir: Path) -> str:
    what = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    hint = " free some space," if full else ""
    head = "disk full: " if full else ""
    return f"{head}cannot write results in {out_dir}: {what}{where}; finished chunks are kept intact:{hint} then resume"


def sync(manifest: ManifestWriter, entries: Mapping[str, Mapping[str, Any]], force: bool) -> None:
    """Copy progress into the manifest and flush it (throttled unless forced)."""
    if not force and not manifest.due():
        return
    manifest.data["chunks"] = [entries[k] for k in sorted(entries)]
    manifest.data["chunks_done"] = len(entries)
    manifest.data["runs_done"] = sum(int(e["rows"]) for e in entries.values())
    manifest.data["failures"] = sum(int(e["errors"]) for e in entries.values())
    manifest.flush()


__all__ = [
    "HISTORY",
    "MANIFEST_POINTS",
    "WriteFailed",
    "already_complete",
    "check_folder",
    "manifest_data",
    "resume_notes",
    "storage_message",
    "sync",
    "verified",
    "version_mismatch",
]
