"""Runner: seeds, experiments and designs, chunked execution on a backend, Parquet storage.

Public API (the CLI is a thin layer over it; `compare` and `validate` call it too):

* `run_scenario(scenario, runs, seed, *, jobs=1, backend="serial") -> DataFrame` — in-memory
  Monte Carlo of one scenario, no folder (tests, validation).
* `run_in_memory(experiment, *, jobs, backend) -> MemoryResult` — same for any experiment.
* `run_experiment(experiment, out_dir, *, jobs, backend, scheduler, resume, progress,
  chunk_size) -> ExperimentResult` — streamed to `out_dir` (runs/, events/, points.csv,
  manifest.json), resumable; then `abm.analysis.summary.write_summary(out_dir)`.
* Experiments: `load_experiment(path)`, `single_experiment(scenario, runs, seed)`,
  `points_experiment(scenario, points, runs, seed, common_random_numbers=True)`, `resolve(spec)`.
* Seeds: `run_seed(master, point_key, run)`.
"""

from abm.runner.backends import BACKENDS, BackendError, available_cores
from abm.runner.errors import RunnerError
from abm.runner.execute import (
    ExperimentResult,
    MemoryResult,
    check_folder,
    read_table,
    run_experiment,
    run_in_memory,
    run_scenario,
)
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
    "RunnerError",
    "available_cores",
    "check_folder",
    "load_experiment",
    "parse_spec",
    "points_experiment",
    "read_table",
    "resolve",
    "run_experiment",
    "run_in_memory",
    "run_scenario",
    "run_seed",
    "run_seeds",
    "single_experiment",
]
