"""`abm replay DIR --run K [--point P] [--events]`: re-simulate one stored run and check its row."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from abm.commands._common import EXIT_FAILED, EXIT_OK, add_command, guarded, whole

NAME = "replay"
DESCRIPTION = """\
Re-simulate run K (of design point P for a sweep) of a results folder from what its manifest
records (resolved config, the point's values, master seed, seed rule) and print its record
(and its events with --events). The replayed record must equal the stored row in DIR/runs/
exactly, every model column, the seed and the point's values, and its events when the folder
stored them. Exit 0 when it does, 1 when it does not (the differences go to stderr), 2 when
the run cannot be replayed (no such folder, point or run)."""
EPILOG = """\
examples:
  abm replay results/baseline_jan2020-20240101T000000Z --run 17
  abm replay results/sweep --run 3 --point 5 --events"""


def register(subparsers: Any) -> None:
    """Add `replay` to the CLI's subparsers."""
    p = add_command(
        subparsers, NAME, "re-simulate one stored run and check that it gives the stored row", DESCRIPTION, EPILOG, main
    )
    p.add_argument("dir", metavar="DIR", help="results folder (abm run, sweep, compare or sensitivity)")
    p.add_argument("--run", "-r", type=whole(0), required=True, metavar="K", help="run index")
    p.add_argument("--point", "-p", type=whole(0), metavar="P", help="design point (sweeps with several points)")
    p.add_argument("--events", action="store_true", help="also print the run's events")


def main(args: argparse.Namespace) -> int:
    """Replay the run; returns the exit code."""
    return guarded(NAME, lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    import pandas as pd

    from abm.runner.replay import replay_run

    replay = replay_run(args.dir, args.run, args.point)
    where = f"run {replay.run}" + (f" of point {replay.point}" if replay.point is not None else "")
    print(f"# {where}, seed {replay.seed}")
    for key, value in replay.record.items():
        print(f"{key}: {value}")
    if args.events:
        print(f"# events ({len(replay.events)})")
        if replay.events:
            print(pd.DataFrame(replay.events).to_string(index=False))
    for note in replay.notes:
        print(f"abm replay: note: {note}", file=sys.stderr)
    if replay.ok:
        checked = "record" + (" and events" if replay.events_compared else "")
        print(f"abm replay: {where} matches the stored row ({checked})", file=sys.stderr)
        return EXIT_OK
    print(f"abm replay: {where} does NOT match the stored row:", file=sys.stderr)
    for line in replay.mismatches:
        print(f"  {line}", file=sys.stderr)
    return EXIT_FAILED
