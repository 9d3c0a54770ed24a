"""`abm validate` end to end on tiny cases: report files, exit codes, reproducibility."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest
import yaml

from abm.commands import validate
from abm.validation import load_cases, run_cases

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
SHORT = {"horizon_days": 40}

SPIRAL = {
    "name": "tiny_spiral",
    "pattern": "1 test",
    "scenario": "baseline_jan2020.yaml",
    "set": SHORT,
    "runs": 6,
    "quantity": {"kind": "share", "where": "outcome == 'spiral'"},
    "band": {"low": 0.0, "high": 1.0},
    "source": "any share passes",
}
ANSWERED = {
    "name": "tiny_answered",
    "pattern": "2 test",
    "scenario": "militia_lethal_trigger.yaml",
    "set": SHORT,
    "runs": 6,
    "quantity": {
        "kind": "event_share",
        "events": "imposed and day == 0",
        "followed_by": {"where": "side == 'us' and violent", "within_days": 3, "match": {"target_side": "side"}},
    },
    "band": {"low": 2.0},
    "source": "impossible: a share above 2 fails",
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="abm")
    validate.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["validate", *argv])


@pytest.fixture
def cases_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    for case in (SPIRAL, ANSWERED):
        (folder / f"{case['name']}.yaml").write_text(yaml.safe_dump(case))
    return folder


def run_cli(cases_dir: Path, out: Path, *extra: str) -> int:
    """`abm validate ...` through the CLI, which turns bad input into exit 2 for every command."""
    from abm.cli import main

    return main(["validate", "--cases-dir", str(cases_dir), "--out", str(out), "--jobs", "1", "-q", *extra])


def test_register_sets_handler_and_cli_defaults() -> None:
    args = parse([])
    assert args.handler is validate.main
    assert args.scheduler is None  # abm.cli reads args.scheduler for every command


def test_end_to_end_report_and_exit_codes(cases_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    code = run_cli(cases_dir, out)
    assert code == 1  # tiny_answered cannot pass
    table = pd.read_csv(out / "validation.csv")
    assert table.set_index("case").status.to_dict() == {"tiny_spiral": "pass", "tiny_answered": "fail"}
    assert {"estimate", "ci_low", "ci_high", "band_low", "band_high", "source", "n"} <= set(table.columns)
    row = table.set_index("case").loc["tiny_answered"]
    assert 0.0 <= row.ci_low <= row.estimate <= row.ci_high <= 1.0 and row.n == 6
    text = capsys.readouterr().out
    assert "tiny_spiral" in text and "PASS" in text and "FAIL" in text and "impossible" in text
    md = (out / "validation.md").read_text()
    assert "| `tiny_answered` |" in md and "impossible" in md

    assert run_cli(cases_dir, tmp_path / "one", "--case", "tiny_spiral") == 0


def test_same_seed_same_numbers(cases_dir: Path) -> None:
    cases = load_cases(cases_dir=cases_dir, configs_root=CONFIGS)
    first = [r.estimate for r in run_cases(cases, seed=7)]
    again = [r.estimate for r in run_cases(cases, seed=7)]
    assert first == again


def test_bad_input_exits_2(cases_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run_cli(cases_dir, tmp_path / "x", "--case", "no_such_case") == 2
    assert "no such case" in capsys.readouterr().err
    (cases_dir / "broken.yaml").write_text(yaml.safe_dump({**SPIRAL, "name": "broken", "band": {"lo": 0}}))
    assert run_cli(cases_dir, tmp_path / "y") == 2
    assert "band.lo" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_list(cases_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert validate.main(parse(["--cases-dir", str(cases_dir), "--list"])) == 0
    assert "tiny_answered" in capsys.readouterr().out


@pytest.mark.slow
def test_parallel_equals_serial(cases_dir: Path) -> None:
    cases = load_cases(cases_dir=cases_dir, configs_root=CONFIGS)
    serial = [r.estimate for r in run_cases(cases, runs=20, seed=3)]
    parallel = [r.estimate for r in run_cases(cases, runs=20, seed=3, jobs=2, backend="loky")]
    assert serial == parallel
