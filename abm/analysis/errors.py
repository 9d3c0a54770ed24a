"""The one error the analysis layer raises for bad input; its message is meant for the user."""

from __future__ import annotations


class AnalysisError(ValueError):
    """Input an analysis cannot work with (missing folder, no runs, empty selection); CLI exit 2."""
