"""`abm validate [--runs N] [--seed S] [--jobs J] [--out DIR] [--case NAME ...] [--sample S]`: validation cases.

Runs the named validation cases of `configs/validation/` (all by default; `--sample` keeps the
in-sample or the out-of-sample ones) and prints, per case, the target band, the simulated value
with its 95% interval, pass/fail and the source of the band: in-sample cases first, then
out-of-sample ones in a block of their own, each block with its pass count. Writes
DIR/validation.csv (with a `sample` column) and DIR/validation.md (a table per sample). Exit
codes: 0 every selected case passes; 1 a case of either sample fails (or has no data); 2 bad
input or an empty selection (nothing run); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import abm
from abm.commands._common import (
    EXIT_FAILED,
    EXIT_OK,
    add_command,
    add_jobs,
    add_runs,
    add_seed,
    check_planned,
    check_total,
)

if TYPE_CHECKING:
    from abm.validation.cases import Case

NAME = "validate"
SAMPLES = ("in-sample", "out-of-sample")  # abm.validation.cases.Sample (not imported: the parser stays light)
DESCRIPTION = """\
Run validation cases: each compares a simulated quantity (a share of runs, a mean, a share of
events, a paired difference between two scenarios ...) with a band taken from the sources
(MODEL.md section 9, configs/reference/base_rates.yaml, the 2019-2020 timeline). A case is a
YAML file in configs/validation/; add a file to add a case. Every scenario is run once for all
cases that use it, run i with the same seed in every scenario (paired comparisons), so the
report is reproducible for a seed whatever --jobs is.

Cases come in two samples (the case file's `sample` key): in-sample cases (the default), which
the model was built or calibrated with in view, and out-of-sample cases, on crises it was not
built on (calibration never reads them). The report shows them apart: in-sample cases first,
then an out-of-sample block, each with its own pass count, then the total. Exit code 0 when
every selected case passes, 1 when one fails (in-sample and out-of-sample alike), 2 on bad
input or when no case is selected."""
EPILOG = """\
examples:
  abm validate                               # every case, 500 runs per scenario (case default)
  abm validate --runs 100 --case baseline_spiral_minority lethal_attacks_draw_us_strikes
  abm validate --case my_cases/new_case.yaml --jobs 2 --out results/my-validation
  abm validate --sample out-of-sample        # only the crises the model was not built on
  abm validate --list --sample in-sample     # list the in-sample cases"""


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
    p.add_argument(
        "--sample",
        choices=(*SAMPLES, "all"),
        default="all",
        help="run only the in-sample or the out-of-sample cases (default all); combines with --case. A failing "
        "case of either sample gives exit 1; exit 2 when no case is left",
    )
    p.add_argument("--cases-dir", type=Path, metavar="DIR", help="folder of case files (default configs/validation/)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages")
    return p


def _default_out() -> Path:
    from abm.validation import table

    out = Path("results") / f"validation-{table.timestamp()}"
    n = 2
    while out.exists():
        out, n = out.with_name(f"validation-{table.timestamp()}-{n}"), n + 1
    return out


def _counts(cases: Sequence[Case]) -> str:
    return ", ".join(f"{sum(c.sample == name for c in cases)} {name}" for name in SAMPLES)


def select(cases: Sequence[Case], sample: str, where: Path, named: bool = False) -> list[Case]:
    """The cases of `sample` ("all": every one); a `CaseError` (exit 2) when none is left.

    `where` (the cases folder) and `named` (whether --case chose them) only word the error."""
    from abm.validation.cases import CaseError

    if not cases:
        raise CaseError(f"{where}: no validation cases (no .yaml case files); nothing to run")
    chosen = [c for c in cases if sample == "all" or c.sample == sample]
    if not chosen:
        source = "named by --case" if named else f"in {where}"
        raise CaseError(
            f"--sample {sample}: none of the {len(cases)} case(s) {source} is {sample} ({_counts(cases)}); "
            f"nothing to run (a case is {sample} when its file sets `sample: {sample}`)"
        )
    return chosen


def main(args: argparse.Namespace) -> int:
    """Run the cases; returns the exit code."""
    from abm.runner.manifest import git_commit
    from abm.validation import table
    from abm.validation.cases import default_cases_dir, load_cases
    from abm.validation.run import plan, run_cases, stderr_log

    where = args.cases_dir or default_cases_dir()
    cases = select(load_cases(args.cases or None, args.cases_dir), args.sample, where, bool(args.cases))
    if args.list:
        for case in cases:
            print(f"{case.name:<40} {case.sample:<14} {case.spec.pattern:<24} {case.path}")
        return EXIT_OK
    # --runs is bounded per scenario; every scenario of every case together is bounded here.
    jobs = plan(cases, args.runs)
    if args.runs:
        check_total(len(jobs), args.runs, "scenario", "runs per scenario")
    else:
        check_planned(sum(job.runs for job in jobs.values()), f"{len(jobs):,} scenarios with each case's own runs")
    out = args.out or _default_out()
    backend = "serial" if args.jobs == 1 and args.backend == "loky" else args.backend
    if not args.quiet:
        runs = f"{args.runs} runs per scenario" if args.runs else "each case's runs"
        stderr_log(
            f"abm validate: {len(cases)} case(s) ({_counts(cases)}) from {where}, {runs}, seed {args.seed} -> {out}"
        )
    results = run_cases(
        cases,
        runs=args.runs,
        seed=args.seed,
        jobs=args.jobs,
        backend=backend,
        scheduler=args.scheduler,
        log=None if args.quiet else stderr_log,
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
        "sample": args.sample,
        "cases": len(cases),
        "passed": int((frame["status"] == "pass").sum()),
        **{name: table.tally(frame, name) for name in SAMPLES},
    }
    table.write(out, frame, meta)
    print(table.format_table(frame))
    if not args.quiet:
        stderr_log(f"abm validate: report in {out}/{table.CSV_FILE} and {table.MD_FILE}")
    # Every selected case counts, whatever its sample: one failing out-of-sample case gives exit 1 too.
    return EXIT_OK if (frame["status"] == "pass").all() else EXIT_FAILED
