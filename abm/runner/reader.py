"""The one reader of results folders: only part files the manifest vouches for, checked as they are read.

Every command that reads results (`report`, `discover`, `replay`, `summary.csv` and
`curves.csv`, the read-back of `compare` and `sensitivity`) goes through `open_folder`, and so does
the Python API (`abm.read_results`, `abm.runner.read_table`, `ExperimentResult.runs()` and
`.events()`). The
manifest lists each finished chunk with its row count and the sha256 of its part files
(`runs/part-<id>.parquet`, and with `--events` `events/part-<id>.parquet`); the writer is
`abm.runner.storage`. Opening a folder checks the listing, reading checks the bytes:

* **Listing** (`open_folder`): a file in `runs/` or `events/` that the manifest does not list
  is a *stray* (a copy such as `part-… (copy).parquet`, a part of another chunking, any other
  file) and a listed part that is not there is *missing*. Either refuses the folder. Hidden
  names (a leading `.` or `_`: a writer's temporaries, the lock) are ignored, as pyarrow does.
* **Bytes** (`RunFolder.tables`): each part is read into memory once and checked by
  `storage.verify_part_bytes`, the check resume uses too: its footer must parse, its row count
  and sha256 must be the manifest's. Rows are decoded only from those same, verified bytes:
  nothing is read twice and no unverified row is used.
  Parts are read one at a time, so memory holds one part (plus what the caller keeps).
* **One message**: whatever is wrong (stray, missing, damaged: checksum, row count, not
  Parquet) is reported in one `FolderError` naming the files (all of them: on the first bad
  part the remaining parts are checked too), with how to repair the folder. The
  error is a `RunnerError`, which the CLI prints as one line with exit 2.

Unfinished folders (manifest status `running`, `stopped`, `interrupted`, `crashed`) are read,
with a note: only the chunks the manifest records as finished are read, and part files of
the folder's own chunking that the manifest does not list yet (written after its last update,
or by a sweep still running) are left out rather than refused; anything else unlisted is
still a stray. Finished folders (`complete`, `failed`) must match their manifest exactly.

Part files the manifest names in `discarded_parts` (an `abm compact` under way or killed: the
merged parts before its atomic swap of the chunk list, the merged-away parts after it) are not
data: they are skipped, never read and never required, so a compaction killed at any moment
leaves a folder that reads either the old parts or the new ones, all rows once.

Folders of older versions whose manifest records no sha256 are checked by row count only
(with a note). A folder without a manifest cannot be checked and is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from abm.runner.errors import RunnerError
from abm.runner.manifest import DISCARDED_KEY, MANIFEST_FILE
from abm.runner.storage import EVENTS_DIR, RUNS_DIR, part_path, verify_part_bytes

SUBDIRS = (RUNS_DIR, EVENTS_DIR)
FINISHED = ("complete", "failed")
UNFINISHED = ("running", "stopped", "interrupted", "crashed")
CHUNK_PART = re.compile(r"part-(p\d{6}-r\d{9}-\d{9})\.parquet")  # a part of the runner's own chunking
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # a chunk id that names a file inside runs/ and nothing else
SHOWN = 6  # files named in one message; the rest are counted
BATCH_ROWS = 65_536


class FolderError(RunnerError):
    """A results folder whose files do not match its manifest (or that has no usable manifest): exit 2."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One finished chunk as the manifest records it."""

    id: str
    rows: int
    sha256: str | None
    events: int | None
    events_sha256: str | None
    point: int | None = None
    start: int | None = None
    stop: int | None = None

    def expected(self, sub: str) -> tuple[int, str | None] | None:
        """(rows, sha256) of this chunk's part in `sub`, or None when it has none there."""
        if sub == RUNS_DIR:
            return self.rows, self.sha256
        return None if self.events is None else (self.events, self.events_sha256)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def checked_entries(manifest: Mapping[str, Any], where: Path) -> list[Entry]:
    """The manifest's chunk list, checked field by field (a damaged manifest is refused, not trusted)."""
    chunks = manifest.get("chunks")
    if not isinstance(chunks, list):
        raise FolderError(f"{where}: damaged: 'chunks' is not a list of finished chunks; the folder cannot be checked")
    out: dict[str, Entry] = {}
    for i, chunk in enumerate(chunks):
        bad = None
        if not isinstance(chunk, Mapping):
            bad = "not a mapping"
        elif not isinstance(chunk.get("id"), str) or not SAFE_ID.fullmatch(chunk["id"]):
            bad = "no valid 'id'"
        elif _count(chunk.get("rows")) is None:
            bad = "no valid 'rows'"
        elif chunk.get("events") is not None and _count(chunk.get("events")) is None:
            bad = "an invalid 'events' count"
        elif any(chunk.get(k) is not None and not isinstance(chunk.get(k), str) for k in ("sha256", "events_sha256")):
            bad = "an invalid checksum"
        elif chunk["id"] in out:
            bad = f"an id listed before ({chunk['id']!r})"
        if bad:
            raise FolderError(f"{where}: damaged: chunk {i} has {bad}; the folder cannot be checked")
        assert isinstance(chunk, Mapping)
        out[chunk["id"]] = Entry(
            chunk["id"],
            chunk["rows"],
            chunk.get("sha256"),
            chunk.get("events"),
            chunk.get("events_sha256"),
            *(_count(chunk.get(k)) for k in ("point", "start", "stop")),
        )
    return [out[k] for k in sorted(out)]


