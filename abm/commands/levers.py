"""`abm levers CONFIG [--levers FILE] [--lever KEY=A,B ...]`: the lever effect table (issue 15 item 5).

Each lever row (reference -> alternative, and the MODEL.md §6 mechanisms meant to carry it) is
run one lever at a time from the scenario on common random numbers, and its paired effect on
P(spiral by day t), P(deal by day t) and P(state track quiet at day t) at days 90, 180 and the
horizon is tested as `abm compare` tests it (Newcombe paired interval, McNemar, Holm across
the table). Rows: derived from the scenario by default (`abm.analysis.levers.TRAIT_LEVERS`), or
a lever file, and/or --lever. Writes DIR/levers.csv, DIR/levers.md and what `abm compare`
writes; prints the Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from abm.commands._common import (
    EXIT_OK,
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

NAME = "levers"
RUNS = 2000  # issue 15 item 5: 2,000 paired runs per arm
DESCRIPTION = """\
The lever effect table. Each row moves one lever from a reference setting to an alternative,
every other key at the scenario's value, and names the mechanism(s) of MODEL.md section 6
meant to carry the effect. All arms run the same N seeds (common random numbers); per row and
for days 90, 180 and the horizon the table gives the paired difference alternative - reference
in P(spiral by day t), P(deal by day t) and P(state track quiet at day t), with its 95%
Newcombe paired interval and the McNemar p-value adjusted across the table (Holm by default),
and a verdict: "detectable" when any adjusted p < alpha, else "not told from zero at N paired
runs" (a statement about power, not evidence of no effect).

Rows: by default derived from the scenario: every state's doctrine, sanctions_level, demands,
sanctions_relief_offer, force_protection, posture, proxy_restraint, advance_warning and
mediation that the scenario sets, and every channel's open, each from the scenario's value to
a generic alternative. --levers FILE gives written rows instead (experiments/levers/
jan2020.yaml for the January 2020 crisis); --lever KEY=A,B adds a row A -> B (alone, it
replaces the derived rows). A row whose state or channel the scenario lacks, or whose key
--set fixes, is skipped with a note.
Writes DIR/levers.csv (one line per row, curve and day), DIR/levers.md (one line per row, for
the README) and everything `abm compare` writes (comparison*.csv, compare.json, summary.csv,
curves.csv, runs/), so `abm report DIR` works on it."""
EPILOG = """\
examples:
  abm levers configs/baseline_jan2020.yaml --levers experiments/levers/jan2020.yaml --runs 2000 --jobs 2
  abm levers configs/examples/border_crisis.yaml --runs 500          # rows derived from the scenario
  abm levers configs/baseline_jan2020.yaml --lever us.doctrine=lethal_red_line,massive --runs 1000
  abm levers configs/baseline_jan2020.yaml --levers experiments/levers/jan2020.yaml --list"""


def register(subparsers: Any) -> None:
    """Add `levers` to the CLI's subparsers."""
    p = add_command(
        subparsers,
        NAME,
        "lever effect table: paired effects of each lever on the time curves",
        DESCRIPTION,
        EPILOG,
        main,
    )
    p.add_argument("config", type=Path, metavar="CONFIG", help="scenario YAML, e.g. configs/baseline_jan2020.yaml")
    p.add_argument(
        "--levers",
        dest="lever_file",
        type=Path,
        metavar="FILE",
        help="lever rows (YAML, e.g. experiments/levers/jan2020.yaml); default: derived from the scenario",
    )
    p.add_argument(
        "--lever",
        action="append",
        default=[],
        metavar="KEY=A,B[,C...]",
        help="a row A -> B (and A -> C ...), as in abm compare (repeatable; added to --levers rows, "
        "else instead of the derived ones)",
    )
    add_runs(p, "paired runs per arm", default=RUNS, minimum=2)
    add_seed(p)
    add_tests_and_out(p, "<config>-levers", "adjustment across the table (default holm)")
    p.add_argument("--list", action="store_true", help="print the rows (and the skipped ones) and exit")
    add_execution(p)


def main(args: argparse.Namespace) -> int:
    """Run the lever table; returns the exit code."""
    from abm.analysis.lever_table import run_lever_table
    from abm.analysis.levers import derive_levers, load_levers, option_levers, plan_levers
    from abm.config import load_config

    fixed = overrides(args.overrides)
    scenario = load_config(args.config, fixed)
    rows = load_levers(args.lever_file) if args.lever_file else []
    rows += option_levers(args.lever)
    plan = plan_levers(scenario, rows or derive_levers(scenario), fixed)
    for note in plan.notes:
        print(f"abm levers: {note}", file=sys.stderr)
    if args.list:
        for row in plan.rows:
            print(f"{row.label}: {row.reference} -> {row.alternative}  [{row.mechanisms or '-'}]")
        return EXIT_OK
    arms = 1 + sum(len(lever.values) - 1 for lever in plan.levers)
    check_total(arms, args.runs, "arm", "runs per arm")
    out = args.out or default_out(f"{scenario.name}-levers")
    print(
        f"abm levers {scenario.name}: {len(plan.rows)} rows, {arms} arms x {args.runs} runs, seed {args.seed}, "
        f"paired (common random numbers) -> {out}",
        file=sys.stderr,
    )
    result = run_lever_table(
        scenario,
        plan,
        args.runs,
        args.seed,
        correction=args.correction,
        alpha=args.alpha,
        **running(args, out),
        overrides=fixed,
    )
    ran = result.comparison
    code = exit_status(args, Ran.of(ran, args), out)
    if result.table.empty:
        return code
    print(result.markdown, end="")
    print(f"abm levers: {ran.runs_done} runs in {ran.seconds:.1f} s; tables in {out}", file=sys.stderr)
    return code
