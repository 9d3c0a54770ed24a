"""`abm sweep EXPERIMENT.yaml | CONFIG --grid ... | --lhs ... --points P`: every point of a design."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abm.commands._common import EXTEND_HELP, MAX_POINTS, add_execution, add_runs, add_seed, whole
from abm.defaults import DEFAULT_RUNS, DEFAULT_SEED

if TYPE_CHECKING:
    from abm.runner import Experiment

NAME = "sweep"


def register(subparsers: Any) -> None:
    """Add `sweep` to the CLI's subparsers."""
    p = subparsers.add_parser(
        NAME,
        help="run a parameter sweep (experiment YAML, or a config with --grid / --lhs)",
        description="Run every point of an experiment design. Give an experiment YAML (see experiments/), or a "
        "scenario config with --grid KEY=V1,V2,... or --lhs KEY=LO:HI --points P.",
    )
    p.add_argument("source", type=Path, metavar="EXPERIMENT_OR_CONFIG", help="experiment YAML or scenario YAML")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="grid values of a dotted key (repeatable: full factorial)",
    )
    p.add_argument(
        "--lhs",
        action="append",
        default=[],
        metavar="KEY=LO:HI",
        help="Latin hypercube range of a dotted key (repeatable; with --points)",
    )
    p.add_argument("--points", type=whole(1, MAX_POINTS), metavar="P", help="number of LHS points")
    add_runs(p, f"runs per point (default: the experiment's, or {DEFAULT_RUNS})", default=None)
    add_seed(p, f"master seed (default: the experiment's, or {DEFAULT_SEED})", default=None)
    p.add_argument(
        "--crn", action="store_true", default=None, help="common random numbers: run i of every point shares its seed"
    )
    add_execution(p, runner=True)
    p.add_argument("--extend", action="store_true", help=EXTEND_HELP)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Run every point of the design into its folder and print the summary per point; returns the exit code."""
    from abm.commands._experiment import run_into_folder

    experiment = sweep_experiment(args)
    what = (
        f"{len(experiment.points)} points x {experiment.runs} runs, seed {experiment.seed}"
        f"{', common random numbers' if experiment.common_random_numbers else ''}"
    )
    return run_into_folder(args, experiment, what)


def sweep_experiment(args: argparse.Namespace) -> Experiment:
    """An experiment from a YAML file, or from a config plus --grid/--lhs."""
    from abm.commands._common import overrides
    from abm.config import ConfigError
    from abm.defaults import DEFAULT_MAX_FAILURE_SHARE
    from abm.runner import load_experiment, parse_spec, resolve
    from abm.runner.designs import grid_parameters, range_parameters

    sampled = args.grid or args.lhs
    if not sampled:
        if args.points is not None:
            raise ConfigError("--points: only used with --lhs")
        options = {
            "runs": args.runs,
            "seed": args.seed,
            "events": args.events,
            "common_random_numbers": args.crn,
            "max_failure_share": args.max_failure_share,
            "target_ci": args.target_ci,
            "max_runs": args.max_runs,
            "set": overrides(args.overrides),
        }
        return load_experiment(args.source, options)
    if args.grid and args.lhs:
        raise ConfigError("--grid and --lhs cannot be combined; write an experiment YAML for mixed designs")
    if args.lhs and args.points is None:
        raise ConfigError("--lhs needs --points P (number of Latin hypercube points)")
    flag = "--grid" if args.grid else "--lhs"
    # KEY=SPEC options are read by the one parser of designs (each key once), as compare's and sensitivity's
    parameters = grid_parameters(args.grid) if args.grid else range_parameters(args.lhs)
    spec: dict[str, Any] = {
        "name": args.source.stem,
        "config": str(args.source.resolve()),
        "set": overrides(args.overrides),
        "parameters": parameters,
        "design": "grid" if args.grid else "lhs",
        "runs": args.runs or DEFAULT_RUNS,
        "seed": DEFAULT_SEED if args.seed is None else args.seed,
        "common_random_numbers": bool(args.crn),
        "events": bool(args.events),
        "max_failure_share": args.max_failure_share
        if args.max_failure_share is not None
        else DEFAULT_MAX_FAILURE_SHARE,
        "target_ci": args.target_ci,
        "max_runs": args.max_runs,
    }
    if args.lhs:
        spec["samples"] = args.points
    return resolve(parse_spec(spec, source="command line"), source="command line", names=("--set", flag))
