"""Posterior calibration: ABC rejection + history matching of the world parameters, and lever robustness.

Usage: python experiments/calibration/posterior.py experiments/calibration/posterior.yaml [--jobs 2]
Writes, next to this script (or --out DIR): posterior_points.csv (every design point, accepted
first, with its z and estimate per case), posterior_summary.csv (per parameter), posterior_cases.csv
(per case), lever_robustness.csv (per lever row, outcome and point) and posterior_report.md (the
tables for docs/VALIDATION.md). The procedure and the acceptance rule: abm/validation/posterior.py.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from abm.validation.posterior import load_posterior_spec, run_posterior
from abm.validation.posterior_report import report_markdown
from abm.validation.run import stderr_log


def commit() -> str:
    """The checked-out commit, and a note when the working tree has changes (the run used them)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (points in parallel)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="folder for the tables")
    args = parser.parse_args()
    spec = load_posterior_spec(args.spec)
    checked_out = commit()  # before the run: others may commit while it runs
    result = run_posterior(spec, jobs=args.jobs, log=stderr_log)
    args.out.mkdir(parents=True, exist_ok=True)
    result.points_table().to_csv(args.out / "posterior_points.csv", index=False, float_format="%.6g")
    result.summary.to_csv(args.out / "posterior_summary.csv", index=False, float_format="%.6g")
    result.case_table.to_csv(args.out / "posterior_cases.csv", index=False, float_format="%.6g")
    if not result.lever_effects.empty:
        result.lever_effects.to_csv(args.out / "lever_robustness.csv", index=False, float_format="%.6g")
        result.lever_summary.to_csv(args.out / "lever_robustness_summary.csv", index=False, float_format="%.6g")
        result.concordance.to_csv(args.out / "lever_concordance.csv", index=False, float_format="%.6g")
    command = shlex.join(["python", *sys.argv])
    report = report_markdown(result, command, checked_out)
    (args.out / "posterior_report.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
