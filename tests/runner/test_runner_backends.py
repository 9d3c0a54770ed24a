"""serial = loky = dask, row for row, with the real model (seeds fix every run's stream)."""

from __future__ import annotations

import pandas as pd
import pytest

from abm.runner import BackendError, points_experiment, run_experiment, run_in_memory
from abm.runner.backends import open_backend

SORT = ["point", "run"]


@pytest.fixture(scope="module")
def small_sweep():
    from abm.config import load_config
    from tests.runner.support import BASELINE, SHORT

    base = load_config(BASELINE, SHORT)
    points = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]
    return points_experiment(base, points, 20, 20200103, common_random_numbers=False, events=True)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(SORT, kind="stable").reset_index(drop=True)


def test_serial_loky_and_dask_give_identical_tables(tmp_path, small_sweep) -> None:
    serial = run_experiment(small_sweep, tmp_path / "serial", backend="serial", progress=False)
    loky = run_experiment(small_sweep, tmp_path / "loky", backend="loky", jobs=2, chunk_size=3, progress=False)
    dask = run_experiment(small_sweep, tmp_path / "dask", backend="dask", jobs=2, chunk_size=7, progress=False)
    reference = _sorted(serial.runs())
    assert len(reference) == 40 and reference["error"].isna().all(), reference["error"].dropna().head()
    for other in (loky, dask):
        assert other.status == "complete"
        pd.testing.assert_frame_equal(_sorted(other.runs()), reference)
        pd.testing.assert_frame_equal(
            other.events().sort_values(SORT, kind="stable").reset_index(drop=True),
            serial.events().sort_values(SORT, kind="stable").reset_index(drop=True),
        )


def test_in_memory_matches_stored(tmp_path, small_sweep) -> None:
    stored = run_experiment(small_sweep, tmp_path, backend="serial", chunk_size=6, progress=False).runs()
    memory = run_in_memory(small_sweep, backend="loky", jobs=2, chunk_size=4).runs
    pd.testing.assert_frame_equal(memory, stored)


def test_backend_errors_are_readable() -> None:
    with pytest.raises(BackendError, match="allowed: loky, serial, dask"):
        open_backend("threads")
    with pytest.raises(BackendError, match="jobs"):
        open_backend("loky", 0)
    with pytest.raises(BackendError, match="scheduler"):
        open_backend("loky", 2, scheduler="tcp://127.0.0.1:8786")
