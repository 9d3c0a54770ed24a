"""How much do common random numbers narrow the interval of a lever's effect?

Runs the same lever comparison twice, paired on common random numbers (every arm runs the
same seeds) and with independent seeds per arm, and reports, per lever and outcome (and per
run metric), the width of the 95% interval of the difference in each mode and their ratio
(paired / independent). A ratio r means the paired design reaches the precision of the
independent one with r**2 times the runs.

    .venv/bin/python experiments/crn_efficiency.py --runs 2000 --jobs 2 --out docs/crn_efficiency.csv

Levers: the baseline levers of docs/COMPARE.md (advance warning, doctrine, demands + relief).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from abm.analysis.compare import parse_lever, run_comparison
from abm.analysis.report import markdown_table
from abm.config import load_config, parse_assignment
from abm.runner import DEFAULT_SEED

ROOT = Path(__file__).resolve().parents[1]
LEVERS = (
    "iran.advance_warning=choose,0",  # Iran decides vs Iran never warns (a forced counterfactual)
    "us.doctrine=lethal_red_line,massive",
    "us.demands+us.sanctions_relief_offer=maximal+0,nuclear_only+1",  # relief is a share (1 = all)
)


def widths(table: pd.DataFrame, what: str) -> pd.DataFrame:
    out = table[["lever", "value_a", "value_b", what, "diff", "ci_low", "ci_high"]].copy()
    out["width"] = out["ci_high"] - out["ci_low"]
    return out


def measure(config: Path, runs: int, seed: int, jobs: int, overrides: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    scenario = load_config(config, dict(map(parse_assignment, overrides)))
    levers = [parse_lever(text) for text in LEVERS]
    results = {}
    for paired in (True, False):
        start = time.monotonic()
        results[paired] = run_comparison(
            scenario,
            levers,
            runs,
            seed,
            paired=paired,
            jobs=jobs,
            backend="loky" if jobs > 1 else "serial",
            progress=True,
        )
        res = results[paired]
        if res.status != "complete" or res.failures:
            errors = res.runs["error"].dropna() if res.runs is not None and "error" in res.runs else []
            first = f"; first error: {errors.iloc[0]}" if len(errors) else ""
            raise SystemExit(
                f"{res.failures} of {res.runs_done} runs failed (status {res.status}){first}; nothing written"
            )
        print(
            f"{'paired' if paired else 'independent'}: {results[paired].runs_done} runs in "
            f"{time.monotonic() - start:.0f} s",
            file=sys.stderr,
        )
    tables = []
    for attr, what in (("outcomes", "outcome"), ("metrics", "metric")):
        p, i = widths(getattr(results[True], attr), what), widths(getattr(results[False], attr), what)
        keys = ["lever", "value_a", "value_b", what]
        merged = p.merge(i, on=keys, suffixes=("_paired", "_independent"))
        merged["width_ratio"] = merged["width_paired"] / merged["width_independent"]
        tables.append(
            merged[[*keys, "diff_paired", "width_paired", "diff_independent", "width_independent", "width_ratio"]]
        )
    return tables[0], tables[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "baseline_jan2020.yaml")
    parser.add_argument("--runs", type=int, default=2000, help="runs per arm (default 2000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, help="write the outcome table here (CSV); metrics next to it")
    args = parser.parse_args(argv)
    outcomes, metrics = measure(args.config, args.runs, args.seed, args.jobs, args.overrides)
    print(markdown_table(outcomes, None, digits=4))
    print()
    print(markdown_table(metrics, None, digits=3))
    informative = outcomes[(outcomes["width_independent"] > 0) & ~outcomes["outcome"].eq("deal")]
    print(
        f"\nmedian width ratio (outcomes, excluding deal): {informative['width_ratio'].median():.3f}; "
        f"metrics: {metrics['width_ratio'].median():.3f}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        outcomes.to_csv(args.out, index=False)
        metrics.to_csv(args.out.with_name(args.out.stem + "_metrics.csv"), index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
