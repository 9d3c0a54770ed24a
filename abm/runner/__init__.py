"""Runner: seeds, experiments and designs, chunked execution on a backend, Parquet storage.

Public API (the CLI is a thin layer over it; `compare` and `validate` call it too):

* `run_scenario(scenario, runs, seed, *, jobs=1, backend="serial") -> DataFrame` — in-memory
  Monte Carlo of one scenario, no folder (tests, validation).
* `run_in_memory(experiment, *, jobs, backend) -> MemoryResult` — same for any experiment.
* `run_experiment(experiment, out_dir, *, jobs, backend, scheduler, resume, progress,
  chunk_size, run_timeout, retries, retry_failed, allow_version_mix) -> ExperimentResult` —
  streamed to `out_dir` (runs/, events/, points.csv, manifest.json), locked while it runs,
  resumable after any crash; then `abm.analysis.summary.write_summary(out_dir)`. What it
  survives and how is in docs/RELIABILITY.md.
* `replay_run(out_dir, run, point=None) -> Replay` — re-simulate one stored run from the
  manifest and compare it with its row (`abm replay`).
* Experiments: `load_experiment(path)`, `single_experiment(scenario, runs, seed)`,
  `points_experiment(scenario, points, runs, seed, common_random_numbers=True)`, `resolve(spec)`.
* Seeds: `run_seed(master, point_key, run)`.
"""

from abm.runner.backends import BACKENDS, BackendError, available_cores
from abm.runner.errors import RunnerError
from abm.runner.experiment import (
    DEFAULT_RUNS,
    DEFAULT_SEED,
    Experiment,
    ExperimentSpec,
    load_experiment,
    parse_spec,
    points_experiment,
    resolve,
    single_experiment,
)
from abm.runner.replay import Replay, replay_run
from abm.runner.run import (
    ExperimentResult,
    MemoryResult,
    check_folder,
    read_table,
    run_experiment,
    run_in_memory,
    run_scenario,
)
from abm.runner.seeds import run_seed, run_seeds

__all__ = [
    "BACKENDS",
    "DEFAULT_RUNS",
    "DEFAULT_SEED",
    "BackendError",
    "Experiment",
    "ExperimentResult",
    "ExperimentSpec",
    "MemoryResult",
    "Replay",
    "RunnerError",
    "available_cores",
    "check_folder",
    "load_experiment",
    "parse_spec",
    "points_experiment",
    "read_table",
    "replay_run",
    "resolve",
    "run_experiment",
    "run_in_memory",
    "run_scenario",
    "run_seed",
    "run_seeds",
    "single_experiment",
]
