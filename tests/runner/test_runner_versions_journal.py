"""Issue 17, items 7 and 8: resume refuses a change of Python or library versions and records
which version wrote each chunk; every finished part is recorded as it lands (the manifest's
journal), so a crash loses only chunks in flight; a full disk leaves "stopped: disk full"; a
kill before the folder exists, and a folder or device given as the config, get their own messages.
"""

from __future__ import annotations

import errno
import json
import signal
from pathlib import Path

import pandas as pd
import pytest

from abm.cli import main
from abm.runner import RunnerError, points_experiment, run_experiment, run_in_memory, storage
from abm.runner import manifest as manifest_module
from abm.runner.manifest import JOURNAL_FILE, RESERVE_FILE, read_manifest, with_journal, writer_version
from tests.runner.test_runner_kill import SWEEP, finish, start

POINTS = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]


@pytest.fixture
def sweep(short_baseline):
    return points_experiment(short_baseline, POINTS, 12, 5, common_random_numbers=False, events=True)


@pytest.fixture
def reference(sweep, fake):
    return run_in_memory(sweep, simulator=fake, chunk_size=12)


def go(exp, out: Path, fake: str, **kw):
    kw.setdefault("backend", "serial")
    kw.setdefault("chunk_size", 3)
    return run_experiment(exp, out, progress=False, simulator=fake, **kw)


