"""Fixtures for CLI tests: the fake model of tests/runner, a subprocess environment."""

from __future__ import annotations

import pytest

from tests.runner.support import FAKE
from tests.runner.support import subprocess_env as make_env


@pytest.fixture
def use_fake(monkeypatch) -> None:
    """Route runs to the fake model (through the runner's test-only hook)."""
    monkeypatch.setenv("ABM_SIMULATOR", FAKE)


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    return make_env()
