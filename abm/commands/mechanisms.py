"""`abm mechanisms [CONFIG] [--table FILE] [--mechanism NAME ...]`: the mechanism effect table (MODEL.md §6).

Every mechanism switch of the schema, off vs on on common random numbers, in the scenario the
table (experiments/mechanisms/table.yaml) lists for it, with the effect off - on on its named
quantity, a 95% interval (Newcombe paired for shares, paired BCa bootstrap for means) and a
Holm-adjusted p-value. A switch without a row is listed as "no exercising scenario listed".
Writes DIR/mechanisms.csv, DIR/mechanisms.md and, per scenario, its runs in DIR/<scenario>/.
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

NAME = "mechanisms"
RUNS = 1000
DESCRIPTION = """\
The mechanism effect table. MODEL.md section 6 asks that each mechanism be visible in
behaviour: switched off, a named outcome-level quantity moves by more than its Monte Carlo
error in a scenario built to exercise it. For every switch of `mechanisms:` in the schema (new
switches appear by themselves), the table file names that scenario and quantity; the switch is
run on and off on the same N seeds (common random numbers; per scenario, all its switches on
in the base arm and one off in each other arm), and the effect off - on is reported with a 95%
interval (Newcombe paired for shares, paired BCa bootstrap for means) and the McNemar or
Wilcoxon p-value adjusted across the table (Holm by default). A switch the table has no row
for is reported as "no exercising scenario listed".

Quantities in the table: {outcome: spiral}, {curve: quiet, day: 90} (spiral by / deal by /
state track quiet at day t), {share: COLUMN} (a true/false column of the runs table) or
{mean: COLUMN} (a numeric one). Given CONFIG, every switch runs on that scenario instead of
its own (the quantities stay).
Writes DIR/mechanisms.csv, DIR/mechanisms.md and each scenario's runs in DIR/<scenario>/
(runs/, summary.csv, curves.csv; the same command on the same DIR resumes)."""
EPILOG = """\
examples:
  abm mechanisms --runs 1000 --jobs 2
  abm mechanisms --mechanism accidents host_pressure --runs 300
  abm mechanisms configs/examples/border_crisis.yaml --runs 500     # every switch on one scenario
  abm mechanisms --list"""


def register(subparsers: Any) -> None:
    """Add `mechanisms` to the CLI's subparsers."""
    p = add_command(
        subparsers, NAME, "mechanism effect table: each switch off vs on, paired", DESCRIPTION, EPILOG, main
    )
    p.add_argument(
        "config",
        nargs="?",
        type=Path,
        metavar="CONFIG",
        help="run every switch on this scenario (default: each on the scenario its table row names)",
    )
    p.add_argument(
        "--table",
        type=Path,
        metavar="FILE",
        help="mechanism table (default experiments/mechanisms/table.yaml)",
    )
    p.add_argument(
        "--mechanism",
        dest="only",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="only these switches (repeatable)",
    )
    add_runs(p, "paired runs per arm", default=RUNS, minimum=2)
    add_seed(p)
    add_tests_and_out(p, "mechanisms", "adjustment across the table (default holm)")
    p.add_argument("--list", action="store_true", help="print each switch's scenario and quantity and exit")
    add_execution(p)


def main(args: argparse.Namespace) -> int:
    """Run the mechanism table; returns the exit code."""
    from abm.analysis.mechanism_table import NO_ROW, plan_mechanisms, run_mechanism_table
    from abm.analysis.mechanisms import default_table, load_mechanism_table, switches

    fixed = overrides(args.overrides)
    rows = load_mechanism_table(args.table or default_table())
    plan = plan_mechanisms(rows, config=args.config, only=args.only, fixed=fixed)
    for note in plan.notes:
        print(f"abm mechanisms: {note}", file=sys.stderr)
    if args.list:
        listed = {
            row.mechanism: f"{group.scenario.name}, {row.quantity.label}" for group in plan.groups for row in group.rows
        }
        for name in switches():
            if name in listed or name in plan.missing:
                print(f"{name}: {listed.get(name, NO_ROW)}")
        return EXIT_OK
    arms = sum(1 + len(group.rows) for group in plan.groups)
    check_total(arms, args.runs, "arm", "runs per arm")
    out = args.out or default_out("mechanisms")
    print(
        f"abm mechanisms: {sum(len(g.rows) for g in plan.groups)} switches on {len(plan.groups)} scenarios, "
        f"{arms} arms x {args.runs} runs, seed {args.seed}, paired (common random numbers) -> {out}",
        file=sys.stderr,
    )
    result = run_mechanism_table(
        plan,
        args.runs,
        args.seed,
        correction=args.correction,
        alpha=args.alpha,
        **running(args, out),
        overrides=fixed,
    )
    code = exit_status(args, Ran.of(result, args), out)
    if result.table.empty:
        return code
    print(result.markdown, end="")
    print(f"abm mechanisms: {result.runs_done} runs in {result.seconds:.1f} s; tables in {out}", file=sys.stderr)
    return code
