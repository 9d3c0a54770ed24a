"""`abm mechanisms` (abm/commands/mechanisms.py, abm/analysis/mechanisms.py, abm/analysis/mechanism_table.py).

The table as data (every switch of the schema is in it, listed or not), its quantities, the
effect of one row on hand-made runs (exact values, so the arithmetic of off - on is checked),
and a tiny end-to-end run. No model number is pinned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abm.analysis.compare import Lever, build_design
from abm.analysis.mechanism_table import MECHANISM_COLUMNS, NO_ROW, plan_mechanisms, row_effect
from abm.analysis.mechanisms import (
    MechanismRow,
    Quantity,
    default_table,
    load_mechanism_table,
    parse_quantity,
    switches,
)
from abm.cli import main
from abm.config import ConfigError
from abm.config.schema import MechanismsConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
BASELINE = CONFIGS / "baseline_jan2020.yaml"
BORDER = CONFIGS / "examples" / "border_crisis.yaml"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def two_rows(tmp_path: Path) -> Path:
    return write(
        tmp_path / "table.yaml",
        "mechanisms:\n"
        f"  accidents: {{scenario: {BASELINE}, quantity: {{share: accident}}, why: alert breeds accidents}}\n"
        f"  contagion: {{scenario: {BASELINE}, quantity: {{curve: quiet, day: 50}}}}\n",
    )


# ---------------------------------------------------------------- the table as data


def test_switches_are_read_from_the_schema() -> None:
    assert switches() == tuple(MechanismsConfig.model_fields)
    assert len(switches()) >= 13


def test_the_shipped_table_loads_and_names_only_real_switches() -> None:
    rows = load_mechanism_table(default_table())
    assert rows and {row.mechanism for row in rows} <= set(switches())
    assert all(row.scenario.is_file() and row.why for row in rows)
    plan = plan_mechanisms(rows)
    assert {r.mechanism for g in plan.groups for r in g.rows} | set(plan.missing) == set(switches())


def test_a_switch_without_a_row_is_reported_not_dropped(tmp_path: Path) -> None:
    plan = plan_mechanisms(load_mechanism_table(two_rows(tmp_path)))
    assert [g.name for g in plan.groups] == ["baseline_jan2020"]
    assert [r.mechanism for r in plan.groups[0].rows] == ["accidents", "contagion"]
    assert set(plan.missing) == set(switches()) - {"accidents", "contagion"}
    assert plan_mechanisms(load_mechanism_table(two_rows(tmp_path)), only=["hubris"]).missing == ("hubris",)


def test_config_runs_every_switch_on_one_scenario_and_set_can_pin_one(tmp_path: Path) -> None:
    rows = load_mechanism_table(default_table())
    plan = plan_mechanisms(rows, config=BORDER)
    assert [g.scenario.name for g in plan.groups] == ["border_crisis"]
    pinned = plan_mechanisms(rows, only=["accidents", "hubris"], fixed={"mechanisms.hubris": False})
    assert [r.mechanism for g in pinned.groups for r in g.rows] == ["accidents"]
    assert pinned.notes == ("hubris: skipped, fixed by --set mechanisms.hubris",)
    with pytest.raises(ConfigError, match="--mechanism reciprocty: no such switch"):
        plan_mechanisms(rows, only=["reciprocty"])


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"outcome": "spiral"}, Quantity("outcome", "spiral")),
        ({"curve": "quiet", "day": 90}, Quantity("curve", "quiet", 90)),
        ({"share": "expulsion_vote"}, Quantity("share", "expulsion_vote")),
        ({"mean": "n_militia_attacks"}, Quantity("mean", "n_militia_attacks")),
    ],
)
def test_quantities_parse(spec: dict, expected: Quantity) -> None:
    assert parse_quantity(spec, "here") == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"outcome": "war"}, "not one of"),
        ({"curve": "quiet"}, "`day` goes with `curve`"),
        ({"mean": "n_militia_attacks", "day": 3}, "`day` goes with `curve`"),
        ({"share": "n_militia_attacks"}, "not one of"),  # a count is a mean, not a share
        ({"mean": "outcome"}, "not one of"),
        ({"outcome": "spiral", "mean": "days"}, "exactly one"),
        ({"median": "days"}, "exactly one"),
    ],
)
def test_a_bad_quantity_is_one_error(spec: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_quantity(spec, "here")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mechanisms:\n  reciprocty: {scenario: baseline_jan2020.yaml, quantity: {outcome: spiral}}\n", "no such"),
        ("mechanisms:\n  hubris: {scenario: nowhere.yaml, quantity: {outcome: spiral}}\n", "no config"),
        ("mechanisms:\n  hubris: {scenario: baseline_jan2020.yaml}\n", "quantity"),
        ("mechanisms:\n  hubris: {scenario: baseline_jan2020.yaml, quantity: {outcome: spiral}, x: 1}\n", "x"),
    ],
)
def test_a_bad_table_is_one_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_mechanism_table(write(tmp_path / "table.yaml", text))


def test_a_curve_day_after_the_horizon_is_refused(tmp_path: Path) -> None:
    rows = load_mechanism_table(two_rows(tmp_path))
    with pytest.raises(ConfigError, match="after the horizon"):
        plan_mechanisms(rows, fixed={"horizon_days": 40})


# ---------------------------------------------------------------- one row on hand-made runs


def _runs(on: dict[str, list], off: dict[str, list]) -> pd.DataFrame:
    """Runs of two arms (point 0: on, point 1: off) with the same seeds, as the runner writes them."""
    frames = []
    for point, columns in enumerate((on, off)):
        n = len(next(iter(columns.values())))
        frames.append(pd.DataFrame({"point": point, "run": range(n), "seed": range(100, 100 + n), **columns}))
    return pd.concat(frames, ignore_index=True).assign(error=None)


def test_row_effect_is_off_minus_on_on_the_pairs() -> None:
    design = build_design([Lever(("mechanisms.principal_agent",), ((True,), (False,)))])
    attacks = np.arange(30, dtype=float)
    runs = _runs(
        {"n_militia_attacks": attacks, "outcome": ["spiral"] * 30},
        {
            "n_militia_attacks": attacks - 2.0,
            "outcome": ["spiral"] * 30,
        },
    )
    mean = row_effect(
        runs, design, 0, MechanismRow("principal_agent", BASELINE, Quantity("mean", "n_militia_attacks")), 1, 0.05
    )
    assert (mean.n, mean.diff, mean.ci_low, mean.ci_high) == (30, -2.0, -2.0, -2.0)
    same = row_effect(
        runs, design, 0, MechanismRow("principal_agent", BASELINE, Quantity("outcome", "spiral")), 1, 0.05
    )
    assert same.diff == 0 and same.ci_low <= 0 <= same.ci_high and same.p_value == 1.0


# ---------------------------------------------------------------- end to end


def test_mechanisms_command_writes_the_table(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    argv = ["mechanisms", "--table", str(two_rows(tmp_path)), "--runs", "40", "--seed", "5", "--out", str(out)]
    code = main([*argv, "--set", "horizon_days=60", "--backend", "serial", "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    table = pd.read_csv(out / "mechanisms.csv")
    assert tuple(table.columns) == MECHANISM_COLUMNS
    assert table["mechanism"].tolist() == list(switches())  # every switch, in MODEL.md §6 order
    measured = table[table["verdict"] != NO_ROW]
    assert measured["mechanism"].tolist() == ["accidents", "contagion"]
    assert (measured["n"] == 40).all() and measured["quantity"].tolist() == ["P(accident)", "P(quiet at day 50)"]
    assert np.allclose(measured["effect"], measured["off"] - measured["on"])
    assert (measured["ci_low"] <= measured["effect"]).all() and (measured["effect"] <= measured["ci_high"]).all()
    assert table.loc[table["verdict"] == NO_ROW, "n"].isna().all()
    markdown = (out / "mechanisms.md").read_text(encoding="utf-8")
    assert markdown in captured.out and markdown.count(NO_ROW) == len(switches()) - 2
    assert (out / "baseline_jan2020" / "runs").is_dir() and (out / "baseline_jan2020" / "summary.csv").exists()
    assert main(["mechanisms", "--list", "--mechanism", "hubris", "accidents"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
