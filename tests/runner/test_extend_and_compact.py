"""Issue 13, item 8: extend a finished folder (--extend), "already complete", honest timing, `abm compact`.

Extension: runs [0, R) of points [0, P) are kept and the rest run with the seeds a fresh run of
the larger experiment gives, so the extended folder's tables equal a fresh folder's. Anything
else that changed is refused (exit 2). A finished folder re-run is read, never written. The
timing line counts this invocation's runs only. Compaction merges part files with the same
rows, and a compaction killed before or after its manifest swap leaves a readable folder.
Runs use the fake model (tests/runner/runner_fakes.py), in this process unless a kill is needed.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from abm.cli import main
from abm.runner import lock
from abm.runner.compact import compact_folder, plan
from abm.runner.errors import RunnerError
from abm.runner.reader import open_folder
from tests.runner.runner_fakes import simulate as fake_simulate
from tests.runner.support import BASELINE, FAKE, subprocess_env

SHORT = ["--set", "horizon_days=60", "--backend", "serial", "-q"]
GRID = ["sweep", str(BASELINE), "--grid", "us.doctrine=proportional,massive", "--events"]
COUNTING = f"{__name__}:counting"
CALLS: list[int] = []  # seeds the counting simulator ran, in this process (serial backend)


def counting(scenario, seed, record_events=False):
    """The fake model, counting its runs: what an invocation really executed."""
    CALLS.append(seed)
    return fake_simulate(scenario, seed, record_events)


@pytest.fixture(autouse=True)
def fake_model(monkeypatch) -> None:
    monkeypatch.setenv("ABM_SIMULATOR", FAKE)
    monkeypatch.delenv("ABM_FAULT_INJECT", raising=False)


def run(out: Path, runs: int, *extra: str) -> int:
    return main(["run", str(BASELINE), "--runs", str(runs), "--out", str(out), *SHORT, *extra])


def sweep(out: Path, runs: int, grid: str = "us.doctrine=proportional,massive", *extra: str) -> int:
    argv = ["sweep", str(BASELINE), "--grid", grid, "--events", "--runs", str(runs), "--out", str(out)]
    return main([*argv, *SHORT, *extra])


def table(out: Path, sub: str = "runs") -> pd.DataFrame:
    """A folder's table through the one reader (listing and every checksum checked)."""
    return open_folder(out).read(sub)


def files(out: Path) -> dict[str, tuple[int, str]]:
    """Every file under `out`: (mtime in ns, sha256)."""
    return {
        str(p.relative_to(out)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def parts(out: Path, sub: str = "runs") -> dict[str, tuple[int, str]]:
    return {k: v for k, v in files(out).items() if k.startswith(f"{sub}/")}


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


# --- extension ------------------------------------------------------------------------------------


def test_an_extended_run_equals_a_fresh_run_and_keeps_the_old_runs(tmp_path, capsys) -> None:
    fresh, grown = tmp_path / "fresh", tmp_path / "grown"
    assert run(fresh, 30, "--chunk-size", "7") == 0
    assert run(grown, 12, "--chunk-size", "5") == 0
    old = parts(grown)
    capsys.readouterr()
    assert run(grown, 30, "--extend") == 0
    err = capsys.readouterr().err
    assert "extending" in err and "12 -> 30 runs per point" in err
    assert "18 runs in" in err and "12 more were done by an earlier run" in err
    pd.testing.assert_frame_equal(table(grown), table(fresh))  # same rows, values, seeds, order
    assert {k: v for k, v in parts(grown).items() if k in old} == old  # the old parts untouched: not re-run
    record = manifest(grown)["extensions"]
    assert [(r["runs"], r["points"]) for r in record] == [([12, 30], [1, 1])]


def test_an_extended_sweep_with_a_grid_value_added_equals_a_fresh_sweep(tmp_path, capsys) -> None:
    fresh, grown = tmp_path / "fresh", tmp_path / "grown"
    three = "us.doctrine=proportional,massive,lethal_red_line"
    assert sweep(fresh, 10, three, "--chunk-size", "4") == 0
    assert sweep(grown, 6, "us.doctrine=proportional,massive", "--chunk-size", "4") == 0
    old = parts(grown)
    capsys.readouterr()
    assert sweep(grown, 10, three, "--extend") == 0
    assert "6 -> 10 runs per point, 2 -> 3 points" in capsys.readouterr().err
    for sub in ("runs", "events"):
        pd.testing.assert_frame_equal(table(grown, sub), table(fresh, sub))
    assert {k: v for k, v in parts(grown).items() if k in old} == old
    assert pd.read_csv(grown / "points.csv").equals(pd.read_csv(fresh / "points.csv"))
    assert pd.read_csv(grown / "summary.csv").equals(pd.read_csv(fresh / "summary.csv"))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (["--set", "world.militia_attack_rate=0.05"], "config hash"),
        (["--seed", "5"], "seed"),
        (["--grid", "iran.advance_warning=0.5,0.8"], "varied keys"),
        (["--crn"], "common random numbers"),
    ],
)
def test_an_extension_that_changes_anything_else_is_refused(tmp_path, capsys, change, needle) -> None:
    out = tmp_path / "s"
    assert sweep(out, 4) == 0
    before = files(out)
    capsys.readouterr()
    argv = ["sweep", str(BASELINE), "--grid", "us.doctrine=proportional,massive", "--events", "--runs", "8"]
    assert main([*argv, "--out", str(out), *SHORT, *change, "--extend"]) == 2
    err = capsys.readouterr().err
    assert "cannot be extended" in err and needle in err and "Traceback" not in err, err
    assert files(out) == before


