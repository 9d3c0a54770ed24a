"""Every command, bad input: one clear line on stderr, no traceback, exit 2; --help everywhere.

Exit codes are the same for every command (abm/cli.py): 0 done, 1 the work ran but did not
succeed, 2 bad input (nothing run), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from abm.cli import build_parser, main
from tests.reliability import trial
from tests.runner.support import BASELINE

# Areas of the reliability tally (tests/reliability.py): each bad input below is one trial.
VALUES, FILES, FOLDERS = "command-line values", "config files", "damaged results folders"

COMMANDS = {"run", "sweep", "compare", "sensitivity", "discover", "report", "validate", "hindcast", "replay"}


def subcommands() -> list[str]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(action.choices)


def call(argv: list[str]) -> int:
    """`abm ARGV` in this process; argparse's own errors (SystemExit) count as exit codes."""
    try:
        return main(argv)
    except SystemExit as done:
        return int(done.code or 0)


def test_the_parser_has_every_command() -> None:
    assert set(subcommands()) >= COMMANDS, set(subcommands()) ^ COMMANDS


@pytest.mark.parametrize("command", subcommands())
def test_every_command_has_help(command, capsys) -> None:
    assert call([command, "--help"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"usage: abm {command}") and not err


def test_no_command_prints_usage_and_exits_2(capsys) -> None:
    code = call([])
    err = capsys.readouterr().err
    trial(VALUES, code, err)
    assert code == 2
    assert "usage: abm" in err


def test_version(capsys) -> None:
    assert call(["--version"]) == 0
    assert capsys.readouterr().out.startswith("abm ")


# --- bad files, for every command that reads one --------------------------------------------------


def _files(tmp: Path) -> dict[str, Path]:
    (tmp / "malformed.yaml").write_text("us:\n  doctrine: [massive\n")
    (tmp / "latin1.yaml").write_bytes("name: café\n".encode("latin-1"))
    (tmp / "python_tag.yaml").write_text("name: !!python/object/apply:os.system ['echo pwned > pwned']\n")
    (tmp / "list.yaml").write_text("- 1\n- 2\n")
    (tmp / "huge.yaml").write_text("description: '" + "x" * 3_000_000 + "'\n")
    (tmp / "folder.yaml").mkdir()
    return {
        "missing": tmp / "missing.yaml",
        "directory": tmp / "folder.yaml",
        "malformed": tmp / "malformed.yaml",
        "not utf-8": tmp / "latin1.yaml",
        "python tag": tmp / "python_tag.yaml",
        "not a mapping": tmp / "list.yaml",
        "3 MB": tmp / "huge.yaml",
    }


YAML_COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "run": lambda p: ["run", p],
    "sweep": lambda p: ["sweep", p],
    "sweep --grid": lambda p: ["sweep", p, "--grid", "us.doctrine=massive"],
    "compare": lambda p: ["compare", p, "--lever", "us.doctrine=massive,proportional"],
    "sensitivity": lambda p: [
        "sensitivity",
        p,
        "--param",
        "world.hubris_rate=0:1",
        "--method",
        "morris",
        "--samples",
        "4",
    ],
    "validate --case": lambda p: ["validate", "--case", p],
    "hindcast": lambda p: ["hindcast", p],
    "hindcast --record": lambda p: ["hindcast", "--record", p],
}
FILE_KINDS = ["missing", "directory", "malformed", "not utf-8", "python tag", "not a mapping", "3 MB"]
NEEDLES = {
    "missing": "no such",
    "directory": "is a folder",
    "malformed": "invalid YAML",
    "not utf-8": "not UTF-8",
    "python tag": "python/object",
    "not a mapping": "mapping",
    "3 MB": "larger than",
}


