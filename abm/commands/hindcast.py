"""`abm hindcast [CONFIG] [--record FILE ...] [--dates weekly|daily|LIST]`: scored hindcast on an observed record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abm.commands._common import EXIT_OK, add_command, add_jobs, add_runs, add_seed, default_out, guarded, share, whole
from abm.defaults import HINDCAST_BOOTSTRAP as N_BOOT
from abm.defaults import HINDCAST_EPS as EPS

if TYPE_CHECKING:
    from abm.hindcast.record import Record

NAME = "hindcast"
DEFAULT_HINDCAST_RUNS = 200
DESCRIPTION = """\
Scored hindcast. For every forecast date the scenario gets the observed record up to that date
imposed (history, free choice from the next day), N runs are simulated forward with the same
seeds on every date (common random numbers), and the model's probabilities of six events in
the next 7 and 30 days are scored against what happened: Brier and log score with bootstrap
intervals over dates, and skill against climatology (generic ICB/MID base rates) and
persistence. The scenario's parameters are never changed; its hash is in the manifest.

Default records: configs/history/jan_mar_2020.yaml (3 Jan - 31 Mar 2020, weekly dates,
IN-SAMPLE: the defaults were chosen with this period in view) and configs/history/dec_2019.yaml
(the K-1 episode, 27 Dec - 2 Jan daily, held-out), each on the scenario its file names.
With CONFIG, the default records are those whose day 0 matches CONFIG's start_date.

Writes DIR/forecasts.csv, DIR/scores.csv, DIR/figures/ (reliability diagram, timelines; PNG
and SVG) and DIR/manifest.json."""
EPILOG = """\
examples:
  abm hindcast --runs 200 --jobs 2
  abm hindcast configs/baseline_jan2020.yaml --dates daily --runs 500
  abm hindcast --record configs/history/jan_mar_2020.yaml --dates 2020-01-03,2020-03-06 --runs 100"""


def register(subparsers: Any) -> None:
    """Add `hindcast` to the CLI's subparsers."""
    p = add_command(
        subparsers, NAME, "scored hindcast on an observed record (Brier, log score, skill)", DESCRIPTION, EPILOG, main
    )
    p.add_argument(
        "config",
        type=Path,
        nargs="?",
        metavar="CONFIG",
        help="scenario YAML for every record (default: the scenario each record file names)",
    )
    p.add_argument(
        "--record",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="record file (repeatable; default: the shipped records, see above)",
    )
    p.add_argument(
        "--dates",
        metavar="weekly|daily|LIST",
        help="forecast dates: weekly or daily over each record's forecast span, or comma-separated "
        "ISO dates (default: each record's own spacing)",
    )
    add_runs(p, "runs per forecast date", default=DEFAULT_HINDCAST_RUNS)
    add_seed(p, "master seed: run seeds and bootstrap")
    add_jobs(p)
    p.add_argument("--out", type=Path, metavar="DIR", help="output folder (default results/hindcast-<UTC timestamp>/)")
    p.add_argument(
        "--bootstrap",
        type=whole(100),
        default=N_BOOT,
        metavar="B",
        help=f"bootstrap resamples of forecast dates (default {N_BOOT})",
    )
    p.add_argument(
        "--clip",
        type=share,
        default=EPS,
        metavar="EPS",
        help=f"log score: probabilities clipped to [EPS, 1-EPS] (default {EPS})",
    )
    p.add_argument(
        "--base-rates",
        type=Path,
        metavar="FILE",
        help="base_rates.yaml to take the climatology shares from (default: the copy in abm.hindcast)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def main(args: argparse.Namespace) -> int:
    """Run the hindcast; returns the exit code."""
    return guarded(NAME, lambda: _main(args))


def _records(args: argparse.Namespace) -> list[Record]:
    from abm.config import ConfigError, load_config
    from abm.hindcast.record import DEFAULT_RECORDS, load_record

    if args.record:
        return [load_record(p) for p in args.record]
    records = [load_record(p) for p in DEFAULT_RECORDS]
    if args.config is None:
        return records
    start = load_config(args.config).start_date
    matching = [r for r in records if r.start_date == start]
    if not matching:
        raise ConfigError(f"{args.config}: no shipped record starts on {start}; give one with --record FILE")
    return matching


def _main(args: argparse.Namespace) -> int:
    from abm.config import ConfigError, load_config
    from abm.hindcast import baselines
    from abm.hindcast.run import Settings, format_scores, run_hindcast

    if not 0.0 < args.clip < 0.5:
        raise ConfigError(f"--clip: got {args.clip}; allowed: a number in (0, 0.5), e.g. 0.01")
    pairs = []
    for record in _records(args):
        source = args.config or record.scenario_path
        if source is None:
            raise ConfigError(f"record {record.name} names no scenario; give CONFIG")
        pairs.append((record, load_config(source)))
    rates = baselines.rates_from_file(args.base_rates) if args.base_rates else dict(baselines.BASE_RATES)
    settings = Settings(
        runs=args.runs,
        seed=args.seed,
        dates=args.dates,
        jobs=args.jobs,
        backend=args.backend,
        n_boot=args.bootstrap,
        eps=args.clip,
        rates=rates,
        progress=not args.quiet,
    )
    out = args.out or default_out("hindcast")
    names = ", ".join(f"{r.name} ({r.sample}) on {s.name}" for r, s in pairs)
    print(f"abm hindcast: {names}; {args.runs} runs per date, seed {args.seed} -> {out}", file=sys.stderr)
    command = " ".join(["abm", *sys.argv[1:]]) if sys.argv[1:2] == [NAME] else f"abm {NAME}"
    result = run_hindcast(pairs, settings, out, command=command)
    print(format_scores(result.scores))
    for rf in result.records:
        if rf.failures:
            print(
                f"abm hindcast: warning: {rf.failures} failed runs in {rf.record.name} (left out of p); "
                f"see the manifest",
                file=sys.stderr,
            )
    print(f"abm hindcast: forecasts, scores, figures and manifest in {out}", file=sys.stderr)
    return EXIT_OK