@pytest.mark.parametrize(
    ("grid", "runs", "needle"),
    [
        ("us.doctrine=massive,proportional,lethal_red_line", 4, "point 0 is"),  # a point moved
        ("us.doctrine=proportional", 4, "points are never dropped"),
        ("us.doctrine=proportional,massive", 3, "runs are never dropped"),
    ],
)
def test_moving_or_dropping_points_or_runs_is_refused(tmp_path, capsys, grid, runs, needle) -> None:
    out = tmp_path / "s"
    assert sweep(out, 4) == 0
    before = files(out)
    capsys.readouterr()
    assert sweep(out, runs, grid, "--extend") == 2
    assert needle in capsys.readouterr().err
    assert files(out) == before


def test_new_values_that_would_change_a_column_type_are_refused(tmp_path, capsys) -> None:
    out = tmp_path / "s"
    assert sweep(out, 3, "iran.advance_warning=0,1") == 0
    capsys.readouterr()
    assert sweep(out, 3, "iran.advance_warning=0,1,0.5", "--extend") == 2
    assert "change the type of column 'iran.advance_warning'" in capsys.readouterr().err


def test_extending_needs_the_flag_an_out_folder_and_no_target_ci(tmp_path, capsys) -> None:
    out = tmp_path / "r"
    assert run(out, 5) == 0
    capsys.readouterr()
    assert run(out, 8) == 2  # a plain re-run with more runs: refused, and told how
    assert "--extend" in capsys.readouterr().err
    assert run(tmp_path / "none", 8, "--extend") == 2
    assert "nothing to extend" in capsys.readouterr().err
    assert main(["run", str(BASELINE), "--runs", "8", "--extend", *SHORT]) == 2
    assert capsys.readouterr().err.startswith("abm run: error: --extend needs --out")
    assert run(out, 8, "--target-ci", "0.2", "--extend") == 2
    assert "cannot be extended" in capsys.readouterr().err


# --- already complete, timing -----------------------------------------------------------------------


def test_a_finished_folder_run_again_says_already_complete_and_writes_nothing(tmp_path, capsys) -> None:
    out = tmp_path / "r"
    assert run(out, 20, "--chunk-size", "6") == 0
    first = capsys.readouterr()
    before = files(out)
    names = sorted(p.name for p in out.rglob("*"))
    for extra in ((), ("--resume",), ("--extend",)):
        assert run(out, 20, *extra) == 0
        again = capsys.readouterr()
        assert f"already complete: 20 runs in {out}" in again.err and "runs/s" not in again.err
        assert again.out == first.out  # the same summary on stdout
        assert files(out) == before and sorted(p.name for p in out.rglob("*")) == names


