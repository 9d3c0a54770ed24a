"""`abm explore` without a browser: the lever panel, the model SolaraViz builds, what each panel draws, the command."""

from __future__ import annotations

import argparse
import socket

import pandas as pd
import pytest
from matplotlib.figure import Figure

import abm
from abm.config import ConfigError
from abm.explore import levers as lv
from abm.explore import views
from abm.explore.model import TRACE_COLUMNS, ExploreModel, base_scenario
from abm.model.simulate import summarize

BASELINE = "baseline_jan2020"
# Solara's hook check on Mesa's own ComponentsView, printed when mesa.visualization is imported: not ours to fix.
MESA_HOOK_NOTICE = "ignore:.*ComponentsView. .use_state. found despite early return:UserWarning"


@pytest.fixture(scope="module")
def baseline():
    return base_scenario(BASELINE)


@pytest.fixture(scope="module")
def stepped() -> ExploreModel:
    """Twenty days of the baseline's first run."""
    model = ExploreModel(seed=3)
    for _ in range(20):
        model.step()
    return model


def page_values(controls) -> dict[str, object]:
    """What SolaraViz passes on Reset when nobody touched the panel: each widget's starting value."""
    return {key: param["value"] for key, param in lv.model_params(controls).items()}


# ---------------------------------------------------------------- the lever panel


def test_the_panel_has_one_widget_per_lever_of_the_scenario(baseline) -> None:
    controls = lv.lever_controls(baseline)
    assert [c.key for c in controls] == list(abm.list_levers(baseline)["key"])
    by_key = {c.key: c for c in controls}
    assert by_key["us.doctrine"].widget == lv.SELECT
    assert [label for label, _ in by_key["us.doctrine"].choices] == [
        "proportional",
        "lethal_red_line",
        "massive",
        "none",
    ]
    assert by_key["us.sanctions_level"].param() == {
        "type": "SliderFloat", "label": "us.sanctions_level", "value": 0.8, "min": 0.0, "max": 1.0, "step": 0.05,
    }  # fmt: skip
    assert by_key["channels.swiss.open"].param() == {"type": "Checkbox", "label": "channels.swiss.open", "value": True}
    warning = by_key["iran.advance_warning"]
    assert warning.value == "choose" and [v for _, v in warning.choices] == ["choose", *lv.FRACTION_CHOICES]


@pytest.mark.parametrize("config", [BASELINE, "examples/border_crisis", "india_pakistan_2019"])
def test_each_widget_starts_at_the_scenarios_own_value(config) -> None:
    scenario = base_scenario(config)
    raw = scenario.model_dump(mode="json")
    for control in lv.lever_controls(scenario):
        node = raw
        for part in lv.canonical_key(raw, control.key).split("."):
            node = node[part]
        assert control.config_value(control.value) == node, control.key


def test_widget_values_become_config_values_and_bad_ones_are_refused(baseline) -> None:
    controls = lv.lever_controls(baseline)
    shown = {"us.doctrine": "none", "iran.advance_warning": "0.25", "us.sanctions_level": 0.30000000000000004}
    assert lv.lever_values(controls, shown) == {
        "us.doctrine": None, "iran.advance_warning": 0.25, "us.sanctions_level": 0.3,
    }  # fmt: skip
    with pytest.raises(ConfigError, match=r"us\.doctrin: not levers of this scenario"):
        lv.lever_values(controls, {"us.doctrin": "massive"})
    with pytest.raises(ConfigError, match=r"us\.doctrine: got 'sometimes'"):
        lv.lever_values(controls, {"us.doctrine": "sometimes"})


def test_schema_field_follows_id_blocks_and_refuses_what_is_not_there() -> None:
    assert lv.schema_field("states.us.doctrine").annotation is not None
    assert lv.schema_field("channels.swiss.open").annotation is bool
    with pytest.raises(ConfigError, match="not a field"):
        lv.schema_field("states.us.doctrin")
    with pytest.raises(ConfigError, match="holds no further fields"):
        lv.schema_field("states.us.doctrine.more")


# ---------------------------------------------------------------- the model SolaraViz builds


def test_reset_with_the_untouched_panel_builds_the_scenarios_own_run(baseline) -> None:
    model = ExploreModel(config=BASELINE, seed="5", run="2", **page_values(lv.lever_controls(baseline)))
    assert model.changed == {} and model.scenario == baseline
    while model.running:
        model.step()
    row = abm.run(baseline, runs=3, seed=5).runs.iloc[2]
    record = summarize(model)
    assert (record["outcome"], record["days"]) == (row["outcome"], row["days"])  # run K of `abm run --seed S`


def test_levers_from_the_panel_reach_the_scenario() -> None:
    model = ExploreModel(**{"us.doctrine": "proportional", "channels.swiss.open": False, "us.demands": "none"})
    assert model.scenario.states["us"].doctrine == "proportional"
    assert model.scenario.channels["swiss"].open is False and model.scenario.states["us"].demands is None
    assert model.changed == {"us.doctrine": "proportional", "channels.swiss.open": False, "us.demands": None}


def test_a_bad_seed_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="seed: got 'x'"):
        ExploreModel(seed="x")


@pytest.mark.filterwarnings(MESA_HOOK_NOTICE)
def test_solaraviz_accepts_the_model_and_its_parameters() -> None:
    pytest.importorskip("solara", reason="the viz extra (pip install -e '.[viz]')")
    from mesa.visualization.solara_viz import _check_model_params

    from abm.explore.app import page_params

    _check_model_params(ExploreModel.__init__, page_params(BASELINE, 1))  # raises on a parameter it cannot pass


