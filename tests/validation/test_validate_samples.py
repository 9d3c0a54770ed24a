"""`abm validate` shows in-sample and out-of-sample cases apart (issue 12): printed blocks, the
`sample` column, the Markdown sections, `--sample` and the empty-selection error."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import get_args

import pandas as pd
import pytest
import yaml

from abm.commands import validate
from abm.validation import cases as cases_module
from abm.validation import table

SHORT = {"horizon_days": 40}
HOME = {  # in-sample by default (no `sample` key): any share passes
    "name": "tiny_home",
    "pattern": "1 test",
    "scenario": "baseline_jan2020.yaml",
    "set": SHORT,
    "runs": 20,
    "quantity": {"kind": "share", "where": "outcome == 'spiral'"},
    "band": {"low": 0.0, "high": 1.0},
    "source": "home source: any share passes",
}
AWAY = {  # out-of-sample, same scenario (run once for both), and it cannot pass
    **HOME,
    "name": "oos_tiny_away",
    "pattern": "8 out of sample",
    "sample": "out-of-sample",
    "band": {"low": 2.0},
    "source": "away source: a share above 2 fails",
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="abm")
    validate.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["validate", *argv])


def write_cases(folder: Path, *specs: dict) -> Path:
    folder.mkdir()
    for spec in specs:
        (folder / f"{spec['name']}.yaml").write_text(yaml.safe_dump(spec))
    return folder


@pytest.fixture
def cases_dir(tmp_path: Path) -> Path:
    # "oos_tiny_away.yaml" sorts before "tiny_home.yaml": the report must still list in-sample first
    return write_cases(tmp_path / "cases", HOME, AWAY)


def run_cli(cases_dir: Path, out: Path, *extra: str) -> int:
    """`abm validate ...` through the CLI, which turns bad input into exit 2 for every command."""
    from abm.cli import main

    return main(["validate", "--cases-dir", str(cases_dir), "--out", str(out), "--jobs", "1", "-q", *extra])


def section(text: str, start: str, end: str | None) -> str:
    """The part of `text` from the line `start` up to the line `end` (or the end)."""
    lines = text.splitlines()
    i = lines.index(start)
    j = lines.index(end, i + 1) if end is not None else len(lines)
    return "\n".join(lines[i:j])


def test_both_samples_printed_apart_written_with_sample_column(
    cases_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "report"
    # The out-of-sample case fails: it counts towards the exit code like an in-sample one.
    assert run_cli(cases_dir, out) == 1
    text = capsys.readouterr().out
    in_title = next(line for line in text.splitlines() if line.startswith("In-sample cases"))
    out_title = next(line for line in text.splitlines() if line.startswith("Out-of-sample cases"))
    home = section(text, in_title, out_title)
    away = section(text, out_title, None)
    assert "tiny_home" in home and "home source" in home and "oos_tiny_away" not in home
    assert "1 of 1 in-sample cases pass" in home
    assert "oos_tiny_away" in away and "away source" in away and "tiny_home" not in away.split("Total:")[0]
    assert "FAIL" in away and "0 of 1 out-of-sample cases pass" in away
    assert "Total: 1 of 2 cases pass; in-sample: 1 of 1 pass; out-of-sample: 0 of 1 pass" in away
    # the two blocks' tables share one header (columns line up)
    headers = [line for line in text.splitlines() if line.split()[:2] == ["case", "target"]]
    assert len(headers) == 2 and headers[0] == headers[1]

    csv = pd.read_csv(out / table.CSV_FILE)
    assert list(csv["case"]) == ["tiny_home", "oos_tiny_away"]  # in-sample rows first
    assert list(csv["sample"]) == ["in-sample", "out-of-sample"]
    assert list(csv["status"]) == ["pass", "fail"]

    md = (out / table.MD_FILE).read_text()
    assert md.count("\n## In-sample\n") == 1 and md.count("\n## Out-of-sample\n") == 1
    md_home = section(md, "## In-sample", "## Out-of-sample")
    md_away = section(md, "## Out-of-sample", "## What each case measures")
    assert "| `tiny_home` |" in md_home and "oos_tiny_away" not in md_home and "1 of 1 pass" in md_home
    assert "| `oos_tiny_away` |" in md_away and "tiny_home" not in md_away and "0 of 1 pass" in md_away
    assert md_home.count("| case | pattern |") == 1 and md_away.count("| case | pattern |") == 1
    assert "* sample: all" in md and "* out-of-sample: 0 of 1 pass" in md
    assert "`oos_tiny_away` (out-of-sample," in md


def test_sample_option_selects_cases(cases_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "home"
    assert run_cli(cases_dir, out, "--sample", "in-sample") == 0  # the failing out-of-sample case is not run
    text = capsys.readouterr().out
    assert "tiny_home" in text and "oos_tiny_away" not in text
    assert "Out-of-sample cases" not in text  # an empty block is not printed ...
    assert "out-of-sample: none selected" in text  # ... but the total says so
    assert list(pd.read_csv(out / table.CSV_FILE)["case"]) == ["tiny_home"]
    md = (out / table.MD_FILE).read_text()
    assert "## Out-of-sample" in md and "No out-of-sample cases selected" in md and "* sample: in-sample" in md

    out = tmp_path / "away"
    assert run_cli(cases_dir, out, "--sample", "out-of-sample") == 1
    text = capsys.readouterr().out
    assert "oos_tiny_away" in text and "tiny_home" not in text
    assert "In-sample cases" not in text and "in-sample: none selected" in text
    assert list(pd.read_csv(out / table.CSV_FILE)["sample"]) == ["out-of-sample"]

    # combined with --case: the intersection
    out = tmp_path / "both"
    assert run_cli(cases_dir, out, "--case", "tiny_home", "oos_tiny_away", "--sample", "out-of-sample") == 1
    assert list(pd.read_csv(out / table.CSV_FILE)["case"]) == ["oos_tiny_away"]

    assert validate.main(parse(["--cases-dir", str(cases_dir), "--list", "--sample", "out-of-sample"])) == 0
    listed = capsys.readouterr().out
    assert "oos_tiny_away" in listed and "out-of-sample" in listed and "tiny_home" not in listed


def test_empty_selection_exits_2(cases_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    out = tmp_path / "none"
    assert run_cli(cases_dir, out, "--case", "tiny_home", "--sample", "out-of-sample") == 2
    err = capsys.readouterr().err
    assert "--sample out-of-sample" in err and "1 in-sample, 0 out-of-sample" in err and "nothing to run" in err
    assert not out.exists()

    only_home = write_cases(tmp_path / "home_only", HOME)
    assert run_cli(only_home, out, "--sample", "out-of-sample") == 2
    assert "none of the 1 case(s) in" in capsys.readouterr().err
    from abm.cli import main

    assert main(["validate", "--cases-dir", str(only_home), "--list", "--sample", "out-of-sample"]) == 2
    assert "nothing to run" in capsys.readouterr().err

    empty = write_cases(tmp_path / "empty")
    assert run_cli(empty, out) == 2
    assert "no validation cases" in capsys.readouterr().err
    assert not out.exists()


def test_bad_sample_value_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(["--sample", "outsample"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
    assert parse([]).sample == "all"


def test_sample_names_agree() -> None:
    assert validate.SAMPLES == table.SAMPLES == get_args(cases_module.Sample)
    assert cases_module.CaseSpec.model_fields["sample"].default == "in-sample"


def _row(case: str, status: str, **extra: object) -> dict:
    return {
        "case": case, "pattern": "p", "status": status, "estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6,
        "band_low": 0.0, "band_high": 1.0, "rule": "estimate", "n": 10, "runs": 10, "failures": 0,
        "method": "Wilson", "quantity": "q", "scenario": "s", "versus": "", "source": "src", "note": "",
        "description": "d", "file": "f", **extra,
    }  # fmt: skip


def test_format_table_orders_and_counts_without_running() -> None:
    frame = pd.DataFrame([
        _row("away_a", "fail", sample="out-of-sample"),
        _row("home_a", "pass", sample="in-sample"),
        _row("away_b", "pass", sample="out-of-sample"),
    ])  # fmt: skip
    text = table.format_table(frame)
    assert text.index("In-sample cases") < text.index("home_a") < text.index("Out-of-sample cases")
    assert text.index("Out-of-sample cases") < text.index("away_a") < text.index("away_b")
    assert "1 of 1 in-sample cases pass" in text and "1 of 2 out-of-sample cases pass" in text
    assert "Total: 2 of 3 cases pass; in-sample: 1 of 1 pass; out-of-sample: 1 of 2 pass" in text
    md = table.to_markdown(frame, {})
    assert md.index("## In-sample") < md.index("`home_a`") < md.index("## Out-of-sample") < md.index("`away_a`")

    old = pd.DataFrame([_row("home_a", "pass")])  # a table without a `sample` column reads as in-sample
    text = table.format_table(old)
    assert "In-sample cases" in text and "Out-of-sample cases" not in text
    assert "out-of-sample: none selected" in text
