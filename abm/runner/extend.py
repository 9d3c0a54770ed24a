"""Extending a results folder: more runs per point, more design points, nothing else.

A folder holds runs [0, R) of points [0, P) of one experiment (its hash in the manifest). The
same experiment with R' >= R runs and P' >= P points, whose first P points are the folder's
points unchanged, produces exactly the folder's rows plus new ones: run r of point p has the
seed `run_seed(master, point_key(p), r)` whatever R' and P' are (`abm.runner.seeds`). So
`--extend` keeps every finished chunk and runs only the rest, and the folder's table then
equals that of a fresh run of the larger experiment.

The test is exact: the larger experiment cut back to R runs and P points must have the
folder's hash (config, seed, common random numbers, events, parameters, point values). What
is refused, with the first reason found (`why_not_extension`):

* anything but runs and points changed: the scenario config (config hash), the seed, common
  random numbers, events, the varied keys;
* fewer runs or points than the folder holds (results are never dropped);
* a point of the folder that changes or moves: new points may only be appended (in a grid,
  new values go at the end of the first parameter's list: the grid is a product with the
  first key slowest);
* a parameter column whose type the new points would change (1, 2 then 2.5: int64 to float64);
* sequential stopping (`target_ci`): the number of runs is the stopping rule's to decide.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from abm.runner import storage
from abm.runner.experiment import Experiment


@dataclass(frozen=True, slots=True)
class Extension:
    """How an experiment grows a folder: (runs per point, points) there and here."""

    runs: tuple[int, int]
    points: tuple[int, int]

    def __str__(self) -> str:
        parts = []
        if self.runs[1] != self.runs[0]:
            parts.append(f"{self.runs[0]} -> {self.runs[1]} runs per point")
        if self.points[1] != self.points[0]:
            parts.append(f"{self.points[0]} -> {self.points[1]} points")
        return ", ".join(parts) or "nothing new"


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 1 else None


def _plain(point: Mapping[str, Any]) -> Any:
    """A point as the manifest records it (JSON, values not JSON-native as text)."""
    return json.loads(json.dumps(dict(point), default=str))


def _shown(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items()) or "no values"


def extension_of(previous: Mapping[str, Any], experiment: Experiment) -> Extension:
    """The runs and points a folder holds (its manifest `previous`) and the experiment asks for."""
    runs, points = _count(previous.get("runs")), _count(previous.get("points"))
    return Extension((runs or 0, experiment.runs), (points or 0, len(experiment.points)))


def why_not_extension(previous: Mapping[str, Any], experiment: Experiment) -> str | None:
    """Why `experiment` is not the folder's experiment with more runs or points (None: it is)."""
    exp = experiment
    runs, points = _count(previous.get("runs")), _count(previous.get("points"))
    if runs is None or points is None:
        return "its manifest does not record its runs and points"
    same = [
        ("kind", exp.kind, lambda v: f"an `abm {v}` folder"),
        ("config_hash", exp.config_hash, lambda v: f"config hash {str(v)[:12]}"),
        ("master_seed", exp.seed, lambda v: f"seed {v}"),
        (
            "common_random_numbers",
            exp.common_random_numbers,
            lambda v: "common random numbers " + ("on" if v else "off"),
        ),
        ("events", exp.events, lambda v: "events " + ("stored" if v else "not stored")),
        ("parameters", list(exp.parameters), lambda v: "varied keys " + (", ".join(v) if v else "none")),
    ]
    for key, here, say in same:
        there = previous.get(key)
        if there != here:
            extra = " (the config file, --set or an `extends:` changed)" if key == "config_hash" else ""
            return f"{say(there)} there, {say(here)} here{extra}"
    if previous.get("target_ci") is not None or exp.target_ci is not None:
        return "sequential stopping (--target-ci) decides the number of runs itself; it cannot be extended"
    if exp.runs < runs:
        return f"it holds {runs} runs per point and this asks for {exp.runs}: runs are never dropped"
    if len(exp.points) < points:
        return f"it holds {points} points and this design has {len(exp.points)}: points are never dropped"
    recorded = previous.get("design_points")
    if isinstance(recorded, list) and len(recorded) == points:
        for i, (old, new) in enumerate(zip(recorded, exp.points, strict=False)):
            if old != _plain(new):
                return (
                    f"point {i} is {_shown(old) if isinstance(old, Mapping) else old} there and {_shown(new)} here: "
                    "new points may only be appended (in a grid, add new values at the end of the first "
                    "parameter's list; Latin hypercube and Sobol designs resample every point)"
                )
    cut = dataclasses.replace(exp, runs=runs, points=exp.points[:points])
    if cut.hash != previous.get("experiment_hash"):
        return "it differs in the values of its points or in another setting that decides its rows"
    before = storage.param_types(exp.points[:points], exp.parameters)
    after = storage.param_types(exp.points, exp.parameters)
    for key in exp.parameters:
        if before[key] != after[key]:
            return (
                f"the new points would change the type of column {key!r} ({before[key]} there, {after[key]} here); "
                "give the new values in the type of the old ones"
            )
    return None


__all__ = ["Extension", "extension_of", "why_not_extension"]
