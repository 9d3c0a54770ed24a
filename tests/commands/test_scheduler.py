"""`--backend dask --scheduler ADDRESS` on every command that runs simulations (issue 13 item 7).

Quick: every command with --jobs has --scheduler (one definition, `abm.commands._common.add_jobs`);
without --backend dask it is one line and exit 2, before anything runs; the address reaches the
runner's `open_backend` from every command, end to end through `abm.cli.main` (a recording stand-in
backend runs the chunks here, on the fake model). Slow: every command against a real
`distributed.LocalCluster` of two worker processes started here, and `run`, `compare` and
`sensitivity` give the serial command's tables, value for value, for the same seed.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from abm.cli import build_parser, main
from abm.runner.backends import SerialBackend
from tests.runner.support import BASELINE, FAKE, ROOT

SHORT = ["--set", "horizon_days=60"]
TIMELINE = ROOT / "configs" / "history" / "jan_mar_2020.yaml"
ADDRESS = "tcp://127.0.0.1:8786"

# Each command that runs simulations, with a tiny workload, writing to `out`.
COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "run": lambda out: ["run", str(BASELINE), "--runs", "8", "--seed", "3", *SHORT, "--out", str(out)],
    "sweep": lambda out: [
        "sweep",
        str(BASELINE),
        "--grid",
        "us.doctrine=proportional,massive",
        "--runs",
        "4",
        "--seed",
        "3",
        *SHORT,
        "--out",
        str(out),
    ],
    "compare": lambda out: [
        "compare",
        str(BASELINE),
        "--lever",
        "us.doctrine=lethal_red_line,massive",
        "--runs",
        "8",
        "--seed",
        "3",
        *SHORT,
        "--out",
        str(out),
    ],
    "sensitivity": lambda out: [
        "sensitivity",
        str(BASELINE),
        "--method",
        "morris",
        "--samples",
        "2",
        "--runs-per-point",
        "4",
        "--param",
        "world.choice_temperature=0.1:0.5",
        "--seed",
        "3",
        *SHORT,
        "--out",
        str(out),
    ],
    "levers": lambda out: [
        "levers",
        str(BASELINE),
        "--lever",
        "us.doctrine=lethal_red_line,massive",
        "--runs",
        "8",
        "--seed",
        "3",
        *SHORT,
        "--out",
        str(out),
    ],
    "mechanisms": lambda out: [
        "mechanisms",
        str(BASELINE),
        "--mechanism",
        "accidents",
        "--runs",
        "8",
        "--seed",
        "3",
        *SHORT,
        "--out",
        str(out),
    ],
    "robust": lambda out: [
        "robust",
        str(BASELINE),
        "--lever",
        "us.doctrine=proportional,massive",
        "--uncertainty",
        "world.choice_temperature=0.1:0.5",
        "--worlds",
        "2",
        "--runs",
        "4",
        "--seed",
        "3",
        *SHORT,
        "--out",
        str(out),
    ],
    "validate": lambda out: [
        "validate",
        "--case",
        "baseline_spiral_minority",
        "--runs",
        "8",
        "--seed",
        "3",
        "--out",
        str(out),
    ],
    "hindcast": lambda out: [
        "hindcast",
        "--timeline",
        str(TIMELINE),
        "--dates",
        "2020-01-10",
        "--runs",
        "3",
        "--bootstrap",
        "100",
        "--seed",
        "3",
        "--out",
        str(out),
    ],
}
# Where each command's runner folder (runs/, manifest.json) is, if it keeps one.
RUNNER_FOLDER = {"run": ".", "sweep": ".", "compare": ".", "sensitivity": ".", "levers": ".", "robust": "ensemble"}
RUNNER_FOLDER["mechanisms"] = "baseline_jan2020"
# validate: 1 when a case misses its band (a handful of runs may); the command still ran.
PASSING = {name: (0, 1) if name == "validate" else (0,) for name in COMMANDS}


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def options(p: argparse.ArgumentParser) -> set[str]:
    return {flag for action in p._actions for flag in action.option_strings}


def test_every_command_that_runs_simulations_takes_scheduler() -> None:
    """A command with --jobs runs simulations; each has --backend and --scheduler, and is listed here."""
    running = {name for name, p in subcommands().items() if "--jobs" in options(p)}
    assert running == set(COMMANDS)
    for name in running:
        assert {"--backend", "--scheduler"} <= options(subcommands()[name]), name
    args = build_parser().parse_args(COMMANDS["compare"](Path("x")))
    assert args.scheduler is None and args.backend == "loky"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_scheduler_without_dask_is_one_line_and_exit_2(command, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main([*COMMANDS[command](out), "--scheduler", ADDRESS]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"abm {command}: error: --scheduler needs --backend dask (got --backend loky)\n"
    assert not out.exists()  # nothing ran
    assert main([*COMMANDS[command](out), "--backend", "serial", "--scheduler", ADDRESS]) == 2
    assert "(got --backend serial)" in capsys.readouterr().err


@pytest.fixture
def recorded(monkeypatch) -> list[tuple[str, int | None, str | None]]:
    """`open_backend` calls of the runner; the chunks run here (serial), on the fake model."""
    calls: list[tuple[str, int | None, str | None]] = []

    def fake_open(name: str, jobs: int | None = None, scheduler: str | None = None) -> SerialBackend:
        calls.append((name, jobs, scheduler))
        return SerialBackend()

    monkeypatch.setattr("abm.runner.run.open_backend", fake_open)
    monkeypatch.setenv("ABM_SIMULATOR", FAKE)
    return calls


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_scheduler_address_reaches_the_runner(command, recorded, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = main([*COMMANDS[command](out), "--backend", "dask", "--scheduler", ADDRESS, "--jobs", "2", "-q"])
    assert code in PASSING[command], capsys.readouterr().err
    assert recorded and set(recorded) == {("dask", 2, ADDRESS)}


# ---------------------------------------------------------------- a real dask cluster


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes and their scheduler, started here."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    ) as local:
        yield local


def same_tables(left: Path, right: Path, files: list[str]) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(left / "runs"), pd.read_parquet(right / "runs"))
    for name in files:
        pd.testing.assert_frame_equal(pd.read_csv(left / name), pd.read_csv(right / name), obj=name)


SAME_AS_SERIAL = {
    "run": ["summary.csv", "curves.csv"],
    "compare": ["comparison.csv", "comparison_metrics.csv", "comparison_curves.csv", "summary.csv"],
    "sensitivity": ["sensitivity.csv", "sensitivity_points.csv"],
}


@pytest.mark.slow  # ~2-5 s each against a running cluster (the first also imports the model in the workers)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_runs_on_a_dask_scheduler(command, cluster, tmp_path, capsys) -> None:
    out = tmp_path / "dask"
    before = cluster.scheduler.transition_counter
    code = main([*COMMANDS[command](out), "--backend", "dask", "--scheduler", cluster.scheduler_address, "-q"])
    err = capsys.readouterr().err
    assert code in PASSING[command], err
    assert cluster.scheduler.transition_counter > before  # the chunks went through this scheduler
    if command in RUNNER_FOLDER:
        manifest = json.loads((out / RUNNER_FOLDER[command] / "manifest.json").read_text())
        assert manifest["sessions"][-1]["backend"] == "dask" and manifest["sessions"][-1]["jobs"] == 2
        assert "lost_workers" not in manifest  # no worker died
    if command == "hindcast":
        manifest = json.loads((out / "manifest.json").read_text())
        assert (manifest["backend"], manifest["scheduler"]) == ("dask", cluster.scheduler_address)
    if command in SAME_AS_SERIAL:
        serial = tmp_path / "serial"
        assert main([*COMMANDS[command](serial), "--backend", "serial", "-q"]) == 0
        same_tables(out, serial, SAME_AS_SERIAL[command])
