"""The analysis commands end to end through a tiny argparse harness (as `abm.cli` will wire them)."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from abm.cli import main
from abm.commands import COMMANDS
from tests.analysis.conftest import BASELINE, write_sweep

FAST = ["--set", "horizon_days=60", "--backend", "serial", "-q"]


def test_every_command_registers_with_full_help(capsys) -> None:
    parser = argparse.ArgumentParser(prog="abm")
    sub = parser.add_subparsers(dest="command")
    for module in COMMANDS:
        module.register(sub)
    for name in ("compare", "sensitivity", "discover", "report"):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([name, "--help"])
        assert exit_info.value.code == 0
        assert "example" in capsys.readouterr().out
    args = parser.parse_args(["report", "somewhere"])
    assert args.handler.__module__ == "abm.commands.report"


def test_compare_command_prints_and_writes_the_tables(tmp_path, capsys) -> None:
    out = tmp_path / "cmp"
    code = main(
        [
            "compare",
            str(BASELINE),
            "--lever",
            "iran.advance_warning=0.8,0.0",
            "--runs",
            "8",
            "--seed",
            "4",
            "--out",
            str(out),
            *FAST,
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "mcnemar" in captured.out and "diff [95% CI]" in captured.out
    assert len(pd.read_csv(out / "comparison.csv")) == 4
    assert "spiral by day 30" in captured.out and "deal by day 60" in captured.out  # days 30 and the horizon
    assert set(pd.read_csv(out / "comparison_curves.csv")["day"]) == {30, 60}
    assert pd.read_csv(out / "curves.csv").groupby("point")["n"].first().tolist() == [8, 8]
    assert main(["report", str(out), "--figure-format", "png"]) == 0
    text = (out / "report" / "report.md").read_text()
    assert "figures/comparison_forest.png" in text and "SVG" not in text
    assert not list((out / "report" / "figures").glob("*.svg"))


def test_independent_flag_and_correction(tmp_path, capsys) -> None:
    out = tmp_path / "ind"
    code = main(
        [
            "compare",
            str(BASELINE),
            "--lever",
            "us.doctrine=lethal_red_line,massive",
            "--runs",
            "6",
            "--independent",
            "--correction",
            "bonferroni",
            "--out",
            str(out),
            *FAST,
        ]
    )
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["test"]) == {"score_2indep"}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["compare", str(BASELINE), "--lever", "iran.advance_warning=0.8"], "at least two values"),
        (["compare", str(BASELINE), "--lever", "iran.no_such_key=1,2", "--runs", "2"], "no_such_key"),
        (["compare", str(BASELINE), "--lever", "iran.advance_warning=0.8,7.0", "--runs", "2"], "advance_warning"),
        (
            ["sensitivity", str(BASELINE), "--method", "sobol", "--samples", "6", "--param", "world.hubris_rate=0:1"],
            "power of two",
        ),
        (
            ["sensitivity", str(BASELINE), "--method", "morris", "--samples", "2", "--param", "world.hubris_rate=1:0"],
            "LO < HI",
        ),
        (["report", "/nonexistent/folder"], "no runs/"),
        (["discover", "/nonexistent/folder"], "no runs/"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(argv, needle, tmp_path, capsys) -> None:
    assert main([*argv, *(["--out", str(tmp_path / "x")] if argv[0] in ("compare", "sensitivity") else [])]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert err.startswith(f"abm {argv[0]}: error:")


def test_discover_command(tmp_path, capsys) -> None:
    points = pd.DataFrame({"x.rate": [i / 40 for i in range(40)]})
    folder = write_sweep(tmp_path / "sweep", points, 20, lambda r: 0.5 if r["x.rate"] > 0.7 else 0.0)
    assert main(["discover", str(folder), "--threshold", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "## Box 1" in out and "`x.rate`" in out
    assert (folder / "discovery.csv").is_file()
    assert main(["discover", str(folder), "--threshold", "0.99"]) == 2
    assert "lower --threshold" in capsys.readouterr().err


def test_sensitivity_command(tmp_path, capsys) -> None:
    out = tmp_path / "morris"
    code = main(
        [
            "sensitivity",
            str(BASELINE),
            "--method",
            "morris",
            "--samples",
            "2",
            "--runs-per-point",
            "3",
            "--param",
            "iran.advance_warning=0:1",
            "--param",
            "world.successor_delay_days=1:30",
            "--out",
            str(out),
            *FAST,
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert (out / "curves.csv").is_file()  # every folder that holds runs has its curves
    assert list(pd.read_csv(out / "sensitivity.csv").columns) == [
        "param",
        "outcome_metric",
        "mu_star",
        "mu_star_conf",
        "sigma",
    ]


def test_sensitivity_over_whole_blocks(tmp_path, capsys) -> None:
    """--param-block expands to every numeric key of the block with the schema's ranges; a --param
    replaces one of them; the design, the indices and the spec name every parameter."""
    out = tmp_path / "morris"
    argv = ["sensitivity", str(BASELINE), "--method", "morris", "--samples", "2", "--runs-per-point", "1"]
    argv += ["--param-block", "behaviour.commanders", "--param-block", "world"]
    argv += ["--param", "world.face_decay=0.05:0.06", "--out", str(out), *FAST]
    assert main(argv) == 0, capsys.readouterr().err
    design = pd.read_csv(out / "sensitivity_design.csv")
    assert list(design.columns[:4]) == [
        "behaviour.commanders.successor_experience",
        "behaviour.commanders.successor_control",
        "behaviour.commanders.precedent_security",
        "behaviour.commanders.max_security",
    ]
    assert design.columns[-1] == "world.face_decay" and design["world.face_decay"].between(0.05, 0.06).all()
    assert design["behaviour.commanders.max_security"].between(0.5, 1.0).all()
    assert "world.war_death_threshold" not in design
    assert len(design) == 2 * (len(design.columns) + 1)
    assert set(pd.read_csv(out / "sensitivity.csv")["param"]) <= set(design.columns)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ([], "give at least one --param KEY=LO:HI or --param-block NAME"),
        (["--param-block", "mechanisms"], "no numeric parameters"),
        (["--param-block", "behaviour.militia"], "not a config block"),
        (["--param-block", "behaviour.host", "--set", "behaviour.host.vote_ceiling=0.3"], "both fixed"),
    ],
)
def test_sensitivity_blocks_refused(extra, needle, tmp_path, capsys) -> None:
    argv = ["sensitivity", str(BASELINE), "--method", "morris", "--samples", "2", *extra, "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
