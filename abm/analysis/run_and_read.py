"""Run an experiment for an analysis and read its runs back: in memory, or streamed to a folder and summarised.

`compare`, `sensitivity`, `robust` and the lever and mechanism tables need the runs table plus
how the runs went; this is the one place that knows how to get them either way. A folder gets
`summary.csv` and `curves.csv`, as from `abm run` and `abm sweep`, and its runs are read back
through `abm.runner.reader` (every part checked against the manifest), like any other reader of
results folders. `RunAccount` (how the runs went) is shared by the analyses' result types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from abm.analysis.curves import write_curves
from abm.analysis.summary import write_summary
from abm.runner import Experiment, run_experiment, run_in_memory
from abm.runner.reader import open_folder
from abm.runner.storage import RUNS_DIR


@dataclass(kw_only=True)
class RunAccount:
    """How a study's runs went: the runner's status, runs done, failed runs, the first error, seconds
    spent and the results folder (None in memory). Analysis results extend it with their tables."""

    status: str
    runs_done: int
    failures: int
    first_error: str | None = None
    seconds: float = 0.0
    out_dir: Path | None = None

    def account(self) -> dict[str, Any]:
        """The fields of `RunAccount`, as keywords for a result type that extends it."""
        return {f.name: getattr(self, f.name) for f in fields(RunAccount)}


@dataclass(kw_only=True)
class RunsRead(RunAccount):
    """The runs table (None when a folder run stopped early) and how the run went."""

    runs: pd.DataFrame | None

    @property
    def finished(self) -> bool:
        return self.runs is not None


def run_and_read(
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
) -> RunsRead:
    """In memory when `out_dir` is None; otherwise stream to it, write summary.csv and curves.csv, and read
    `columns` back, and those of `optional` the dataset has (e.g. `state_hot_days`, absent in older models).
    `scheduler`: a dask scheduler's address (with `backend="dask"`), as `abm run --scheduler`."""
    if out_dir is None:
        mem = run_in_memory(
            experiment, jobs=jobs, backend=backend, scheduler=scheduler, simulator=simulator, progress=progress
        )
        return RunsRead(runs=mem.runs, status=mem.status, runs_done=len(mem.runs), failures=mem.failures)
    out = Path(out_dir)
    res = run_experiment(
        experiment, out, jobs=jobs, backend=backend, scheduler=scheduler, progress=progress, simulator=simulator
    )
    went = RunAccount(
        status=res.status,
        runs_done=res.runs_done,
        failures=res.failures,
        first_error=res.first_error,
        seconds=res.seconds,
        out_dir=out,
    ).account()
    if res.status not in ("complete", "failed"):
        return RunsRead(runs=None, **went)
    folder = open_folder(out)
    write_summary(folder)
    write_curves(folder, experiment.base.horizon_days)
    present = folder.schema(RUNS_DIR).names
    runs = folder.read(RUNS_DIR, [*columns, *(c for c in optional if c in present and c not in columns)])
    return RunsRead(runs=runs, **went)


__all__ = ["RunAccount", "RunsRead", "run_and_read"]
