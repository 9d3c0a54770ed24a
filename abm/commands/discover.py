"""`abm discover DIR [--outcome spiral] [--threshold 0.5]`: PRIM boxes and CART leaves on a sweep folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from abm.commands._common import EXIT_OK, add_command, share, whole
from abm.defaults import PRIM_MASS_MIN as MASS_MIN
from abm.defaults import PRIM_MIN_COVERAGE as MIN_COVERAGE
from abm.defaults import PRIM_PEEL as ALPHA
from abm.model.outcomes import OUTCOMES

NAME = "discover"
CART_DEPTH = 3  # as abm.analysis.discovery.CART_DEPTH (not imported: it loads pandas); a test checks they agree
MAX_CART_DEPTH = 12  # 4096 leaves: far past readable already
DESCRIPTION = """\
Scenario discovery on a sweep folder (abm sweep, compare or sensitivity output: runs/ with a
point column): which parameter ranges make an outcome likely? A design point is a case of
interest when the share of its runs with OUTCOME is at least THRESHOLD. PRIM (Friedman &
Fisher 1999) peels the parameter space to a box where cases of interest are dense, and reports
its ranges with coverage (share of all cases inside), density (share of points inside that are
cases) and mass (share of points inside). A classification tree (CART) is fitted to the same
points; each of its leaves is reported as a box with the same statistics, and its rules are
printed. Writes DIR/discovery.csv (PRIM boxes), DIR/discovery_trajectory.csv,
DIR/discovery_cart.csv (CART leaves), DIR/figures/discovery_tradeoff_boxK and
discovery_limits_boxK (PNG and SVG: the peeling trade-off and the chosen box's limits) and
DIR/discovery.md, and prints the Markdown. Part files are checked against the folder's
manifest as they are read; a stray, missing or damaged part refuses the folder (exit 2)."""
EPILOG = """\
example:
  abm sweep experiments/uncertainty_lhs.yaml --out results/lhs
  abm discover results/lhs --outcome spiral --threshold 0.2"""


def register(subparsers: Any) -> None:
    """Add `discover` to the CLI's subparsers."""
    p = add_command(
        subparsers,
        NAME,
        "PRIM and CART scenario discovery: parameter ranges where an outcome is likely",
        DESCRIPTION,
        EPILOG,
        main,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="results folder of a sweep (runs/ with points)")
    p.add_argument("--outcome", choices=OUTCOMES, default="spiral", help="outcome of interest (default spiral)")
    p.add_argument(
        "--threshold",
        type=share,
        default=0.5,
        metavar="T",
        help="a point is a case of interest when P(outcome) >= T (default 0.5)",
    )
    p.add_argument("--boxes", type=whole(1), default=1, metavar="K", help="find up to K boxes by covering (default 1)")
    p.add_argument(
        "--min-coverage",
        type=share,
        default=MIN_COVERAGE,
        metavar="C",
        help=f"choose the densest box with coverage >= C (default {MIN_COVERAGE})",
    )
    p.add_argument(
        "--peel", type=share, default=ALPHA, metavar="A", help=f"share of points peeled per step (default {ALPHA})"
    )
    p.add_argument(
        "--mass-min",
        type=share,
        default=MASS_MIN,
        metavar="M",
        help=f"smallest box, as a share of points (default {MASS_MIN})",
    )
    p.add_argument(
        "--cart-depth",
        type=whole(1, MAX_CART_DEPTH),
        default=CART_DEPTH,
        metavar="D",
        help=f"deepest CART tree: at most 2^D leaves (default {CART_DEPTH})",
    )
    p.add_argument(
        "--cart-min-leaf",
        type=share,
        default=MASS_MIN,
        metavar="M",
        help=f"smallest CART leaf, as a share of points (at least one point; default {MASS_MIN})",
    )


def main(args: argparse.Namespace) -> int:
    """Run PRIM on the folder; returns the exit code."""
    from abm.analysis.discovery import MARKDOWN_FILE, discover, write_discovery

    result = discover(
        args.dir,
        args.outcome,
        args.threshold,
        args.boxes,
        alpha=args.peel,
        mass_min=args.mass_min,
        min_coverage=args.min_coverage,
        cart_depth=args.cart_depth,
        cart_min_leaf=args.cart_min_leaf,
    )
    for note in result.notes:
        print(f"abm discover: note: {note}", file=sys.stderr)
    written = write_discovery(args.dir, result)
    print((args.dir / MARKDOWN_FILE).read_text(encoding="utf-8"), end="")
    print(f"abm discover: wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return EXIT_OK