@pytest.mark.parametrize("kind", FILE_KINDS)
@pytest.mark.parametrize("command", list(YAML_COMMANDS))
def test_a_bad_yaml_file_exits_2_with_one_clear_line(tmp_path, monkeypatch, command, kind, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # a default results folder would land here (none must appear)
    path = _files(tmp_path)[kind]
    code = call(YAML_COMMANDS[command](str(path)))
    out, err = capsys.readouterr()
    trial(FILES, code, err, out)
    assert code == 2, err
    assert "Traceback" not in err and err.startswith(f"abm {command.split()[0]}") and NEEDLES[kind] in err, err
    assert len(err.strip().splitlines()) <= 3 and not out
    assert not (tmp_path / "results").exists() and not (tmp_path / "pwned").exists()


FOLDER_COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "report": lambda p: ["report", p],
    "discover": lambda p: ["discover", p],
    "replay": lambda p: ["replay", p, "--run", "0"],
}


def _folders(tmp: Path) -> dict[str, Path]:
    (tmp / "empty").mkdir()
    (tmp / "a_file").write_text("x")
    damaged = tmp / "damaged"
    (damaged / "runs").mkdir(parents=True)
    (damaged / "runs" / "part-p000000-r000000000-000000004.parquet").write_bytes(b"PAR1 not really")
    (damaged / "points.csv").write_text("point,us.doctrine\n0,massive\n")
    (damaged / "manifest.json").write_text(json.dumps({"kind": "sweep", "points": 1, "parameters": []}))
    return {"missing": tmp / "missing", "empty": tmp / "empty", "a file": tmp / "a_file", "damaged": damaged}


