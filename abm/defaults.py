"""Defaults and choices that the command line shows, in one module that imports nothing.

`abm.cli` and `abm.commands` build their whole parser from these values, so `import abm.cli`,
`abm --help` and `abm run --help` load no numpy, pandas, scipy, statsmodels, SALib or matplotlib;
the heavy modules are imported by the command that runs. The code that uses a value imports it
from here too (under its old name where it had one), so the parser and the code cannot disagree.
"""

from __future__ import annotations

# Experiments and their execution (abm.runner)
DEFAULT_SEED = 20200103
DEFAULT_RUNS = 1000
DEFAULT_MAX_FAILURE_SHARE = 0.05
DEFAULT_RETRIES = 2  # extra attempts of a chunk whose worker died (the first retry is always made)
BACKENDS: tuple[str, ...] = ("loky", "serial", "dask")

# Statistics (abm.stats)
ALPHA = 0.05  # 1 - confidence level of every interval, and the level of every test

# Analyses (abm.analysis)
CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "fdr_bh")  # compare: multiple-testing adjustments
SENSITIVITY_METHODS: tuple[str, ...] = ("sobol", "morris")
TABLE_FORMATS: tuple[str, ...] = ("md", "csv", "latex", "xlsx")  # report
DEFAULT_TABLE_FORMATS: tuple[str, ...] = ("md", "csv")
PRIM_PEEL, PRIM_MASS_MIN, PRIM_MIN_COVERAGE = 0.05, 0.05, 0.5  # discover: share peeled per step, box limits

# Hindcast scoring (abm.hindcast)
HINDCAST_EPS = 0.01  # log score: probabilities clipped to [EPS, 1 - EPS]
HINDCAST_BOOTSTRAP = 2000  # bootstrap resamples of forecast dates
