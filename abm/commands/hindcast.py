"""`abm hindcast [CONFIG] [--timeline FILE ...] [--dates weekly|daily|LIST]`: scored hindcast on observed timelines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abm.commands._common import (
    EXIT_OK,
    add_command,
    add_jobs,
    add_runs,
    add_seed,
    check_total,
    default_out,
    share,
    whole,
)
from abm.defaults import HINDCAST_BOOTSTRAP as N_BOOT
from abm.defaults import HINDCAST_EPS as EPS

if TYPE_CHECKING:
    from abm.config import Scenario
    from abm.hindcast.record import Record

NAME = "hindcast"
DEFAULT_HINDCAST_RUNS = 200
DESCRIPTION = """\
Scored hindcast on observed timelines. For every forecast date the scenario gets the observed
timeline up to that date imposed (history, free choice from the next day), N runs are
simulated forward with the same seeds on every date (common random numbers), and the model's
probabilities are scored against what happened: Brier and log score with bootstrap intervals
over dates, skill against climatology (generic ICB/MID base rates) and persistence, and a
reliability diagram. The scenario's parameters are never changed; its hash is in the manifest.

A timeline (record file, YAML) names its two parties, AUTHOR (whose act, or whose proxy's,
opened the crisis) and STRUCK, and the questions are about their roles:
  answer         STRUCK strikes AUTHOR directly (rung 6+)               7, 30 days
  counter        AUTHOR strikes STRUCK again: the answer to the answer  7, 30 days
  proxy_kills    a militia attack kills forces of either party          7, 30 days
  strikes_proxy  either party strikes a militia                         7, 30 days
  deal           a deal is signed                                       7, 30 days
  war            the spiral rule is met (rung 9 or 1,000 battle deaths) 30, 90 days
(2020 names: iran_strikes_us, us_strikes_iran, militia_kills_us, us_strikes_militia.)

Timelines: --timeline FILE (repeatable; --record is the older spelling), each on the scenario
its file names, or on CONFIG. Without --timeline: every record file in configs/history/; with
CONFIG, those whose `scenario` is CONFIG's file, else those whose day 0 is CONFIG's
start_date. Each timeline has a sample: in-sample (the defaults were chosen with it in view),
held-out (a period of the same crisis kept out of that choice) or out-of-sample (a crisis the
model was not built on). Scores are per timeline and per sample; samples are never pooled.

Writes DIR/forecasts.csv, DIR/scores.csv, DIR/figures/ (reliability diagram with a panel per
sample, a timeline per record; PNG and SVG) and DIR/manifest.json."""
EPILOG = """\
examples:
  abm hindcast --runs 200 --jobs 2                     # every shipped timeline
  abm hindcast configs/baseline_jan2020.yaml --dates daily --runs 500
  abm hindcast --timeline configs/history/jan_mar_2020.yaml --dates 2020-01-03,2020-03-06 --runs 100
  abm hindcast --timeline configs/history/israel_iran_2024_04.yaml --runs 200"""


def register(subparsers: Any) -> None:
    """Add `hindcast` to the CLI's subparsers."""
    p = add_command(
        subparsers, NAME, "scored hindcast on observed timelines (Brier, log score, skill)", DESCRIPTION, EPILOG, main
    )
    p.add_argument(
        "config",
        type=Path,
        nargs="?",
        metavar="CONFIG",
        help="scenario YAML for every timeline (default: the scenario each timeline file names)",
    )
    p.add_argument(
        "--timeline",
        "--record",
        dest="timeline",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="timeline (record file, YAML; repeatable; --record is the older spelling; "
        "default: the shipped timelines, see above)",
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


def _records(args: argparse.Namespace, config: Scenario | None) -> list[Record]:
    from abm.config import ConfigError
    from abm.hindcast.record import RECORDS_DIR, load_record, matching_records, shipped_records

    if args.timeline:
        return [load_record(p) for p in args.timeline]
    paths = shipped_records()
    if not paths:
        raise ConfigError(f"no record file (*.yaml) in {RECORDS_DIR}; give one with --timeline FILE")
    records = [load_record(p) for p in paths]
    if args.config is None or config is None:
        return records
    matching, _ = matching_records(records, args.config, config.start_date)
    if not matching:
        raise ConfigError(
            f"{args.config}: no record file in {RECORDS_DIR} names it as its scenario or starts on its "
            f"start_date {config.start_date} (looked at {', '.join(p.name for p in paths)}); "
            "give one with --timeline FILE"
        )
    return matching


def main(args: argparse.Namespace) -> int:
    """Run the hindcast; returns the exit code."""
    from abm.config import ConfigError, load_config
    from abm.config.loader import check_value_text
    from abm.hindcast import baselines
    from abm.hindcast.record import forecast_dates
    from abm.hindcast.run import Settings, format_scores, run_hindcast

    if not 0.0 < args.clip < 0.5:
        raise ConfigError(f"--clip: got {args.clip}; allowed: a number in (0, 0.5), e.g. 0.01")
    if args.dates is not None:  # as every command-line value: bounded before it is parsed (or quoted)
        check_value_text(args.dates, "--dates")
    config = load_config(args.config) if args.config is not None else None
    pairs = []
    for record in _records(args, config):
        if config is not None:
            pairs.append((record, config))
        elif record.scenario_path is None:
            raise ConfigError(f"timeline {record.name} ({record.path}) names no scenario; give CONFIG")
        else:
            pairs.append((record, load_config(record.scenario_path)))
    # --runs is bounded per date; the dates of every timeline together are bounded here, before any run.
    dates = sum(len(forecast_dates(record, args.dates)) for record, _ in pairs)
    check_total(dates, args.runs, "forecast date", "runs per date")
    rates = baselines.rates_from_file(args.base_rates) if args.base_rates else dict(baselines.BASE_RATES)
    settings = Settings(
        runs=args.runs,
        seed=args.seed,
        dates=args.dates,
        jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
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
