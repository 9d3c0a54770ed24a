"""Morris screening of every `world.*` and `behaviour.*` parameter on the January 2020 baseline.

    .venv/bin/python experiments/morris_behaviour/run.py --jobs 2                # the screening (README)
    .venv/bin/python experiments/morris_behaviour/run.py --tiny --out /tmp/mb    # a smoke run, seconds

It is one `abm sensitivity` command, printed before it runs: `--param-block world
--param-block behaviour` expands to every numeric parameter of the two blocks with the ranges
the schema gives for screening them (docs/ANALYSIS.md). Other options are passed on to it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from abm.cli import main

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"
SEED = 20200103
# The screening: 10 trajectories of D + 1 points (D = 81: 34 world, 47 behaviour), 60 runs each
# (49,200 runs; the decision rule of issue 15 added 17 world parameters, so 20 x 100 would be 164,000).
FULL = ["--samples", "10", "--runs-per-point", "60", "--levels", "4"]
# A smoke run: 2 trajectories, 2 runs per point, 60 days; it shows the command works, nothing more.
TINY = ["--samples", "2", "--runs-per-point", "2", "--set", "horizon_days=60", "--backend", "serial"]


def command(tiny: bool, rest: list[str]) -> list[str]:
    """The `abm sensitivity` arguments of the screening."""
    argv = ["sensitivity", str(BASELINE.relative_to(ROOT)), "--method", "morris", "--seed", str(SEED)]
    argv += ["--param-block", "world", "--param-block", "behaviour"]
    return argv + (TINY if tiny else FULL) + rest


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a smoke run at a tiny size")
    args, rest = parser.parse_known_args(argv)
    full = command(args.tiny, rest)
    print("abm " + shlex.join(full), file=sys.stderr)
    return main(full)


if __name__ == "__main__":
    sys.exit(run())
