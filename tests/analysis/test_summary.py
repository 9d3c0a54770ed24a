"""Summaries: every outcome listed, failures counted in the denominator, Wilson as statsmodels,
and only the columns a summary needs are read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from statsmodels.stats.proportion import proportion_confint

from abm.analysis.summary import format_summary, summarize, summarize_dataset, summary_columns, write_summary
from abm.model.outcomes import OUTCOMES
from abm.runner import points_experiment, run_experiment, single_experiment
from abm.stats import wilson
from tests.runner.support import seal


def runs_frame(outcomes: list[str | None], errors: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"run": range(len(outcomes)), "outcome": outcomes, "error": errors})


def test_every_outcome_has_a_row_and_errors_count() -> None:
    frame = runs_frame(["spiral", "spiral", "deal", None], [None, None, None, "RuntimeError: x"])
    table = summarize(frame)
    assert table["outcome"].tolist() == [*OUTCOMES, "error"]
    counts = table.set_index("outcome")["count"]
    assert counts["spiral"] == 2 and counts["deescalation"] == 0 and counts["error"] == 1
    assert np.isclose(table["p"].sum(), 1.0) and (table.loc[table.outcome == "spiral", "p"] == 0.5).all()
    low, high = proportion_confint(table["count"], 4, alpha=0.05, method="wilson")
    np.testing.assert_allclose(table["ci_low"], low)
    np.testing.assert_allclose(table["ci_high"], high)


def test_no_error_row_without_errors_and_unknown_outcomes_kept() -> None:
    table = summarize(runs_frame(["deal", "novel"], [None, None]))
    assert table["outcome"].tolist() == [*OUTCOMES, "novel"]


def test_dataset_summary_per_point_matches_memory(tmp_path, short_baseline, fake) -> None:
    points = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]
    result = run_experiment(
        points_experiment(short_baseline, points, 40, 1), tmp_path, backend="serial", progress=False, simulator=fake
    )
    stored = summarize_dataset(tmp_path / "runs")
    memory = summarize(result.runs(), by=["point", "us.doctrine"])
    pd.testing.assert_frame_equal(stored, memory)
    written = write_summary(tmp_path)
    assert list(pd.read_csv(tmp_path / "summary.csv").columns) == list(written.columns)
    text = format_summary(written)
    assert "massive" in text and "spiral" in text


def test_format_run_summary_is_aligned() -> None:
    text = format_summary(summarize(runs_frame(["spiral", "deal", "deal"], [None] * 3)))
    lines = text.splitlines()
    assert lines[0].split() == ["outcome", "count", "p", "ci_low", "ci_high"]
    assert len({len(line) for line in lines[:-1]}) == 1  # one width: aligned columns


def test_wilson_is_statsmodels_to_the_bit() -> None:
    """summary.csv intervals are statsmodels' Wilson intervals (clipped to [0, 1] only against rounding)."""
    rng = np.random.default_rng(3)
    n = np.concatenate([[1, 1, 2, 7, 1000, 100_000], rng.integers(1, 10**6, size=400)])
    count = np.concatenate([[0, 1, 1, 3, 0, 100_000], rng.integers(0, n[6:] + 1)])
    for alpha in (0.05, 0.01, 0.1, 0.32):
        low, high = proportion_confint(count, n, alpha=alpha, method="wilson")
        ours = wilson(count, n, alpha)
        np.testing.assert_array_equal(ours[0], low)
        np.testing.assert_array_equal(ours[1], high)
    assert wilson(3, 7) == proportion_confint(3, 7, method="wilson")
    assert isinstance(wilson(3, 7)[0], float)


def spoil_columns(runs_dir: Path, keep: list[str]) -> None:
    """Overwrite the data of every column chunk not in `keep`, footers intact: whatever decodes one fails."""
    for part in sorted(runs_dir.glob("part-*.parquet")):
        meta = pq.ParquetFile(part).metadata
        data = bytearray(part.read_bytes())
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                chunk = meta.row_group(g).column(c)
                if chunk.path_in_schema not in keep:
                    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
                    data[start : start + chunk.total_compressed_size] = b"\xff" * chunk.total_compressed_size
        part.write_bytes(bytes(data))


@pytest.mark.parametrize("sweep", [False, True])
def test_the_summary_reads_only_the_columns_it_needs(tmp_path, short_baseline, fake, monkeypatch, sweep) -> None:
    """Outcome and error (with point and parameters for a sweep), never the other model columns:
    with those made unreadable, the summary is the same as from the intact table."""
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"fail_runs": [2, 5]}))  # an `error` row too
    if sweep:
        points = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]
        experiment = points_experiment(short_baseline, points, 30, 1)
    else:
        experiment = single_experiment(short_baseline, 30, 1)
    result = run_experiment(experiment, tmp_path, backend="serial", progress=False, simulator=fake, chunk_size=7)
    runs = result.runs()
    by = ["point", "us.doctrine"] if sweep else []
    assert summary_columns(list(runs.columns)) == [*by, "outcome", "error"]
    expected = summarize(runs, by=by)
    assert "error" in set(expected["outcome"])

    spoil_columns(tmp_path / "runs", keep=summary_columns(list(runs.columns)))
    seal(tmp_path)  # the manifest vouches for the spoiled bytes: only decoding them would fail
    with pytest.raises((OSError, ValueError)):  # the spoiled columns cannot be read (pyarrow: OSError)
        pd.read_parquet(tmp_path / "runs", columns=["days"])
    pd.testing.assert_frame_equal(write_summary(tmp_path), expected)
    assert (tmp_path / "summary.csv").read_text() == expected.to_csv(index=False)
