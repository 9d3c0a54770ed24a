"""Shared fixtures: a short baseline and tiny real results folders, built once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abm.analysis.compare import parse_lever, run_comparison
from abm.config import Scenario, load_config
from tests.runner.support import FAKE, seal

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"
SHORT = {"horizon_days": 60}


@pytest.fixture(scope="session")
def short_baseline() -> Scenario:
    """The baseline with a 60-day horizon: fast, still a full crisis."""
    return load_config(BASELINE, SHORT)


@pytest.fixture
def fake() -> str:
    """The fake model of the runner tests (abm.runner's simulator hook): instant runs, real tables."""
    return FAKE


@pytest.fixture(scope="session")
def compare_dir(tmp_path_factory: pytest.TempPathFactory, short_baseline: Scenario) -> Path:
    """A real paired comparison folder (two levers, OFAT, 30 runs per arm, with events)."""
    out = tmp_path_factory.mktemp("compare") / "cmp"
    levers = [parse_lever("iran.advance_warning=0.8,0.0"), parse_lever("us.doctrine=lethal_red_line,massive")]
    run_comparison(short_baseline, levers, 30, 11, out_dir=out, events=True, jobs=1, backend="serial")
    return out


def write_sweep(path: Path, points: pd.DataFrame, runs_per_point: int, p_outcome, seed: int = 0) -> Path:
    """A synthetic sweep folder (runs/ only): outcome `spiral` with probability p_outcome(row) per point."""
    rng = np.random.default_rng(seed)
    rows = []
    for point, row in points.iterrows():
        p = float(p_outcome(row))
        for run in range(runs_per_point):
            rows.append(
                {
                    "point": point,
                    "run": run,
                    "seed": run,
                    **row.to_dict(),
                    "outcome": "spiral" if rng.random() < p else "unresolved",
                    "days": 10,
                    "error": None,
                }
            )
    (path / "runs").mkdir(parents=True)
    frame = pd.DataFrame(rows)
    frame["error"] = frame["error"].astype("string")
    frame.to_parquet(path / "runs" / "part-0.parquet")
    return seal(path)  # a manifest vouching for the part, as abm.runner.reader requires
