"""The Python facade (`abm.api`, re-exported as `abm.*`) gives what the command line gives.

Why these tests: the facade computes nothing itself, so the checks are equalities with the
CLI's stored results for the same seed (runs row for row, summary.csv, curves.csv,
comparison.csv), the CLI's ConfigError for a bad lever key, and a cheap `import abm`.
Runs are few (8-20) and horizons short where the test allows, to keep the file at seconds.
"""

from __future__ import annotations

import doctest
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import abm
import abm.api
from abm.cli import main
from abm.config import ConfigError, Scenario, load_config
from abm.runner import run_scenario
from abm.runner.reader import FolderError
from tests.runner.support import BASELINE, subprocess_env

SHORT = {"horizon_days": 60}
DOCTRINE = {"us.doctrine": ["lethal_red_line", "proportional"]}


def cli(*argv: str) -> None:
    assert main([*argv, "-q", "--backend", "serial"]) == 0


@pytest.fixture(scope="module")
def short() -> Scenario:
    return abm.load_scenario(BASELINE, SHORT)


# ---------------------------------------------------------------- run


def test_run_equals_abm_run_row_for_row(tmp_path) -> None:
    out = tmp_path / "cli"
    cli("run", str(BASELINE), "--runs", "20", "--seed", "11", "--set", "us.doctrine=proportional", "--out", str(out))
    proportional = abm.set_levers(abm.load_scenario("baseline_jan2020"), {"us.doctrine": "proportional"})
    mine = abm.run(proportional, runs=20, seed=11)
    stored = pd.read_parquet(out / "runs")
    pd.testing.assert_frame_equal(mine.runs, stored)
    pd.testing.assert_frame_equal(mine.summary, pd.read_csv(out / "summary.csv"), check_dtype=False)
    pd.testing.assert_frame_equal(mine.curves, pd.read_csv(out / "curves.csv"), check_dtype=False)
    assert mine.status == "complete" and mine.failures == 0 and mine.out_dir is None


def test_run_is_the_runner_and_into_a_folder_the_same_rows(tmp_path, short) -> None:
    direct = run_scenario(short, 12, 4)
    in_memory = abm.run(short, runs=12, seed=4)
    pd.testing.assert_frame_equal(in_memory.runs, direct)
    folder = abm.run(short, runs=12, seed=4, out=tmp_path / "f")
    pd.testing.assert_frame_equal(folder.runs, direct)
    assert {"summary.csv", "curves.csv", "manifest.json", "runs"} <= {p.name for p in (tmp_path / "f").iterdir()}
    pd.testing.assert_frame_equal(folder.summary, in_memory.summary)
    assert folder.out_dir == tmp_path / "f" and folder.manifest["master_seed"] == 4
    assert int(folder.curves["day"].max()) == 60
    assert "(n = 12 runs" in str(folder) and "P(spiral by day t)" in str(folder)


def test_events_come_back_when_asked(short) -> None:
    result = abm.run(short, runs=3, seed=1, events=True)
    assert result.events is not None and set(result.events["run"]) <= {0, 1, 2} and len(result.events)


# ---------------------------------------------------------------- sweep


def test_sweep_equals_abm_sweep_grid(tmp_path, short) -> None:
    out = tmp_path / "cli"
    cli(
        "sweep",
        str(BASELINE),
        "--grid",
        "us.sanctions_relief_offer=0.0,1.0",
        "--grid",
        "us.demands=maximal,nuclear_only",
        "--set",
        "horizon_days=60",
        "--runs",
        "6",
        "--seed",
        "5",
        "--out",
        str(out),
    )
    grid = {"us.sanctions_relief_offer": [0.0, 1.0], "us.demands": ["maximal", "nuclear_only"]}
    mine = abm.sweep(short, grid, runs=6, seed=5)
    pd.testing.assert_frame_equal(mine.runs, pd.read_parquet(out / "runs"))
    pd.testing.assert_frame_equal(mine.summary, pd.read_csv(out / "summary.csv"), check_dtype=False)
    pd.testing.assert_frame_equal(mine.curves, pd.read_csv(out / "curves.csv"), check_dtype=False)
    assert mine.parameters == tuple(grid)
    assert mine.point_labels()[1] == "us.sanctions_relief_offer=0.0, us.demands=nuclear_only"
    again = abm.read_results(out)
    pd.testing.assert_frame_equal(again.summary, mine.summary)
    assert again.parameters == tuple(grid) and again.status == "complete"


def test_sweep_with_common_random_numbers_shares_seeds(short) -> None:
    swept = abm.sweep(
        short, {"us.doctrine": ["lethal_red_line", "massive"]}, runs=4, seed=2, common_random_numbers=True
    )
    seeds = swept.runs.pivot(index="run", columns="point", values="seed")
    assert (seeds[0] == seeds[1]).all()


