"""`abm replay DIR --run K --story / --plot` (abm/commands/replay.py, abm/analysis/story.py,
abm/analysis/ladder_plot.py).

The phrase table against the action table, sentences from hand-made events (de-escalatory,
observed, deaths, warned, unattributed, plural names, no rung), both shipped scenarios (their
actors differ), and the command end to end on a small stored baseline run. No test pins a model
number: the model is rewritten in parallel; what is checked is the wording machinery and that
the story and the plot agree with the replayed record.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from abm.analysis.ladder_plot import NO_RUNG_Y, PROXY_MARKERS, ladder_points, side_colors, write_ladder_timeline
from abm.analysis.story import OUTCOME_TEXT, PHRASES, act_sentence, date_of, name_of, readable, story_lines
from abm.cli import main
from abm.config import Scenario, load_config
from abm.model.actions import ACTION_NAMES, ACTIONS
from abm.model.outcomes import OUTCOMES
from abm.model.records import EVENT_COLUMNS
from abm.model.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"
ISRAEL = ROOT / "configs" / "israel_iran_2024.yaml"
DAY_LINE = re.compile(r"day (\d+) \((\d{1,2} [A-Z][a-z]{2} \d{4})\): \S")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def call(argv: list[str]) -> int:
    """`abm ARGV` in this process; argparse's own errors (SystemExit) count as exit codes."""
    try:
        return main(argv)
    except SystemExit as done:
        return int(done.code or 0)


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_config(BASELINE)


@pytest.fixture(scope="module")
def israel() -> Scenario:
    return load_config(ISRAEL)


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """A small stored baseline run, made by the CLI as a user would (`abm run ... --events`)."""
    out = tmp_path_factory.mktemp("story") / "base"
    argv = ["run", str(BASELINE), "--runs", "3", "--events", "--out", str(out), "--backend", "serial", "-q"]
    assert call(argv) == 0
    return out


def event(**kw: object) -> dict[str, object]:
    """One event row as the runner stores it: every column, defaults for the ones not given."""
    row: dict[str, object] = {k: None for k in EVENT_COLUMNS}
    row.update(deaths=0, state_deaths=0, militia_deaths=0, civilian_deaths=0, warned=False, kinetic=False)
    row.update(imposed=False, attributed_to=kw.get("side"))
    row.update(kw)
    return row


# ---------------------------------------------------------------- the tables


def test_every_action_has_a_phrase_and_only_those() -> None:
    assert set(PHRASES) == set(ACTION_NAMES)
    for action in ACTIONS:  # de-escalatory rows (rung 0) are worded as such, the others are not
        assert PHRASES[action.name].deescalatory == (action.rung == 0), action.name


def test_every_phrase_reads_as_a_sentence(baseline: Scenario) -> None:
    for action in ACTIONS:
        row = event(
            day=3,
            actor="us",
            side="us",
            action=action.name,
            rung=action.rung,
            target="iran",
            target_side="iran",
            site="al_asad",
            kinetic=action.kinetic,
        )
        text = act_sentence(row, baseline)
        assert text.startswith("The US ") and text.endswith(".") and "{" not in text and "None" not in text
        assert ("killed" in text or "no deaths" in text) == action.kinetic, text


@pytest.mark.parametrize(
    ("ident", "text", "plural"),
    [
        ("irgc_aerospace", "IRGC Aerospace", False),
        ("us", "the US", False),
        ("uae", "the UAE", False),
        ("saudi_arabia", "Saudi Arabia", False),
        ("houthis", "the Houthis", True),
        ("kh_leader", "the KH leader", False),
        ("israeli_air_force", "the Israeli Air Force", False),
        ("jaish_e_mohammed", "Jaish-e-Mohammed", False),
        ("state_a", "State A", False),
    ],
)
def test_names_from_ids(ident: str, text: str, plural: bool) -> None:
    assert readable(ident).text == text and readable(ident).plural == plural


def test_names_prefer_the_scenarios_labels(baseline: Scenario, israel: Scenario) -> None:
    assert name_of("al_asad", baseline).text == "Al Asad air base"
    assert name_of("nevatim", israel).text == "Nevatim air base"
    assert name_of("israeli_air_force", israel).text == "the Israeli Air Force"  # no label: from its id


def test_dates_count_from_the_scenarios_start(baseline: Scenario, israel: Scenario) -> None:
    assert date_of(baseline.start_date, 5) == "8 Jan 2020"
    assert date_of(israel.start_date, 13) == "14 Apr 2024"


# ---------------------------------------------------------------- sentences from hand-made events


