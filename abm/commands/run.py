"""`abm run CONFIG`: the Monte Carlo of one scenario, its outcome shares with 95% intervals."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from abm.commands._common import EXTEND_HELP, add_execution, add_runs, add_seed

NAME = "run"


def register(subparsers: Any) -> None:
    """Add `run` to the CLI's subparsers."""
    p = subparsers.add_parser(
        NAME,
        help="Monte Carlo of one scenario: outcome shares with 95%% intervals",
        description="Run N replications of a scenario and summarise outcomes (Wilson 95%).",
    )
    p.add_argument("config", type=Path, metavar="CONFIG", help="scenario YAML, e.g. configs/baseline_jan2020.yaml")
    add_runs(p, "replications")
    add_seed(p)
    add_execution(p, runner=True)
    p.add_argument("--extend", action="store_true", help=EXTEND_HELP)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Run the scenario into its folder and print its summary and curves; returns the exit code."""
    from abm.commands._common import overrides
    from abm.commands._experiment import run_into_folder
    from abm.config import load_config
    from abm.defaults import DEFAULT_MAX_FAILURE_SHARE
    from abm.runner import single_experiment

    scenario = load_config(args.config, args.overrides)
    experiment = single_experiment(
        scenario,
        args.runs,
        args.seed,
        events=bool(args.events),
        max_failure_share=DEFAULT_MAX_FAILURE_SHARE if args.max_failure_share is None else args.max_failure_share,
        target_ci=args.target_ci,
        max_runs=args.max_runs,
        overrides=overrides(args.overrides),
    )
    return run_into_folder(args, experiment, f"{experiment.runs} runs, seed {experiment.seed}")
