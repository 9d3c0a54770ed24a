"""`abm compare CONFIG --lever KEY=A,B ...`: paired (CRN) or independent lever comparison."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from abm.commands._common import (
    Ran,
    add_command,
    add_execution,
    add_runs,
    add_seed,
    add_tests_and_out,
    check_total,
    default_out,
    exit_status,
    overrides,
    running,
)

NAME = "compare"
DESCRIPTION = """\
Compare lever settings with paired statistical tests. Every arm runs the same N seeds (common
random numbers), so run i of each arm is the same random world and differences are tested on
pairs: McNemar test and Newcombe's paired score interval for outcome probabilities, paired
BCa bootstrap (interval of the mean difference) and Wilcoxon signed-rank for run metrics.
--independent gives each arm its own seeds and uses the two-sample versions instead.
P-values are adjusted across all rows (Holm by default). diff = p_B - p_A.

Several levers: arms vary one lever at a time from the base (every lever at its first value);
--full runs the cross product and reports each lever's main effect, pooled over the others.
Time curves: the same paired tests for P(spiral by day t), P(deal by day t) and P(state track
quiet at day t) at days 30, 90, 180 and the horizon (their own Holm family).
Writes DIR/comparison.csv, DIR/comparison_metrics.csv, DIR/comparison_curves.csv,
DIR/compare.json, DIR/summary.csv, DIR/curves.csv and the runs (DIR/runs/, points.csv,
manifest.json), so `abm report DIR` works on it."""
EPILOG = """\
examples:
  abm compare configs/baseline_jan2020.yaml --lever iran.advance_warning=0.8,0.0 --runs 2000
  abm compare configs/baseline_jan2020.yaml --lever us.doctrine=lethal_red_line,massive,proportional \\
      --lever us.demands+us.sanctions_relief_offer=maximal+false,nuclear_only+true --runs 1000 --jobs 2"""


def register(subparsers: Any) -> None:
    """Add `compare` to the CLI's subparsers."""
    p = add_command(
        subparsers, NAME, "compare lever values with paired tests (common random numbers)", DESCRIPTION, EPILOG, main
    )
    p.add_argument("config", type=Path, metavar="CONFIG", help="scenario YAML, e.g. configs/baseline_jan2020.yaml")
    p.add_argument(
        "--lever",
        action="append",
        default=[],
        required=True,
        metavar="KEY=A,B[,C...]",
        help="a lever and its values (first = reference); bundle keys moved together with +: "
        "K1+K2=A1+A2,B1+B2 (repeatable)",
    )
    add_runs(p, "runs per arm", minimum=2)
    add_seed(p)
    p.add_argument(
        "--independent",
        action="store_true",
        help="independent seeds per arm and two-sample tests (default: paired on common random numbers)",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="cross product of all lever values (default: one lever at a time from the base)",
    )
    add_tests_and_out(p, "<config>-compare", "multiple-testing adjustment across rows (default holm)")
    p.add_argument("--events", action="store_true", help="also store events (DIR/events/) for ladder figures")
    add_execution(p)


def main(args: argparse.Namespace) -> int:
    """Run the comparison; returns the exit code."""
    from abm.analysis.compare import format_comparison, parse_lever, plan_comparison, run_comparison
    from abm.config import load_config

    levers = [parse_lever(text) for text in args.lever]
    fixed = overrides(args.overrides)
    scenario = load_config(args.config, fixed)
    arms = 1  # counted before the design is built: the cross product (--full), or the base plus each other value
    for lever in levers:
        arms = arms * len(lever.values) if args.full else arms + len(lever.values) - 1
    check_total(arms, args.runs, "arm", "runs per arm")
    plan_comparison(  # validate every arm, and the levers against --set, before anything runs
        scenario, levers, args.runs, args.seed, paired=not args.independent, full=args.full, overrides=fixed
    )
    out = args.out or default_out(f"{scenario.name}-compare")
    mode = "independent seeds" if args.independent else "paired, common random numbers"
    print(
        f"abm compare {scenario.name}: {len(levers)} lever(s), {args.runs} runs per arm, seed {args.seed}, "
        f"{mode} -> {out}",
        file=sys.stderr,
    )
    result = run_comparison(
        scenario,
        levers,
        args.runs,
        args.seed,
        paired=not args.independent,
        full=args.full,
        correction=args.correction,
        alpha=args.alpha,
        events=args.events,
        **running(args, out),
        overrides=fixed,
    )
    code = exit_status(args, Ran.of(result, args), out)
    if result.outcomes.empty:
        return code
    print(format_comparison(result.outcomes))
    print()
    print(format_comparison(result.metrics, metrics=True))
    if not result.curves.empty:
        print()
        print(format_comparison(result.curves))
    print(
        f"abm compare: {result.runs_done} runs in {result.seconds:.1f} s; diff = B - A, 95% intervals, "
        f"p_adj: {args.correction}; tables in {out}",
        file=sys.stderr,
    )
    return code