@pytest.mark.parametrize("kind", ["missing", "empty", "a file", "damaged"])
@pytest.mark.parametrize("command", list(FOLDER_COMMANDS))
def test_a_bad_results_folder_exits_2_with_one_clear_line(tmp_path, command, kind, capsys) -> None:
    code = call(FOLDER_COMMANDS[command](str(_folders(tmp_path)[kind])))
    err = capsys.readouterr().err
    trial(FOLDERS, code, err)
    assert code == 2, err
    assert "Traceback" not in err and err.startswith(f"abm {command}: error: ") and len(err.splitlines()) <= 3, err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", str(BASELINE), "--run-timeout", "0"], "--run-timeout"),
        (["run", str(BASELINE), "--run-timeout", "soon"], "--run-timeout"),
        (["sweep", str(BASELINE), "--grid", "us.doctrine=massive", "--retries", "-1"], "--retries"),
        (["run", str(BASELINE), "--jobs", "0"], "--jobs"),
        (["report", "x", "--format", "pdf"], "--format"),
        (["replay", "x"], "--run"),
        (["run"], "CONFIG"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_options_exit_2(argv, needle, capsys) -> None:
    code = call(argv)
    err = capsys.readouterr().err
    trial(VALUES, code, err)
    assert code == 2
    assert needle in err and "Traceback" not in err


def test_bad_input_as_a_program(tmp_path, subprocess_env) -> None:
    """The same through the console entry point: stderr only, exit 2, no traceback."""
    (tmp_path / "bad.yaml").write_text("a: [1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "abm.cli", "sweep", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "o")],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    trial(FILES, proc.returncode, proc.stderr, proc.stdout)
    assert proc.returncode == 2 and not proc.stdout
    assert "invalid YAML" in proc.stderr and "Traceback" not in proc.stderr


def test_an_empty_config_file_is_refused(tmp_path, capsys, use_fake) -> None:
    """An empty file is almost surely a mistake (a truncated copy, the wrong path)."""
    (tmp_path / "empty.yaml").write_text("")
    code = call(["run", str(tmp_path / "empty.yaml"), "--out", str(tmp_path / "o"), "--runs", "1", "-q"])
    trial(FILES, code, capsys.readouterr().err)
    assert code == 2


# --- contradictions: a key both set and varied, a key varied twice (issue 17) ---------------------

B = str(BASELINE)
SWEEP, SET = ["sweep", B, "--runs", "2"], "--set"
COMPARE = ["compare", B, "--runs", "2"]
SENSITIVITY = ["sensitivity", B, "--method", "morris", "--samples", "2", "--runs-per-point", "1"]
KILLING_AT_DUBAI = "history=[{day: 2, actor: hezbollah, action: sign_deal, site: dubai, killed: [centcom]}]"
CONTRADICTIONS: dict[str, tuple[list[str], list[str]]] = {
    "swept and set": (
        [*SWEEP, "--grid", "us.doctrine=massive", SET, "us.doctrine=proportional"],
        ["states.us.doctrine is both fixed (--set us.doctrine='proportional') and varied (--grid us.doctrine)"],
    ),
    "swept and set, the long form": (
        [*SWEEP, "--grid", "us.doctrine=massive", SET, "states.us.doctrine=proportional"],
        ["states.us.doctrine is both fixed (--set states.us.doctrine=", "(--grid us.doctrine)"],
    ),
    "swept and set in a block": (
        [*SWEEP, "--grid", "us.doctrine=massive,proportional", SET, "us={doctrine: massive, force_protection: 0.5}"],
        ["states.us.doctrine is both fixed (--set us=", "(--grid us.doctrine)"],
    ),
    "a range and set": (
        [*SWEEP, "--lhs", "us.force_protection=0:1", "--points", "2", SET, "us.force_protection=0.5"],
        ["states.us.force_protection is both fixed (--set us.force_protection=0.5) and varied (--lhs"],
    ),
    "a key twice in --grid": (
        [*SWEEP, "--grid", "us.doctrine=massive", "--grid", "us.doctrine=proportional"],
        ["--grid us.doctrine given twice (us.doctrine=massive; us.doctrine=proportional)", "each key once"],
    ),
    "a key twice in --grid, short and long": (
        [*SWEEP, "--grid", "us.doctrine=massive", "--grid", "states.us.doctrine=proportional"],
        ["--grid us.doctrine and --grid states.us.doctrine both set states.us.doctrine", "each key once"],
    ),
    "a key twice in --lhs": (
        [*SWEEP, "--lhs", "world.hubris_rate=0:1", "--lhs", "world.hubris_rate=0:0.5", "--points", "2"],
        ["--lhs world.hubris_rate given twice", "each key once"],
    ),
    "a lever and set": (
        [*COMPARE, "--lever", "us.doctrine=massive,proportional", SET, "us.doctrine=massive"],
        ["states.us.doctrine is both fixed (--set us.doctrine='massive') and varied (--lever us.doctrine)"],
    ),
    "a key in two levers": (
        [*COMPARE, "--lever", "us.doctrine=massive,proportional", "--lever", "us.doctrine=lethal_red_line,massive"],
        ["'us.doctrine' appears in two levers"],
    ),
    "a key in two levers, short and long": (
        [*COMPARE, "--lever", "us.doctrine=massive,proportional", "--lever", "states.us.doctrine=massive,proportional"],
        ["--lever us.doctrine and --lever states.us.doctrine both set states.us.doctrine"],
    ),
    "a key twice in one bundle, short and long": (
        [*COMPARE, "--lever", "us.doctrine+states.us.doctrine=massive+massive,proportional+proportional"],
        ["--lever us.doctrine and --lever states.us.doctrine both set states.us.doctrine"],
    ),
    "a parameter and set": (
        [*SENSITIVITY, "--param", "world.hubris_rate=0:1", SET, "world.hubris_rate=0.5"],
        ["world.hubris_rate is both fixed (--set world.hubris_rate=0.5) and varied (--param world.hubris_rate)"],
    ),
    "a parameter twice": (
        [*SENSITIVITY, "--param", "world.hubris_rate=0:1", "--param", "world.hubris_rate=0:0.5"],
        ["--param world.hubris_rate given twice (world.hubris_rate=0:1; world.hubris_rate=0:0.5)"],
    ),
    "a parameter twice, short and long": (
        [*SENSITIVITY, "--param", "us.force_protection=0:1", "--param", "states.us.force_protection=0:0.5"],
        ["--param us.force_protection and --param states.us.force_protection both set states.us.force_protection"],
    ),
    "a key twice in --set": (
        ["run", B, "--runs", "2", SET, "us.doctrine=massive", SET, "us.doctrine=proportional"],
        ["--set us.doctrine: given twice ('massive', then 'proportional'); allowed: each key once"],
    ),
    "a key twice in --set, short and long": (
        [*SWEEP, "--grid", "us.posture=forward", SET, "us.doctrine=massive", "states.us.doctrine=proportional"],
        ["--set states.us.doctrine: the same key as us.doctrine (states.us.doctrine); allowed: each key once"],
    ),
    "a key twice in --set, compare": (
        [
            *COMPARE,
            "--lever",
            "us.posture=forward,consolidated",
            SET,
            "us.doctrine=massive",
            "us.doctrine=proportional",
        ],
        ["--set us.doctrine: given twice"],
    ),
    "free choice after the horizon": (
        ["run", B, "--runs", "2", SET, "free_from_day=3000"],
        ["free_from_day: 3000 is after horizon_days=180; allowed: 0..181"],
    ),
    "a history event no actor could take": (
        ["run", B, "--runs", "2", SET, KILLING_AT_DUBAI],
        ["history.0.action: hezbollah is a militia and cannot take 'sign_deal'; allowed for a militia:"],
    ),
}


@pytest.mark.parametrize(("argv", "needles"), CONTRADICTIONS.values(), ids=CONTRADICTIONS.keys())
def test_a_contradiction_exits_2_before_any_run(tmp_path, monkeypatch, use_fake, capsys, argv, needles) -> None:
    monkeypatch.chdir(tmp_path)
    code = call([*argv, "--out", str(tmp_path / "out"), "-q"])
    out, err = capsys.readouterr()
    trial(VALUES, code, err, out)
    assert code == 2, err
    assert err.startswith(f"abm {argv[0]}: error: ") and len(err.strip().splitlines()) == 1 and not out, err
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "argv",
    [
        [*SWEEP, "--grid", "us.doctrine=massive,proportional", SET, "us={force_protection: 0.5}"],
        [*SWEEP, "--grid", "us.doctrine=massive,proportional", SET, "iran.doctrine=massive"],
        [*COMPARE, "--lever", "us.doctrine=massive,proportional", SET, "us.force_protection=0.5"],
        [*SWEEP, "--grid", "us.doctrine=massive,proportional", SET, "us.posture=forward", "us.posture=forward"],
    ],
    ids=["a block without the swept key", "another state's key", "a lever and another key set", "one value twice"],
)
def test_set_and_varied_keys_that_do_not_meet_are_accepted(tmp_path, use_fake, capsys, argv) -> None:
    code = call([*argv, "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    trial(VALUES, code, err, expect=0)
    assert code == 0, err


def test_a_path_outside_the_trees_is_refused_until_allowed(tmp_path, monkeypatch, capsys) -> None:
    # Issue 17, item 6: `extends:` to a password file outside the project printed its lines.
    from abm.config.loader import ALLOW_OUTSIDE_ENV, outside_paths_allowed

    monkeypatch.delenv(ALLOW_OUTSIDE_ENV, raising=False)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root: x:0:0:hunter2:/root:/bin/bash\n", encoding="utf-8")
    child = tmp_path / "a" / "b" / "proj" / "child.yaml"
    child.parent.mkdir(parents=True)
    child.write_text(f"extends: {tmp_path / 'etc' / 'passwd'}\n", encoding="utf-8")
    code = call(["run", str(child), "--runs", "2", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    trial(FILES, code, err)
    assert code == 2
    assert "extends" in err and "--allow-outside-paths" in err and "hunter2" not in err and "Traceback" not in err
    for argv in (["--allow-outside-paths", "run", str(child)], ["run", str(child), "--allow-outside-paths"]):
        code = call([*argv, "--runs", "2", "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        trial(FILES, code, err)
        assert code == 2  # read, and refused as no config
        assert "root" in err and "not a known key" in err and "hunter2" not in err and "--allow" not in err
        assert not outside_paths_allowed()  # lifted for that command only
    assert not (tmp_path / "o").exists()
