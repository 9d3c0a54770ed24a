"""A damaged `manifest.json` under `abm replay` and `--resume` (issue 17): exit 2 with one line naming
the field, never a traceback.

Before: `abm replay` failed with a traceback on `"master_seed": "abc"` (ValueError), `"points":
"abc"` (ValueError), `"design_points": "abc"` or `[1]` (TypeError, ValueError), fewer design
points than `points` (IndexError) and `"parameters": null` with the points in points.csv
(TypeError); a `"kind"` that is neither run nor sweep, or `"common_random_numbers": "yes"`,
replayed something else and reported a false mismatch (exit 1). `abm.runner.replay.check_manifest`
now refuses each, naming the field. The chunk list itself (`[]`, `"chunks": "oops"`, a chunk
without `rows`) is checked by the reader (`abm.runner.reader`), also tested here through
`replay`.

`--resume` reads the manifest in `abm.runner.folder`, which now refuses a manifest that is not a
mapping and checks the chunk list with the reader's checks plus a whole `errors` count per chunk:
each case of `RESUME` once raised the error named there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from abm.cli import main
from abm.config import load_config
from abm.runner import points_experiment, run_experiment
from tests.reliability import trial
from tests.runner.support import BASELINE, FAKE

AREA = "damaged results folders"  # of the reliability tally (tests/reliability.py)

POINTS = [{"us.doctrine": "proportional"}, {"us.doctrine": "massive"}]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A two-point sweep of the real model (4 runs per point, chunks of 2)."""
    out = tmp_path_factory.mktemp("damaged") / "sweep"
    experiment = points_experiment(load_config(BASELINE, ["horizon_days=40"]), POINTS, 4, 5)
    assert run_experiment(experiment, out, backend="serial", chunk_size=2, progress=False).ok
    return out


def call(argv: list[str], capsys, expect: int = 2) -> tuple[int, str]:
    """`abm ARGV` in this process; a trial of the tally, which should exit `expect` (2: refused)."""
    try:
        code = main(argv)
    except SystemExit as done:
        code = int(done.code or 0)
    err = capsys.readouterr().err
    trial(AREA, code, err, expect=expect)
    return code, err


def damaged(source: Path, target: Path, change: Any) -> Path:
    """A copy of `source` whose manifest is `change(manifest)` (a function editing it, or its result)."""
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    edited = change(manifest)
    (target / "manifest.json").write_text(json.dumps(manifest if edited is None else edited))
    return target


def without(key: str) -> Any:
    def edit(m: dict[str, Any]) -> None:
        del m[key]

    return edit


def setting(key: str, value: Any) -> Any:
    return lambda m: m.__setitem__(key, value)


def chunk(key: str, value: Any = None, *, drop: bool = False) -> Any:
    def edit(m: dict[str, Any]) -> None:
        if drop:
            del m["chunks"][0][key]
        else:
            m["chunks"][0][key] = value

    return edit


DAMAGES: dict[str, tuple[Any, str]] = {  # what is done to the manifest -> what the message names
    "a list": (lambda m: [], "manifest.json: damaged: not a JSON object"),
    "chunks oops": (setting("chunks", "oops"), "'chunks' is not a list"),
    "a chunk without rows": (chunk("rows", drop=True), "chunk 0 has no valid 'rows'"),
    "rows as text": (chunk("rows", "abc"), "chunk 0 has no valid 'rows'"),
    "chunk_size abc": (setting("chunk_size", "abc"), "'chunk_size' is \"abc\""),
    "points abc": (setting("points", "abc"), "'points' is \"abc\""),
    "points a list": (setting("points", [1]), "'points' is [1]"),
    "points 0": (setting("points", 0), "'points' is 0"),
    "runs abc": (setting("runs", "abc"), "'runs' is \"abc\""),
    "master_seed abc": (setting("master_seed", "abc"), "'master_seed' is \"abc\""),
    "master_seed missing": (without("master_seed"), "'master_seed' is missing"),
    "master_seed negative": (setting("master_seed", -1), "'master_seed' is -1"),
    "master_seed 2.5": (setting("master_seed", 2.5), "'master_seed' is 2.5"),
    "master_seed true": (setting("master_seed", True), "'master_seed' is true"),
    "kind oops": (setting("kind", "oops"), "'kind' is \"oops\""),
    "kind null": (setting("kind", None), "'kind' is null"),
    "crn yes": (setting("common_random_numbers", "yes"), "'common_random_numbers' is \"yes\""),
    "seed_rule a number": (setting("seed_rule", 5), "'seed_rule' is 5"),
    "design_points abc": (setting("design_points", "abc"), "'design_points' is \"abc\""),
    "design_points of numbers": (setting("design_points", [1, 2]), "'design_points' is [1, 2]"),
    "design_points too few": (setting("design_points", POINTS[:1]), "'design_points' lists 1 points, 'points' says 2"),
    "parameters a number": (setting("parameters", 5), "'parameters' is 5"),
    "config oops": (setting("config", "oops"), "manifest.json: config: top level must be a mapping"),
}


