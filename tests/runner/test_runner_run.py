"""The engine: failures counted not dropped, failure limit, resume equality, sequential stopping."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import abm.model.simulate as model_simulate
from abm.model.outcomes import OUTCOMES
from abm.model.records import RUN_COLUMNS
from abm.runner import (
    RunnerError,
    points_experiment,
    read_table,
    run_experiment,
    run_in_memory,
    run_scenario,
    single_experiment,
)
from abm.runner.stopping import half_width
from tests.runner import runner_fakes

SORT = ["point", "run"]


def test_a_raising_run_is_recorded_with_its_error(monkeypatch, short_baseline) -> None:

    def flaky(scenario, seed, record_events=False):
        if seed % 5 == 0:
            raise ValueError("boom")
        return runner_fakes.simulate(scenario, seed, record_events)

    monkeypatch.setattr(model_simulate, "simulate", flaky)
    table = run_scenario(short_baseline, 60, 11)  # serial: the default simulator, monkeypatched
    failed = table[table["error"].notna()]
    assert len(table) == 60
    assert len(failed) == sum(s % 5 == 0 for s in table["seed"]) > 0
    assert failed["error"].str.startswith("ValueError: boom").all()
    assert "in flaky" in failed["error"].iloc[0]
    assert failed[list(RUN_COLUMNS)].isna().all().all()
    assert table.loc[table["error"].isna(), "outcome"].isin(OUTCOMES).all()


def test_fault_injection_hook(monkeypatch, short_baseline, fake) -> None:
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"fail_runs": [2, 3]}))
    table = run_scenario(short_baseline, 6, 1, simulator=fake)
    assert table["error"].notna().tolist() == [False, False, True, True, False, False]
    assert table["error"].iloc[2].startswith("RuntimeError: injected fault")


def test_a_record_that_does_not_fit_the_schema_is_an_error(monkeypatch, short_baseline) -> None:

    def sloppy(scenario, seed, record_events=False):
        result = runner_fakes.simulate(scenario, seed, record_events)
        if seed % 2:
            result.record["days"] = 2.5
        return result

    monkeypatch.setattr(model_simulate, "simulate", sloppy)
    table = run_scenario(short_baseline, 20, 3)
    bad = table["seed"] % 2 == 1
    assert table.loc[bad, "error"].str.contains("days").all()
    assert table.loc[~bad, "error"].isna().all()


def test_failure_limit_stops_early_and_resumes(tmp_path, monkeypatch, short_baseline, fake) -> None:
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"fail_every": 4}))
    exp = single_experiment(short_baseline, 400, 2, max_failure_share=0.05)
    result = run_experiment(exp, tmp_path / "out", backend="serial", chunk_size=50, progress=False, simulator=fake)
    assert result.status == "stopped"
    assert result.runs_done < 400 and result.failures > 0
    assert "injected fault" in result.first_error
    lenient = single_experiment(short_baseline, 400, 2, max_failure_share=0.3)  # same hash: resumable
    again = run_experiment(lenient, tmp_path / "out", backend="serial", resume=True, progress=False, simulator=fake)
    assert again.status == "complete" and again.runs_done == 400 and again.failures == 100


def test_failed_share_above_limit_at_the_end(tmp_path, monkeypatch, short_baseline, fake) -> None:
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"fail_runs": [0, 1]}))
    exp = single_experiment(short_baseline, 20, 2, max_failure_share=0.05)
    result = run_experiment(exp, tmp_path / "out", backend="serial", progress=False, simulator=fake)
    assert result.status == "failed" and result.failures == 2 and result.runs_done == 20


def test_interrupted_run_resumes_to_identical_tables(tmp_path, monkeypatch, short_baseline) -> None:

    points = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]
    exp = points_experiment(short_baseline, points, 30, 8, common_random_numbers=False, events=True)
    calls = {"n": 0}

    def interrupted(scenario, seed, record_events=False):
        calls["n"] += 1
        if calls["n"] == 37:
            raise KeyboardInterrupt
        return runner_fakes.simulate(scenario, seed, record_events)

    monkeypatch.setattr(model_simulate, "simulate", interrupted)
    first = run_experiment(exp, tmp_path / "a", backend="serial", chunk_size=10, progress=False)
    assert first.status == "interrupted"
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["chunks_done"] == 3
    monkeypatch.setattr(model_simulate, "simulate", runner_fakes.simulate)
    resumed = run_experiment(exp, tmp_path / "a", backend="serial", chunk_size=10, resume=True, progress=False)
    assert resumed.status == "complete" and resumed.chunks_done == 6
    whole = run_experiment(exp, tmp_path / "b", backend="serial", chunk_size=15, progress=False)
    pd.testing.assert_frame_equal(resumed.runs(), whole.runs())
    pd.testing.assert_frame_equal(resumed.events(), whole.events())
    assert resumed.runs()[SORT].values.tolist() == [[p, r] for p in (0, 1) for r in range(30)]
    assert len(json.loads((tmp_path / "a" / "manifest.json").read_text())["sessions"]) == 2


def test_resume_redoes_a_chunk_whose_part_is_missing(tmp_path, short_baseline, fake) -> None:
    exp = single_experiment(short_baseline, 30, 8)
    run_experiment(exp, tmp_path, backend="serial", chunk_size=10, progress=False, simulator=fake)
    before = read_table(tmp_path / "runs")
    next((tmp_path / "runs").glob("part-*r000000010*.parquet")).unlink()
    again = run_experiment(exp, tmp_path, backend="serial", progress=False, simulator=fake)
    assert again.status == "complete"
    pd.testing.assert_frame_equal(read_table(tmp_path / "runs"), before)


def test_a_different_experiment_is_refused(tmp_path, short_baseline, fake) -> None:
    run_experiment(single_experiment(short_baseline, 5, 1), tmp_path, backend="serial", progress=False, simulator=fake)
    with pytest.raises(RunnerError, match="different experiment"):
        run_experiment(
            single_experiment(short_baseline, 5, 2), tmp_path, backend="serial", progress=False, simulator=fake
        )


def test_resume_needs_something_to_resume(tmp_path, short_baseline, fake) -> None:
    with pytest.raises(RunnerError, match="nothing to resume"):
        run_experiment(
            single_experiment(short_baseline, 5, 1), tmp_path / "none", resume=True, progress=False, simulator=fake
        )
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(RunnerError, match="not an abm results folder"):
        run_experiment(single_experiment(short_baseline, 5, 1), tmp_path / "busy", progress=False, simulator=fake)


def test_manifest_records_what_was_run(tmp_path, short_baseline, fake) -> None:
    exp = single_experiment(short_baseline, 12, 77, overrides={"horizon_days": 60})
    run_experiment(exp, tmp_path, backend="serial", chunk_size=5, progress=False, simulator=fake)
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["status"] == "complete" and m["master_seed"] == 77 and m["runs"] == 12
    assert m["config"]["horizon_days"] == 60 and m["overrides"] == {"horizon_days": 60}
    assert m["config_hash"] == exp.config_hash and m["experiment_hash"] == exp.hash
    assert m["abm_version"] and m["python"] and m["packages"]["mesa"]
    assert m["started"] and m["finished"]
    assert [(c["id"], c["rows"]) for c in m["chunks"]] == [
        ("p000000-r000000000-000000005", 5),
        ("p000000-r000000005-000000010", 5),
        ("p000000-r000000010-000000012", 2),
    ]
    assert m["runs_done"] == 12 and m["chunks_done"] == 3


def test_sequential_stopping_adds_batches_until_narrow(short_baseline, fake) -> None:
    points = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]
    exp = points_experiment(short_baseline, points, 50, 4, target_ci=0.05, max_runs=2000)
    first = run_in_memory(exp, simulator=fake).runs
    second = run_in_memory(exp, simulator=fake, chunk_size=7).runs
    pd.testing.assert_frame_equal(first, second)
    for _, group in first.groupby("point"):
        n = len(group)
        assert n > 50 and n % 50 == 0 and group["run"].tolist() == list(range(n))
        counts = group["outcome"].value_counts()
        assert max(half_width(int(counts.get(o, 0)), n) for o in OUTCOMES) <= 0.05


def test_sequential_stopping_respects_the_cap(short_baseline, fake) -> None:
    exp = single_experiment(short_baseline, 20, 4, target_ci=0.001, max_runs=60)
    assert len(run_in_memory(exp, simulator=fake).runs) == 60