def test_a_missing_summary_is_written_again_and_nothing_else(tmp_path, capsys) -> None:
    out = tmp_path / "r"
    assert run(out, 10) == 0
    before = files(out)
    (out / "summary.csv").unlink()
    assert run(out, 10) == 0
    assert "already complete" in capsys.readouterr().err
    after = files(out)
    assert after["summary.csv"][1] == before["summary.csv"][1]
    assert {k: v for k, v in after.items() if k != "summary.csv"} == {
        k: v for k, v in before.items() if k != "summary.csv"
    }


def test_the_timing_line_of_a_resume_counts_only_the_runs_it_executed(tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "r"
    monkeypatch.setenv("ABM_SIMULATOR", COUNTING)
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"write_error": 3}))  # stops after 2 chunks are stored
    assert run(out, 20, "--chunk-size", "4") == 1
    monkeypatch.delenv("ABM_FAULT_INJECT")
    capsys.readouterr()
    CALLS.clear()
    assert run(out, 20, "--resume") == 0
    err = capsys.readouterr().err
    executed = len(CALLS)
    assert executed == 12  # 20 runs, 8 stored by the stopped session
    assert re.search(
        rf"abm \w+: {executed} runs in [0-9.]+ s \([0-9.]+ runs/s\); 8 more were done by an earlier", err
    ), err
    assert len(table(out)) == 20


# --- compaction -------------------------------------------------------------------------------------


@pytest.fixture
def swept(tmp_path) -> Path:
    """A finished sweep with events: 2 points x 12 runs in chunks of 3 (4 parts per point and table)."""
    out = tmp_path / "swept"
    assert sweep(out, 12, "us.doctrine=proportional,massive", "--chunk-size", "3") == 0
    return out


def test_compact_merges_to_one_part_per_point_and_table_with_the_same_rows(swept, capsys) -> None:
    before = {sub: table(swept, sub) for sub in ("runs", "events")}
    summary = (swept / "summary.csv").read_bytes()
    capsys.readouterr()
    assert main(["compact", str(swept)]) == 0
    assert "16 part files -> 4" in capsys.readouterr().err
    names = sorted(p.name for p in (swept / "runs").iterdir())
    assert names == ["part-p000000-r000000000-000000012.parquet", "part-p000001-r000000000-000000012.parquet"]
    assert len(list((swept / "events").iterdir())) == 2
    for sub in ("runs", "events"):
        pd.testing.assert_frame_equal(table(swept, sub), before[sub])
    m = manifest(swept)
    assert [c["merged"] for c in m["chunks"]] == [4, 4] and "discarded_parts" not in m
    assert sum(sum(c["counts"].values()) for c in m["chunks"]) == 24
    for chunk in m["chunks"]:  # checksummed like every part
        data = (swept / "runs" / f"part-{chunk['id']}.parquet").read_bytes()
        assert hashlib.sha256(data).hexdigest() == chunk["sha256"]
    assert (swept / "summary.csv").read_bytes() == summary
    assert main(["compact", str(swept)]) == 0
    assert "nothing to merge" in capsys.readouterr().err


def test_replay_report_resume_and_extend_work_after_compaction(swept, tmp_path, capsys) -> None:
    assert main(["compact", str(swept)]) == 0
    assert main(["replay", str(swept), "--run", "7", "--point", "1", "--events"]) == 0
    assert main(["report", str(swept), "--figure-format", "png"]) == 0
    capsys.readouterr()
    assert sweep(swept, 12, "us.doctrine=proportional,massive", "--resume") == 0
    assert "already complete: 24 runs" in capsys.readouterr().err
    three = "us.doctrine=proportional,massive,lethal_red_line"
    assert sweep(swept, 15, three, "--extend") == 0
    assert "21 runs in" in capsys.readouterr().err
    fresh = tmp_path / "fresh"
    assert sweep(fresh, 15, three) == 0
    for sub in ("runs", "events"):
        pd.testing.assert_frame_equal(table(swept, sub), table(fresh, sub))


