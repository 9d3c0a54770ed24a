"""`abm sensitivity CONFIG --param KEY=LO:HI ... --method sobol|morris --samples N`: global sensitivity."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from abm.commands._common import (
    MAX_POINTS,
    MAX_RUNS,
    Ran,
    add_command,
    add_execution,
    add_seed,
    check_total,
    default_out,
    exit_status,
    overrides,
    running,
    whole,
)
from abm.defaults import SENSITIVITY_METHODS as METHODS

NAME = "sensitivity"
DESCRIPTION = """\
Global sensitivity of outcome probabilities and mean run metrics to uncertain parameters.
SALib samples the parameter ranges (Sobol: N x (D + 2) points, first-order and total indices
S1, ST with 95% bootstrap intervals; Morris: N trajectories, N x (D + 1) points, mu*, its
interval and sigma). Each point runs R replications on common random numbers (the same R
seeds at every point), so Monte Carlo noise largely cancels between points. The output of a
point is the share of its runs with each outcome (p_spiral, ...) and metric means (mean_days,
...). Writes DIR/sensitivity.csv, DIR/sensitivity_points.csv, DIR/sensitivity_design.csv,
DIR/sensitivity.json and the runs (DIR/runs/, points.csv), so `abm report` and `abm discover`
work on it."""
EPILOG = """\
examples:
  abm sensitivity configs/baseline_jan2020.yaml --method sobol --samples 64 --runs-per-point 50 \\
      --param world.militia_attack_rate=0.02:0.12 --param world.choice_temperature=0.05:1.0 \\
      --param world.attribution_probability=0.1:0.8 --jobs 2
  abm sensitivity configs/baseline_jan2020.yaml --method morris --samples 20 --runs-per-point 100 \\
      --param-block world --param-block behaviour --jobs 2      (every number of both blocks)"""


def register(subparsers: Any) -> None:
    """Add `sensitivity` to the CLI's subparsers."""
    p = add_command(
        subparsers, NAME, "Sobol or Morris sensitivity of outcome probabilities (SALib)", DESCRIPTION, EPILOG, main
    )
    p.add_argument("config", type=Path, metavar="CONFIG", help="scenario YAML, e.g. configs/baseline_jan2020.yaml")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=LO:HI",
        help="an uncertain parameter and its range (repeatable); integer keys are rounded",
    )
    p.add_argument(
        "--param-block",
        action="append",
        default=[],
        metavar="NAME",
        help="every numeric parameter of a config block (world, behaviour, behaviour.militias, ...) with the "
        "range its schema gives for screening (repeatable; a --param for one of its keys replaces that range)",
    )
    p.add_argument("--method", choices=METHODS, required=True, help="sobol (variance-based) or morris (screening)")
    p.add_argument(
        "--samples",
        type=whole(2, MAX_POINTS),
        required=True,
        metavar="N",
        help="Sobol base sample size (a power of two) or number of Morris trajectories",
    )
    p.add_argument(
        "--runs-per-point", type=whole(1, MAX_RUNS), default=50, metavar="R", help="replications per point (default 50)"
    )
    p.add_argument("--levels", type=whole(2), default=4, metavar="L", help="Morris grid levels (default 4)")
    add_seed(p, "master seed: design and runs")
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="results folder (default results/<config>-<method>-<UTC timestamp>/)"
    )
    add_execution(p)


def main(args: argparse.Namespace) -> int:
    """Run the sensitivity analysis; returns the exit code."""
    from abm.analysis.sensitivity import format_sensitivity, gather_ranges, plan_sensitivity, run_sensitivity
    from abm.config import ConfigError, load_config

    ranges = gather_ranges(args.param, args.param_block)
    if not ranges:
        raise ConfigError("give at least one --param KEY=LO:HI or --param-block NAME")
    per_sample = len(ranges) + (2 if args.method == "sobol" else 1)  # Sobol N x (D + 2), Morris N x (D + 1)
    check_total(args.samples * per_sample, args.runs_per_point, what="runs per point (--runs-per-point)")
    fixed = overrides(args.overrides)
    scenario = load_config(args.config, fixed)
    design = (scenario, ranges, args.method, args.samples, args.runs_per_point, args.seed)
    # Validate every point, and the parameters against --set, before anything runs.
    _, _, planned, _ = plan_sensitivity(*design, num_levels=args.levels, overrides=fixed)
    out = args.out or default_out(f"{scenario.name}-{args.method}")
    d, points = len(ranges), len(planned)
    print(
        f"abm sensitivity {scenario.name}: {args.method}, {d} parameters, {points} points x {args.runs_per_point} "
        f"runs (common random numbers), seed {args.seed} -> {out}",
        file=sys.stderr,
    )
    result = run_sensitivity(
        *design,
        num_levels=args.levels,
        **running(args, out),
    )
    code = exit_status(args, Ran.of(result, args), out)
    if result.indices.empty and result.status not in ("complete", "failed"):
        return code
    print(format_sensitivity(result.indices, args.method, ["p_spiral", "p_deescalation", "p_deal", "p_unresolved"]))
    if result.skipped:
        print(f"abm sensitivity: constant outputs skipped: {', '.join(result.skipped)}", file=sys.stderr)
    print(
        f"abm sensitivity: {result.runs_done} runs in {result.seconds:.1f} s; all outputs in {out / 'sensitivity.csv'}",
        file=sys.stderr,
    )
    return code
