"""Scoring functions on hand-made cases with known values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from abm.hindcast.scoring import (
    brier,
    clip,
    log_loss,
    reliability,
    score_block,
    skill,
    skill_replicates,
    stable_key,
)
from abm.stats import cluster_bootstrap_counts, cluster_bootstrap_means, percentile_interval, wilson


def test_brier_known_values() -> None:
    assert brier(0.7, 1) == pytest.approx(0.09)
    assert brier(0.7, 0) == pytest.approx(0.49)
    assert brier(1.0, 1) == 0.0
    assert brier(0.5, 0) == pytest.approx(0.25)
    assert np.mean(brier([0.7, 0.2], [1, 0])) == pytest.approx((0.09 + 0.04) / 2)


def test_log_loss_known_values_and_clipping() -> None:
    assert log_loss(0.5, 1) == pytest.approx(math.log(2))
    assert log_loss(0.9, 1) == pytest.approx(-math.log(0.9))
    assert log_loss(0.9, 0) == pytest.approx(-math.log(0.1))
    # p = 0 on an event that happened costs ln(100), not infinity (clip to [0.01, 0.99])
    assert log_loss(0.0, 1) == pytest.approx(math.log(100))
    assert log_loss(1.0, 1) == pytest.approx(-math.log(0.99))
    assert log_loss(0.0, 1, eps=0.001) == pytest.approx(math.log(1000))
    assert clip([0.0, 0.5, 1.0]).tolist() == pytest.approx([0.01, 0.5, 0.99])


def test_skill_score() -> None:
    assert skill(0.09, 0.25) == pytest.approx(0.64)
    assert skill(0.25, 0.25) == 0.0
    assert skill(0.5, 0.25) == pytest.approx(-1.0)
    assert math.isnan(skill(0.1, 0.0))
    assert math.isnan(skill(float("nan"), 0.2))
    reps = skill_replicates(np.array([0.09, 0.1]), np.array([0.25, 0.0]))
    assert reps[0] == pytest.approx(0.64) and math.isnan(reps[1])


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    losses = np.random.default_rng(1).random(20)
    clusters = np.arange(20)
    a = cluster_bootstrap_means(losses, clusters, n_boot=300, seed=[7, 11])
    b = cluster_bootstrap_means(losses, clusters, n_boot=300, seed=[7, 11])
    c = cluster_bootstrap_means(losses, clusters, n_boot=300, seed=[7, 12])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert stable_key("a", 7) == stable_key("a", 7) != stable_key("a", 30)


def test_bootstrap_interval_brackets_the_mean_and_collapses_on_constants() -> None:
    losses = np.random.default_rng(2).random(40)
    low, high = percentile_interval(cluster_bootstrap_means(losses, np.arange(40), n_boot=1000, seed=3))
    assert low < losses.mean() < high
    assert percentile_interval(
        cluster_bootstrap_means(np.full(10, 0.3), np.arange(10), n_boot=200, seed=3)
    ) == pytest.approx((0.3, 0.3))


def test_bootstrap_resamples_whole_clusters() -> None:
    # two dates, two forecasts each: a resample takes both forecasts of a date or neither
    means = cluster_bootstrap_means(
        np.array([0.0, 0.0, 1.0, 1.0]), np.array(["d1", "d1", "d2", "d2"]), n_boot=500, seed=5
    )
    assert set(np.round(means, 9)) <= {0.0, 0.5, 1.0}
    counts = cluster_bootstrap_counts(4, 100, 9)
    assert counts.shape == (100, 4) and (counts.sum(axis=1) == 4).all()


def test_score_block_hand_case() -> None:
    out = score_block(
        p=np.array([0.7, 0.2]),
        o=np.array([1, 0]),
        clusters=np.array([0, 1]),
        baselines={"coin": np.array([0.5, 0.5])},
        n_boot=200,
        seed=1,
    )
    assert out["n"] == 2 and out["n_events"] == 1
    assert out["brier"] == pytest.approx(0.065)
    assert out["brier_coin"] == pytest.approx(0.25)
    assert out["skill_coin"] == pytest.approx(1 - 0.065 / 0.25)
    assert out["log_score"] == pytest.approx((-math.log(0.7) - math.log(0.8)) / 2)
    assert out["log_coin"] == pytest.approx(math.log(2))
    assert out["brier_ci_low"] <= out["brier"] <= out["brier_ci_high"]
    assert score_block(np.array([]), np.array([]), np.array([]), {}) == {"n": 0.0, "n_events": 0.0}


def test_reliability_table() -> None:
    p = np.array([0.0, 0.01, 0.02, 0.55, 0.58, 0.95, 1.0])
    o = np.array([0, 0, 1, 1, 0, 1, 1])
    table = reliability(p, o, bins=(0.0, 0.1, 0.5, 0.9, 1.0))
    assert table["n"].tolist() == [3, 2, 2]  # empty bin 0.1-0.5 left out; p = 1.0 in the last bin
    assert table["observed"].tolist() == pytest.approx([1 / 3, 0.5, 1.0])
    assert table["mean_p"].tolist() == pytest.approx([0.01, 0.565, 0.975])


def test_wilson_interval() -> None:
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(3.8415 / 13.8415, abs=1e-4)
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-3) and high == pytest.approx(0.7634, abs=1e-3)


def _forecasts(sample: str, record: str, p: list[float], o: list[int]) -> pd.DataFrame:
    n = len(p)
    return pd.DataFrame(
        {
            "sample": sample,
            "record": record,
            "date": [f"2020-01-{i + 1:02d}" for i in range(n)],  # the same dates in every record
            "day": range(n),
            "question": "answer",
            "window": 7,
            "p": p,
            "outcome": pd.array(o, dtype="Int64"),
            "runs": 10,
            "window_end": "",
            "p_climatology": 0.1,
            "p_persistence": 0.1,
        }
    )


def test_records_are_pooled_within_a_sample_never_across() -> None:
    from abm.hindcast.run import Settings, format_scores, score_forecasts

    frames = [
        _forecasts("out-of-sample", "b", [0.9, 0.1], [1, 0]),
        _forecasts("in-sample", "a", [0.2, 0.2, 0.2], [0, 0, 1]),
        _forecasts("out-of-sample", "c", [0.5, 0.5], [0, 0]),
    ]
    scores = score_forecasts(pd.concat(frames, ignore_index=True), Settings(n_boot=200))
    overall = scores[(scores["question"] == "all") & (scores["window"] == "all")].set_index(["sample", "record"])
    # samples in their order (in-sample first), each record then the sample pooled
    assert list(overall.index) == [
        ("in-sample", "a"),
        ("in-sample", "all"),
        ("out-of-sample", "b"),
        ("out-of-sample", "c"),
        ("out-of-sample", "all"),
    ]
    assert overall.loc[("out-of-sample", "all"), "n"] == 4
    assert overall.loc[("out-of-sample", "all"), "brier"] == pytest.approx((0.01 + 0.01 + 0.25 + 0.25) / 4)
    assert overall.loc[("in-sample", "all"), "brier"] == pytest.approx(overall.loc[("in-sample", "a"), "brier"])
    # a sample of one record: its pooled rows are the record's rows, intervals included
    assert overall.loc[("in-sample", "all"), "brier_ci_low"] == overall.loc[("in-sample", "a"), "brier_ci_low"]
    assert scores["n"][scores["record"] == "all"].sum() < 2 * scores["n"].sum()
    assert "all" not in set(scores["sample"])  # no row over all samples
    assert (scores.loc[(scores["record"] == "all") & (scores["window"] == "all"), "n"] == [3, 4]).all()
    text = format_scores(scores)
    assert "out-of-sample: all 2 records pooled (b, c)" in text and "in-sample: all" not in text
