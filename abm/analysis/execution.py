"""Run an experiment for an analysis: in memory, or streamed to a folder, summarised and read back.

`compare` and `sensitivity` both need the runs table plus the run's status; this is the one
place that knows how to get them either way. A folder gets `summary.csv` and `curves.csv`, as
from `abm run` and `abm sweep`, and its runs are read back through `abm.runner.reader` (every
part checked against the manifest), like any other reader of results folders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from abm.analysis.curves import write_curves
from abm.analysis.summary import write_summary
from abm.runner import Experiment, run_experiment, run_in_memory
from abm.runner.reader import open_folder
from abm.runner.storage import RUNS_DIR


@dataclass(frozen=True)
class Execution:
    """The runs table (None when a folder run stopped early) and how the run went."""

    runs: pd.DataFrame | None
    status: str
    done: int
    failures: int
    first_error: str | None
    seconds: float
    out_dir: Path | None

    @property
    def finished(self) -> bool:
        return self.runs is not None


def execute(
    experiment: Experiment,
    out_dir: str | Path | None,
    columns: Sequence[str],
    *,
    jobs: int | None,
    backend: str,
    progress: bool,
    scheduler: str | None = None,
    simulator: Any = None,
    optional: Sequence[str] = (),
) -> Execution:
    """In memory when `out_dir` is None; otherwise stream to it, write summary.csv and curves.csv, and read
    `columns` back, and those of `optional` the dataset has (e.g. `state_hot_days`, absent in older models).
    `scheduler`: a dask scheduler's address (with `backend="dask"`), as `abm run --scheduler`."""
    if out_dir is None:
        mem = run_in_memory(
            experiment, jobs=jobs, backend=backend, scheduler=scheduler, simulator=simulator, progress=progress
        )
        return Execution(mem.runs, mem.status, len(mem.runs), mem.failures, None, 0.0, None)
    out = Path(out_dir)
    res = run_experiment(
        experiment, out, jobs=jobs, backend=backend, scheduler=scheduler, progress=progress, simulator=simulator
    )
    if res.status not in ("complete", "failed"):
        return Execution(None, res.status, res.runs_done, res.failures, res.first_error, res.seconds, out)
    folder = open_folder(out)
    write_summary(folder)
    write_curves(folder, experiment.base.horizon_days)
    present = folder.schema(RUNS_DIR).names
    runs = folder.read(RUNS_DIR, [*columns, *(c for c in optional if c in present and c not in columns)])
    return Execution(runs, res.status, res.runs_done, res.failures, res.first_error, res.seconds, out)