def test_a_warned_strike_with_no_deaths_and_a_stand_down(baseline: Scenario) -> None:
    events = pd.DataFrame(
        [
            event(
                day=5,
                actor="irgc_aerospace",
                side="iran",
                action="warned_missile_strike",
                rung=6,
                target="us",
                target_side="us",
                site="al_asad",
                warned=True,
                kinetic=True,
            ),
            event(day=5, actor="us", side="us", action="stand_down", rung=0, target="iran", target_side="iran"),
        ]
    )
    lines = story_lines(events, baseline, {"outcome": "deescalation", "days": 5, "max_rung": 6, "battle_deaths": 0})
    assert lines[0] == (
        "day 5 (8 Jan 2020): IRGC Aerospace fires a warned missile strike at Al Asad air base; no deaths. "
        "The US stands down toward Iran."
    )
    assert lines[-1].startswith("outcome: de-escalation") and "day 5 (8 Jan 2020)" in lines[-1]


def test_deaths_observed_unattributed_and_plural(baseline: Scenario) -> None:
    killing = event(
        day=0,
        actor="centcom",
        side="us",
        action="targeted_killing",
        rung=7,
        target="quds_force",
        target_side="iran",
        site="baghdad_airport",
        deaths=10,
        kinetic=True,
        imposed=True,
    )
    text = act_sentence(killing, baseline)
    assert text.startswith("CENTCOM carries out a targeted killing of the Quds Force at Baghdad airport")
    assert "(observed)" in text and text.endswith("; 10 killed.")
    rockets = event(
        day=9,
        actor="houthis",
        side="houthis",
        action="militia_rocket_attack",
        rung=5,
        target="saudi_arabia",
        target_side="saudi_arabia",
        site="abqaiq",
        deaths=3,
        civilian_deaths=1,
        kinetic=True,
        attributed_to=None,
    )
    assert act_sentence(rockets, baseline) == (
        "The Houthis fire rockets at Abqaiq oil facility (unattributed); 3 killed (1 civilian)."
    )
    blamed = {**rockets, "attributed_to": "iran", "deaths": 0, "civilian_deaths": 0}
    assert act_sentence(blamed, baseline).endswith("(blamed on Iran); no deaths.")


def test_unwarned_no_site_no_rung_and_unknown_acts(baseline: Scenario) -> None:
    unwarned = event(
        day=2,
        actor="irgc_aerospace",
        side="iran",
        action="unwarned_missile_strike",
        rung=7,
        target="us",
        target_side="us",
        site=None,
        kinetic=True,
        deaths=4,
    )
    assert act_sentence(unwarned, baseline) == "IRGC Aerospace fires an unwarned missile strike; 4 killed."
    accident = event(
        day=2, actor="iran", side="iran", action="accident_shootdown", rung=None, deaths=176, civilian_deaths=176
    )
    assert act_sentence(accident, baseline) == "Iran shoots down an aircraft by accident; 176 killed (176 civilians)."
    odd = event(day=2, actor="iran", side="iran", action="new_row", rung=2, target="us")
    assert act_sentence(odd, baseline) == "Iran takes action 'new_row' against the US."


def test_days_in_order_and_one_line_each(baseline: Scenario) -> None:
    events = pd.DataFrame(
        [
            event(day=3, actor="us", side="us", action="raise_alert", rung=3),
            event(day=1, actor="iran", side="iran", action="public_threat", rung=1, target="us", target_side="us"),
            event(day=3, actor="iran", side="iran", action="raise_alert", rung=3),
        ]
    )
    lines = story_lines(events, baseline, {"outcome": "unresolved", "days": 180})
    assert [DAY_LINE.match(line).group(1) for line in lines[:-1]] == ["1", "3"]  # type: ignore[union-attr]
    assert lines[1].endswith("The US raises its alert level. Iran raises its alert level.")
    assert lines[-1].startswith("outcome: unresolved at the horizon, day 180 (1 Jul 2020)")


@pytest.mark.parametrize("config", [BASELINE, ISRAEL])
def test_a_simulated_run_of_each_scenario_tells_well(config: Path) -> None:
    scenario = load_config(config)
    result = simulate(scenario, 7, True)
    events = pd.DataFrame([dict(e.as_row() if hasattr(e, "as_row") else e) for e in result.events])
    lines = story_lines(events, scenario, result.record)
    assert len(lines) == events["day"].nunique() + 1
    year = str(scenario.start_date.year)
    for line in lines[:-1]:
        assert DAY_LINE.match(line) and "_" not in line and "{" not in line and "unnamed" not in line, line
    assert year in lines[0] and "(observed)" in lines[0]  # the trigger of both scenarios is imposed history
    assert lines[-1].startswith("outcome: ") and f"day {result.record['days']} " in lines[-1]


def test_every_outcome_has_its_words_and_an_empty_run_still_tells_it(baseline: Scenario, tmp_path: Path) -> None:
    assert set(OUTCOME_TEXT) == set(OUTCOMES)
    for label in OUTCOMES:
        (line,) = story_lines(pd.DataFrame([]), baseline, {"outcome": label, "days": 40, "max_rung": 9})
        assert line.startswith("outcome: ") and "day 40 (12 Feb 2020)" in line and "highest rung 9" in line
    paths = write_ladder_timeline(
        pd.DataFrame([]), baseline, {"outcome": "unresolved", "days": 180}, tmp_path / "e", ""
    )
    assert [p.suffix for p in paths] == [".png", ".svg"] and all(p.is_file() for p in paths)


