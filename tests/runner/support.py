"""Shared constants and helpers for runner and CLI tests (importable as tests.runner.support)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"
SHORT = ["horizon_days=60"]  # a full crisis in a third of the time
FAKE = "tests.runner.runner_fakes:simulate"  # through the runner's test-only simulator hook


def subprocess_env(fake: bool = False) -> dict[str, str]:
    """Environment for `python -m abm.cli` subprocesses: repo importable, no stray ABM_* hooks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if fake:
        env["ABM_SIMULATOR"] = FAKE
    return env
