"""`abm replay`: re-simulate a stored run from the manifest alone and check it against its row."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from abm.cli import main
from abm.config import load_config
from abm.model.records import RUN_COLUMNS
from abm.runner import RunnerError, points_experiment, run_experiment, single_experiment
from abm.runner.replay import replay_run
from tests.runner.support import BASELINE, seal

TINY = ["horizon_days=40"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A plain run and a two-point sweep with events, with the real model."""
    base = load_config(BASELINE, TINY)
    root = tmp_path_factory.mktemp("replay")
    run = run_experiment(
        single_experiment(base, 6, 11, events=True), root / "run", backend="serial", chunk_size=4, progress=False
    )
    points = [{"us.doctrine": "proportional", "iran.advance_warning": 0.2}, {"us.doctrine": "massive"}]
    sweep = run_experiment(
        points_experiment(base, points, 5, 3, common_random_numbers=False, events=True),
        root / "sweep",
        backend="serial",
        progress=False,
    )
    assert run.ok and sweep.ok and run.runs()["error"].isna().all()
    return root


def test_every_stored_run_replays_exactly(folders) -> None:
    for k in range(6):
        replay = replay_run(folders / "run", k)
        assert replay.ok, replay.mismatches
        assert replay.events_compared and replay.events
    for point in (0, 1):
        for k in range(5):
            replay = replay_run(folders / "sweep", k, point)
            assert replay.ok, replay.mismatches


def test_replay_on_the_command_line(folders, capsys) -> None:
    assert main(["replay", str(folders / "sweep"), "--run", "3", "--point", "1", "--events"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# run 3 of point 1, seed ") and "outcome: " in out and "# events (" in out
    assert "matches the stored row (record and events)" in err


def _alter(folder, column: str, change, *, sealed: bool = True) -> None:
    """Rewrite the part holding run 2 with one value of `column` changed. `sealed`: the manifest's
    checksum updated too (a row the checksums cannot catch, as if written by other code)."""
    (path,) = [p for p in (folder / "runs").glob("part-*.parquet") if 2 in pq.read_table(p)["run"].to_pylist()]
    table = pq.read_table(path)
    rows = table.to_pylist()
    for row in rows:
        if row["run"] == 2:
            row[column] = change(row[column])
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    if sealed:
        seal(folder)


@pytest.mark.parametrize(
    ("column", "change"),
    [("escalation_score", lambda x: x + 1e-9), ("days", lambda x: x + 1), ("outcome", lambda x: "deal" + x)],
)
def test_an_altered_row_does_not_match_and_exits_1(tmp_path, column, change, capsys) -> None:
    base = load_config(BASELINE, TINY)
    run_experiment(single_experiment(base, 4, 5), tmp_path, backend="serial", progress=False)
    assert main(["replay", str(tmp_path), "--run", "2"]) == 0
    _alter(tmp_path, column, change)
    capsys.readouterr()
    assert main(["replay", str(tmp_path), "--run", "2"]) == 1
    err = capsys.readouterr().err
    assert "does NOT match the stored row" in err and f"  {column}: stored " in err
    assert main(["replay", str(tmp_path), "--run", "1"]) == 0  # the other rows are untouched


def test_an_altered_event_does_not_match(tmp_path) -> None:
    base = load_config(BASELINE, TINY)
    run_experiment(single_experiment(base, 3, 5, events=True), tmp_path, backend="serial", progress=False)
    (path,) = [p for p in (tmp_path / "events").glob("part-*.parquet") if 1 in pq.read_table(p)["run"].to_pylist()]
    table = pq.read_table(path)
    rows = table.to_pylist()
    target = next(i for i, r in enumerate(rows) if r["run"] == 1)
    rows[target]["rung"] += 1
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    seal(tmp_path)  # the manifest vouches for the edited events: only the replay can tell
    replay = replay_run(tmp_path, 1)
    assert not replay.ok and any(m.startswith("event 0: rung: stored") for m in replay.mismatches)


def test_a_manifest_that_does_not_match_its_config_is_refused(tmp_path) -> None:
    base = load_config(BASELINE, TINY)
    run_experiment(single_experiment(base, 2, 5), tmp_path, backend="serial", progress=False)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["config"]["horizon_days"] = 41
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunnerError, match="does not match its config_hash"):
        replay_run(tmp_path, 0)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--run", "99", "--point", "0"], "run 99 of point 0 is not in runs/"),
        (["--run", "0"], "give --point P"),
        (["--run", "0", "--point", "7"], "point: got 7; allowed: 0..1"),
        (["--run", "-1", "--point", "0"], "--run"),
    ],
)
def test_what_cannot_be_replayed_exits_2(folders, args, needle, capsys) -> None:
    try:
        code = main(["replay", str(folders / "sweep"), *args])
    except SystemExit as done:  # argparse
        code = done.code
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err


