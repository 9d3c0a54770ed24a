"""`abm report DIR [--format md,csv,latex,xlsx] [--by KEY ...]`: tables, figures and report.md for a results folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from abm.commands._common import EXIT_OK, add_command
from abm.defaults import DEFAULT_TABLE_FORMATS as DEFAULT_FORMATS
from abm.defaults import TABLE_FORMATS as FORMATS

NAME = "report"
DESCRIPTION = f"""\
Write DIR/report/: outcome probabilities with 95% Wilson intervals and run-metric means per
point (or per --by keys, marginal over the other parameters) as tables ({", ".join(FORMATS)}),
figures as PNG and SVG, and report.md linking them. Figures: outcome probabilities per lever
or parameter value with error bars; time-to-outcome curves; time curves with 95% bands
(P(spiral by day t), P(deal by day t), P(state track quiet at day t)); escalation-ladder trajectories
(when DIR/events/ exists, i.e. the runs were made with --events); a forest plot of lever
effects when DIR/comparison.csv exists (abm compare); Sobol/Morris bars when
DIR/sensitivity.csv exists (abm sensitivity). xlsx needs the optional extra abm[xlsx].
Every part file is checked against the folder's manifest (sha256, row count) as it is read;
a stray, missing or damaged part refuses the folder (exit 2, naming the files). A folder
that is not finished is reported from its finished chunks, with a note."""
EPILOG = """\
examples:
  abm report results/baseline_jan2020-20240101T000000Z
  abm report results/sweep --format md,csv,latex --by us.doctrine"""


def _formats(text: str) -> list[str]:
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in FORMATS]
    if not items or bad:
        raise argparse.ArgumentTypeError(f"got {text!r}; allowed: comma-separated {', '.join(FORMATS)}")
    return items


def _figure_formats(text: str) -> list[str]:
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not items or any(t not in ("png", "svg") for t in items):
        raise argparse.ArgumentTypeError(f"got {text!r}; allowed: comma-separated png, svg")
    return items


def register(subparsers: Any) -> None:
    """Add `report` to the CLI's subparsers."""
    p = add_command(
        subparsers,
        NAME,
        "tables (md, csv, latex, xlsx), figures and report.md for a results folder",
        DESCRIPTION,
        EPILOG,
        main,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="results folder (abm run, sweep, compare or sensitivity)")
    p.add_argument(
        "--format",
        dest="formats",
        type=_formats,
        default=list(DEFAULT_FORMATS),
        metavar="LIST",
        help=f"table formats, comma-separated from {', '.join(FORMATS)} (default {','.join(DEFAULT_FORMATS)})",
    )
    p.add_argument(
        "--figure-format",
        dest="figure_formats",
        type=_figure_formats,
        default=["png", "svg"],
        metavar="LIST",
        help="figure files, comma-separated from png, svg (default png,svg)",
    )
    p.add_argument(
        "--by",
        nargs="+",
        default=[],
        metavar="KEY",
        help="group tables and figures by these parameters (marginal over the others)",
    )


def main(args: argparse.Namespace) -> int:
    """Build the report; returns the exit code."""
    from abm.analysis.report import build_report

    report = build_report(args.dir, args.formats, args.by, args.figure_formats)
    for note in report.notes:
        print(f"abm report: note: {note}", file=sys.stderr)
    n_tables = sum(len(v) for v in report.tables.values())
    print(
        f"abm report: {n_tables} table files and {len(report.figures)} figure files; open {report.path}",
        file=sys.stderr,
    )
    print(report.path)
    return EXIT_OK