def test_an_interrupted_folder_compacted_then_resumed_equals_a_fresh_one(tmp_path, monkeypatch) -> None:
    out, fresh = tmp_path / "r", tmp_path / "fresh"
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"write_error": 4}))
    assert run(out, 20, "--chunk-size", "3") == 1  # stopped after 3 chunks
    monkeypatch.delenv("ABM_FAULT_INJECT")
    assert main(["compact", str(out)]) == 0
    assert [c["id"] for c in manifest(out)["chunks"]] == ["p000000-r000000000-000000009"]
    assert run(out, 20, "--resume") == 0
    assert run(fresh, 20) == 0
    pd.testing.assert_frame_equal(table(out), table(fresh))


def test_a_compaction_that_fails_before_the_swap_leaves_the_folder_as_it_was(swept) -> None:
    before = {name: sha for name, (_, sha) in files(swept).items()}  # the manifest is rewritten as it was

    def fail(stage: str) -> None:
        if stage == "parts_written":
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        compact_folder(swept, hook=fail)
    assert {name: sha for name, (_, sha) in files(swept).items()} == before


def _killed_compaction(folder: Path, stage: str) -> None:
    env = subprocess_env(fake=True)
    env["ABM_FAULT_INJECT"] = json.dumps({"compact_kill": stage})
    done = subprocess.run(
        [sys.executable, "-m", "abm.cli", "compact", str(folder)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -9, done.stderr


@pytest.mark.parametrize(("stage", "reads"), [("parts_written", 16), ("committed", 4)])
@pytest.mark.parametrize("then", ["compact", "resume"])
def test_a_compaction_killed_at_any_stage_leaves_a_readable_folder(swept, stage, reads, then, capsys) -> None:
    before = {sub: table(swept, sub) for sub in ("runs", "events")}
    _killed_compaction(swept, stage)
    folder = open_folder(swept)  # old parts before the swap, new ones after it: never a mix
    assert sum(len(folder.parts(sub)) for sub in ("runs", "events")) == reads
    assert any("unfinished `abm compact`" in note for note in folder.notes)
    for sub in ("runs", "events"):
        pd.testing.assert_frame_equal(table(swept, sub), before[sub])
    if then == "compact":
        assert main(["compact", str(swept)]) == 0
    else:  # a resume removes the leftovers too
        assert sweep(swept, 12, "us.doctrine=proportional,massive", "--resume") == 0
        assert "nothing left to run: all 24 runs" in capsys.readouterr().err  # and the folder is tidied
    folder = open_folder(swept)
    assert not folder.notes and "discarded_parts" not in folder.manifest
    present = sorted(p.name for sub in ("runs", "events") for p in (swept / sub).iterdir())
    assert len(present) == sum(len(folder.parts(sub)) for sub in ("runs", "events"))
    for sub in ("runs", "events"):
        pd.testing.assert_frame_equal(table(swept, sub), before[sub])


def test_compact_refuses_an_open_a_locked_or_a_foreign_folder(swept, tmp_path, capsys) -> None:
    data = manifest(swept)
    (swept / "manifest.json").write_text(json.dumps({**data, "status": "running"}))
    assert main(["compact", str(swept)]) == 2
    assert "not closed" in capsys.readouterr().err
    (swept / "manifest.json").write_text(json.dumps(data))
    with lock.acquire(swept, "test"), pytest.raises(RunnerError, match="another abm process"):
        compact_folder(swept)
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    for bad in ("missing", "empty", "file"):
        assert main(["compact", str(tmp_path / bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("abm compact: error: ") and "Traceback" not in err
    assert len(list((swept / "runs").iterdir())) == 8  # nothing merged


def test_the_plan_merges_only_consecutive_chunks_of_one_point_and_one_writer() -> None:
    def chunk(p, a, b, v=0):
        return {"id": f"p{p:06d}-r{a:09d}-{b:09d}", "rows": b - a, "v": v}

    chunks = [chunk(0, 0, 3), chunk(0, 3, 6), chunk(0, 9, 12), chunk(0, 12, 15, v=1), chunk(1, 0, 3), chunk(1, 3, 6)]
    groups = [[c["id"][-19:] for c in g] for g in plan(chunks)]
    assert [len(g) for g in groups] == [2, 1, 1, 2]
    assert [len(g) for g in plan(chunks, max_rows=3)] == [1] * 6
