"""Analysis: statistics over stored runs (summaries now; comparisons and sensitivity later)."""

from abm.analysis.summary import format_summary, summarize, summarize_dataset, write_summary
from abm.stats import wilson

__all__ = ["format_summary", "summarize", "summarize_dataset", "wilson", "write_summary"]