@pytest.mark.parametrize(
    ("grid", "needle"),
    [({}, "at least one parameter"), ({"us.doctrine": []}, "non-empty list"), ({"us.doctrin": ["massive"]}, "doctrin")],
)
def test_a_bad_grid_is_a_config_error(short, grid, needle) -> None:
    with pytest.raises(ConfigError, match=needle):
        abm.sweep(short, grid, runs=2, seed=1)


# ---------------------------------------------------------------- compare


def test_compare_equals_abm_compare(tmp_path, short) -> None:
    out = tmp_path / "cli"
    cli(
        "compare",
        str(BASELINE),
        "--lever",
        "us.doctrine=lethal_red_line,proportional",
        "--set",
        "horizon_days=60",
        "--runs",
        "20",
        "--seed",
        "3",
        "--out",
        str(out),
    )
    mine = abm.compare(short, DOCTRINE, runs=20, seed=3)
    for table, name in ((mine.outcomes, "comparison"), (mine.metrics, "comparison_metrics")):
        pd.testing.assert_frame_equal(table, pd.read_csv(out / f"{name}.csv"), check_dtype=False)
    stored_curves = pd.read_csv(out / "comparison_curves.csv")
    pd.testing.assert_frame_equal(mine.curves, stored_curves, check_dtype=False)
    assert mine.status == "complete" and mine.out_dir is None
    as_text = abm.compare(short, "us.doctrine=lethal_red_line,proportional", runs=20, seed=3)
    pd.testing.assert_frame_equal(as_text.outcomes, mine.outcomes)


def test_compare_arms_are_paired_runs_of_each_setting(short) -> None:
    """Common random numbers: each arm's rows are the runs of that setting alone, with the same seed."""
    mine = abm.compare(short, DOCTRINE, runs=10, seed=8)
    assert list(mine.arms) == ["us.doctrine=lethal_red_line", "us.doctrine=proportional"]
    for value in DOCTRINE["us.doctrine"]:
        alone = abm.run(abm.set_levers(short, {"us.doctrine": value}), runs=10, seed=8)
        arm = mine.arms[f"us.doctrine={value}"]
        pd.testing.assert_frame_equal(arm.runs, alone.runs.drop(columns=["us.doctrine"], errors="ignore"))
        pd.testing.assert_frame_equal(arm.summary, alone.summary)
        pd.testing.assert_frame_equal(arm.curves, alone.curves)


def test_compare_a_bundle_and_into_a_folder(tmp_path, short) -> None:
    bundle = {"us.demands+us.sanctions_relief_offer": [("maximal", 0.0), ("nuclear_only", 1.0)]}
    mine = abm.compare(short, bundle, runs=6, seed=1, out=tmp_path / "c")
    assert list(mine.arms) == [
        "us.demands+us.sanctions_relief_offer=maximal+0.0",
        "us.demands+us.sanctions_relief_offer=nuclear_only+1.0",
    ]
    assert (tmp_path / "c" / "comparison.csv").is_file() and mine.out_dir == tmp_path / "c"
    assert abm.read_results(tmp_path / "c").runs["point"].nunique() == 2


@pytest.mark.parametrize(
    ("levers", "needle"),
    [
        ({"us.doctrine": ["massive"]}, "at least two values"),
        ({"us.doctrine": "massive"}, "at least two values"),
        ({"us.doctrine": ["massive", "massive"]}, "distinct"),
        ({"us.demands+us.sanctions_relief_offer": [("maximal",), ("nuclear_only", 1.0)]}, "tuple of 2 values"),
        ({"us..doctrine": ["a", "b"]}, "not a dotted key"),
        ({"us.doctrin": ["massive", "proportional"]}, "us.doctrin"),
        ("us.doctrine=massive", "at least two values"),
    ],
)
def test_bad_levers_are_config_errors(short, levers, needle) -> None:
    with pytest.raises(ConfigError, match=needle):
        abm.compare(short, levers, runs=2, seed=1)


# ---------------------------------------------------------------- scenarios and levers


def test_a_bad_lever_key_is_the_cli_error(tmp_path, capsys) -> None:
    assert main(["run", str(BASELINE), "--set", "us.doctrin=massive", "--out", str(tmp_path / "x")]) == 2
    printed = capsys.readouterr().err.strip()
    with pytest.raises(ConfigError) as loading:
        abm.load_scenario(BASELINE, ["us.doctrin=massive"])
    assert printed == f"abm run: error: {loading.value}"
    with pytest.raises(ConfigError) as setting:
        abm.set_levers(abm.load_scenario(BASELINE), {"us.doctrin": "massive"})
    # The same message after its source (a file for the CLI, "<scenario> with <keys>" for a loaded scenario).
    assert str(setting.value).split(": ", 1)[1] == str(loading.value).split(": ", 1)[1]
    assert "states.us.doctrin: got 'massive'; not a known key" in str(setting.value)


