"""`abm robust` (abm/analysis/robust.py, abm/commands/robust.py): regret and satisficing on a
hand-made table, common random numbers across settings, the command end to end, bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from abm.analysis.compare import parse_lever
from abm.analysis.robust import (
    DIRECTIONS,
    Criterion,
    agreement,
    parse_satisfice,
    plan_robust,
    regret,
    satisficing,
    summarize,
    uncertainty_ranges,
    wide,
)
from abm.cli import main
from abm.commands.robust import RANKED
from abm.config import ConfigError
from abm.runner import run_seed
from abm.runner.reader import open_folder
from tests.analysis.conftest import BASELINE

# Hand-made P per (setting, world): three settings, three worlds (worked out in the comments).
SPIRAL = {0: [0.10, 0.00, 0.05], 1: [0.02, 0.04, 0.05], 2: [0.05, 0.05, 0.01]}
DEESC = {0: [0.90, 0.95, 0.85], 1: [0.80, 0.70, 0.90], 2: [0.85, 0.90, 0.95]}


def hand_cells(half_width: float = 0.01) -> pd.DataFrame:
    rows = []
    for outcome, table in (("spiral", SPIRAL), ("deescalation", DEESC)):
        for s, ps in table.items():
            for w, p in enumerate(ps):
                low, high = max(p - half_width, 0.0), min(p + half_width, 1.0)
                head = {"setting": s, "label": f"s{s}", "world": w, "outcome": outcome}
                rows.append({**head, "p": p, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def test_regret_is_the_shortfall_from_the_best_setting_in_each_world() -> None:
    cells = hand_cells()
    bad = regret(wide(cells, "spiral"), "spiral")  # best per world: 0.02, 0.00, 0.01
    assert bad.loc[0].tolist() == pytest.approx([0.08, 0.00, 0.04])
    assert bad.loc[1].tolist() == pytest.approx([0.00, 0.04, 0.04])
    assert bad.loc[2].tolist() == pytest.approx([0.03, 0.05, 0.00])
    good = regret(wide(cells, "deescalation"), "deescalation")  # best per world: 0.90, 0.95, 0.95
    assert good.loc[0].tolist() == pytest.approx([0.00, 0.00, 0.10])
    assert good.loc[1].tolist() == pytest.approx([0.10, 0.25, 0.05])
    assert (good.min(axis=0) == 0).all() and (bad.min(axis=0) == 0).all()
    assert tuple(DIRECTIONS) == RANKED  # the command's --outcome choices, kept import-light
    with pytest.raises(ConfigError, match="neither good nor bad"):
        regret(wide(cells, "spiral"), "unresolved")


def test_satisficing_counts_worlds_meeting_every_criterion() -> None:
    cells = hand_cells()
    criteria = [parse_satisfice("spiral<=0.05"), parse_satisfice("deescalation >= 0.85")]
    # s0 fails world 0 (spiral 0.10); s1 fails worlds 0, 1 (deescalation 0.80, 0.70); s2 meets all
    assert satisficing(cells, criteria).tolist() == pytest.approx([2 / 3, 1 / 3, 1.0])
    # strict: the whole interval (p +- 0.01) must meet them: spiral 0.05 -> 0.06 fails, deesc. 0.85 -> 0.84 fails
    assert satisficing(cells, criteria, strict=True).tolist() == pytest.approx([1 / 3, 0.0, 1 / 3])


def test_summary_ranks_by_minimax_regret_and_by_satisficing_and_says_whether_they_agree() -> None:
    cells = hand_cells()
    criteria = [Criterion("spiral", "<=", 0.05), Criterion("deescalation", ">=", 0.85)]
    summary = summarize(cells, "spiral", criteria).set_index("setting")
    assert summary["max_regret"].tolist() == pytest.approx([0.08, 0.04, 0.05])
    assert summary["worst"].tolist() == pytest.approx([0.10, 0.05, 0.05])
    assert summary["mean"].tolist() == pytest.approx([0.05, 0.11 / 3, 0.11 / 3])
    assert summary["median"].tolist() == pytest.approx([0.05, 0.04, 0.05])
    assert summary["p90_regret"][1] == pytest.approx(0.04)
    assert summary["rank_minimax"].tolist() == [3, 1, 2]
    assert summary["rank_satisficing"].tolist() == [2, 3, 1]
    agree = agreement(summary.reset_index())
    assert agree is not None and not agree.same_best
    assert agree.minimax_best == ("s1",) and agree.satisficing_best == ("s2",)
    assert agree.tau == pytest.approx(-1 / 3)  # pairs (0, 2) concordant, (0, 1) and (1, 2) not
    assert agreement(summarize(cells, "spiral")) is None  # no criteria, no satisficing ranking


def test_equal_settings_share_a_rank() -> None:
    cells = hand_cells()
    cells = pd.concat([cells, cells[cells["setting"] == 1].assign(setting=3, label="s3")])
    summary = summarize(cells, "deescalation").set_index("setting")
    assert summary["rank_minimax"].tolist() == [2, 3, 1, 3]  # 1 and 3 tie (max regret 0.25): 1, 2, 3, 3
    assert summary.loc[0, "worst"] == pytest.approx(0.85)  # good outcome: the worst is the lowest


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("war<=0.1", "unknown outcome 'war'"),
        ("spiral=0.1", "expected OUTCOME<=P"),
        ("spiral<=1.5", "not a probability"),
        ("spiral<=x", "not a number"),
    ],
)
def test_bad_satisfice_expressions_are_refused(text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_satisfice(text)


def test_uncertainties_read_as_sensitivity_params_but_named_as_the_option() -> None:
    ranges = uncertainty_ranges(["world.war_cost=60:240"], ["behaviour.militias"])
    assert ranges[-1].key == "world.war_cost" and len(ranges) > 1
    with pytest.raises(ConfigError, match=r"--uncertainty 'world.war_cost=240:60': need finite LO < HI"):
        uncertainty_ranges(["world.war_cost=240:60"])
    with pytest.raises(ConfigError, match=r"world\.nope: unknown key"):
        uncertainty_ranges(["world.nope=0:1"])


def test_every_setting_gets_the_same_worlds_and_the_same_run_seeds(short_baseline) -> None:
    levers = [parse_lever("us.doctrine=proportional,massive"), parse_lever("iran.proxy_restraint=0.2,0.8")]
    ranges = uncertainty_ranges(["world.war_cost=60:240", "world.successor_delay_days=1:30"])
    ensemble, experiment = plan_robust(short_baseline, levers, ranges, 5, 7, seed=3)
    assert len(ensemble.settings) == 4 and len(experiment.points) == 20
    assert all(isinstance(w["world.successor_delay_days"], int) for w in ensemble.worlds)  # whole-number key rounded
    for point, values in enumerate(experiment.points):
        s, w = ensemble.cell(point)
        assert {k: values[k] for k in ensemble.worlds[w]} == ensemble.worlds[w]
        assert values["us.doctrine"] == ensemble.values(s)["us.doctrine"]
        # common random numbers: run r of world w has one seed in every setting
        seeds = [run_seed(experiment.seed, experiment.point_key(point), r) for r in range(experiment.runs)]
        assert seeds == [run_seed(3, 0, r) for r in range(7)]
    again, _ = plan_robust(short_baseline, levers, ranges, 5, 7, seed=3)
    other, _ = plan_robust(short_baseline, levers, ranges, 5, 7, seed=4)
    assert again.worlds == ensemble.worlds and other.worlds != ensemble.worlds  # worlds follow the master seed


FAST = ["--set", "horizon_days=40", "--backend", "serial", "-q"]
TINY = [
    "robust",
    str(BASELINE),
    "--lever",
    "us.doctrine=proportional,massive",
    "--uncertainty",
    "world.war_cost=60:240",
    "--uncertainty",
    "world.choice_temperature=0.1:0.5",
    "--worlds",
    "3",
    "--runs",
    "10",
    "--seed",
    "5",
]


def test_the_command_writes_every_table_the_figure_and_the_manifest(tmp_path, capsys) -> None:
    out = tmp_path / "robust"
    code = main([*TINY, "--satisfice", "spiral<=0.05", "--satisfice", "deescalation>=0.5", "--out", str(out), *FAST])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Minimax regret picks" in captured.out and "| rank | us.doctrine |" in captured.out
    cells = pd.read_csv(out / "robust.csv")
    assert len(cells) == 2 * 3 * 4 and set(cells["n"]) == {10}  # settings x worlds x outcomes
    assert (cells.groupby(["setting", "world"])["count"].sum() == 10).all()
    assert ((cells["ci_low"] <= cells["p"]) & (cells["p"] <= cells["ci_high"])).all()
    assert cells.loc[cells["outcome"] == "unresolved", "regret"].isna().all()
    summary = pd.read_csv(out / "robust_summary.csv")
    assert len(summary) == 2 and {"max_regret", "p90_regret", "satisficing", "rank_satisficing"} <= set(summary)
    assert (out / "robust.md").read_text() == captured.out
    assert (out / "figures" / "robust.png").stat().st_size > 0 and (out / "figures" / "robust.svg").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["set"] == {"horizon_days": 40}
    assert len(manifest["worlds_design"]["worlds"]) == 3 and manifest["config_hash"]
    assert manifest["environment"]["abm_version"] and "robust.csv" in manifest["outputs"]
    # common random numbers in the stored runs: (world, run) has one seed whatever the setting
    runs = open_folder(out / "ensemble").read("runs", ["point", "run", "seed"])
    runs["world"] = runs["point"] % 3
    assert (runs.groupby(["world", "run"])["seed"].nunique() == 1).all()
    # the same command again reuses the runs (resumed folder): same tables
    assert main([*TINY, "--outcome", "deescalation", "--out", str(out), *FAST]) == 0
    again = pd.read_csv(out / "robust.csv")
    assert again[["p", "ci_low", "ci_high"]].equals(cells[["p", "ci_low", "ci_high"]])
    assert "No --satisfice criterion" in (out / "robust.md").read_text()
    assert set(pd.read_csv(out / "robust_summary.csv")["outcome"]) == {"deescalation"}


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--uncertainty", "world.nope=0:1", "--worlds", "3"], "world.nope: unknown key"),
        (["--uncertainty", "world.war_cost=9:1", "--worlds", "3"], "need finite LO < HI"),
        (["--uncertainty", "world.unlimited_war=0:3", "--worlds", "3"], "allowed: a number <= 1.0"),
        (["--uncertainty", "world.war_cost=60:240", "--worlds", "0"], "--worlds: got 0"),
        (["--uncertainty", "world.war_cost=60:240", "--worlds", "3", "--satisfice", "war<=0.1"], "unknown outcome"),
        (["--uncertainty", "us.doctrine=0:1", "--worlds", "3"], "us.doctrine: a choice of"),
        (["--worlds", "3"], "give at least one --uncertainty"),
        (["--uncertainty-block", "nope", "--worlds", "3"], "--uncertainty-block 'nope': not a config block"),
        (["--uncertainty", "world.war_cost=60:240", "--worlds", "3", "--outcome", "unresolved"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_before_any_run(tmp_path, capsys, extra, needle) -> None:
    out = tmp_path / "bad"
    argv = ["robust", str(BASELINE), "--lever", "us.doctrine=proportional,massive", "--runs", "5", *extra]
    try:
        code = main([*argv, "--out", str(out), *FAST])
    except SystemExit as exc:  # argparse's own checks (--worlds, --outcome)
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and needle in err, err
    assert not out.exists()