# ---------------------------------------------------------------- the plot's data


def test_proxies_share_their_patrons_hue_and_differ_by_shape(baseline: Scenario) -> None:
    events = pd.DataFrame(
        [
            event(
                day=1,
                actor="irgc_aerospace",
                side="iran",
                action="warned_missile_strike",
                rung=6,
                warned=True,
                kinetic=True,
            ),
            event(day=1, actor="kataib_hezbollah", side="kataib_hezbollah", action="militia_rocket_attack", rung=5),
            event(day=1, actor="houthis", side="houthis", action="militia_rocket_attack", rung=5, deaths=9),
            event(day=1, actor="us", side="us", action="raise_alert", rung=3),
            event(day=1, actor="iran", side="iran", action="raise_alert", rung=3),
            event(day=2, actor="iran", side="iran", action="accident_shootdown", rung=None, deaths=5),
        ]
    )
    colors = side_colors(events, baseline)
    iran, kh = (to_rgb(colors[s]) for s in ("iran", "kataib_hezbollah"))
    assert colors["kataib_hezbollah"] == colors["houthis"] != colors["iran"] != colors["us"]
    assert all(p >= c for p, c in zip(kh, iran, strict=True))  # lighter: the same hue towards white
    points = ladder_points(events, baseline)
    assert set(points.loc[1:2, "marker"]) <= set(PROXY_MARKERS) and points.loc[1, "marker"] != points.loc[2, "marker"]
    assert points.loc[0, "warned"] and not points.loc[1:, "warned"].any()
    assert points.loc[2, "size"] > points.loc[1, "size"]  # deaths enlarge the marker
    same_rung = points.loc[1:2, "y"]
    assert same_rung.iloc[0] != same_rung.iloc[1] and abs(same_rung.mean() - 5) < 1e-9  # dodged around the rung
    assert points.loc[5, "y"] == NO_RUNG_Y and points.loc[5, "no_rung"]


# ---------------------------------------------------------------- the command end to end


def test_story_of_a_stored_run(stored: Path, capsys) -> None:
    assert call(["replay", str(stored), "--run", "1", "--story"]) == 0
    out, err = capsys.readouterr()
    assert "matches the stored row" in err
    story = out.split("# story of run 1 of baseline_jan2020\n", 1)[1].strip().splitlines()
    row = pd.read_parquet(stored / "runs").set_index("run").loc[1]
    assert (
        story[0].startswith("day 0 (3 Jan 2020): CENTCOM carries out a targeted killing") and "(observed)" in story[0]
    )
    assert all(DAY_LINE.match(line) for line in story[:-1])
    days = [int(DAY_LINE.match(line).group(1)) for line in story[:-1]]  # type: ignore[union-attr]
    assert days == sorted(set(days)) and len(days) == pd.read_parquet(stored / "events").query("run == 1").day.nunique()
    assert (
        story[-1].startswith("outcome: ")
        and f"day {row['days']} ({date_of(load_config(BASELINE).start_date, row['days'])})" in story[-1]
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_into_the_folder_and_to_a_file(stored: Path, tmp_path: Path, capsys) -> None:
    assert call(["replay", str(stored), "--run", "0", "--plot"]) == 0
    png = stored / "replay" / "run-0.png"
    assert png.is_file() and png.with_suffix(".svg").is_file() and str(png) in capsys.readouterr().err
    width, height = png_size(png)
    assert 800 <= width <= 3000 and 400 <= height <= 2000 and 20_000 < png.stat().st_size < 2_000_000
    assert call(["replay", str(stored), "--run", "0", "--plot", str(tmp_path / "fig" / "r0.png"), "--story"]) == 0
    assert png_size(tmp_path / "fig" / "r0.png") == (width, height) and (tmp_path / "fig" / "r0.svg").is_file()
    assert call(["replay", str(stored), "--run", "2"]) == 0  # the replay/ folder does not disturb the reader


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--story"], "--run"),
        (["--plot"], "--run"),
        (["--run", "0", "--plot", "fig.jpg"], ".png or .svg"),
        (["--run", "0", "--plot", "{dir}"], "not a folder"),
        (["--run", "0", "--story", "--point", "2"], "no point 2"),
        (["--run", "9", "--story"], "run 9 is not in"),
    ],
)
def test_bad_combinations_exit_2(stored: Path, argv: list[str], needle: str, capsys) -> None:
    assert call(["replay", str(stored), *[a.format(dir=stored) for a in argv]]) == 2
    captured = capsys.readouterr()
    assert needle in captured.err and "Traceback" not in captured.err and "# story" not in captured.out