def test_a_bad_lever_value_names_what_is_allowed() -> None:
    with pytest.raises(ConfigError, match=r"us\.doctrine.*allowed: 'proportional', 'lethal_red_line' or 'massive'"):
        abm.set_levers(abm.load_scenario("baseline_jan2020"), ["us.doctrine=gentle"])


def test_two_spellings_of_one_lever_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"both set states\.us\.doctrine"):
        abm.set_levers(abm.load_scenario("baseline_jan2020"), {"us.doctrine": "massive", "states.us.doctrine": "x"})


def test_shipped_names_and_paths_load_the_same_scenario() -> None:
    assert abm.load_scenario("baseline_jan2020") == load_config(BASELINE)
    assert abm.load_scenario("examples/border_crisis").name == "border_crisis"
    with pytest.raises(ConfigError, match="not a shipped scenario; shipped: baseline_jan2020"):
        abm.load_scenario("baseline_jan2021")
    with pytest.raises(ConfigError, match="no such file"):
        abm.load_scenario("nowhere/baseline.yaml")


def test_set_levers_equals_loading_with_the_same_set() -> None:
    values = {"us.doctrine": "massive", "iran.advance_warning": 0, "channels.swiss.open": False}
    assert abm.set_levers(abm.load_scenario(BASELINE), values) == abm.load_scenario(BASELINE, values)
    assert abm.set_levers(abm.load_scenario(BASELINE), ["us.doctrine=massive"]).states["us"].doctrine == "massive"
    assert abm.set_levers(abm.load_scenario(BASELINE), "us.doctrine=massive") == abm.load_scenario(
        BASELINE, "us.doctrine=massive"
    )


def test_list_levers_reads_the_scenario() -> None:
    table = abm.list_levers(abm.set_levers(abm.load_scenario(BASELINE), {"us.sanctions_level": 0.3})).set_index("key")
    assert table.loc["us.sanctions_level", "value"] == 0.3
    assert bool(table.loc["channels.swiss.open", "value"]) is True
    assert table.loc["us.doctrine", "alternative"] == "proportional"


# ---------------------------------------------------------------- folders and figures


def test_read_results_refuses_a_stray_part(tmp_path, short) -> None:
    abm.run(short, runs=4, seed=1, out=tmp_path / "f")
    part = next((tmp_path / "f" / "runs").glob("part-*.parquet"))
    shutil.copy(part, part.with_name("part-copy.parquet"))
    with pytest.raises(FolderError, match="stray"):
        abm.read_results(tmp_path / "f")


def test_plot_curves_of_a_run_a_sweep_and_a_comparison(tmp_path, short) -> None:
    single = abm.plot_curves(abm.run(short, runs=4, seed=1), path=tmp_path / "a.png")
    assert (tmp_path / "a.png").stat().st_size > 10_000 and len(single.axes) == 3
    swept = abm.plot_curves(abm.sweep(short, {"us.doctrine": ["lethal_red_line", "massive"]}, runs=3, seed=1))
    labels = [t.get_text() for t in swept.legends[0].get_texts()]
    assert labels == ["us.doctrine=lethal_red_line", "us.doctrine=massive"]
    compared = abm.plot_curves(abm.compare(short, DOCTRINE, runs=3, seed=1), path=tmp_path / "c.svg")
    assert len(compared.legends[0].get_texts()) == 2 and (tmp_path / "c.svg").is_file()


# ---------------------------------------------------------------- the package


def test_import_abm_stays_light_and_exports_the_facade_lazily() -> None:
    code = (
        "import json, sys\nimport abm\nbefore = sorted(sys.modules)\nrun = abm.run\n"
        "print(json.dumps([before, sorted(sys.modules)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    before, after = json.loads(done.stdout)
    heavy = ("numpy", "pandas", "pyarrow", "pydantic", "yaml", "mesa", "matplotlib", "abm.api")
    assert [m for m in before if m.split(".")[0] in heavy or m == "abm.api"] == []
    assert "abm.api" in after and "matplotlib" not in after  # figures are imported when one is drawn
    assert set(abm.__all__) - {"__version__"} <= set(dir(abm))
    assert all(getattr(abm, name) is getattr(abm.api, name) for name in abm.__all__ if name != "__version__")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = abm.nothing


def test_every_public_function_is_typed_and_has_an_example() -> None:
    for name in abm.api.__all__:
        obj = getattr(abm.api, name)
        assert obj.__doc__ and obj.__doc__.strip(), name
        if callable(obj) and not isinstance(obj, type):
            assert ">>> " in obj.__doc__, f"{name}: no example"
            assert "return" in obj.__annotations__, f"{name}: no return type"


def test_the_docstring_examples_run() -> None:
    """The examples in abm/api.py are doctests (10-20 runs each)."""
    failed, attempted = doctest.testmod(abm.api, optionflags=doctest.ELLIPSIS)
    assert attempted > 15 and failed == 0
