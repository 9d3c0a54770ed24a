"""Fixtures for runner tests: the baseline config (shortened), the fake model, subprocess env."""

from __future__ import annotations

from pathlib import Path

import pytest

from abm.config import Scenario, load_config
from tests.runner.support import BASELINE, FAKE, SHORT
from tests.runner.support import subprocess_env as make_env


@pytest.fixture
def baseline_path() -> Path:
    return BASELINE


@pytest.fixture
def short_baseline() -> Scenario:
    """The baseline with a 60-day horizon: fast, still a full crisis."""
    return load_config(BASELINE, SHORT)


@pytest.fixture
def fake() -> str:
    return FAKE


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    return make_env()
