"""The manifest: what was run, with what, by which code, and which chunks are done.

`DIR/manifest.json` is rewritten atomically (at most every `FLUSH_SECONDS` while running, and
at every stop), so it is always a complete JSON document. The chunk list is what a resume
trusts, after checking each part file's row count and sha256; a part written after the last
flush is simply redone, which gives identical rows because seeds are fixed per run. It is
also all that a reader reads (`abm.runner.reader`): listed parts whose bytes match, nothing else.

Provenance: the package version, git commit and `model_hash` (sha256 of the `abm/model`
sources) of every session are recorded, so results of two model versions are never mixed in
one folder without the manifest saying so (see `abm.runner.execute.check_folder`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
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
FLUSH_SECONDS = 2.0
FLUSH_SHARE = 0.05  # a large manifest is flushed less often: at most this share of the time goes into it
MODEL_PACKAGE = "abm.model"
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


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a results folder, or None if there is none (or it is unreadable)."""
    try:
        return json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class ManifestWriter:
    """Holds the manifest in memory and flushes it atomically, throttled."""

    def __init__(self, directory: Path, data: Mapping[str, Any]) -> None:
        self.path = directory / MANIFEST_FILE
        self.data: dict[str, Any] = dict(data)
        self._last = 0.0
        self._cost = 0.0

    def due(self) -> bool:
        """Whether a throttled flush would write now (a slow flush of a big manifest waits longer)."""
        return time.monotonic() - self._last >= max(FLUSH_SECONDS, self._cost / FLUSH_SHARE)

    def flush(self) -> None:
        began = time.monotonic()
        self.data["updated"] = utc_now()
        write_json_atomic(self.path, self.data)
        self._last = time.monotonic()
        self._cost = self._last - began
