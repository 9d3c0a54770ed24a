"""`abm validate [--runs N] [--seed S] [--jobs J] [--out DIR] [--case NAME ...]`: validation cases.

Runs the named validation cases of `configs/validation/` (all by default) and prints, per
case, the target band, the simulated value with its 95% interval, pass/fail and the source of
the band. Writes DIR/validation.csv and DIR/validation.md. Exit codes: 0 every case passes;
1 a case fails (or has no data); 2 bad input (nothing run); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import abm
from abm.commands._common import EXIT_FAILED, EXIT_OK, add_command, add_jobs, add_runs, add_seed, guarded

NAME = "validate"
DESCRIPTION = """\
Run validation cases: each compares a simulated quantity (a share of runs, a mean, a share of
events, a paired difference between two scenarios ...) with a band taken from the sources
(MODEL.md section 9, shared/data/base_rates.yaml, the 2019-2020 timeline). A case is a YAML file
in configs/validation/; add a file to add a case. Every scenario is run once for all cases that
use it, run i with the same seed in every scenario (paired comparisons), so the report is
reproducible for a seed whatever --jobs is."""
EPILOG = """\
examples:
  abm validate                               # every case, 500 runs per scenario (case default)
  abm validate --runs 100 --case baseline_spiral_minority lethal_attacks_draw_us_strikes
  abm validate --case my_cases/new_case.yaml --jobs 2 --out results/my-validation"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `validate` to the CLI's subparsers (sets `handler=main`)."""
    p = add_command(
        subparsers, NAME, "run the validation cases (simulated patterns vs empirical bands)", DESCRIPTION, EPILOG, main
    )
    add_runs(p, "runs per scenario for every case (default: each case's own `runs`, usually 500)", default=None)
    add_seed(p)
    add_jobs(p)
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="report folder (default results/validation-<UTC timestamp>/)"
    )
    p.add_argument(
        "--case",
        dest="cases",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="run only these cases: names, or paths to case files (repeatable)",
    )
    p.add_argument("--cases-dir", type=Path, metavar="DIR", help="folder of case files (default configs/validation/)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages")
    p.set_defaults(scheduler=None)
    return p


def main(args: argparse.Namespace) -> int:
    """Run the cases; returns the exit code."""
    return guarded(NAME, lambda: _main(args))


def _default_out() -> Path:
    from abm.validation import table

    out = Path("results") / f"validation-{table.timestamp()}"
    n = 2
    while out.exists():
        out, n = out.with_name(f"validation-{table.timestamp()}-{n}"), n + 1
    return out


def _main(args: argparse.Namespace) -> int:
    from abm.runner.manifest import git_commit
    from abm.validation import table
    from abm.validation.cases import default_cases_dir, load_cases
    from abm.validation.run import run_cases, stderr_log

    cases = load_cases(args.cases or None, args.cases_dir)
    if args.list:
        for case in cases:
            print(f"{case.name:<40} {case.spec.pattern:<24} {case.path}")
        return EXIT_OK
    out = args.out or _default_out()
    backend = "serial" if args.jobs == 1 and args.backend == "loky" else args.backend
    where = args.cases_dir or default_cases_dir()
    if not args.quiet:
        runs = f"{args.runs} runs per scenario" if args.runs else "each case's runs"
        stderr_log(f"abm validate: {len(cases)} case(s) from {where}, {runs}, seed {args.seed} -> {out}")
    results = run_cases(
        cases, runs=args.runs, seed=args.seed, jobs=args.jobs, backend=backend, log=None if args.quiet else stderr_log
    )
    frame = table.frame(results)
    meta = {
        "generated": table.timestamp(),
        "command": "abm validate " + " ".join(sys.argv[2:]) if sys.argv[1:2] == [NAME] else "abm validate",
        "abm version": abm.__version__,
        "git commit": git_commit() or "unknown",
        "cases from": str(where),
        "master seed": args.seed,
        "runs per scenario": args.runs or "per case (see table)",
        "cases": len(cases),
        "passed": int((frame["status"] == "pass").sum()),
    }
    table.write(out, frame, meta)
    print(table.format_table(frame))
    if not args.quiet:
        stderr_log(f"abm validate: report in {out}/{table.CSV_FILE} and {table.MD_FILE}")
    return EXIT_OK if (frame["status"] == "pass").all() else EXIT_FAILED