def load(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def save(out: Path, m: dict) -> None:
    (out / "manifest.json").write_text(json.dumps(m))


def stop_after_two_parts(monkeypatch) -> None:
    monkeypatch.setenv("ABM_FAULT_INJECT", json.dumps({"write_error": 3}))


# --- item 7: versions -------------------------------------------------------------------------------


def test_every_chunk_names_the_versions_it_was_written_with(tmp_path, sweep, fake) -> None:
    go(sweep, tmp_path, fake)
    m = load(tmp_path)
    now = writer_version()
    assert m["versions"] == [now] and set(now) >= {"python", "numpy", "mesa", "pyarrow", "abm_version", "model_hash"}
    assert {c["v"] for c in m["chunks"]} == {0} and m["sessions"][-1]["numpy"] == now["numpy"]
    assert not (tmp_path / JOURNAL_FILE).exists() and not (tmp_path / RESERVE_FILE).exists()


@pytest.mark.parametrize(
    ("key", "label"), [("numpy", "numpy"), ("mesa", "Mesa"), ("python", "Python"), ("pyarrow", "pyarrow")]
)
def test_resume_refuses_another_python_or_library_version(
    tmp_path, monkeypatch, sweep, reference, fake, capsys, key, label
) -> None:
    stop_after_two_parts(monkeypatch)
    assert go(sweep, tmp_path, fake).status == "stopped"
    monkeypatch.delenv("ABM_FAULT_INJECT")
    m = load(tmp_path)
    old = dict(m["versions"][0], **{key: "0.0.1"})
    m["versions"][0] = old
    if key == "python":
        m["python"] = "0.0.1"
    else:
        m["packages"][key] = "0.0.1"
    save(tmp_path, m)
    now = writer_version()[key]
    with pytest.raises(RunnerError, match=rf"{label} 0\.0\.1 there, {now} here.*--allow-version-mix"):
        go(sweep, tmp_path, fake, resume=True)
    with pytest.raises(RunnerError, match="another version of Python or its libraries"):
        go(sweep, tmp_path, fake)  # an automatic resume too
    assert load(tmp_path) == m  # refused before anything was written
    capsys.readouterr()
    mixed = go(sweep, tmp_path, fake, resume=True, allow_version_mix=True)
    assert mixed.status == "complete"
    assert f"{label} 0.0.1 there" in capsys.readouterr().err
    pd.testing.assert_frame_equal(mixed.runs(), reference.runs)
    m = load(tmp_path)
    assert m["versions"] == [old, writer_version()] and m["version_mix"] is True  # the old record is kept
    by_v = {c["id"]: c["v"] for c in m["chunks"]}
    assert sorted(by_v.values()) == [0, 0] + [1] * 6  # the first two chunks, written "with 0.0.1"
    go(sweep, tmp_path, fake, resume=True)  # mixing was allowed once; the same versions again add nothing


def test_the_cli_refuses_a_library_change_with_exit_2(tmp_path, monkeypatch, fake, capsys) -> None:
    monkeypatch.setenv("ABM_SIMULATOR", fake)
    out = tmp_path / "out"
    assert main([*SWEEP, "--out", str(out), "--backend", "serial"]) == 0
    m = load(out)
    m["versions"][0]["numpy"] = m["packages"]["numpy"] = "1.0.0"
    save(out, m)
    capsys.readouterr()
    assert main([*SWEEP, "--out", str(out), "--resume", "--backend", "serial"]) == 2
    err = capsys.readouterr().err
    assert f"numpy 1.0.0 there, {writer_version()['numpy']} here" in err and "--allow-version-mix" in err
    assert "Traceback" not in err
    assert main([*SWEEP, "--out", str(out), "--resume", "--backend", "serial", "--allow-version-mix"]) == 0


def test_a_manifest_of_an_older_format_is_compared_by_its_top_level(tmp_path, sweep, fake) -> None:
    """Chunks without `v` and a `versions` list without libraries: the top level says what wrote them."""
    go(sweep, tmp_path, fake)
    m = load(tmp_path)
    for c in m["chunks"]:
        del c["v"]
    m["versions"] = [{k: m[k] for k in ("abm_version", "model_hash", "git_commit")}]
    save(tmp_path, m)
    assert go(sweep, tmp_path, fake).status == "complete"  # same versions: no mix
    m["python"] = "2.7.18"
    save(tmp_path, m)
    with pytest.raises(RunnerError, match=r"Python 2\.7\.18 there"):
        go(sweep, tmp_path, fake)


# --- item 8: each finished part recorded as it lands -------------------------------------------------


def test_a_kill_loses_only_the_chunk_in_flight(tmp_path, resume_here_cli) -> None:
    out = tmp_path / "out"
    code, _ = finish(start(out, "--backend", "serial", write_kill=6))  # killed while writing the 6th part
    assert code == -signal.SIGKILL
    parts = storage.part_ids(out / "runs")
    assert len(parts) == 5
    listed = with_journal(read_manifest(out), out)
    assert sorted(c["id"] for c in listed["chunks"]) == parts  # every finished part is recorded
    code, err = resume_here_cli(out)
    assert code == 0, err
    m = load(out)
    assert m["sessions"][-1]["runs"] == 24 - 5 * 3  # only the chunk in flight (and those never started) ran again
    assert not (out / JOURNAL_FILE).exists()


@pytest.fixture
def resume_here_cli(capsys, monkeypatch, fake):
    def run(out: Path) -> tuple[int, str]:
        monkeypatch.setenv("ABM_SIMULATOR", fake)
        monkeypatch.delenv("ABM_FAULT_INJECT", raising=False)
        capsys.readouterr()
        code = main([*SWEEP, "--out", str(out), "--resume", "--backend", "serial"])
        return code, capsys.readouterr().err

    return run


def test_a_torn_journal_line_is_ignored_and_its_chunk_redone(tmp_path, sweep, reference, fake) -> None:
    go(sweep, tmp_path, fake)
    m = load(tmp_path)
    last = m["chunks"].pop()
    m["status"], m["finished"] = "running", None
    save(tmp_path, m)
    first = m["chunks"].pop()  # listed in the manifest and journalled again: one entry
    line = json.dumps(first) + "\n" + json.dumps(last)[:-10]  # the last line torn by a crash
    (tmp_path / JOURNAL_FILE).write_text(line)
    merged = with_journal(load(tmp_path), tmp_path)
    assert len(merged["chunks"]) == 7
    again = go(sweep, tmp_path, fake, resume=True)
    assert again.status == "complete" and load(tmp_path)["sessions"][-1]["runs"] == 3
    pd.testing.assert_frame_equal(again.runs(), reference.runs)


def test_a_full_disk_leaves_the_folder_stopped_disk_full_not_running(
    tmp_path, monkeypatch, sweep, reference, fake
) -> None:
    """The disk fills up at the 3rd chunk; from then on nothing can be written except into the room
    the manifest's reserve gives back."""
    full = {"on": False}
    real_part, real_json = storage.write_part_file, manifest_module.write_json_atomic
    calls = {"n": 0}

    def part(directory, chunk_id, table, **kw):
        calls["n"] += 1
        if calls["n"] >= 5:  # runs and events parts: the 3rd chunk
            full["on"] = True
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device", str(directory))
        return real_part(directory, chunk_id, table, **kw)

    def manifest_write(path, data):
        if full["on"] and (path.parent / RESERVE_FILE).exists():
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_json(path, data)

    monkeypatch.setattr(storage, "write_part_file", part)
    monkeypatch.setattr(manifest_module, "write_json_atomic", manifest_write)
    result = go(sweep, tmp_path, fake)
    assert result.status == "stopped" and result.stop_reason.startswith("disk full: cannot write results")
    m = load(tmp_path)
    assert m["status"] == "stopped" and m["stop_reason"].startswith("disk full") and m["chunks_done"] == 2
    monkeypatch.setattr(storage, "write_part_file", real_part)
    monkeypatch.setattr(manifest_module, "write_json_atomic", real_json)
    again = go(sweep, tmp_path, fake, resume=True)
    pd.testing.assert_frame_equal(again.runs(), reference.runs)


def test_manifest_writes_stay_cheap_per_part(tmp_path) -> None:
    """Journalling a chunk costs the same with 20 000 chunks listed as with none."""
    import time

    writer = manifest_module.ManifestWriter(tmp_path, {"chunks": []})
    entry = {"id": "p000000-r000000000-000000050", "rows": 50, "sha256": "a" * 64, "counts": {"war": 1}}
    began = time.perf_counter()
    for _ in range(50):
        writer.append(entry)
    small = time.perf_counter() - began
    writer.data["chunks"] = [dict(entry, id=f"c{i}") for i in range(20_000)]
    began = time.perf_counter()
    for _ in range(50):
        writer.append(entry)
    large = time.perf_counter() - began
    writer.close(finished=False)
    assert large < 3 * small + 0.05


# --- item 8: start-up kills and config paths -----------------------------------------------------------


def test_resume_of_a_folder_that_was_never_created_says_to_start_again(tmp_path, fake, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ABM_SIMULATOR", fake)
    out = tmp_path / "never"
    assert main([*SWEEP, "--out", str(out), "--resume", "--backend", "serial"]) == 2
    err = capsys.readouterr().err
    assert "the folder does not exist" in err and "without --resume to start again" in err
    assert not out.exists()
    out.mkdir()  # killed between creating the folder and locking it: empty, resumable
    assert main([*SWEEP, "--out", str(out), "--resume", "--backend", "serial"]) == 0


@pytest.mark.parametrize("which", ["folder", "device"])
def test_a_folder_or_a_device_as_config_gets_its_own_message(tmp_path, capsys, which) -> None:
    path = str(tmp_path) if which == "folder" else "/dev/null"
    assert main(["run", path, "--runs", "2", "-q"]) == 2
    err = capsys.readouterr().err
    assert ("is a folder" if which == "folder" else "is a device or special file") in err
    assert "no such file" not in err and "Traceback" not in err
