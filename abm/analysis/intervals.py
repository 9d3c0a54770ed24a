# Old path of the Wilson interval, named by docs/ANALYSIS.md and experiments/warning_analysis/stages.py; use abm.stats.
from abm.stats import wilson  # noqa: F401
