"""Rerun the global calibration: score a Latin hypercube of world parameters on every case.

Usage: python experiments/calibration/calibrate.py experiments/calibration/calibration.yaml [--jobs 2]
Writes experiments/calibration/results.csv (best points first) and prints the top rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from abm.validation.calibrate import calibrate, load_spec
from abm.validation.run import stderr_log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.csv"))
    args = parser.parse_args()
    spec = load_spec(args.spec)
    table = calibrate(spec, jobs=args.jobs, backend="loky" if args.jobs > 1 else "serial", log=stderr_log)
    table.to_csv(args.out, index=False, float_format="%.4g")
    keys = ["point", *spec.parameters, "passed", "cases", "miss"]
    print(table[keys].head(10).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
