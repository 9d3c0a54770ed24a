"""Command line: builds the parser, dispatches to `abm/commands/<name>.py`, maps errors to exit codes once.

A thin layer over `abm.runner` and `abm.analysis` (no logic the API lacks). Every command,
`run` and `sweep` included, lives in its own module of `abm.commands` (`register` and `main`).

    abm run CONFIG [--runs N] [--seed S] [--jobs J] [--out DIR] [--set KEY=VALUE ...] [--events]
                   [--backend serial|loky|dask] [--resume | --extend]
    abm sweep EXPERIMENT.yaml [--out DIR] [--jobs J] [--backend ...] [--scheduler ADDRESS] [--resume | --extend]
    abm sweep CONFIG --grid KEY=V1,V2,... [--grid ...] | --lhs KEY=LO:HI ... --points P  --runs N --seed S
    abm replay DIR --run K [--point P] [--events]
    abm compact DIR

`--resume` continues the same experiment (same hash). `--extend` grows a folder: more runs per
point (--runs), more design points appended (a grid value added at the end of the first key's
list, more points in an experiment file); runs already there are kept, and the folder then
holds what a fresh run of the larger experiment would. Anything else is refused (exit 2). The
same command on a finished folder prints "already complete" and writes nothing.

Exit codes, the same for every command: 0 done; 1 the work ran but did not succeed (failed
share of runs above --max-failure-share, results could not be written mid-way, a replayed run
that does not match its stored row); 2 bad input, nothing run (config, experiment, options,
paths, an output folder that is locked, foreign, of another model version or not writable);
130 interrupted (resumable: the message says how). Messages go to stderr, results to stdout
and files. See docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from typing import Any

import abm
from abm.commands._common import EXIT_INTERRUPTED, EXIT_USAGE, error, shown_path, user_errors, warn_jobs

# The parser is built from the light modules above and `register` of each command; what a
# command runs on (the runner, pandas, the analyses) is imported in its handler, so `import
# abm.cli` and `abm run --help` stay fast (tests/cli/test_cli_imports.py).


def _unreadable() -> tuple[type[Exception], ...]:
    """Errors that mean an input file is damaged, whichever command reads it: exit 2 with one line."""
    import pandas as pd
    import pyarrow as pa

    return (pa.ArrowException, pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError)


def build_parser() -> argparse.ArgumentParser:
    """The `abm` parser: one subparser per module of `abm.commands.COMMANDS`, and the global options."""
    from abm.commands import COMMANDS

    parser = argparse.ArgumentParser(prog="abm", description=abm.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"abm {abm.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    # Global, accepted before or after the command (`abm --allow-outside-paths run ...`, `abm run ... --allow-...`).
    for each in (parser, *sub.choices.values()):
        each.add_argument(
            "--allow-outside-paths",
            action="store_true",
            default=argparse.SUPPRESS,
            help="let configs name paths (extends:, config:, scenario:, linked:) outside the working directory's "
            "tree and their own tree (docs/RELIABILITY.md, 'Path safety'); also ABM_ALLOW_OUTSIDE_PATHS=1",
        )
    return parser


def _misfit(args: argparse.Namespace) -> str | None:
    """Options that do not fit together, checked for every command before anything runs."""
    if getattr(args, "scheduler", None) and getattr(args, "backend", None) != "dask":
        return f"--scheduler needs --backend dask (got --backend {getattr(args, 'backend', None)})"
    if getattr(args, "resume", False) and getattr(args, "out", None) is None:
        return "--resume needs --out DIR (the folder of the run to continue)"
    if getattr(args, "extend", False) and getattr(args, "out", None) is None:
        return "--extend needs --out DIR (the folder to add runs or points to)"
    return None


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `abm` console script; returns the exit code.

    The one place errors become exit codes: bad input (config, experiment, analysis, runner
    refusals), a path that cannot be read or written and a damaged file give one line and exit
    2; Ctrl-C or SIGTERM gives 130. A command returns 0, 1 (its runs failed) or 130 itself."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    misfit = _misfit(args)
    if misfit:
        error(args.command, misfit)
        return EXIT_USAGE
    warn_jobs(args.command, getattr(args, "jobs", None))
    previous = signal.signal(signal.SIGTERM, _terminate)
    outside = getattr(args, "allow_outside_paths", False)
    if outside:  # the loader (pydantic, yaml) is imported only when asked, to keep --help fast
        from abm.config.loader import allow_outside_paths

        allow_outside_paths(True)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"abm {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except user_errors() as exc:  # the error classes are imported only when there is an error to sort
        error(args.command, exc)
        return EXIT_USAGE
    except OSError as exc:  # a path that cannot be read or written, reported by any command
        where = f": {shown_path(exc.filename)}" if exc.filename else ""
        error(args.command, f"{exc.strerror or exc}{where}")
        return EXIT_USAGE
    except _unreadable() as exc:  # a damaged file (Parquet, CSV, text) read by any command
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        error(
            args.command,
            f"cannot read a file ({first}); if it belongs to a results folder, resuming the sweep that wrote it "
            "(--resume) recomputes damaged parts",
        )
        return EXIT_USAGE
    finally:
        signal.signal(signal.SIGTERM, previous)
        if outside:
            allow_outside_paths(False)


if __name__ == "__main__":
    sys.exit(main())
