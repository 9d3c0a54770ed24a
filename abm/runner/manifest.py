"""The manifest: what was run, with what, by which code, and which chunks are done.

`DIR/manifest.json` is rewritten atomically (at most every `FLUSH_SECONDS` while running, and
at every stop), so it is always a complete JSON document. The chunk list is what a resume
trusts, after checking each part file's row count; a part written after the last flush is
simply redone, which gives identical rows because seeds are fixed per run.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import abm
from abm.runner.storage import write_json_atomic

MANIFEST_FILE = "manifest.json"
FLUSH_SECONDS = 2.0
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


def environment() -> dict[str, Any]:
    """Versions of the code and libraries that produced the results."""
    versions: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "abm_version": abm.__version__,
        "git_commit": git_commit(),
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

    def due(self) -> bool:
        """Whether a throttled flush would write now."""
        return time.monotonic() - self._last >= FLUSH_SECONDS

    def flush(self) -> None:
        self.data["updated"] = utc_now()
        write_json_atomic(self.path, self.data)
        self._last = time.monotonic()