@pytest.mark.parametrize(("change", "needle"), DAMAGES.values(), ids=DAMAGES.keys())
def test_replay_of_a_damaged_manifest_names_the_field(sweep, tmp_path, capsys, change, needle) -> None:
    folder = damaged(sweep, tmp_path / "copy", change)
    code, err = call(["replay", str(folder), "--run", "1", "--point", "1"], capsys)
    assert code == 2 and "Traceback" not in err, err
    assert err.startswith("abm replay: error: ") and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def test_the_points_file_is_checked_when_the_manifest_lists_none(sweep, tmp_path, capsys) -> None:
    """Large designs keep their points in points.csv, read by the manifest's `parameters`."""
    folder = damaged(sweep, tmp_path / "copy", setting("design_points", None))
    argv = ["replay", str(folder), "--run", "1", "--point", "1"]
    code, err = call(argv, capsys, expect=0)
    assert code == 0, err
    (folder / "points.csv").write_text("point,us.doctrine\n0,proportional\n")
    code, err = call(argv, capsys)
    assert code == 2 and "points.csv holds 1 design points, the manifest 2" in err, err  # before: IndexError
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["parameters"] = None
    (folder / "manifest.json").write_text(json.dumps(manifest))
    code, err = call(argv, capsys)
    assert code == 2 and "'parameters' is null" in err, err  # before: TypeError


def test_an_intact_manifest_still_replays(sweep, capsys) -> None:
    code, err = call(["replay", str(sweep), "--run", "1", "--point", "1"], capsys, expect=0)
    assert code == 0 and "matches the stored row" in err, err


# --- --resume: the manifest is read by abm.runner.folder ------------------------------------------

RESUME = {
    "a list": (lambda m: [], "AttributeError: 'list' object has no attribute 'get'"),
    "chunks oops": (setting("chunks", "oops"), "AttributeError: 'str' object has no attribute 'get'"),
    "chunks null": (setting("chunks", None), "TypeError: 'NoneType' object is not iterable"),
    "a chunk without rows": (chunk("rows", drop=True), "KeyError: 'rows'"),
    "errors as text": (chunk("errors", "abc"), "ValueError: invalid literal for int()"),
}


@pytest.fixture(scope="module")
def fake_sweep(tmp_path_factory) -> tuple[list[str], Path]:
    out = tmp_path_factory.mktemp("resume") / "sweep"
    argv = ["sweep", str(BASELINE), "--grid", "us.doctrine=massive,proportional", "--runs", "10"]
    argv += ["--chunk-size", "5", "--backend", "serial", "-q"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ABM_SIMULATOR", FAKE)
        assert main([*argv, "--out", str(out)]) == 0
    return argv, out


@pytest.mark.parametrize("change", [pytest.param(change, id=name) for name, (change, _) in RESUME.items()])
def test_resume_of_a_damaged_manifest_exits_2(fake_sweep, tmp_path, capsys, monkeypatch, change) -> None:
    argv, source = fake_sweep
    folder = damaged(source, tmp_path / "copy", change)
    monkeypatch.setenv("ABM_SIMULATOR", FAKE)
    code, err = call([*argv, "--out", str(folder), "--resume", "--retry-failed"], capsys)
    assert code == 2 and "Traceback" not in err and "manifest.json" in err, err


def test_resume_with_a_damaged_chunk_size_recomputes_it(fake_sweep, tmp_path, capsys, monkeypatch) -> None:
    """`"chunk_size": "abc"` (the issue's case) is not used on resume (the plan is the command's): exit 0."""
    argv, source = fake_sweep
    folder = damaged(source, tmp_path / "copy", setting("chunk_size", "abc"))
    monkeypatch.setenv("ABM_SIMULATOR", FAKE)
    code, err = call([*argv, "--out", str(folder), "--resume"], capsys, expect=0)
    assert code == 0 and "Traceback" not in err, err
