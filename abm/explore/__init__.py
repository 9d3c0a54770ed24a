"""`abm explore`: watch one run of a scenario unfold in Mesa's own visualisation (SolaraViz).

The page (`abm.explore.app`) shows the regional network with each actor's alert, face deficit
and belief by day, the ladder timeline of the acts so far, a lever panel built from the
scenario's levers and a button that runs N runs and draws the outcome curves.

Split so that everything but the page itself is importable without the `viz` extra:
`levers` (the lever panel as Mesa user parameters), `model` (the crisis model as SolaraViz
builds it), `views` (what each component shows, as tables and matplotlib figures) are plain
Python; only `components` and `app` import Solara.
"""

from __future__ import annotations

from abm.defaults import DEFAULT_SEED  # as `abm run`: run K on the page is row K of `abm run CONFIG`

CONFIG_ENV = "ABM_EXPLORE_CONFIG"  # the scenario the page explores, set by `abm explore`
SEED_ENV = "ABM_EXPLORE_SEED"  # the first run's seed
DEFAULT_CONFIG = "baseline_jan2020"  # a shipped scenario name, as `abm.api.load_scenario` takes it

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "DEFAULT_SEED", "SEED_ENV"]
