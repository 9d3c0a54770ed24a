"""The explore page's panels as Solara components, each taking the model SolaraViz passes in.

SolaraViz (Mesa 3.3) calls every component with the current model and re-renders those that read
`mesa.visualization.utils.update_counter` after each Step or Reset. A component made with
`@solara.component` is used as it is (no automatic subscription), so each one here reads the
counter itself. The drawing is in `abm.explore.views`; these only memoise it by (model, day) and
wrap it in a `solara.Column` with a CSS class (`abm-network`, `abm-timeline`, ...) that the browser
test looks for.
"""

from __future__ import annotations

from collections.abc import Callable

import solara
import solara.lab
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from abm.config import Scenario
from abm.explore import views
from abm.explore.model import ExploreModel

RUNS_DEFAULT, RUNS_MIN, RUNS_MAX, RUNS_STEP = 200, 20, 2000, 20  # ~10 ms a run: 200 runs in about 2 s


def _figure(make: Callable[[ExploreModel], Figure], model: ExploreModel) -> None:
    """A matplotlib figure of the model as a PNG, redrawn only when the model or its day changes."""
    fig = solara.use_memo(lambda: make(model), [model, model.day])
    solara.FigureMatplotlib(fig, format="png", dependencies=[model, model.day], bbox_inches="tight", dpi=100)


def _levers_line(model: ExploreModel) -> str:
    changed = ", ".join(f"{k} = {v}" for k, v in model.changed.items()) or "none (the scenario's own settings)"
    return f"seed {model.master_seed}, run {model.run_index} · day {model.day} · levers changed: {changed}"


@solara.component
def NetworkView(model: ExploreModel):
    """The regional network today: states coloured by alert, sized by face deficit, labelled with beliefs."""
    update_counter.get()
    with solara.Column(classes=["abm-network"], style={"width": "100%"}) as main:
        solara.Style(panel_css("abm-network"))
        solara.Text(_levers_line(model), classes=["abm-levers"])
        _figure(views.network_figure, model)
    return main


@solara.component
def TimelineView(model: ExploreModel):
    """The ladder timeline of the acts so far (`abm replay --plot`'s figure)."""
    update_counter.get()
    with solara.Column(classes=["abm-timeline"], style={"width": "100%"}) as main:
        solara.Style(panel_css("abm-timeline"))
        _figure(views.timeline_figure, model)
    return main


@solara.component
def ByDayView(model: ExploreModel):
    """The states' alert, face deficit and belief by day so far."""
    update_counter.get()
    with solara.Column(classes=["abm-by-day"], style={"width": "100%"}) as main:
        solara.Style(panel_css("abm-by-day"))
        _figure(views.by_day_figure, model)
    return main


def _curves(scenario: Scenario, runs: int, seed: int):
    result, fig = views.run_curves(scenario, runs, seed)
    return views.outcome_line(result.summary), fig


@solara.component
def RunsPanel(model: ExploreModel):
    """A button that runs N runs of the page's scenario (levers as at the last Reset) and shows the time curves."""
    runs = solara.use_reactive(RUNS_DEFAULT)
    task = solara.lab.use_task(_curves, dependencies=None)
    with solara.Column(classes=["abm-runs"], style={"width": "100%"}) as main:
        solara.Style(panel_css("abm-runs"))
        solara.Markdown(
            "**Outcome curves.** N runs of this scenario with the levers of the run shown "
            f"(press Reset to apply the sliders), master seed {model.master_seed}, as `abm run --runs N`."
        )
        with solara.Row():
            solara.SliderInt("N runs", value=runs, min=RUNS_MIN, max=RUNS_MAX, step=RUNS_STEP)
            solara.Button(
                f"Run {runs.value} runs",
                color="primary",
                on_click=lambda: task(model.scenario, runs.value, model.master_seed),
                disabled=task.pending,
                classes=["abm-run-button"],
            )
        solara.ProgressLinear(task.pending)
        if task.error:
            solara.Error(f"the runs failed: {task.exception}")
        elif task.finished and task.value is not None:
            line, fig = task.value
            solara.Text(f"P(outcome) over the runs: {line}", classes=["abm-runs-done"])
            solara.FigureMatplotlib(fig, format="png", dependencies=[id(fig)], bbox_inches="tight", dpi=100)
    return main


COMPONENTS = [(NetworkView, 0), (TimelineView, 0), (ByDayView, 0), (RunsPanel, 0)]
# Where each panel starts on SolaraViz's draggable grid (12 columns, rows of ROW_PX px with MARGIN_PX between);
# the user can still drag and resize them. Network and timeline side by side on top, so both show unscrolled;
# the outcome curves (three panels side by side) across the bottom.
ROW_PX, MARGIN_PX, CAPTION_PX = 30, 10, 44
GRID = {
    "abm-network": {"x": 0, "y": 0, "w": 6, "h": 23},
    "abm-timeline": {"x": 6, "y": 0, "w": 6, "h": 11},
    "abm-by-day": {"x": 6, "y": 11, "w": 6, "h": 12},
    "abm-runs": {"x": 0, "y": 23, "w": 12, "h": 13},
}


def panel_height(panel: str) -> int:
    """A panel's height in px at its starting size (vue-grid-layout: h rows and the margins between them)."""
    h = int(GRID[panel]["h"])
    return h * ROW_PX + (h - 1) * MARGIN_PX


def panel_css(panel: str) -> str:
    """Fit the panel's figure inside its starting cell: as wide as the cell, no taller than it."""
    tall = panel_height(panel) - CAPTION_PX
    return f".{panel} img {{max-width: 100%; max-height: {tall}px; width: auto; height: auto; object-fit: contain;}}"


def grid_layout(num_components: int) -> list[dict[str, object]]:
    """The initial grid of the page's panels, in the shape of Mesa's `make_initial_grid_layout`."""
    if num_components != len(GRID):
        raise ValueError(f"grid_layout: {num_components} components; the explore page has {len(GRID)}")
    return [{"i": i, "moved": False, **cell} for i, cell in enumerate(GRID.values())]
