"""What every command shares: exit codes, argument types, option groups, the error-to-exit wrapper.

The commands are a thin layer over `abm.analysis` (layers point left: nothing here is
imported by the analysis code). They keep the exit codes of `abm.cli`: 0 done, 1 failed share
of runs above the limit, 2 bad input (nothing run), 130 interrupted.

Import-light on purpose: the parser of every command is built from this module and
`abm.defaults` alone, so `abm --help` or `abm run --help` loads no numpy, pandas or scipy. A
command imports what it runs on inside its handler.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abm.defaults import (
    ALPHA,
    BACKENDS,
    CORRECTIONS,
    DEFAULT_MAX_FAILURE_SHARE,
    DEFAULT_RETRIES,
    DEFAULT_RUNS,
    DEFAULT_SEED,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXTEND_HELP = (
    "add runs (a larger --runs) or design points (appended) to the finished or interrupted folder --out DIR: "
    "its runs are kept, the rest run with the seeds a fresh run of the larger experiment would give; any other "
    "change (config, --set, seed, events, a point's values) is refused"
)
RESULTS_ROOT = Path("results")
# Upper bounds, generous on purpose (docs/RELIABILITY.md, "Upper bounds"): at ~1 ms a run, 10
# million runs is hours on a laptop and the largest study here is far below it; above it a
# number is a typo (an extra 000) that would otherwise plan work for days or exhaust memory.
MAX_RUNS = 10_000_000  # --runs, --max-runs, --runs-per-point, and points x runs of one command
MAX_POINTS = 250_000  # --points, --samples: as abm.runner.designs.MAX_POINTS (not imported: it is heavy)


def user_errors() -> tuple[type[Exception], ...]:
    """The errors that mean bad input (config, experiment, analysis): one line, exit 2.

    A function, so that their modules are imported only when an error is being handled."""
    from abm.analysis.errors import AnalysisError
    from abm.config import ConfigError
    from abm.runner.errors import RunnerError

    return (ConfigError, RunnerError, AnalysisError)


def whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer >= minimum (and <= maximum). argparse's message names the flag."""

    allowed = f">= {minimum}" if maximum is None else f"{minimum:,} to {maximum:,}"

    def parse(text: str) -> int:
        if len(text) > 40:  # int() of a 5,000-digit number raises; no count here needs 40 digits
            raise argparse.ArgumentTypeError(f"got a number of {len(text):,} characters; allowed: {allowed}")
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"got {value:,}; allowed: {allowed}")
        return value

    return parse


def check_total(points: int, runs: int, noun: str = "point", what: str = "runs per point") -> None:
    """Refuse a command that would plan more than MAX_RUNS runs (points x runs), before planning them."""
    check_planned(points * runs, f"{points:,} {noun}{'' if points == 1 else 's'} x {runs:,} {what}")


def check_planned(total: int, how: str) -> None:
    """Refuse a command whose runs in all (`how` says how they add up) exceed MAX_RUNS, before any runs."""
    from abm.config import ConfigError

    if total > MAX_RUNS:
        raise ConfigError(
            f"{how} = {total:,} runs; allowed: at most {MAX_RUNS:,} runs per command (fewer points or runs, "
            "or split the study into several commands)"
        )


def available_cores() -> int:
    """Cores this process may use (the affinity mask where the system has one)."""
    import os

    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def warn_jobs(command: str, jobs: int | None) -> None:
    """One line on stderr when --jobs asks for more workers than there are cores (allowed: it only runs slower)."""
    cores = available_cores()
    if jobs is not None and jobs > cores:
        print(
            f"abm {command}: warning: --jobs {jobs} is above the {cores} cores available; the workers will share "
            "them (slower, more memory)",
            file=sys.stderr,
        )


def _number(text: str, what: str = "a number") -> float:
    try:
        return float(text)
    except ValueError:
        shown = repr(text) if len(text) <= 40 else f"{text[:30]!r}... ({len(text):,} characters)"
        raise argparse.ArgumentTypeError(f"expected {what}, got {shown}") from None


def share(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value


def seconds(text: str) -> float:
    """argparse type: a number of seconds > 0."""
    value = _number(text, "a number of seconds")
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text}")
    return value


def half_width(text: str) -> float:
    """argparse type: a confidence-interval half-width in (0, 0.5)."""
    value = share(text)
    if not 0.0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"must be in (0, 0.5), e.g. 0.01, got {value}")
    return value


