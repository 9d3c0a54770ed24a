"""`abm replay DIR --run K [--point P] [--events] [--story] [--plot [FILE]]`: re-simulate one stored
run, check it against its row, and optionally tell it as a dated story or draw its ladder timeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abm.commands._common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_command, error, whole

if TYPE_CHECKING:
    import pandas as pd

    from abm.runner.replay import Replay

NAME = "replay"
PLOT_DIR = "replay"  # --plot without FILE writes into DIR/replay/ (the reader checks only runs/ and events/)
PLOT_SUFFIXES = ("", ".png", ".svg")  # --plot FILE: a stem or a PNG/SVG name; both formats are written
DESCRIPTION = """\
Re-simulate run K (of design point P for a sweep) of a results folder from what its manifest
records (resolved config, the point's values, master seed, seed rule) and print its record
(and its events with --events). The replayed record must equal the stored row in DIR/runs/
exactly, every model column, the seed and the point's values, and its events when the folder
stored them. Exit 0 when it does, 1 when it does not (the differences go to stderr), 2 when
the run cannot be replayed (no such folder, point or run) or the options do not fit.

--story tells the replayed run in plain words, one dated line per day with acts (dates from
the scenario's start_date, names from its labels or its ids), then its outcome and day.
--plot draws the run's ladder timeline (acts by day and rung, coloured by side, a state's
proxies a lighter shade of it; warned strikes ringed, deaths as size and n†, the outcome as a
line) as PNG and SVG: into DIR/replay/run-K[-point-P].png/.svg, or at FILE (.png, .svg or a
stem; both formats are written). Both work whether or not the folder stored events."""
EPILOG = """\
examples:
  abm replay results/baseline_jan2020-20240101T000000Z --run 17
  abm replay results/sweep --run 3 --point 5 --events
  abm replay results/baseline_jan2020-20240101T000000Z --run 17 --story
  abm replay results/baseline_jan2020-20240101T000000Z --run 17 --plot          # DIR/replay/run-17.png, .svg
  abm replay results/baseline_jan2020-20240101T000000Z --run 17 --plot fig/run17.png"""


def register(subparsers: Any) -> None:
    """Add `replay` to the CLI's subparsers."""
    p = add_command(
        subparsers, NAME, "re-simulate one stored run and check that it gives the stored row", DESCRIPTION, EPILOG, main
    )
    p.add_argument("dir", metavar="DIR", help="results folder (abm run, sweep, compare or sensitivity)")
    p.add_argument("--run", "-r", type=whole(0), required=True, metavar="K", help="run index")
    p.add_argument("--point", "-p", type=whole(0), metavar="P", help="design point (sweeps with several points)")
    p.add_argument("--events", action="store_true", help="also print the run's events")
    p.add_argument("--story", action="store_true", help="also print the run as a dated story, one line per day")
    p.add_argument(
        "--plot",
        nargs="?",
        const=True,
        default=None,
        type=Path,
        metavar="FILE",
        help=f"draw the run's ladder timeline as PNG and SVG (default: DIR/{PLOT_DIR}/run-K[-point-P].png)",
    )


def _plot_stem(args: argparse.Namespace) -> Path | None:
    """Where --plot writes (a stem: .png and .svg are added), or None without --plot."""
    if args.plot is None:
        return None
    if args.plot is True:
        name = f"run-{args.run}" + (f"-point-{args.point}" if args.point is not None else "")
        return Path(args.dir) / PLOT_DIR / name
    return args.plot.with_suffix("") if args.plot.suffix.lower() in PLOT_SUFFIXES else args.plot


def main(args: argparse.Namespace) -> int:
    """Replay the run; returns the exit code."""
    stem = _plot_stem(args)
    if stem is not None and (stem.suffix.lower() not in PLOT_SUFFIXES or stem.is_dir()):
        error(NAME, f"--plot {args.plot}: give a file name ending in .png or .svg (or a stem), not a folder")
        return EXIT_USAGE
    import pandas as pd

    from abm.runner.replay import replay_run

    replay = replay_run(args.dir, args.run, args.point)
    where = f"run {replay.run}" + (f" of point {replay.point}" if replay.point is not None else "")
    print(f"# {where}, seed {replay.seed}")
    for key, value in replay.record.items():
        print(f"{key}: {value}")
    events = pd.DataFrame(replay.events)
    if args.events:
        print(f"# events ({len(replay.events)})")
        if replay.events:
            print(events.to_string(index=False))
    if args.story or stem is not None:
        _tell(args, replay, events, where, stem)
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


def _tell(args: argparse.Namespace, replay: Replay, events: pd.DataFrame, where: str, stem: Path | None) -> None:
    """--story (printed) and --plot (written) for the replayed run."""
    scenario = replay.scenario
    assert scenario is not None  # replay_run always sets it
    if args.story:
        from abm.analysis.story import story_lines

        print(f"# story of {where} of {scenario.name}")
        for line in story_lines(events, scenario, replay.record):
            print(line)
    if stem is not None:
        from abm.analysis.ladder_plot import write_ladder_timeline

        title = f"{scenario.name}: {where} (seed {replay.seed})"
        paths = write_ladder_timeline(events, scenario, replay.record, stem, title)
        print(f"abm replay: ladder timeline written to {', '.join(map(str, paths))}", file=sys.stderr)
