"""Shared argument types and the error-to-exit-code wrapper of the analysis commands.

The commands are a thin layer over `abm.analysis` (layers point left: nothing here is
imported by the analysis code). They keep the exit codes of `abm.cli`: 0 done, 1 failed share
of runs above the limit, 2 bad input (nothing run), 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from abm.analysis.errors import AnalysisError
from abm.config import ConfigError, parse_assignment
from abm.runner import BACKENDS, RunnerError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
RESULTS_ROOT = Path("results")
USER_ERRORS = (ConfigError, RunnerError, AnalysisError)


def whole(minimum: int) -> Callable[[str], int]:
    """argparse type: an integer >= minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def share(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value


def add_execution(p: argparse.ArgumentParser) -> None:
    """Options of commands that run the model: --jobs, --backend, --set, --quiet, --max-failure-share."""
    p.add_argument("--jobs", "-j", type=whole(1), metavar="J", help="worker processes (default: all cores)")
    p.add_argument("--backend", choices=BACKENDS, default="loky", help="execution backend (default: loky)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value for every arm/point, e.g. horizon_days=90 (repeatable)",
    )
    p.add_argument(
        "--max-failure-share",
        type=share,
        metavar="F",
        help="exit 1 when more than this share of runs fail (default 0.05)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")


def overrides(items: Sequence[str]) -> dict[str, Any]:
    return dict(parse_assignment(item) for item in items)


def default_out(name: str) -> Path:
    """results/<name>-<UTC timestamp>[-n]/, never an existing folder."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_ROOT / f"{name}-{stamp}"
    n = 2
    while out.exists():
        out, n = RESULTS_ROOT / f"{name}-{stamp}-{n}", n + 1
    return out


def error(command: str, message: object) -> None:
    print(f"abm {command}: error: {message}", file=sys.stderr)


def guarded(command: str, body: Callable[[], int]) -> int:
    """Run a command body; user errors print one line (no traceback) and give exit 2."""
    try:
        return body()
    except USER_ERRORS as exc:
        error(command, exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"abm {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run_status(
    command: str, status: str, runs_done: int, failures: int, first_error: str | None, out: Path | None
) -> int:
    """Exit code and message for the runner's status (complete, failed, stopped, interrupted)."""
    share_failed = failures / runs_done if runs_done else 0.0
    first = f"\nfirst error: {first_error}" if first_error else ""
    if status == "complete":
        if failures:
            print(
                f"abm {command}: warning: {failures} of {runs_done} runs failed ({share_failed:.1%}); "
                f"failed runs are left out of the tests{first}",
                file=sys.stderr,
            )
        return EXIT_OK
    if status == "interrupted":
        where = f" in {out}; run the same command with --out {out} to resume" if out else ""
        print(f"abm {command}: interrupted after {runs_done} runs{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(
        f"abm {command}: {failures} of {runs_done} runs failed ({share_failed:.1%}), above the failure limit{first}",
        file=sys.stderr,
    )
    return EXIT_FAILED
