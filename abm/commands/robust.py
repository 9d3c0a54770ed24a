"""`abm robust CONFIG --lever KEY=A,B ... --uncertainty KEY=LO:HI ... --worlds N`: lever settings
across an ensemble of uncertain worlds, ranked by minimax regret and by satisficing (issue 13 item 5)."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path
from typing import Any

from abm.commands._common import (
    MAX_POINTS,
    Ran,
    add_command,
    add_execution,
    add_runs,
    add_seed,
    check_total,
    default_out,
    exit_status,
    overrides,
    running,
    share,
    whole,
)
from abm.defaults import ALPHA

NAME = "robust"
RUNS = 100
RANKED = ("spiral", "deescalation", "deal")  # as abm.analysis.robust.DIRECTIONS (not imported: it is heavy)
DESCRIPTION = """\
Robust decision-making (as EMA Workbench users know it): which lever setting holds up across
an ensemble of plausible worlds rather than in the one configured world. The worlds are N Latin
hypercube points (SALib, seeded from --seed: the worlds of `abm sweep --lhs`) over the
uncertain parameters, given as KEY=LO:HI or as every numeric key of a config block with the
range its schema gives. The settings are the cross product of the --lever values (a strategy
is a combination of levers, and regret needs every strategy one could adopt). Every setting
runs R runs in every world on the same run seeds (common random numbers).

Per (setting, world) cell: P(outcome) with its 95% Wilson interval. Per setting, over worlds:
mean, worst, 10%/50%/90% quantiles of P(--outcome); regret per world = the shortfall from the
best setting in that world (P - min for spiral, max - P for deescalation and deal), its maximum
and 90th percentile; satisficing = share of worlds where the setting meets every --satisfice
criterion (strict: the whole interval meets them). Ranked by minimax regret and by satisficing,
with whether the two agree. Writes DIR/robust.csv (one row per setting, world and outcome),
DIR/robust_summary.csv, DIR/robust.md (printed), DIR/figures/robust.png|svg, DIR/manifest.json
and the runs in DIR/ensemble/ (a runner folder: the same command on the same DIR resumes;
`abm report DIR/ensemble` works on it)."""
EPILOG = """\
examples:
  abm robust configs/baseline_jan2020.yaml --lever us.doctrine=proportional,lethal_red_line,massive \\
      --lever iran.proxy_restraint=0.2,0.8 --uncertainty world.choice_temperature=0.1:0.5 \\
      --uncertainty world.war_cost=60:240 --worlds 16 --runs 100 --satisfice 'spiral<=0.05' \\
      --satisfice 'deescalation>=0.8' --jobs 2
  abm robust configs/baseline_jan2020.yaml --lever us.doctrine=proportional,massive \\
      --uncertainty-block world --worlds 32 --runs 50 --outcome deescalation"""


def register(subparsers: Any) -> None:
    """Add `robust` to the CLI's subparsers."""
    p = add_command(
        subparsers,
        NAME,
        "lever settings across uncertain worlds: regret and satisficing (robust decision-making)",
        DESCRIPTION,
        EPILOG,
        main,
    )
    p.add_argument("config", type=Path, metavar="CONFIG", help="scenario YAML, e.g. configs/baseline_jan2020.yaml")
    p.add_argument(
        "--lever",
        action="append",
        default=[],
        required=True,
        metavar="KEY=A,B[,C...]",
        help="a lever and its values, as in abm compare (repeatable; settings = cross product of all levers)",
    )
    p.add_argument(
        "--uncertainty",
        action="append",
        default=[],
        metavar="KEY=LO:HI",
        help="an uncertain numeric parameter and its range (repeatable; whole-number keys are rounded)",
    )
    p.add_argument(
        "--uncertainty-block",
        action="append",
        default=[],
        metavar="NAME",
        help="every numeric key of a config block (world, behaviour, ...) with its schema screening range "
        "(repeatable; an --uncertainty for one of its keys replaces that range)",
    )
    p.add_argument(
        "--worlds", type=whole(1, MAX_POINTS), required=True, metavar="N", help="worlds sampled (Latin hypercube)"
    )
    add_runs(p, "runs per (setting, world) cell", default=RUNS)
    add_seed(p, "master seed: the worlds and the runs")
    p.add_argument(
        "--outcome",
        choices=RANKED,
        default="spiral",
        help="the outcome ranked: spiral (lower is better) or deescalation, deal (higher is better); default spiral",
    )
    p.add_argument(
        "--satisfice",
        action="append",
        default=[],
        metavar="OUTCOME<=P",
        help="a criterion every world should meet, e.g. 'spiral<=0.05' or 'deescalation>=0.8' (repeatable; "
        "any outcome, operators <= >= < >)",
    )
    p.add_argument("--alpha", type=share, default=ALPHA, metavar="A", help=f"1 - confidence level (default {ALPHA})")
    p.add_argument("--out", type=Path, metavar="DIR", help="results folder (default results/<config>-robust-<UTC>/)")
    add_execution(p)


def main(args: argparse.Namespace) -> int:
    """Run the robustness study; returns the exit code."""
    from abm.analysis.compare import parse_lever
    from abm.analysis.robust import parse_satisfice, plan_robust, run_robust, uncertainty_ranges
    from abm.config import load_config

    levers = [parse_lever(text) for text in args.lever]
    ranges = uncertainty_ranges(args.uncertainty, args.uncertainty_block)
    criteria = [parse_satisfice(text) for text in args.satisfice]
    settings = math.prod(len(lever.values) for lever in levers)
    check_total(settings * args.worlds, args.runs, "cell", "runs per cell")
    fixed = overrides(args.overrides)
    scenario = load_config(args.config, fixed)
    # Validate every cell, and the levers and uncertainties against --set, before anything runs.
    plan_robust(scenario, levers, ranges, args.worlds, args.runs, args.seed, overrides=fixed)
    out = args.out or default_out(f"{scenario.name}-robust")
    print(
        f"abm robust {scenario.name}: {settings} settings x {args.worlds} worlds x {args.runs} runs, seed {args.seed}, "
        f"common random numbers -> {out}",
        file=sys.stderr,
    )
    command = shlex.join(["abm", *sys.argv[1:]]) if sys.argv[1:2] == [NAME] else f"abm {NAME}"
    result = run_robust(
        scenario,
        levers,
        ranges,
        args.worlds,
        args.runs,
        args.seed,
        outcome=args.outcome,
        criteria=criteria,
        alpha=args.alpha,
        **running(args, out),
        overrides=fixed,
        command=command,
        config_path=args.config,
    )
    code = exit_status(args, Ran.of(result, args), out)
    if result.summary.empty:
        return code
    print(result.markdown, end="")
    done = f"{result.runs_done} runs ({result.seconds:.1f} s in this call)"
    print(f"abm robust: {done}; tables in {out}", file=sys.stderr)
    return code