def _name(sub: str, entry_id: str) -> str:
    return f"{sub}/{part_path(Path(), entry_id)}"


def _listing(directory: Path) -> list[str]:
    """Visible names in `directory` (none if it does not exist); hidden ones are a writer's temporaries."""
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith((".", "_")))


@dataclass
class RunFolder:
    """A results folder opened for reading: its manifest, its listed parts, notes for the user.

    Get one from `open_folder`; read with `schema`, `tables` and `read`."""

    path: Path
    manifest: dict[str, Any]
    entries: list[Entry]
    notes: list[str] = field(default_factory=list)
    _first: dict[str, tuple[str, pq.ParquetFile]] = field(default_factory=dict, repr=False)

    @property
    def status(self) -> str | None:
        status = self.manifest.get("status")
        return status if isinstance(status, str) else None

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED

    def parts(self, sub: str = RUNS_DIR) -> list[Entry]:
        """The listed chunks that have a part in `sub` (runs/ or events/), in chunk-id order."""
        return [e for e in self.entries if e.expected(sub) is not None]

    def has(self, sub: str = RUNS_DIR) -> bool:
        return bool(self.parts(sub))

    # ------------------------------------------------------------ reading

    def _load(self, sub: str, entry: Entry) -> pq.ParquetFile:
        """The part of `entry` in `sub`, verified (`storage.verify_part_bytes`: footer, row count, sha256
        of the bytes read) and parsed from those bytes; a problem raises the folder's one `FolderError`."""
        why, parsed = self._check(sub, entry)
        if why or parsed is None:
            raise self._refusal({_name(sub, entry.id): why or "unreadable"}, check_rest=True)
        return parsed

    def _check(self, sub: str, entry: Entry) -> tuple[str | None, pq.ParquetFile | None]:
        expected = entry.expected(sub)
        assert expected is not None
        rows, sha256 = expected
        try:
            data = part_path(self.path / sub, entry.id).read_bytes()
        except FileNotFoundError:
            return "missing (removed while being read?)", None
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})", None
        return verify_part_bytes(data, rows, sha256)

    def schema(self, sub: str = RUNS_DIR) -> pa.Schema:
        """Columns of `sub`'s table, from its first part (verified; kept to be read next, not read twice)."""
        parts = self.parts(sub)
        if not parts:
            if sub == EVENTS_DIR and self.entries:
                raise FolderError(f"{self.path}: holds no events (written without --events); nothing to read in {sub}/")
            raise FolderError(f"{self.path}: no finished chunk in {sub}/ yet; nothing to read")
        if sub not in self._first:
            self._first[sub] = (parts[0].id, self._load(sub, parts[0]))
        return self._first[sub][1].schema_arrow

    def tables(
        self,
        sub: str = RUNS_DIR,
        columns: Sequence[str] | None = None,
        *,
        entries: Iterable[Entry] | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> Iterator[pa.Table]:
        """`columns` (default: all) of `sub`, part by part in chunk order, in tables of up to `batch_rows`
        rows, each part verified before it is parsed and cast to the folder's schema (that of its first
        part). `entries` restricts the read to some chunks (e.g. the one holding a run)."""
        schema = self.schema(sub)
        names = list(schema.names) if columns is None else list(columns)
        missing = [c for c in names if c not in schema.names]
        if missing:
            raise FolderError(f"{self.path}: no column {missing[0]!r} in {sub}/ (written by another version of abm?)")
        wanted = pa.schema([schema.field(c) for c in names])
        chosen = self.parts(sub) if entries is None else [e for e in entries if e.expected(sub) is not None]
        for entry in chosen:
            cached = self._first.get(sub)
            part = self._first.pop(sub)[1] if cached and cached[0] == entry.id else self._load(sub, entry)
            absent = [c for c in names if c not in part.schema_arrow.names]
            if absent:
                raise FolderError(
                    f"{self.path}: {_name(sub, entry.id)} has no column {absent[0]!r}, unlike the other parts "
                    "(written by another version of abm?)"
                )
            try:
                for batch in part.iter_batches(batch_size=batch_rows, columns=names):
                    table = pa.Table.from_batches([batch]).select(names)  # Parquet returns file order, not ours
                    yield table if table.schema.equals(wanted) else table.cast(wanted)
            except (OSError, ValueError, pa.ArrowException) as exc:  # verified bytes that do not decode
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise self._refusal(
                    {_name(sub, entry.id): f"cannot be decoded ({first_line})"}, check_rest=True
                ) from None

    def read(self, sub: str = RUNS_DIR, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The whole (verified) table of `sub` as a DataFrame, rows in (point, run) order."""
        tables = list(self.tables(sub, columns))
        if tables:
            return pa.concat_tables(tables).to_pandas()
        schema = self.schema(sub)  # parts without rows: an empty table with the columns asked for
        return pa.schema([schema.field(c) for c in (columns or schema.names)]).empty_table().to_pandas()

    def verify(self) -> None:
        """Check every listed part's bytes (sha256, row count); one `FolderError` naming all that fail."""
        problems = {}
        for sub in SUBDIRS:
            for entry in self.parts(sub):
                why, _ = self._check(sub, entry)
                if why:
                    problems[_name(sub, entry.id)] = why
        if problems:
            raise self._refusal(problems)

    def _refusal(self, problems: Mapping[str, str], check_rest: bool = False) -> FolderError:
        """The one error for a folder that does not match its manifest: with `check_rest`, every other
        listed part present is checked too (hash and row count), so the message names all of them."""
        found = dict(problems)
        if check_rest:
            for sub in SUBDIRS:
                for entry in self.parts(sub):
                    name = _name(sub, entry.id)
                    if name not in found and (self.path / name).is_file():
                        why, _ = self._check(sub, entry)
                        if why:
                            found[name] = why
        return FolderError(describe_problems(self.path, found))


STRAY = "not listed in the manifest (stray)"
MISSING = "missing"


def describe_problems(path: Path, problems: Mapping[str, str]) -> str:
    """One line naming every file that does not match the manifest, grouped by what is wrong, and
    how to repair the folder."""
    groups: dict[str, list[str]] = {}
    for name, why in sorted(problems.items()):
        groups.setdefault(why, []).append(name)
    order = sorted(groups, key=lambda why: (why == STRAY, why == MISSING, why))  # damaged, missing, stray
    shown, parts = 0, []
    for why in order:
        names = groups[why][: max(0, SHOWN - shown)]
        if names:
            parts.append(f"{why}: {', '.join(names)}")
            shown += len(names)
    more = f"; and {len(problems) - shown} more" if len(problems) > shown else ""
    stray = groups.get(STRAY, [])
    odd = [name for name in stray if not re.fullmatch(r"(runs|events)/part-[^/]+\.parquet", name)]
    repairs = []
    if len(stray) < len(problems) or len(odd) < len(stray):
        repairs.append(
            f"run the command that wrote it again with --out {path} (abm run and sweep: add --resume); it keeps "
            "the intact chunks, recomputes damaged and missing ones and deletes unlisted part files"
        )
    if odd:
        repairs.append(f"move {', '.join(odd[:SHOWN])} out of the folder")
    files = "file does" if len(problems) == 1 else "files do"
    return (
        f"{path}: {len(problems)} {files} not match the manifest, so the folder is not read; "
        f"{'; '.join(parts)}{more}. To repair: {'; '.join(repairs)}"
    )


def open_folder(path: str | Path) -> RunFolder:
    """Open a results folder for reading: read and check its manifest, check its listing.

    Raises `FolderError` (exit 2) for a folder that is not a results folder, a damaged
    manifest, stray or missing parts. Damaged parts are found as they are read (or by `verify`)."""
    path = Path(path)
    if not path.is_dir():
        raise FolderError(f"{path}: not a results folder ({'a file' if path.exists() else 'no such folder'})")
    where = path / MANIFEST_FILE
    if not where.is_file():
        raise FolderError(
            f"{path}: not a results folder (no {MANIFEST_FILE}), so its part files cannot be checked; give a folder "
            "written by abm run, sweep, compare or sensitivity"
        )
    try:
        manifest = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise FolderError(f"{where}: unreadable ({_short(exc)}); the folder cannot be checked") from None
    if not isinstance(manifest, dict):
        raise FolderError(f"{where}: damaged: not a JSON object; the folder cannot be checked")
    folder = RunFolder(path, manifest, checked_entries(manifest, where))
    problems: dict[str, str] = {}
    unrecorded = discarded = 0
    skipped = _discarded(manifest)
    for sub in SUBDIRS:
        listed = {part_path(Path(), e.id).name: e for e in folder.parts(sub)}
        present = _listing(path / sub)
        for name in present:
            if name in listed:
                continue
            if name in skipped:
                discarded += 1  # left by an `abm compact` under way or killed: not data
                continue
            if not folder.finished and CHUNK_PART.fullmatch(name) and (path / sub / name).is_file():
                unrecorded += 1  # written after the manifest's last update: left out, not read
                continue
            problems[f"{sub}/{name}"] = STRAY
        for name in sorted(set(listed) - set(present)):
            problems[f"{sub}/{name}"] = MISSING
    if problems:  # refused: name the damaged parts in the same message (the bytes of every listed part checked)
        raise folder._refusal(problems, check_rest=True)
    unchecked = sum(1 for sub in SUBDIRS for e in folder.parts(sub) if e.expected(sub)[1] is None)  # type: ignore[index]
    if unchecked:
        folder.notes.append(
            f"{unchecked} part files of this folder have no checksum in its manifest (written by an older abm): "
            "only their row counts are checked"
        )
    if discarded:
        folder.notes.append(
            f"{discarded} part files left by an unfinished `abm compact` are not read; run `abm compact {path}` "
            "again to remove them"
        )
    if not folder.finished:
        folder.notes.append(_unfinished_note(folder, unrecorded))
    return folder


def _discarded(manifest: Mapping[str, Any]) -> set[str]:
    """File names of the part files the manifest says are not data (`DISCARDED_KEY`)."""
    ids = manifest.get(DISCARDED_KEY)
    if not isinstance(ids, list):
        return set()
    return {part_path(Path(), i).name for i in ids if isinstance(i, str) and SAFE_ID.fullmatch(i)}


def _unfinished_note(folder: RunFolder, unrecorded: int) -> str:
    m = folder.manifest
    done = sum(e.rows for e in folder.entries)
    planned = _count(m.get("runs")) or 0
    planned *= _count(m.get("points")) or 1
    of = f" of {planned} planned" if planned else ""
    why = {
        "running": "still being written, or its writer was killed",
        "stopped": f"stopped early: {str(m.get('stop_reason') or 'see the manifest')[:200]}",
        "interrupted": "interrupted",
        "crashed": "its writer crashed",
    }[str(folder.status)]
    left = f"; {unrecorded} part files not yet recorded in the manifest are left out" if unrecorded else ""
    return (
        f"{folder.path} is not finished (status {folder.status}: {why}): only the {len(folder.entries)} chunks "
        f"recorded as finished are read, {done} runs{of}{left}. "
        + ("If no abm process is writing it, resume it" if folder.status == "running" else "Resume it")
        + " (--out DIR --resume) to finish it"
    )


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:120] if text else type(exc).__name__


__all__ = ["BATCH_ROWS", "Entry", "FolderError", "RunFolder", "describe_problems", "open_folder"]
