"""Reports on tiny real folders: tables in every format, figures, report.md, readable errors."""

from __future__ import annotations

import importlib.util
import re
import shutil

import pandas as pd
import pytest

from abm.analysis.errors import AnalysisError
from abm.analysis.report import build_report
from abm.analysis.tables import latex_escape, markdown_table, metric_table, outcome_table
from abm.config import load_config
from abm.model.outcomes import OUTCOMES
from abm.runner import run_experiment, single_experiment
from tests.analysis.conftest import BASELINE


def test_compare_folder_report(compare_dir, tmp_path) -> None:
    folder = tmp_path / "cmp"
    shutil.copytree(compare_dir, folder)
    rep = build_report(folder, ["md", "csv", "latex"])
    report_dir = folder / "report"
    text = rep.path.read_text()
    for stem in (
        "outcomes_by_iran_advance_warning",
        "outcomes_by_us_doctrine",
        "time_to_outcome",
        "curves",
        "ladder",
        "comparison_forest",
    ):
        for suffix in (".png", ".svg"):
            path = report_dir / "figures" / f"{stem}{suffix}"
            assert path.stat().st_size > 2000, path
        assert f"figures/{stem}.png" in text
    for name in ("outcomes", "metrics", "comparison"):
        for suffix in (".csv", ".md", ".tex"):
            assert (report_dir / f"{name}{suffix}").is_file()
    assert "\\begin{tabular}" in (report_dir / "outcomes.tex").read_text()
    assert "iran.advance\\_warning" in (report_dir / "outcomes.tex").read_text()
    for tex in report_dir.glob("*.tex"):  # a bare % starts a LaTeX comment: "95% Wilson" broke every caption
        assert not re.search(r"(?<!\\)%", tex.read_text()), tex.name
    long = pd.read_csv(report_dir / "outcomes.csv")
    assert set(long["outcome"]) >= set(OUTCOMES) and long.groupby("point")["count"].sum().eq(30).all()
    assert "## Lever comparison" in text and "paired" in text
    assert "## Lever effects on the time curves" in text  # rows where both arms are 0 are left out
    assert re.search(r"\| (spiral by|deal by|quiet at) day \d+ \|", text)
    assert (report_dir / "comparison_curves.csv").is_file()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A plain `abm run` folder without events."""
    out = tmp_path_factory.mktemp("run") / "run"
    exp = single_experiment(load_config(BASELINE, {"horizon_days": 60}), 20, 5)
    run_experiment(exp, out, jobs=1, backend="serial", progress=False)
    return out


def test_plain_run_report_notes_the_missing_events(run_dir) -> None:
    rep = build_report(run_dir)
    assert (run_dir / "report" / "figures" / "outcomes.png").stat().st_size > 2000
    assert (run_dir / "report" / "figures" / "curves.png").stat().st_size > 2000
    assert "figures/curves.png" in rep.path.read_text()
    assert not (run_dir / "report" / "figures" / "ladder.png").exists()
    assert any("--events" in n for n in rep.notes)
    assert "--events" in rep.path.read_text()


def test_by_groups_tables_and_rejects_unknown_keys(compare_dir, tmp_path) -> None:
    folder = tmp_path / "cmp"
    shutil.copytree(compare_dir, folder)
    build_report(folder, ["csv"], by=["us.doctrine"])
    long = pd.read_csv(folder / "report" / "outcomes.csv")
    assert list(long.columns[:2]) == ["us.doctrine", "outcome"]
    assert set(long["us.doctrine"]) == {"lethal_red_line", "massive"}
    with pytest.raises(AnalysisError, match=r"allowed: iran\.advance_warning, us\.doctrine"):
        build_report(folder, by=["us.posture"])


def test_formats_and_missing_folder(tmp_path, compare_dir) -> None:
    with pytest.raises(AnalysisError, match="no runs/"):
        build_report(tmp_path)
    with pytest.raises(AnalysisError, match="allowed"):
        build_report(compare_dir, ["pdf"])
    if importlib.util.find_spec("openpyxl") is None:
        with pytest.raises(AnalysisError, match=r"abm\[xlsx\]"):
            build_report(compare_dir, ["xlsx"])


def test_latex_escape_covers_every_special_character() -> None:
    assert latex_escape("95% & $5 #1 a_b {c} ~^\\") == (
        r"95\% \& \$5 \#1 a\_b \{c\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )


def test_tables_from_a_runs_frame() -> None:
    runs = pd.DataFrame(
        {
            "g": ["a", "a", "b"],
            "outcome": ["spiral", "deal", "spiral"],
            "error": pd.array([None, None, None], dtype="string"),
            "days": [1, 2, 3],
            "battle_deaths": [0, 10, 20],
            "state_deaths": [0, 1, 2],
            "max_rung": [9, 0, 9],
            "escalation_score": [1.0, 2.0, 3.0],
        }
    )
    table = outcome_table(runs, ["g"])
    row = table[(table.g == "a") & (table.outcome == "spiral")].iloc[0]
    assert (row["count"], row["n"], row["p"]) == (1, 2, 0.5)
    metrics = metric_table(runs, ["g"]).set_index(["g", "metric"])
    assert metrics.loc[("a", "battle_deaths"), "mean"] == 5 and metrics.loc[("b", "days"), "n"] == 1
    md = markdown_table(pd.DataFrame({"x": ["a|b"], "y": [0.12345]}))
    assert md.splitlines() == ["| x | y |", "|---|---|", "| a\\|b | 0.123 |"]


def test_xlsx_workbook_when_openpyxl_is_installed(compare_dir, tmp_path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    folder = tmp_path / "cmp"
    shutil.copytree(compare_dir, folder)
    build_report(folder, ["xlsx"], figure_formats=["png"])
    book = openpyxl.load_workbook(folder / "report" / "report.xlsx")
    assert {"outcomes", "metrics", "comparison"} <= set(book.sheetnames)
    assert not list((folder / "report" / "figures").glob("*.svg"))


def test_sensitivity_folder_report_bins_continuous_by_keys(tmp_path, short_baseline) -> None:
    from abm.analysis.sensitivity import ParamRange, run_sensitivity

    folder = tmp_path / "sobol"
    ranges = [ParamRange("iran.advance_warning", 0.0, 1.0), ParamRange("world.militia_attack_rate", 0.02, 0.12)]
    run_sensitivity(short_baseline, ranges, "sobol", 8, 3, seed=1, out_dir=folder)  # 16 distinct values each
    build_report(folder, ["csv"], figure_formats=["png"])
    figures_dir = folder / "report" / "figures"
    assert (figures_dir / "sensitivity.png").stat().st_size > 2000
    assert (figures_dir / "outcomes_by_world_militia_attack_rate.png").is_file()
    rep = build_report(folder, ["csv"], by=["iran.advance_warning"], figure_formats=["png"])
    assert not (figures_dir / "outcomes_by_world_militia_attack_rate.png").exists()  # stale figure removed
    long = pd.read_csv(folder / "report" / "outcomes.csv")
    assert long["iran.advance_warning"].str.startswith("q").all() and long["iran.advance_warning"].nunique() <= 5
    assert any("quantile bins" in note for note in rep.notes)
