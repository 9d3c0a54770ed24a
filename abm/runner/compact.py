"""Merge a results folder's part files (`abm compact DIR`): fewer files, the same rows.

A sweep writes one part file per chunk (1,000 runs are ~30 files per table). Compaction
merges the parts of consecutive chunks of one point written by one version of the code
(`v` in the manifest) into one part per point and table (at most `MAX_PART_ROWS` rows each);
the merged entry keeps the chunks' bookkeeping (rows, outcome counts, failures, first error,
seconds) and records how many it merged. Rows keep their order, so every reader, `--resume`,
`--extend` and `abm replay` give what they gave before (a resume plans the runs no chunk
covers, whatever the chunks' shapes: `abm.runner.chunks.iter_gaps`).

Crash safety: the manifest is the commit point, rewritten atomically (`write_json_atomic`),
and the folder reads as either the old parts or the new ones at every moment:

1. the manifest lists the merged ids in `discarded_parts` (readers skip those names);
2. each merged part is streamed from the verified old parts (sha256 and row count checked as
   they are read) to a hidden temporary, fsynced, hashed and renamed (`write_part_stream`);
3. the manifest swaps the chunk list: the merged entries replace theirs, and the old ids move
   to `discarded_parts`;
4. the old parts are deleted, then `discarded_parts` is dropped.

Killed before 3, the folder reads the old parts; after it, the new ones. The leftovers (files
named in `discarded_parts`) are deleted by the next `abm compact` or by a resume. An error
before 3 (a full disk, Ctrl-C) undoes 1 and 2.

Only a closed folder is compacted (status complete, failed, stopped or interrupted, and no
journal): one still being written, or whose writer was killed, is resumed first. The folder's
lock is held throughout, so no sweep writes there meanwhile.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abm.runner import lock, storage
from abm.runner.chunks import Chunk, span_of
from abm.runner.errors import RunnerError
from abm.runner.manifest import DISCARDED_KEY, MANIFEST_FILE, read_journal, read_manifest, utc_now, writer_version
from abm.runner.reader import SUBDIRS, Entry, RunFolder, open_folder

MAX_PART_ROWS = 1_000_000  # a merged part holds at most this many runs (a point with more gets several)
CLOSED = ("complete", "failed", "stopped", "interrupted")
Hook = Callable[[str], None]  # test-only: called with "parts_written" (before the swap) and "committed" (after it)


@dataclass(frozen=True, slots=True)
class Compaction:
    """What `compact_folder` did: chunks and part files before and after, rows, leftovers removed."""

    path: Path
    chunks_before: int
    chunks_after: int
    files_before: int
    files_after: int
    rows: int
    leftovers: int = 0

    @property
    def changed(self) -> bool:
        return self.chunks_after != self.chunks_before


def plan(chunks: Sequence[Mapping[str, Any]], max_rows: int = MAX_PART_ROWS) -> list[list[Mapping[str, Any]]]:
    """Chunk entries in id order, grouped: consecutive runs of one point, one writer (`v`), at most
    `max_rows` rows. A chunk whose runs are unknown stays alone."""
    groups: list[list[Mapping[str, Any]]] = []
    last: tuple[Chunk, Any] | None = None
    for entry in sorted(chunks, key=lambda c: str(c["id"])):
        span = span_of(entry["id"], entry)
        group = groups[-1] if groups else []
        joins = (
            span is not None
            and last is not None
            and last[0].point == span.point
            and last[0].stop == span.start
            and last[1] == entry.get("v")
            and sum(int(c["rows"]) for c in group) + int(entry["rows"]) <= max_rows
        )
        if joins:
            group.append(entry)
        else:
            groups.append([entry])
        last = (span, entry.get("v")) if span is not None else None
    return groups


def merged_chunk(group: Sequence[Mapping[str, Any]]) -> Chunk:
    """The runs a group of `plan` holds, as one chunk (its id names the merged part files)."""
    first, last = span_of(group[0]["id"], group[0]), span_of(group[-1]["id"], group[-1])
    assert first is not None and last is not None
    return Chunk(first.point, first.start, last.stop)


def merged_entry(group: Sequence[Mapping[str, Any]], runs: storage.Part, events: storage.Part | None) -> dict[str, Any]:
    """The manifest entry of a merged part: its files' rows and sha256, its chunks' bookkeeping summed."""
    chunk = merged_chunk(group)
    counts: Counter[str] = Counter()
    for entry in group:
        counts.update(entry.get("counts") or {})
    merged: dict[str, Any] = {
        "id": chunk.id,
        "point": chunk.point,
        "start": chunk.start,
        "stop": chunk.stop,
        "rows": runs.rows,
        "sha256": runs.sha256,
        "events": events.rows if events else None,
        "events_sha256": events.sha256 if events else None,
        "errors": sum(int(e.get("errors") or 0) for e in group),
        "counts": dict(counts),
        "seconds": round(sum(float(e.get("seconds") or 0.0) for e in group), 3),
        "first_error": next((e["first_error"] for e in group if e.get("first_error")), None),
        "merged": sum(int(e.get("merged") or 1) for e in group),
    }
    if "v" in group[0]:
        merged["v"] = group[0]["v"]
    return merged


def _closed(path: Path) -> dict[str, Any]:
    """The folder's manifest, if the folder is closed (nothing half-recorded); else a `RunnerError`."""
    manifest = read_manifest(path)
    if not isinstance(manifest, dict):
        raise RunnerError(f"{path / MANIFEST_FILE}: unreadable; the folder cannot be compacted")
    status = manifest.get("status")
    if status not in CLOSED:
        raise RunnerError(
            f"{path}: not closed (status {status!r}: still being written, or its writer was killed); resume it "
            "first (the same command with --out DIR --resume), then compact it"
        )
    if read_journal(path):
        raise RunnerError(
            f"{path}: chunks are journalled but not yet in its manifest (status {status}); resume it first "
            "(--out DIR --resume), then compact it"
        )
    return manifest


