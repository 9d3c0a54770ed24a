"""Analysis: statistics over stored runs (summaries now; comparisons and sensitivity later)."""

from abm.analysis.summary import format_summary, summarize, summarize_dataset, wilson, write_summary

__all__ = ["format_summary", "summarize", "summarize_dataset", "wilson", "write_summary"]
