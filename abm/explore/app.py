"""The explore page: Mesa's SolaraViz on one scenario, for `solara run` (what `abm explore` starts).

The scenario is the config in the environment variable `ABM_EXPLORE_CONFIG` (a path or a shipped
name; default `baseline_jan2020`), the first seed `ABM_EXPLORE_SEED`. The sidebar is SolaraViz's:
Reset / Play / Step, and the model parameters: seed, run index and one widget per lever
(`abm.explore.levers`); Reset builds the model again from them. Each browser session gets its
own model (`Page` builds it with `use_memo`), so two tabs do not step one run.

    ABM_EXPLORE_CONFIG=configs/baseline_jan2020.yaml solara run abm/explore/app.py --port 8765
"""

from __future__ import annotations

import os
from typing import Any

import solara
from mesa.visualization import SolaraViz

from abm.explore import CONFIG_ENV, DEFAULT_CONFIG, DEFAULT_SEED, SEED_ENV
from abm.explore.components import COMPONENTS, grid_layout
from abm.explore.levers import model_params as lever_params
from abm.explore.model import ExploreModel, base_controls, base_scenario, whole_number

CONFIG = os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG
SEED = whole_number(os.environ.get(SEED_ENV) or DEFAULT_SEED, SEED_ENV)


def page_params(config: str, seed: int) -> dict[str, Any]:
    """SolaraViz `model_params`: the config (fixed), the master seed and run index (text boxes), the levers."""
    return {
        "config": config,
        "seed": {"type": "InputText", "label": "seed (master, as abm run --seed)", "value": str(seed)},
        "run": {"type": "InputText", "label": "run index", "value": "0"},
        **lever_params(base_controls(config)),
    }


def use_explore_grid() -> None:
    """Start the panels where `components.GRID` puts them instead of Mesa's two equal columns of small cells.

    Mesa 3.3's SolaraViz takes no layout: its `ComponentsView` calls the module's
    `make_initial_grid_layout(n)`, which this replaces for the explore page's own panel count only
    (any other count, and a Mesa without the function, keep Mesa's layout)."""
    from mesa.visualization import solara_viz

    mesa_layout = getattr(solara_viz, "make_initial_grid_layout", None)
    if mesa_layout is None or getattr(mesa_layout, "explore", False):
        return

    def layout(num_components: int) -> list[dict[str, Any]]:
        return grid_layout(num_components) if num_components == len(COMPONENTS) else mesa_layout(num_components)

    layout.explore = True  # type: ignore[attr-defined]
    solara_viz.make_initial_grid_layout = layout


use_explore_grid()
SCENARIO_NAME = base_scenario(CONFIG).name  # loads the config now: a bad one fails at start, not in the page
PARAMS = page_params(CONFIG, SEED)


@solara.component
def Page():
    model = solara.use_memo(lambda: ExploreModel(config=CONFIG, seed=SEED), [])
    return SolaraViz(model, components=COMPONENTS, model_params=PARAMS, name=f"abm explore: {SCENARIO_NAME}")
