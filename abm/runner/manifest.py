"""The manifest: what was run, with what, by which code, and which chunks are done.

`DIR/manifest.json` is rewritten atomically (at most every `FLUSH_SECONDS` while running, and
at every stop), so it is always a complete JSON document. Between two rewrites each finished
chunk is appended, as it lands, to the journal `DIR/.manifest.journal` (one JSON line, fsynced;
emptied by each rewrite, removed at the end): a rewrite of a manifest of 10 000 chunks takes
~0.2 s, an append ~1 ms whatever the size. A resume reads both (`with_journal`), so a crash
loses only the chunks in flight; a torn last line (a crash mid-append) is ignored and its chunk
redone. The chunk list is what a resume trusts, after checking each part file's row count and
sha256; a part no entry lists is redone, which gives identical rows because seeds are fixed per
run. Readers (`abm.runner.reader`) read the manifest only: a journalled chunk of a killed sweep
counts there once a resume (or the sweep's next rewrite) has moved it into the manifest.

A reserve file (`.manifest.json.reserve.tmp`, the size of the manifest plus a margin) is held
while writing, so that when the disk fills up the final rewrite (status `stopped`, reason
"disk full: …") still finds room: it is released just before that rewrite.

`abm compact` (`abm.runner.compact`) merges the parts of consecutive chunks and swaps the chunk
list in one atomic rewrite. While it works, `discarded_parts` lists the ids of part files that
are not data (the merged parts before the swap, the merged-away parts after it): readers skip
them, and a resume or the next compaction deletes them.

Provenance: the package version, git commit and `model_hash` (sha256 of the `abm/model`
sources), Python and the libraries that decide a run's rows (`LIBRARIES`) are recorded: per
session, in `versions` (every distinct writer, never overwritten) and per chunk (`v`: the index
in `versions` of the code that wrote it). Results of two versions are never mixed in one folder
without the manifest saying so (see `abm.runner.folder.check_folder`).

Faults: `lost_workers` (absent while none) lists every chunk lost with a worker process that
died, in every session (`abm.runner.engine.Losses`): `time`, `chunk`, `worker` (dask's
address, null for loky, which does not say), `backend`, `attempt` of `attempts`, `reason` and
`then` (re-run alone, run by run, recorded as failed, retried by the scheduler); each session
counts its own in `sessions[i].lost_workers`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from importlib import metadata, util
from pathlib import Path
from typing import Any

import abm
from abm.runner.storage import write_json_atomic

MANIFEST_FILE = "manifest.json"
JOURNAL_FILE = ".manifest.journal"
DISCARDED_KEY = "discarded_parts"  # chunk ids whose part files are not data (an `abm compact` under way)
LOST_KEY = "lost_workers"  # one entry per chunk lost with a dead worker process, kept across sessions
RESERVE_FILE = ".manifest.json.reserve.tmp"  # a `.tmp` name: ignored as a leftover, removed by clean_temporaries
RESERVE_MARGIN = 1 << 16
FLUSH_SECONDS = 2.0
FLUSH_SHARE = 0.05  # a large manifest is flushed less often: at most this share of the time goes into it
MODEL_PACKAGE = "abm.model"
LIBRARIES = ("numpy", "mesa", "pyarrow")  # besides Python and abm itself: what decides a run's rows
COMPARED = {
    "abm_version": "abm version",
    "model_hash": "model code hash",
    "python": "Python",
    "numpy": "numpy",
    "mesa": "Mesa",
    "pyarrow": "pyarrow",
}
VERSIONED = ("mesa", "numpy", "pandas", "pyarrow", "joblib", "pydantic", "SALib", "statsmodels", "dask", "distributed")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def git_commit(where: Path | None = None) -> str | None:
    """HEAD of the repository holding the package (with `-dirty` if modified); None without git."""
    root = where or Path(abm.__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head or None


@functools.lru_cache(maxsize=1)
def model_code_hash() -> str:
    """sha256 over the model's source files (`abm/model/**/*.py`, by relative path): whatever
    decides a run's record. Computed once per process."""
    spec = util.find_spec(MODEL_PACKAGE)
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_version() -> dict[str, Any]:
    """What decides which rows the code produces: package version, model code hash, git commit."""
    return {"abm_version": abm.__version__, "model_hash": model_code_hash(), "git_commit": git_commit()}


def environment() -> dict[str, Any]:
    """Versions of the code and libraries that produced the results."""
    versions: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        **code_version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
    }


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def writer_version() -> dict[str, Any]:
    """What a chunk is written with: `code_version()` plus Python and `LIBRARIES` (one entry of `versions`)."""
    return {**code_version(), "python": sys.version.split()[0], **{n: _package_version(n) for n in LIBRARIES}}


