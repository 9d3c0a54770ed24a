"""The crisis model as SolaraViz builds it: keyword arguments only, and a record of every actor by day.

SolaraViz (Mesa 3.3) makes a model with `model.__class__(**model_parameters)` on Reset, steps it
with `model.step()` while `model.running`, and checks the class's signature against the page's
`model_params` (every keyword must be a parameter, or the class must take `**kwargs`).
`CrisisModel(scenario, seed)` takes a scenario object, so `ExploreModel` takes what the page can
show instead: the config (a path or a shipped name), the master seed and run index, and the
levers as keywords named by their dotted keys (`us.doctrine="proportional"`).

Run K of seed S is seeded as run K of `abm run CONFIG --seed S` (`abm.runner.seeds.run_seed`,
point key 0), so the run on the page is the same run as that row of the command line with the
same levers (`--set`), and `abm replay` can replay it.
"""

from __future__ import annotations

import functools
from typing import Any

from abm.config import ConfigError, Scenario
from abm.explore import DEFAULT_CONFIG, DEFAULT_SEED
from abm.explore.levers import LeverControl, lever_controls, lever_values
from abm.model.model import CrisisModel
from abm.model.simulate import release
from abm.runner.seeds import run_seed

TRACE_COLUMNS = ("day", "actor", "kind", "alert", "face", "face_at", "belief", "belief_of", "revenge", "alive")


@functools.lru_cache(maxsize=8)
def base_scenario(config: str) -> Scenario:
    """The scenario as its file says (a path or a shipped name), loaded once per process."""
    from abm.api import load_scenario

    return load_scenario(config)


@functools.lru_cache(maxsize=8)
def base_controls(config: str) -> tuple[LeverControl, ...]:
    """The lever panel of a config's scenario, read once per process."""
    return tuple(lever_controls(base_scenario(config)))


def whole_number(value: Any, name: str) -> int:
    """A seed or run index from the page (a text box gives text): a whole number >= 0, else ConfigError."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or len(text) > 19:
        raise ConfigError(f"{name}: got {value!r}; allowed: a whole number >= 0 (at most 19 digits)")
    return int(text)


def actor_rows(model: CrisisModel) -> list[dict[str, Any]]:
    """Each actor's state today, one row per actor (`TRACE_COLUMNS`): a state's alert (0-3), its face deficit
    (summed over those it holds one toward, and toward whom the most), its belief that its adversary has
    unlimited aims; a militia's revenge; a commander's being alive. What does not apply to a kind is None."""
    rows: list[dict[str, Any]] = []
    for sid, state in model.states.items():
        top = max(state.face, key=state.face.__getitem__, default=None)
        adversary = state.adversary
        rows.append(
            _row(
                model.day,
                sid,
                "state",
                alert=state.alert,
                face=float(sum(state.face.values())),
                face_at=top,
                belief=float(state.belief.get(adversary, state.prior_unlimited)) if adversary else None,
                belief_of=adversary,
            )
        )
    for mid, militia in model.militias.items():
        rows.append(_row(model.day, mid, "militia", revenge=float(militia.revenge)))
    for cid, commander in model.commanders.items():
        rows.append(_row(model.day, cid, "commander", alive=bool(commander.alive)))
    return rows


def _row(day: int, actor: str, kind: str, **values: Any) -> dict[str, Any]:
    return {"day": day, "actor": actor, "kind": kind, **dict.fromkeys(TRACE_COLUMNS[3:]), **values}


class ExploreModel(CrisisModel):
    """One run of a config's scenario with levers set, steppable by SolaraViz, keeping `trace` (actor rows by day).

    `kwargs` are levers by dotted key with the values their widgets show (`abm.explore.levers`):
    a drop-down's label, a slider's number, a box's tick. A lever left out keeps the scenario's value.
    """

    def __init__(self, config: str = DEFAULT_CONFIG, seed: int | str = DEFAULT_SEED, run: int | str = 0, **kwargs):
        controls = base_controls(str(config))
        self.config = str(config)
        self.master_seed = whole_number(seed, "seed")
        self.run_index = whole_number(run, "run")
        self.levers = lever_values(controls, kwargs)
        base = base_scenario(self.config)
        scenario = _with_levers(base, self.levers)
        super().__init__(scenario, run_seed(self.master_seed, 0, self.run_index))
        release(self)  # every agent exists now; Mesa's id counter would keep the model alive forever
        # The levers set away from the scenario's own values (what the page says it changed).
        own = {c.key: c.config_value(c.value) for c in controls}
        self.changed = {k: v for k, v in self.levers.items() if v != own.get(k)}
        self.trace: list[dict[str, Any]] = actor_rows(self)

    def step(self) -> None:
        super().step()
        self.trace.extend(actor_rows(self))


def _with_levers(base: Scenario, levers: dict[str, Any]) -> Scenario:
    """The scenario with the levers that differ from it set (all of them validated by the schema)."""
    from abm.api import set_levers

    return set_levers(base, levers) if levers else base