def test_a_folder_that_is_not_a_results_folder_exits_2(tmp_path, capsys) -> None:
    assert main(["replay", str(tmp_path / "nowhere"), "--run", "0"]) == 2
    assert "not a results folder" in capsys.readouterr().err


def test_results_of_the_fake_model_need_it_to_replay(tmp_path, fake, monkeypatch, capsys) -> None:
    base = load_config(BASELINE, TINY)
    run_experiment(single_experiment(base, 2, 5), tmp_path, backend="serial", progress=False, simulator=fake)
    assert main(["replay", str(tmp_path), "--run", "1"]) == 2
    assert f"set ABM_SIMULATOR={fake}" in capsys.readouterr().err
    monkeypatch.setenv("ABM_SIMULATOR", fake)
    assert main(["replay", str(tmp_path), "--run", "1"]) == 0


def test_the_replayed_record_has_every_model_column(folders) -> None:
    replay = replay_run(folders / "run", 0)
    assert list(replay.record) == list(RUN_COLUMNS)


def test_an_edited_part_is_refused_as_damaged_not_reported_as_a_difference(tmp_path, capsys) -> None:
    """Without the manifest updated, an edited part is caught by its checksum: exit 2 naming the part."""
    base = load_config(BASELINE, TINY)
    run_experiment(single_experiment(base, 4, 5), tmp_path, backend="serial", progress=False, chunk_size=2)
    _alter(tmp_path, "days", lambda x: x + 1, sealed=False)
    (path,) = [p for p in (tmp_path / "runs").glob("part-*.parquet") if 2 in pq.read_table(p)["run"].to_pylist()]
    capsys.readouterr()
    assert main(["replay", str(tmp_path), "--run", "2"]) == 2
    err = capsys.readouterr().err
    assert f"runs/{path.name}" in err and "checksum (sha256) differs" in err and "Traceback" not in err


def test_replay_after_a_numeric_grid_reports_no_false_mismatch(tmp_path, fake, monkeypatch, capsys) -> None:
    """`--grid us.sanctions_level=0,0.5,1` stores a float column (0.0, 0.5, 1.0) while the design
    holds 0, 0.5 and 1: equal values, not a mismatch (issue 17: "stored 0.0, the design has 0")."""
    monkeypatch.setenv("ABM_SIMULATOR", fake)
    base = load_config(BASELINE, TINY)
    points = [{"us.sanctions_level": 0}, {"us.sanctions_level": 0.5}, {"us.sanctions_level": 1}]
    run_experiment(points_experiment(base, points, 2, 7), tmp_path, backend="serial", progress=False, simulator=fake)
    for point in range(3):
        for run in range(2):
            replay = replay_run(tmp_path, run, point)
            assert replay.ok, replay.mismatches
    capsys.readouterr()
    assert main(["replay", str(tmp_path), "--point", "0", "--run", "0"]) == 0
    assert "matches the stored row" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("stored", "design", "same"),
    [
        (0.0, 0, True),
        (1.0, 1, True),
        (0.5, 0.5, True),
        (0.0, 0.5, False),
        ("0.5", 0.5, True),  # a text column (mixed kinds) holds str(value)
        ("massive", "massive", True),
        ("massive", "proportional", False),
        (True, True, True),
        (True, 1, False),
        (None, None, True),
        (None, 0, False),
        (float("nan"), float("nan"), True),
    ],
)
def test_design_values_are_compared_by_value(stored, design, same) -> None:
    from abm.runner.replay import _same_value

    assert _same_value(stored, design) is same
