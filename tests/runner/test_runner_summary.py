"""Summaries: every outcome listed, failures counted in the denominator, Wilson as statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from abm.analysis.summary import format_summary, summarize, summarize_dataset, write_summary
from abm.model.outcomes import OUTCOMES
from abm.runner import points_experiment, run_experiment


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
