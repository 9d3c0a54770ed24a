"""Errors the runner raises for the user to fix (the CLI prints them and exits 2)."""


class RunnerError(ValueError):
    """A request the runner refuses before running anything (bad folder, backend, resume)."""
