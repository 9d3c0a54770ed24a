"""One reader of results folders (issue 17, item 1): only part files the manifest vouches for.

`report`, `discover`, `replay`, summaries and curves read a folder through
`abm.runner.reader`: a part whose bytes differ from the manifest's sha256, a part the manifest
does not list (a copy), a listed part that is gone, are each refused with exit 2 and one line
naming the files; an intact folder gives the same numbers as reading the Parquet dataset
directly. Before the reader, the first three were read silently (exit 0, wrong numbers).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from abm.analysis.curves import curves, curves_dataset
from abm.analysis.report import load_folder
from abm.analysis.summary import summarize, summarize_dataset, write_summary
from abm.analysis.tables import outcome_table
from abm.cli import main
from abm.config import load_config
from abm.runner import RunnerError, points_experiment, read_table, run_experiment
from abm.runner import reader as reader_module
from abm.runner.reader import FolderError, open_folder
from tests.reliability import ACCEPTED, record, refusal
from tests.reliability import trial as tally
from tests.runner.support import BASELINE, FAKE, SHORT

AREA = "damaged results folders"  # of the reliability tally (tests/reliability.py)

POINTS = [
    {"us.doctrine": "proportional", "iran.advance_warning": 0.2},
    {"us.doctrine": "massive", "iran.advance_warning": 0.8},
    {"us.doctrine": "massive", "iran.advance_warning": 0.2},
]


def _sweep(out: Path) -> Path:
    base = load_config(BASELINE, SHORT)
    experiment = points_experiment(base, POINTS, 30, 5, events=True)
    result = run_experiment(experiment, out, backend="serial", progress=False, simulator=FAKE, chunk_size=10)
    assert result.status == "complete"
    return out


@pytest.fixture(scope="module")
def intact(tmp_path_factory) -> Path:
    """A finished sweep of the fake model: 3 points x 30 runs, chunks of 10, with events."""
    return _sweep(tmp_path_factory.mktemp("reader") / "sweep")


@pytest.fixture
def folder(intact, tmp_path) -> Path:
    """A fresh copy of the intact sweep to damage."""
    return Path(shutil.copytree(intact, tmp_path / "sweep"))


def parts(folder: Path, sub: str = "runs") -> list[Path]:
    return sorted((folder / sub).glob("part-*.parquet"))


def flip_silently(path: Path, column: str = "outcome") -> None:
    """Flip one bit in `column`'s pages such that the file still reads, with other values: the
    damage a plain Parquet reader cannot see (issue 17: `unresolved` became `unrdsolved`)."""
    meta = pq.read_metadata(path)
    chunk = next(
        c for c in (meta.row_group(0).column(i) for i in range(meta.num_columns)) if c.path_in_schema == column
    )
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    original, before = path.read_bytes(), pq.read_table(path)[column].to_pylist()
    for at in range(start + chunk.total_compressed_size - 1, start, -1):
        data = bytearray(original)
        data[at] ^= 0x01
        path.write_bytes(bytes(data))
        try:
            after = pq.read_table(path)[column].to_pylist()
        except Exception:  # a flip pyarrow notices: try the next byte
            continue
        if after != before:
            return
    raise AssertionError("no silent bit flip found")  # pragma: no cover


def run_cli(argv: list[str], capsys, expect: int = 2) -> tuple[int, str]:
    """`abm ARGV` in this process; a trial of the tally, which should exit `expect` (2: refused)."""
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    tally(AREA, code, err, expect=expect)
    assert "Traceback" not in err
    return code, err


def test_a_flipped_byte_is_refused_by_report_discover_replay_and_summary(folder, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ABM_SIMULATOR", FAKE)  # replay needs the model that wrote the folder
    damaged = parts(folder)[1]  # point 0, runs 10..19
    before = pd.read_parquet(folder / "runs")
    flip_silently(damaged)
    assert not before.equals(pd.read_parquet(folder / "runs"))  # a plain reader: no error, other outcomes
    for argv in (["report", str(folder)], ["discover", str(folder)], ["replay", str(folder), "--run", "12"]):
        if argv[0] == "replay":
            argv += ["--point", "0"]
        code, err = run_cli(argv, capsys)
        assert code == 2, err
        assert err.startswith(f"abm {argv[0]}: error: ") and len(err.strip().splitlines()) == 1, err
        assert f"runs/{damaged.name}" in err and "checksum (sha256) differs from the manifest" in err, err
        assert "--resume" in err
    refused = refusal(AREA, lambda: write_summary(folder), FolderError)
    assert damaged.name in str(refused)
    assert not (folder / "report" / "report.md").exists()


def test_a_copied_stray_part_is_refused(folder, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ABM_SIMULATOR", FAKE)
    copy = folder / "runs" / f"{parts(folder)[0].stem} (copy).parquet"
    shutil.copyfile(parts(folder)[0], copy)
    assert len(pd.read_parquet(folder / "runs")) == 100  # a plain reader counts the copy: n = 100, not 90
    for argv in (["report", str(folder)], ["discover", str(folder)], ["replay", str(folder), "--run", "0", "-p", "0"]):
        code, err = run_cli(argv, capsys)
        assert code == 2, err
        assert f"not listed in the manifest (stray): runs/{copy.name}" in err, err
    refused = refusal(AREA, lambda: summarize_dataset(folder / "runs"), FolderError)
    assert "(copy).parquet" in str(refused)


def test_a_missing_part_is_refused(folder, capsys) -> None:
    gone = parts(folder)[4]
    gone.unlink()
    code, err = run_cli(["report", str(folder)], capsys)
    assert code == 2 and f"missing: runs/{gone.name}" in err, err
    code, err = run_cli(["discover", str(folder)], capsys)
    assert code == 2 and gone.name in err, err
    shutil.copyfile(parts(folder)[0], gone)  # back, with the wrong bytes: a part of another chunk
    code, err = run_cli(["discover", str(folder)], capsys)
    assert code == 2 and f"runs/{gone.name}" in err and "checksum" in err, err


def test_a_missing_events_part_is_refused(folder, capsys) -> None:
    gone = parts(folder, "events")[2]
    gone.unlink()
    code, err = run_cli(["report", str(folder)], capsys)
    assert code == 2 and f"missing: events/{gone.name}" in err, err


def test_every_problem_is_named_in_one_message_and_a_resume_repairs_the_folder(folder, capsys) -> None:
    runs = parts(folder)
    flip_silently(runs[0])
    runs[3].write_bytes(runs[3].read_bytes()[:-40])  # truncated
    runs[5].unlink()
    shutil.copyfile(runs[6], folder / "runs" / "part-x (copy).parquet")
    (folder / "events" / "notes.txt").write_text("not a part")
    code, err = run_cli(["report", str(folder)], capsys)
    assert code == 2, err
    assert "5 files do not match the manifest" in err
    for name in (runs[0].name, runs[3].name, runs[5].name, "part-x (copy).parquet", "events/notes.txt"):
        assert name in err, (name, err)
    assert "move events/notes.txt out of the folder" in err
    (folder / "events" / "notes.txt").unlink()
    _sweep(folder)  # the same experiment into the same folder: resumed, damage recomputed, the copy deleted
    assert not (folder / "runs" / "part-x (copy).parquet").exists()
    pd.testing.assert_frame_equal(open_folder(folder).read("runs"), pd.read_parquet(folder / "runs"))


def test_an_intact_folder_gives_the_same_numbers_as_before(intact, tmp_path, capsys) -> None:
    """Through the reader: the same tables as a plain Parquet read, and the same summary, curves and report."""
    folder = Path(shutil.copytree(intact, tmp_path / "sweep"))
    plain = pd.read_parquet(folder / "runs")
    opened = open_folder(folder)
    assert opened.notes == [] and opened.finished
    pd.testing.assert_frame_equal(opened.read("runs"), plain)
    pd.testing.assert_frame_equal(opened.read("events"), pd.read_parquet(folder / "events"))
    by = ["point", "us.doctrine", "iran.advance_warning"]
    pd.testing.assert_frame_equal(summarize_dataset(folder / "runs"), summarize(plain, by=by))
    table = curves_dataset(folder, horizon=60)
    for point, frame in plain.groupby("point"):
        mine = table[table["point"] == point].drop(columns="point").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, curves(frame, 60), check_dtype=False)
    loaded = load_folder(folder)
    pd.testing.assert_frame_equal(loaded.runs, plain)
    code, err = run_cli(["report", str(folder), "--format", "csv", "--figure-format", "png"], capsys, expect=0)
    assert code == 0, err
    written = pd.read_csv(folder / "report" / "outcomes.csv")
    expected = outcome_table(plain, ["point", "us.doctrine", "iran.advance_warning"])
    pd.testing.assert_frame_equal(written, expected.reset_index(drop=True), check_dtype=False)


def test_each_part_is_read_once_and_parsed_from_those_bytes(intact, monkeypatch) -> None:
    reads: list[str] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    monkeypatch.setattr(pq, "read_metadata", None)  # nothing opens a part by its path a second time
    summarize_dataset(intact)
    assert sorted(reads) == sorted(p.name for p in parts(intact))
    reads.clear()
    opened = open_folder(intact)  # the listing is checked without reading a byte of the parts
    assert reads == []
    stream = opened.tables("runs", ["outcome"])
    next(stream)  # streaming: one part read, verified and parsed before the first table, not all of them
    assert reads == [parts(intact)[0].name]
    assert sum(t.num_rows for t in stream) == 80 and len(reads) == len(parts(intact))


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_an_unfinished_folder_is_read_with_a_note(folder, capsys) -> None:
    manifest = _manifest(folder)
    manifest["status"] = "running"
    last = manifest["chunks"].pop()  # its part landed after the manifest's last update
    (folder / "manifest.json").write_text(json.dumps(manifest))
    opened = open_folder(folder)
    assert not opened.finished
    (note,) = opened.notes
    assert "is not finished (status running" in note and "only the 8 chunks recorded as finished" in note
    assert "80 runs of 90 planned" in note and "2 part files not yet recorded in the manifest are left out" in note
    runs = opened.read("runs")
    assert len(runs) == 80 and not ((runs["point"] == last["point"]) & (runs["run"] >= last["start"])).any()
    code, err = run_cli(["report", str(folder), "--format", "csv", "--figure-format", "png"], capsys, expect=0)
    assert code == 0 and "abm report: note: " in err and "is not finished" in err, err
    assert "is not finished" in (folder / "report" / "report.md").read_text()
    shutil.copyfile(parts(folder)[0], folder / "runs" / "part-x (copy).parquet")  # a copy is still a stray
    code, err = run_cli(["discover", str(folder)], capsys)
    assert code == 2 and "part-x (copy).parquet" in err, err


def _broken_manifests() -> dict[str, object]:
    return {
        "a list": [],
        "chunks not a list": {"status": "complete", "chunks": "oops"},
        "a chunk without rows": {"status": "complete", "chunks": [{"id": "p000000-r000000000-000000010"}]},
        "a chunk id out of the folder": {"status": "complete", "chunks": [{"id": "../../x", "rows": 1}]},
        "rows as text": {"status": "complete", "chunks": [{"id": "a", "rows": "10"}]},
    }


@pytest.mark.parametrize("kind", list(_broken_manifests()))
def test_a_damaged_manifest_is_refused(folder, kind, capsys) -> None:
    (folder / "manifest.json").write_text(json.dumps(_broken_manifests()[kind]))
    assert "manifest.json: " in str(refusal(AREA, lambda: open_folder(folder), FolderError))
    code, err = run_cli(["report", str(folder)], capsys)
    assert code == 2 and "manifest.json: " in err and len(err.strip().splitlines()) == 1, err


def test_a_folder_without_a_manifest_is_refused(folder, capsys) -> None:
    (folder / "manifest.json").unlink()
    for command in ("report", "discover"):
        code, err = run_cli([command, str(folder)], capsys)
        assert code == 2 and "not a results folder (no manifest.json)" in err, err
    (folder / "manifest.json").write_text("{not json")
    code, err = run_cli(["discover", str(folder)], capsys)
    assert code == 2 and "manifest.json: unreadable" in err, err


def test_old_manifests_without_checksums_are_checked_by_row_count(folder) -> None:
    manifest = _manifest(folder)
    for chunk in manifest["chunks"]:
        chunk.pop("sha256"), chunk.pop("events_sha256")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    opened = open_folder(folder)
    record(AREA, ACCEPTED)  # read, checked by row count, with a note
    assert any("no checksum" in note for note in opened.notes)
    assert len(opened.read("runs")) == 90
    manifest["chunks"][0]["rows"] = 9
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused = refusal(AREA, lambda: open_folder(folder).verify(), FolderError)
    assert "10 rows where the manifest records 9" in str(refused)


def test_the_message_is_bounded_however_many_files_are_wrong(folder) -> None:
    for i in range(40):
        shutil.copyfile(parts(folder)[0], folder / "runs" / f"part-copy{i}.parquet")
    text = str(refusal(AREA, lambda: open_folder(folder), FolderError))
    assert "40 files do not match" in text and f"and {40 - reader_module.SHOWN} more" in text and len(text) < 1000


# --- the API a script uses right after its own run: read_table, ExperimentResult.runs() and .events() ------


def _result(folder: Path):
    """The `ExperimentResult` of the (finished, verified) sweep in `folder`: nothing left to run."""
    experiment = points_experiment(load_config(BASELINE, SHORT), POINTS, 30, 5, events=True)
    result = run_experiment(experiment, folder, backend="serial", progress=False, simulator=FAKE, chunk_size=10)
    assert result.untouched
    return result


def test_read_table_and_the_result_tables_equal_a_plain_read_of_an_intact_folder(folder) -> None:
    result = _result(folder)
    record(AREA, ACCEPTED)
    plain_runs, plain_events = pd.read_parquet(folder / "runs"), pd.read_parquet(folder / "events")
    pd.testing.assert_frame_equal(read_table(folder / "runs"), plain_runs)
    pd.testing.assert_frame_equal(read_table(folder / "events", ["run", "day"]), plain_events[["run", "day"]])
    pd.testing.assert_frame_equal(result.runs(), plain_runs)
    pd.testing.assert_frame_equal(result.runs(["outcome", "days"]), plain_runs[["outcome", "days"]])
    pd.testing.assert_frame_equal(result.events(), plain_events)


def _damage(folder: Path, how: str, sub: str) -> str:
    """Damage one part of `sub` as `how` says; the name the refusal must give."""
    part = parts(folder, sub)[2]
    if how == "flipped":
        flip_silently(part, "outcome" if sub == "runs" else "action")
        return f"checksum (sha256) differs from the manifest: {sub}/{part.name}"
    if how == "copied":
        copy = part.with_name(f"{part.stem} (copy).parquet")
        shutil.copyfile(part, copy)
        return f"not listed in the manifest (stray): {sub}/{copy.name}"
    part.unlink()
    return f"missing: {sub}/{part.name}"


@pytest.mark.parametrize("sub", ["runs", "events"])
@pytest.mark.parametrize("how", ["flipped", "copied", "deleted"])
def test_read_table_and_the_result_tables_refuse_a_damaged_stray_or_missing_part(folder, how, sub) -> None:
    """Before: `read_table` and `ExperimentResult.runs()/.events()` read the dataset directly (wrong
    outcomes, n = 100 of 90 runs, fewer runs); now each refuses with the reader's error naming the part."""
    result = _result(folder)
    named = _damage(folder, how, sub)
    readers = {
        "read_table": lambda: read_table(folder / sub),
        "read_table, some columns": lambda: read_table(folder / sub, ["point", "run"]),
        "the result's table": result.runs if sub == "runs" else result.events,
    }
    for name, read in readers.items():
        refused = refusal(AREA, read, FolderError)
        assert named in str(refused), (name, str(refused))
        assert isinstance(refused, RunnerError)  # what the CLI prints as one line with exit 2


def test_read_table_wants_the_runs_or_events_of_a_results_folder(folder, tmp_path) -> None:
    assert "runs/ or events/" in str(refusal(AREA, lambda: read_table(folder), FolderError))
    assert "not a results folder" in str(refusal(AREA, lambda: read_table(tmp_path / "nowhere" / "runs"), FolderError))
    experiment = points_experiment(load_config(BASELINE, SHORT), POINTS[:1], 3, 5)  # without events
    result = run_experiment(experiment, tmp_path / "plain", backend="serial", progress=False, simulator=FAKE)
    assert len(result.runs()) == 3
    assert "holds no events (written without --events)" in str(refusal(AREA, result.events, FolderError))