def _remove_parts(path: Path, ids: Sequence[str]) -> int:
    removed = 0
    for sub in SUBDIRS:
        for cid in ids:
            with contextlib.suppress(FileNotFoundError):
                storage.part_path(path / sub, cid).unlink()
                removed += 1
        if (path / sub).is_dir():
            storage.fsync_dir(path / sub)
    return removed


def _drop_leftovers(path: Path, manifest: dict[str, Any]) -> int:
    """Delete the part files an earlier, killed compaction left (named in `discarded_parts`, listed nowhere)."""
    ids = manifest.pop(DISCARDED_KEY, None)
    if ids is None:
        return 0
    listed = {c.get("id") for c in manifest.get("chunks") or [] if isinstance(c, Mapping)}
    removed = (
        _remove_parts(path, [i for i in ids if isinstance(i, str) and i not in listed]) if isinstance(ids, list) else 0
    )
    storage.write_json_atomic(path / MANIFEST_FILE, manifest)
    return removed


def _files(folder: RunFolder) -> int:
    return sum(len(folder.parts(sub)) for sub in SUBDIRS)


def compact_folder(
    path: str | Path, *, max_rows: int = MAX_PART_ROWS, command: str | None = None, hook: Hook | None = None
) -> Compaction:
    """Merge the part files of `path` (see the module docstring); returns what was done.

    Raises `RunnerError` (nothing changed) for a folder that is not a results folder, does not
    match its manifest, is not closed or is locked by a running sweep. `hook` is for tests."""
    path = Path(path)
    open_folder(path)  # refuse what is not a results folder, with the reader's message, before locking
    with lock.acquire(path, command):
        manifest = _closed(path)
        storage.clean_temporaries(path)
        leftovers = _drop_leftovers(path, manifest)
        folder = open_folder(path)  # under the lock: listing checked (stray or missing parts refuse)
        rows = sum(e.rows for e in folder.entries)
        before = _files(folder)
        groups = [g for g in plan(manifest["chunks"], max_rows) if len(g) > 1]
        if not groups:
            n = len(folder.entries)
            return Compaction(path, n, n, before, before, rows, leftovers)
        entries = {e.id: e for e in folder.entries}
        merged_ids = [merged_chunk(g).id for g in groups]
        original = dict(manifest)
        manifest[DISCARDED_KEY] = merged_ids  # 1: the names about to appear are not data
        storage.write_json_atomic(path / MANIFEST_FILE, manifest)
        try:
            merged = [_merge(folder, [entries[c["id"]] for c in g], g) for g in groups]
            if hook is not None:
                hook("parts_written")
        except BaseException:
            _remove_parts(path, merged_ids)
            with contextlib.suppress(OSError):
                storage.write_json_atomic(path / MANIFEST_FILE, original)
            raise
        gone = [c["id"] for g in groups for c in g]
        merged_away = set(gone)
        kept = [c for c in manifest["chunks"] if c["id"] not in merged_away]
        manifest["chunks"] = sorted([*kept, *merged], key=lambda c: str(c["id"]))
        manifest["chunks_done"] = len(manifest["chunks"])
        manifest[DISCARDED_KEY] = gone
        history = manifest.get("compactions") if isinstance(manifest.get("compactions"), list) else []
        record = {"at": utc_now(), "chunks_before": len(folder.entries), "chunks_after": len(manifest["chunks"])}
        manifest["compactions"] = [*history, {**record, "abm_version": writer_version()["abm_version"]}]
        storage.write_json_atomic(path / MANIFEST_FILE, manifest)  # 3: the swap
        storage.fsync_dir(path)
        if hook is not None:
            hook("committed")
        _remove_parts(path, gone)  # 4
        del manifest[DISCARDED_KEY]
        storage.write_json_atomic(path / MANIFEST_FILE, manifest)
        after = open_folder(path)
        return Compaction(path, len(folder.entries), len(after.entries), before, _files(after), rows, leftovers)


def _merge(folder: RunFolder, entries: list[Entry], group: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Write one group's merged parts (runs, and events if any) and return its manifest entry."""
    chunk_id = merged_chunk(group).id
    parts: dict[str, storage.Part | None] = {}
    for sub in SUBDIRS:
        chosen = [e for e in entries if e.expected(sub) is not None]
        if not chosen:
            parts[sub] = None
            continue
        expected = sum(e.expected(sub)[0] for e in chosen)  # type: ignore[index]
        schema = folder.schema(sub)
        part = storage.write_part_stream(folder.path / sub, chunk_id, schema, folder.tables(sub, entries=chosen))
        if part.rows != expected:  # cannot happen with verified parts; never swap in a part that lost rows
            raise RunnerError(f"{folder.path}: merged {sub} part {chunk_id} has {part.rows} rows, not {expected}")
        parts[sub] = part
    runs = parts[storage.RUNS_DIR]
    assert runs is not None
    return merged_entry(group, runs, parts[storage.EVENTS_DIR])


__all__ = ["MAX_PART_ROWS", "Compaction", "compact_folder", "merged_chunk", "merged_entry", "plan"]
