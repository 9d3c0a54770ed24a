"""What a run returns: `ExperimentResult` (a run into a folder), `MemoryResult` (a run in memory),
and `read_table`, the one way back to a folder's tables from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from abm.runner import storage
from abm.runner.engine import Status
from abm.runner.experiment import Experiment


@dataclass
class ExperimentResult:
    """Outcome of `run_experiment`. `status`:

    * complete: every run done, failed share within the limit;
    * failed: every run done, failed share above the limit (tables and summary still valid);
    * stopped: stopped early because the failed share passed the limit, or because results
      could not be written (`stop_reason` says which; resumable);
    * interrupted: Ctrl-C / SIGTERM (resumable).
    """

    experiment: Experiment
    out_dir: Path
    status: Status
    runs_done: int
    failures: int
    runs_planned: int
    chunks_done: int
    seconds: float
    first_error: str | None = None
    stop_reason: str | None = None
    runs_earlier: int = 0  # of runs_done, those an earlier invocation had finished (resume)
    untouched: bool = False  # nothing was left to run: the folder was only read, not written

    @property
    def failure_share(self) -> float:
        return self.failures / self.runs_done if self.runs_done else 0.0

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def runs(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The runs table, sorted by (point, run), read back through the one reader (`read_table`): only the
        parts the manifest lists, each checked (sha256, row count) before it is parsed."""
        return read_table(self.out_dir / storage.RUNS_DIR, columns)

    def events(self, columns: list[str] | None = None) -> pd.DataFrame:
        return read_table(self.out_dir / storage.EVENTS_DIR, columns)


@dataclass
class MemoryResult:
    """Outcome of `run_in_memory`: the tables as DataFrames, sorted by (point, run)."""

    runs: pd.DataFrame
    events: pd.DataFrame | None
    status: Status
    failures: int
    lost_workers: list[dict[str, Any]] = field(default_factory=list)  # as the manifest's `lost_workers`


def read_table(directory: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """`columns` (default: all) of a results folder's `DIR/runs` or `DIR/events`, rows in (point, run) order.

    Read through the one reader (`abm.runner.reader.open_folder`): only the parts the manifest lists,
    each checked against its sha256 and row count before it is parsed. A stray, missing or damaged part
    (or a missing or damaged manifest) raises `FolderError`, a `RunnerError` naming the files (exit 2 in
    the CLI); an unfinished folder gives the chunks its manifest records as finished."""
    from abm.runner.reader import SUBDIRS, FolderError, open_folder

    directory = Path(directory)
    if directory.name not in SUBDIRS:
        raise FolderError(f"{directory}: give the runs/ or events/ folder of a results folder (DIR/runs, DIR/events)")
    return open_folder(directory.parent).read(directory.name, columns)


__all__ = ["ExperimentResult", "MemoryResult", "read_table"]