def recorded_version(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The last writer as the manifest's top level records it, in `writer_version()`'s shape."""
    packages = manifest.get("packages")
    packages = packages if isinstance(packages, Mapping) else {}
    top = {k: manifest.get(k) for k in ("abm_version", "model_hash", "git_commit", "python")}
    return {**top, **{n: packages.get(n) for n in LIBRARIES}}


def version_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Keys of `COMPARED` in which two writers differ (Python or a library
    that an older manifest did not record is not compared)."""
    return [
        k
        for k in COMPARED
        if old.get(k) != new.get(k)
        and (k in ("abm_version", "model_hash") or (old.get(k) is not None and new.get(k) is not None))
    ]


def chunk_versions(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The distinct writers of a manifest's finished chunks: the versions their `v` names, and the
    top-level record (the last writer; for chunks recorded before per-chunk versions, the only one
    known). None without chunks."""
    chunks = manifest.get("chunks")
    if not isinstance(chunks, list) or not chunks:
        return []
    versions = manifest.get("versions")
    versions = versions if isinstance(versions, list) else []
    found = [recorded_version(manifest)]
    for chunk in chunks:
        v = chunk.get("v") if isinstance(chunk, Mapping) else None
        if type(v) is int and 0 <= v < len(versions) and isinstance(versions[v], dict) and versions[v] not in found:
            found.append(versions[v])
    return found


def read_journal(directory: Path) -> list[dict[str, Any]]:
    """Chunk entries appended since the manifest's last rewrite; a torn or damaged line is skipped."""
    try:
        lines = (directory / JOURNAL_FILE).read_bytes().splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            entries.append(entry)
    return entries


def with_journal(manifest: dict[str, Any], directory: Path) -> dict[str, Any]:
    """The manifest with the chunks its journal adds (a journal line wins over an older entry)."""
    extra = read_journal(directory)
    chunks = manifest.get("chunks")
    if not extra or not isinstance(chunks, list):
        return manifest
    by_id = {c.get("id"): c for c in chunks if isinstance(c, dict)}
    by_id.update({e["id"]: e for e in extra})
    merged = [by_id[k] for k in sorted(by_id, key=str)]
    return {**manifest, "chunks": merged, "chunks_done": len(merged), "journalled": len(extra)}


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a results folder, or None if there is none (or it is unreadable)."""
    try:
        return json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class ManifestWriter:
    """Holds the manifest in memory, journals each finished chunk at once, and rewrites the
    manifest atomically, throttled; keeps a reserve of disk space for the last rewrite."""

    def __init__(self, directory: Path, data: Mapping[str, Any]) -> None:
        self.path = directory / MANIFEST_FILE
        self.journal_path = directory / JOURNAL_FILE
        self.reserve_path = directory / RESERVE_FILE
        self.data: dict[str, Any] = dict(data)
        self._last = 0.0
        self._cost = 0.0
        self._journal: Any = None
        self._reserved = 0

    def due(self) -> bool:
        """Whether a throttled flush would write now (a slow flush of a big manifest waits longer)."""
        return time.monotonic() - self._last >= max(FLUSH_SECONDS, self._cost / FLUSH_SHARE)

    def append(self, entry: Mapping[str, Any]) -> None:
        """Record one finished chunk durably at once: a JSON line appended to the journal and fsynced."""
        if self._journal is None:
            self._journal = open(self.journal_path, "ab", buffering=0)  # noqa: SIM115 - held open while writing
        line = json.dumps(entry, separators=(",", ":"), default=str).encode() + b"\n"
        if self._journal.write(line) != len(line):  # a short write: the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.journal_path))
        getattr(os, "fdatasync", os.fsync)(self._journal.fileno())

    def flush(self) -> None:
        began = time.monotonic()
        self.data["updated"] = utc_now()
        try:
            write_json_atomic(self.path, self.data)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not self._release():
                raise
            write_json_atomic(self.path, self.data)  # into the room the reserve held
        self._truncate_journal()  # the manifest now lists every chunk
        self._last = time.monotonic()
        self._cost = self._last - began
        self._reserve()

    def close(self, finished: bool) -> None:
        """Stop journalling; a folder closed with a complete manifest keeps neither journal nor reserve."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if finished:
            for path in (self.journal_path, self.reserve_path):
                with contextlib.suppress(OSError):
                    path.unlink()

    def _truncate_journal(self) -> None:
        if self._journal is not None:
            self._journal.truncate(0)
        elif self.journal_path.exists():
            with open(self.journal_path, "r+b") as fh:
                fh.truncate(0)

    def _reserve(self) -> None:
        """Hold room for one more rewrite (the manifest's size and a margin), grown as it grows."""
        try:
            need = self.path.stat().st_size + RESERVE_MARGIN
            if need <= self._reserved or not hasattr(os, "posix_fallocate"):
                return
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.posix_fallocate(fd, 0, 2 * need)
            finally:
                os.close(fd)
            self._reserved = 2 * need
        except OSError:
            pass  # no room for a reserve: the disk is already full, and the next write says so

    def _release(self) -> bool:
        """Give the reserve back to the file system; whether there was one."""
        try:
            self.reserve_path.unlink()
        except OSError:
            return False
        self._reserved = 0
        return True