def test_the_trace_holds_every_actor_every_day(stepped) -> None:
    trace = views.trace_frame(stepped)
    actors = len(stepped.states) + len(stepped.militias) + len(stepped.commanders)
    assert list(trace.columns) == list(TRACE_COLUMNS) and len(trace) == actors * 21
    states = trace[trace["kind"] == "state"]
    assert states["alert"].between(0, 3).all() and (states["face"] >= 0).all()
    beliefs = states["belief"].dropna()
    assert len(beliefs) and beliefs.between(0, 1).all()


# ---------------------------------------------------------------- what the panels draw


def test_network_nodes_one_per_node_coloured_and_sized(stepped) -> None:
    nodes = views.network_nodes(stepped)
    assert set(nodes["node"]) == set(stepped.topo.graph.nodes) and list(nodes.columns) == list(views.NODE_COLUMNS)
    states = nodes[nodes["kind"] == "state"].set_index("node")
    faces = {sid: sum(s.face.values()) for sid, s in stepped.states.items()}
    top, low = max(faces, key=faces.get), min(faces, key=faces.get)
    assert states.loc[top, "size"] >= states.loc[low, "size"] >= views.STATE_SIZE
    assert (
        f"alert {stepped.states['us'].alert}" in states.loc["us", "label"]
        and "P(Iran unlimited)" in states.loc["us", "label"]
    )
    dead = nodes[nodes["dead"]]
    assert set(dead["node"]) == {c for c, agent in stepped.commanders.items() if not agent.alive}


def test_network_edges_leave_out_reach_and_mark_closed_channels() -> None:
    model = ExploreModel(**{"channels.swiss.open": False})
    edges = views.network_edges(model)
    assert "reach" not in set(edges["kind"]) and {"patron", "alliance", "channel"} <= set(edges["kind"])
    us_iran = edges[(edges["kind"] == "channel") & (edges["u"] == "iran") & (edges["v"] == "us")].iloc[0]
    assert us_iran["open"] and us_iran["note"] == "3 of 4 channels open"  # swiss closed, three others open


def test_the_layout_stays_put_from_day_to_day(stepped) -> None:
    again = ExploreModel(seed=9)
    assert views.network_layout(stepped.topo.graph) == views.network_layout(again.topo.graph)


def test_figures_of_the_panels(stepped) -> None:
    assert isinstance(views.network_figure(stepped), Figure)
    assert len(views.by_day_figure(stepped).axes) == len(views.BY_DAY_PANELS)
    timeline = views.timeline_figure(stepped)
    assert "so far, day 20" in timeline.axes[0].get_title()
    events = views.events_frame(stepped)
    assert len(events) == len(stepped.events) and views.run_record(stepped) == {}


def test_the_timeline_marks_the_outcome_once_the_run_stops() -> None:
    model = ExploreModel(seed=3)
    while model.running:
        model.step()
    assert views.run_record(model)["outcome"] and "stopped" in views.timeline_figure(model).axes[0].get_title()


def test_n_runs_give_curves_and_an_outcome_line(baseline) -> None:
    result, fig = views.run_curves(baseline, 20, 4)
    assert len(result.runs) == 20 and [ax.get_title() for ax in fig.axes][:3] == [
        "P(spiral by day t)", "P(deal by day t)", "P(state track quiet at day t)",
    ]  # fmt: skip
    line = views.outcome_line(pd.DataFrame({"outcome": ["spiral", "deal"], "p": [0.125, 0.5]}))
    assert line == "spiral 12% · deal 50%"


@pytest.mark.filterwarnings(MESA_HOOK_NOTICE)
def test_the_grid_puts_network_and_timeline_side_by_side() -> None:
    pytest.importorskip("solara", reason="the viz extra (pip install -e '.[viz]')")
    from abm.explore.components import COMPONENTS, GRID, grid_layout, panel_css

    layout = grid_layout(len(COMPONENTS))
    assert [cell["i"] for cell in layout] == list(range(len(COMPONENTS)))
    network, timeline = GRID["abm-network"], GRID["abm-timeline"]
    assert network["y"] == timeline["y"] == 0 and network["x"] + network["w"] <= timeline["x"]
    assert "max-height: 866px" in panel_css("abm-network")  # 23 rows of 30 px, 22 margins of 10, less the caption


# ---------------------------------------------------------------- the command


def explore_args(**given) -> argparse.Namespace:
    values = {"config": BASELINE, "port": 8765, "host": "127.0.0.1", "seed": 1, "no_browser": True}
    return argparse.Namespace(**{**values, **given})


def test_the_command_says_which_extra_is_missing(monkeypatch, capsys) -> None:
    from abm.commands import explore

    monkeypatch.setattr(explore, "missing_viz", lambda: ["solara"])
    assert explore.main(explore_args()) == 2
    assert "pip install -e '.[viz]'" in capsys.readouterr().err


def test_the_command_refuses_a_bad_config_and_a_taken_port(capsys) -> None:
    from abm.cli import main

    assert main(["explore", "no/such.yaml", "--no-browser"]) == 2  # through the CLI, which maps errors to exit 2
    assert "no such file" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["explore", str(BASELINE), "--port", str(port), "--no-browser"]) == 2
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err


def test_the_command_runs_solara_on_the_page_without_reloader_or_version_check() -> None:
    from abm.commands import explore

    argv = explore.solara_command("127.0.0.1", 8800, open_browser=False)
    assert argv[1:4] == ["-m", "solara", "run"] and argv[4].endswith("abm/explore/app.py")
    assert {"--production", "--no-check-version", "--no-open"} <= set(argv) and argv[argv.index("--port") + 1] == "8800"
    assert explore.missing_viz() == [] or pytest.skip("the viz extra is not installed")