def add_command(
    subparsers: Any, name: str, help: str, description: str, epilog: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """A command's subparser: its help line, its description and examples shown as written, its handler."""
    p = subparsers.add_parser(
        name, help=help, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.set_defaults(handler=handler)
    return p


def add_runs(p: argparse.ArgumentParser, help: str, *, default: int | None = DEFAULT_RUNS, minimum: int = 1) -> None:
    """--runs/-n N. `help` says what N counts; " (default N)" is added to it unless `default` is
    None, when `help` itself says what happens without the option."""
    text = help if default is None else f"{help} (default {default})"
    p.add_argument("--runs", "-n", type=whole(minimum, MAX_RUNS), default=default, metavar="N", help=text)


def add_seed(p: argparse.ArgumentParser, help: str = "master seed", *, default: int | None = DEFAULT_SEED) -> None:
    """--seed/-s S, the master seed; " (default S)" is added to `help` as by `add_runs`."""
    text = help if default is None else f"{help} (default {default})"
    p.add_argument("--seed", "-s", type=whole(0), default=default, metavar="S", help=text)


def add_jobs(p: argparse.ArgumentParser) -> None:
    """--jobs/-j J, --backend and --scheduler: how many worker processes run the model, and on what.

    Every command that runs simulations has the three (`abm.cli.main` refuses --scheduler
    without --backend dask, exit 2)."""
    p.add_argument("--jobs", "-j", type=whole(1), metavar="J", help="worker processes (default: all cores)")
    p.add_argument("--backend", choices=BACKENDS, default="loky", help="execution backend (default: loky)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="dask scheduler to connect to, e.g. tcp://host:8786 (needs --backend dask, which without it starts "
        "a local cluster of --jobs workers)",
    )


def add_tests_and_out(p: argparse.ArgumentParser, folder: str, correction_help: str) -> None:
    """`--correction`, `--alpha` and a resumable `--out` folder: the options of every paired-test command."""
    p.add_argument("--correction", choices=CORRECTIONS, default="holm", help=correction_help)
    p.add_argument("--alpha", type=share, default=ALPHA, metavar="A", help=f"1 - confidence level (default {ALPHA})")
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"results folder (default results/{folder}-<UTC timestamp>/); the same command on the same folder resumes",
    )


def add_execution(p: argparse.ArgumentParser, *, runner: bool = False) -> None:
    """Options of the commands that run experiments: --jobs, --backend, --scheduler, --set,
    --max-failure-share, --quiet.

    `runner=True` (`abm run`, `abm sweep`, which drive the runner directly) adds, in their places
    in the help, --out (a folder that is resumed), --resume, --events, sequential
    stopping (--target-ci, --max-runs) and the fault-tolerance options (--chunk-size,
    --run-timeout, --retries, --retry-failed, --allow-version-mix). The other commands give
    their own --out and --events."""
    if runner:
        p.add_argument(
            "--out",
            type=Path,
            metavar="DIR",
            help="results folder (default: results/<name>-<UTC timestamp>/); an existing folder of the "
            "same experiment is resumed",
        )
    add_jobs(p)
    if runner:
        p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out DIR")
    p.add_argument(
        "--set",
        dest="overrides",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value by dotted key for every run, e.g. us.doctrine=massive (repeatable)",
    )
    if runner:
        p.add_argument("--events", action="store_true", default=None, help="also store one row per event (DIR/events/)")
    p.add_argument(
        "--max-failure-share",
        type=share,
        metavar="F",
        help=f"exit 1 when more than this share of runs fail (default {DEFAULT_MAX_FAILURE_SHARE})",
    )
    if runner:
        _add_runner_options(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")


def _add_runner_options(p: argparse.ArgumentParser) -> None:
    """Sequential stopping and fault tolerance (`abm run`, `abm sweep`)."""
    p.add_argument(
        "--target-ci",
        type=half_width,
        metavar="W",
        help="sequential stopping: add batches of runs until every outcome's 95%% Wilson half-width <= W",
    )
    p.add_argument(
        "--max-runs",
        type=whole(1, MAX_RUNS),
        metavar="M",
        help="cap on runs per point with --target-ci (default 10 x --runs)",
    )
    p.add_argument("--chunk-size", type=whole(1), metavar="C", help="runs per work chunk (default: automatic)")
    p.add_argument(
        "--run-timeout",
        type=seconds,
        metavar="SECONDS",
        help="stop a run that takes longer and record it as failed ('timeout after S s'); default: no limit",
    )
    p.add_argument(
        "--retries",
        type=whole(0),
        default=DEFAULT_RETRIES,
        metavar="R",
        help=f"re-runs of a chunk whose worker process died before its runs are recorded as failed "
        f"(default {DEFAULT_RETRIES})",
    )
    p.add_argument("--retry-failed", action="store_true", help="with --resume: recompute chunks that had failed runs")
    p.add_argument(
        "--allow-version-mix",
        action="store_true",
        help="resume a folder written by another abm version or model code (the manifest records both)",
    )


def running(args: argparse.Namespace, out: Path | None) -> dict[str, Any]:
    """The keywords every analysis that runs simulations takes from the options of `add_execution`
    (where the runs go, on what and how many workers, progress, the failure limit): one place, so
    a new execution option reaches every command."""
    return {
        "out_dir": out,
        "jobs": args.jobs,
        "backend": args.backend,
        "scheduler": args.scheduler,
        "progress": not args.quiet,
        "max_failure_share": args.max_failure_share,
    }


def overrides(items: Sequence[str]) -> dict[str, Any]:
    """--set KEY=VALUE items as a dict of dotted keys to values (a key given twice is an error)."""
    from abm.config import parse_assignments

    return parse_assignments(items)


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


def shown_path(name: object, limit: int = 200) -> str:
    """A path as an error message quotes it: cut short (a 60,000-character name was once echoed whole)."""
    text = str(name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Ran:
    """How a command's runs went, whichever runner or analysis ran them: what `exit_status` reports."""

    status: str  # complete, failed, stopped, interrupted (abm.runner's statuses)
    runs_done: int
    failures: int
    first_error: str | None
    limit: float  # the --max-failure-share in force
    stop_reason: str | None = None  # why a run stopped early, when not its failed share

    @classmethod
    def of(cls, result: Any, args: argparse.Namespace) -> Ran:
        """From an analysis result (status, runs_done, failures, first_error) and the command's options."""
        limit = getattr(args, "max_failure_share", None)
        return cls(
            result.status,
            result.runs_done,
            result.failures,
            result.first_error,
            DEFAULT_MAX_FAILURE_SHARE if limit is None else limit,
            getattr(result, "stop_reason", None),
        )


def exit_status(args: argparse.Namespace, ran: Ran, out: Path | None) -> int:
    """The one reporter of how runs went, for every command that runs simulations: a line on
    stderr when there is something to say (failed runs, a stop, an interruption, with the
    command that resumes), and the exit code (0 complete, 1 failed or stopped, 130 interrupted)."""
    command = args.command
    failed = (
        f"{ran.failures} of {ran.runs_done} runs failed ({ran.failures / ran.runs_done if ran.runs_done else 0:.1%})"
    )
    first = f"\nfirst error: {ran.first_error}" if ran.first_error else ""
    where = f" (the 'error' column of {out / 'runs'})" if out is not None else ""
    if ran.status == "complete":
        if ran.failures:
            print(f"abm {command}: warning: {failed}{where}; they are left out of the tables{first}", file=sys.stderr)
        return EXIT_OK
    if ran.status == "failed":
        print(f"abm {command}: {failed}, above --max-failure-share {ran.limit:g}{first}", file=sys.stderr)
        return EXIT_FAILED
    again = resume_command(args, out)
    if ran.status == "stopped":
        why = f"{failed}, above --max-failure-share {ran.limit:g}{first}"
        if ran.stop_reason and "max_failure_share" not in ran.stop_reason:
            why = ran.stop_reason
        retry = (
            ""
            if "--retry-failed" in again or not ran.failures or not hasattr(args, "retry_failed")
            else (" (add --retry-failed to redo failed runs)")
        )
        then = f"finished chunks are kept; fix the cause, then resume with:\n  {again}{retry}"
        print(f"abm {command}: stopped: {why}\n{then}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"abm {command}: interrupted after {ran.runs_done} runs; finished chunks are kept. Resume with:\n  {again}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def resume_command(args: argparse.Namespace, out: Path | None) -> str:
    """The command line that resumes this one: the same arguments, --out the folder, and --resume
    for the commands that have it (the others resume by being run again on the same folder)."""
    argv = list(sys.argv[1:]) if sys.argv[1:2] == [args.command] else [args.command, "..."]
    if getattr(args, "out", None) is None and out is not None:
        argv += ["--out", str(out)]
    if hasattr(args, "resume") and not args.resume and not getattr(args, "extend", False):  # --extend resumes too
        argv.append("--resume")
    return shlex.join(["abm", *argv])
