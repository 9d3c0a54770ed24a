"""`abm levers` (abm/commands/levers.py, abm/analysis/levers.py, abm/analysis/lever_table.py).

The lever rows as data (derived from any scenario, or written in a lever file), rows a scenario
cannot take (skipped with a note), and a tiny end-to-end run. No test pins a model number: the
model is rewritten in parallel; what is checked is the machinery (a row whose two settings are
the same must give a difference of exactly 0, which only holds if the arms are paired run by run).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from abm.analysis.lever_table import LEVER_COLUMNS, lever_days
from abm.analysis.levers import TRAIT_LEVERS, LeverRow, derive_levers, load_levers, option_levers, plan_levers
from abm.cli import main
from abm.config import ConfigError, Scenario, load_config
from abm.config.schema import ChannelConfig, StateConfig

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"
BORDER = ROOT / "configs" / "examples" / "border_crisis.yaml"
JAN2020 = ROOT / "experiments" / "levers" / "jan2020.yaml"
BLOCKS = {"states": StateConfig, "channels": ChannelConfig}


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_config(BASELINE)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the data tables


def test_every_generic_lever_is_a_trait_of_the_schema() -> None:
    for entry in TRAIT_LEVERS:
        block = BLOCKS[entry.block]
        assert entry.trait in block.model_fields, f"{entry.block}.{entry.trait} is not in the schema"
        assert len(set(map(repr, entry.alternatives))) >= 2 and entry.mechanisms


def test_derived_rows_follow_the_scenarios_own_ids_and_values(baseline: Scenario) -> None:
    border = load_config(BORDER)
    for scenario in (baseline, border):
        rows = derive_levers(scenario)
        plan = plan_levers(scenario, rows)
        assert len(plan.rows) == len(rows) and not plan.notes
        heads = {row.label.split(".")[0] for row in plan.rows} - {"channels"}
        assert heads and heads <= set(scenario.states)
        assert all(row.reference != row.alternative for row in plan.rows)
        assert {f"channels.{c}.open" for c in scenario.channels} <= {row.label for row in plan.rows}
    # A state's default (an undeclared trait) is no policy, not a lever.
    declared = {row.key for row in derive_levers(border)}
    assert "westland.doctrine" not in declared and "northland.doctrine" in declared


def test_the_jan2020_lever_file(baseline: Scenario) -> None:
    rows = load_levers(JAN2020)
    plan = plan_levers(baseline, rows)
    assert len(plan.rows) == len(rows) == 12 and not plan.notes
    by_label: dict[str, list] = {}
    for row in plan.rows:
        by_label.setdefault(row.label, []).append(row)
    assert [(r.reference, r.alternative) for r in by_label["us.doctrine"]] == [
        ("lethal_red_line", "proportional"),
        ("lethal_red_line", "massive"),
    ]
    doctrine = next(lv for lv in plan.levers if lv.label == "us.doctrine")
    assert doctrine.values[0] == ("lethal_red_line",)  # the scenario's own value is the base arm
    assert all(row.mechanisms for row in plan.rows)
    carried = {r.label: r.quantity.label for r in plan.rows if r.quantity is not None}
    assert carried["iran.proxy_restraint"] == "mean n_militia_attacks"  # where restraint acts: the proxy track
    # Read from the scenario, not written in the file: advance warning's reference, the channel.
    variant = load_config(BASELINE, ["iran.advance_warning=0.3", "channels.iraqi_pm.open=false"])
    labels = {(r.label, r.reference, r.alternative) for r in plan_levers(variant, rows).rows}
    assert ("iran.advance_warning", "0.3", "0.0") in labels
    assert ("channels.swiss.open", "true", "false") in labels


def test_rows_on_what_a_scenario_lacks_are_skipped_with_a_note() -> None:
    border = load_config(BORDER)
    plan = plan_levers(border, load_levers(JAN2020))
    assert [row.label for row in plan.rows] == ["channels.hotline.open"]
    assert len(plan.notes) == 11
    assert all("skipped" in note and ("has no state" in note or "has no channels entry" in note) for note in plan.notes)
    closed = load_config(BORDER, ["channels.hotline.open=false"])
    with pytest.raises(ConfigError, match=r"(?s)no lever row applies.*no first open channel"):
        plan_levers(closed, load_levers(JAN2020))


def test_a_row_fixed_by_set_is_skipped(baseline: Scenario) -> None:
    fixed = {"us.doctrine": "massive"}
    plan = plan_levers(load_config(BASELINE, fixed), load_levers(JAN2020), fixed)
    assert "us.doctrine" not in {row.label for row in plan.rows}
    assert sum("fixed by --set us.doctrine" in note for note in plan.notes) == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (LeverRow("us.doctrin", ("massive",)), r"us\.doctrin: not a key of the scenario"),
        (LeverRow("us.doctrine", ("reckless",)), r"us\.doctrine: .*doctrine"),
        (LeverRow("iran.proxy_restraint", (2.0,)), r"iran\.proxy_restraint"),
    ],
)
def test_a_typo_or_a_bad_value_is_an_error_naming_the_row(baseline: Scenario, row: LeverRow, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_levers(baseline, [row])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("levers:\n  - {key: us.doctrine, alternative: massive, effect: big}\n", "effect"),
        ("levers:\n  - {key: us.doctrine}\n", "alternative"),
        ("levers: []\n", "levers"),
        ("levers:\n  - {key: 'us.demands+us.sanctions_relief_offer', alternative: nuclear_only}\n", "bundle of 2"),
        ("levers:\n  - {key: 'channels.{first_closed}.open', alternative: true}\n", "unknown placeholder"),
    ],
)
def test_a_bad_lever_file_is_one_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_levers(write(tmp_path / "bad.yaml", text))


def test_option_levers_and_bundles(baseline: Scenario) -> None:
    rows = option_levers(["us.doctrine=lethal_red_line,massive,proportional"])
    assert [(r.reference, r.alternative) for r in rows] == [
        (("lethal_red_line",), ("massive",)),
        (("lethal_red_line",), ("proportional",)),
    ]
    bundle = option_levers(["us.demands+us.sanctions_relief_offer=maximal+false,nuclear_only+true"])
    plan = plan_levers(baseline, bundle)
    assert [(r.label, r.reference, r.alternative) for r in plan.rows] == [
        ("us.demands+us.sanctions_relief_offer", "maximal+0.0", "nuclear_only+1.0")
    ]


def test_lever_days() -> None:
    assert lever_days(180) == [90, 180]
    assert lever_days(365) == [90, 180, 365]
    assert lever_days(60) == [60]


# ---------------------------------------------------------------- end to end


def test_levers_command_writes_the_table_and_a_null_row_is_exactly_zero(tmp_path: Path, capsys) -> None:
    levers = write(
        tmp_path / "two.yaml",
        "levers:\n"
        "  - {key: iran.advance_warning, reference: 0.8, alternative: 0.8, mechanisms: none (a null row)}\n"
        "  - {key: us.doctrine, alternative: massive, mechanisms: 2 lethality threshold}\n"
        "  - {key: description, alternative: another text}\n",
    )
    config = write(tmp_path / "short.yaml", f"extends: {BASELINE}\nname: short\ndescription: one text\n")
    out = tmp_path / "out"
    argv = ["levers", str(config), "--levers", str(levers), "--runs", "40", "--seed", "3", "--out", str(out)]
    code = main([*argv, "--set", "horizon_days=100", "--backend", "serial", "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "same setting" in captured.err
    table = pd.read_csv(out / "levers.csv")
    assert tuple(table.columns) == LEVER_COLUMNS
    assert set(table["day"]) == {90, 100} and set(table["curve"]) == {"spiral", "deal", "quiet"}
    assert (table.groupby("row").size() == 6).all() and (table["n"] == 40).all()
    # Two null rows: the same setting on both sides (one arm), and two arms the model cannot tell
    # apart (a description): paired run by run on common random numbers, both differ by exactly 0.
    for lever in ("iran.advance_warning", "description"):
        null = table[table["lever"] == lever]
        assert len(null) == 6
        assert (null["diff"] == 0).all() and (null["p_reference"] == null["p_alternative"]).all()
        assert ((null["ci_low"] <= 0) & (null["ci_high"] >= 0)).all()
        assert (null["verdict"] == "not told from zero at 40 paired runs").all()
    doctrine = table[table["lever"] == "us.doctrine"]
    assert set(doctrine["reference"]) == {"lethal_red_line"} and set(doctrine["alternative"]) == {"massive"}
    assert (doctrine["p_adjusted"] >= doctrine["p_value"]).all()
    markdown = (out / "levers.md").read_text(encoding="utf-8")
    assert markdown in captured.out
    assert "| `us.doctrine` | lethal_red_line → massive | 2 lethality threshold |" in markdown
    assert "Δ quiet at day 100" in markdown and "Δ spiral by day 90" in markdown
    for name in ("comparison.csv", "comparison_curves.csv", "comparison_metrics.csv", "compare.json", "curves.csv"):
        assert (out / name).exists(), name
    assert main(["report", str(out), "--figure-format", "png"]) == 0
    assert (out / "report" / "report.md").exists()


def test_levers_command_list_and_bad_input(capsys) -> None:
    assert main(["levers", str(BORDER), "--levers", str(JAN2020), "--list"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "channels.hotline.open: true -> false  [9 bargaining; 3 costly signals]"
    assert "has no state 'us'" in captured.err
    assert main(["levers", str(BASELINE), "--lever", "us.doctrine=reckless,massive", "--list"]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["levers", "mechanisms"])
def test_the_commands_are_registered_with_examples(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out
