"""Command line: a thin layer over `abm.runner` and `abm.analysis` (no logic the API lacks).

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
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import abm
from abm.commands._common import (  # one definition of exit codes, argument types and options for every command
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    MAX_POINTS,
    add_execution,
    add_runs,
    add_seed,
    check_total,
    default_out,
    overrides,
    user_errors,
    warn_jobs,
    whole,
)
from abm.defaults import DEFAULT_MAX_FAILURE_SHARE, DEFAULT_RUNS, DEFAULT_SEED

if TYPE_CHECKING:
    from abm.runner import Experiment, ExperimentResult

# The parser is built from the light modules above; what a command runs on (the runner, pandas,
# the analyses) is imported in its handler, so `import abm.cli` and `abm run --help` stay fast.


def _unreadable() -> tuple[type[Exception], ...]:
    """Errors that mean an input file is damaged, whichever command reads it: exit 2 with one line."""
    import pandas as pd
    import pyarrow as pa

    return (pa.ArrowException, pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError)


EXTEND_HELP = (
    "add runs (a larger --runs) or design points (appended) to the finished or interrupted folder --out DIR: "
    "its runs are kept, the rest run with the seeds a fresh run of the larger experiment would give; any other "
    "change (config, --set, seed, events, a point's values) is refused"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abm", description=abm.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"abm {abm.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="Monte Carlo of one scenario: outcome shares with 95%% intervals",
        description="Run N replications of a scenario and summarise outcomes (Wilson 95%).",
    )
    run.add_argument("config", type=Path, metavar="CONFIG", help="scenario YAML, e.g. configs/baseline_jan2020.yaml")
    add_runs(run, "replications")
    add_seed(run)
    add_execution(run, runner=True)
    run.add_argument("--extend", action="store_true", help=EXTEND_HELP)
    run.set_defaults(handler=cmd_run)

    sweep = sub.add_parser(
        "sweep",
        help="run a parameter sweep (experiment YAML, or a config with --grid / --lhs)",
        description="Run every point of an experiment design. Give an experiment YAML (see experiments/), or a "
        "scenario config with --grid KEY=V1,V2,... or --lhs KEY=LO:HI --points P.",
    )
    sweep.add_argument("source", type=Path, metavar="EXPERIMENT_OR_CONFIG", help="experiment YAML or scenario YAML")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="grid values of a dotted key (repeatable: full factorial)",
    )
    sweep.add_argument(
        "--lhs",
        action="append",
        default=[],
        metavar="KEY=LO:HI",
        help="Latin hypercube range of a dotted key (repeatable; with --points)",
    )
    sweep.add_argument("--points", type=whole(1, MAX_POINTS), metavar="P", help="number of LHS points")
    add_runs(sweep, f"runs per point (default: the experiment's, or {DEFAULT_RUNS})", default=None)
    add_seed(sweep, f"master seed (default: the experiment's, or {DEFAULT_SEED})", default=None)
    sweep.add_argument(
        "--crn", action="store_true", default=None, help="common random numbers: run i of every point shares its seed"
    )
    add_execution(sweep, runner=True)
    sweep.add_argument("--extend", action="store_true", help=EXTEND_HELP)
    sweep.set_defaults(handler=cmd_sweep)
    from abm.commands import COMMANDS  # analysis commands live in their own modules (SALib-style)

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


def _grid(text: str) -> tuple[str, list[Any]]:
    from abm.config import ConfigError
    from abm.config.loader import check_value_text, parse_value

    check_value_text(text, "--grid")
    key, sep, values = text.partition("=")
    if not sep or not key.strip() or not values.strip():
        raise ConfigError(f"--grid {text!r}: expected KEY=V1,V2,..., e.g. us.doctrine=proportional,massive")
    if values.strip().startswith("["):
        return key.strip(), parse_value(values, "--grid", text)
    return key.strip(), [parse_value(v, "--grid", text) for v in values.split(",")]


def _lhs(text: str) -> tuple[str, dict[str, float]]:
    from abm.config import ConfigError
    from abm.config.loader import check_value_text

    check_value_text(text, "--lhs")
    key, sep, bounds = text.partition("=")
    low, colon, high = bounds.partition(":")
    try:
        if not sep or not colon or not key.strip():
            raise ValueError
        return key.strip(), {"low": float(low), "high": float(high)}
    except ValueError:
        raise ConfigError(f"--lhs {text!r}: expected KEY=LO:HI, e.g. world.militia_attack_rate=0.02:0.1") from None


def _sweep_experiment(args: argparse.Namespace) -> Experiment:
    """An experiment from a YAML file, or from a config plus --grid/--lhs."""
    from abm.config import ConfigError
    from abm.runner import load_experiment, parse_spec, resolve

    sampled = args.grid or args.lhs
    if not sampled:
        if args.points is not None:
            raise ConfigError("--points: only used with --lhs")
        options = {
            "runs": args.runs,
            "seed": args.seed,
            "events": args.events,
            "common_random_numbers": args.crn,
            "max_failure_share": args.max_failure_share,
            "target_ci": args.target_ci,
            "max_runs": args.max_runs,
            "set": overrides(args.overrides),
        }
        return load_experiment(args.source, options)
    if args.grid and args.lhs:
        raise ConfigError("--grid and --lhs cannot be combined; write an experiment YAML for mixed designs")
    if args.lhs and args.points is None:
        raise ConfigError("--lhs needs --points P (number of Latin hypercube points)")
    flag = "--grid" if args.grid else "--lhs"
    pairs = list(map(_grid, args.grid)) if args.grid else list(map(_lhs, args.lhs))
    keys = [key for key, _ in pairs]
    twice = next((key for i, key in enumerate(keys) if key in keys[:i]), None)
    if twice is not None:  # a dict would keep the last silently
        given = "; ".join(text for text in (args.grid or args.lhs) if text.partition("=")[0].strip() == twice)
        one = f"{twice}=V1,V2,..." if args.grid else f"{twice}=LO:HI"
        raise ConfigError(f"{flag} {twice} given twice ({given}); allowed: each key once ({flag} {one})")
    parameters = dict(pairs)
    spec: dict[str, Any] = {
        "name": args.source.stem,
        "config": str(args.source.resolve()),
        "set": overrides(args.overrides),
        "parameters": parameters,
        "design": "grid" if args.grid else "lhs",
        "runs": args.runs or DEFAULT_RUNS,
        "seed": DEFAULT_SEED if args.seed is None else args.seed,
        "common_random_numbers": bool(args.crn),
        "events": bool(args.events),
        "max_failure_share": args.max_failure_share
        if args.max_failure_share is not None
        else DEFAULT_MAX_FAILURE_SHARE,
        "target_ci": args.target_ci,
        "max_runs": args.max_runs,
    }
    if args.lhs:
        spec["samples"] = args.points
    return resolve(parse_spec(spec, source="command line"), source="command line", names=("--set", flag))


def cmd_run(args: argparse.Namespace) -> int:
    from abm.config import load_config
    from abm.runner import single_experiment

    scenario = load_config(args.config, args.overrides)
    experiment = single_experiment(
        scenario,
        args.runs,
        args.seed,
        events=bool(args.events),
        max_failure_share=DEFAULT_MAX_FAILURE_SHARE if args.max_failure_share is None else args.max_failure_share,
        target_ci=args.target_ci,
        max_runs=args.max_runs,
        overrides=overrides(args.overrides),
    )
    return _execute(args, experiment, f"{experiment.runs} runs, seed {experiment.seed}")


def cmd_sweep(args: argparse.Namespace) -> int:
    experiment = _sweep_experiment(args)
    what = (
        f"{len(experiment.points)} points x {experiment.runs} runs, seed {experiment.seed}"
        f"{', common random numbers' if experiment.common_random_numbers else ''}"
    )
    return _execute(args, experiment, what)


def _execute(args: argparse.Namespace, experiment: Experiment, what: str) -> int:
    from abm.analysis.curves import CURVES_FILE, format_curves
    from abm.analysis.summary import SUMMARY_FILE, format_summary
    from abm.runner import check_folder, run_experiment

    cap = experiment.run_cap if experiment.target_ci is not None else experiment.runs
    check_total(
        len(experiment.points),
        cap,
        what="runs per point"
        if experiment.target_ci is None
        else "runs per point at most (--max-runs, default 10 x --runs)",
    )
    out = args.out or default_out(experiment.name)
    # refuse a foreign folder before announcing
    check_folder(out, experiment, args.resume, args.allow_version_mix, extend=args.extend)
    print(f"abm {args.command} {experiment.name}: {what} -> {out}", file=sys.stderr)
    result = run_experiment(
        experiment,
        out,
        jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        resume=args.resume,
        progress=not args.quiet,
        chunk_size=args.chunk_size,
        run_timeout=args.run_timeout,
        retries=args.retries,
        retry_failed=args.retry_failed,
        allow_version_mix=args.allow_version_mix,
        extend=args.extend,
    )
    if result.status in ("complete", "failed"):
        writing = SUMMARY_FILE
        try:  # an untouched folder keeps its files: they are only written if missing (an earlier write failed)
            table = _summary(out, result.untouched)
            writing = CURVES_FILE  # the curves come from the same runs, at the same moment
            curves = _curves(out, experiment.base.horizon_days, result.untouched)
        except OSError as exc:
            print(
                f"abm {args.command}: error: the runs are complete in {out}, but {writing} could not be written "
                f"({exc.strerror or exc}); run the same command again to write it",
                file=sys.stderr,
            )
            return EXIT_FAILED
        print(format_summary(table))
        if "point" not in curves:  # abm run: the curves at days 30, 90, 180 (and the horizon) under the table
            print(format_curves(curves))
        print(f"abm: {timing_line(result)}", file=sys.stderr)
    return _report(result, args, out)


def _summary(out: Path, untouched: bool) -> Any:
    from abm.analysis.summary import SUMMARY_FILE, summarize_dataset, write_summary

    return summarize_dataset(out) if untouched and (out / SUMMARY_FILE).is_file() else write_summary(out)


def _curves(out: Path, horizon: int, untouched: bool) -> Any:
    from abm.analysis.curves import CURVES_FILE, curves_dataset, write_curves

    return curves_dataset(out, horizon) if untouched and (out / CURVES_FILE).is_file() else write_curves(out, horizon)


def timing_line(result: ExperimentResult) -> str:
    """What this invocation did and how fast: only its own runs count (not those an earlier one finished)."""
    if result.untouched:
        return f"already complete: {result.runs_done} runs in {result.out_dir}"
    new = result.runs_done - result.runs_earlier
    if new == 0 and result.runs_earlier:
        return (
            f"nothing left to run: all {result.runs_done} runs were done by an earlier run of this command; "
            f"results in {result.out_dir}"
        )
    rate = new / result.seconds if result.seconds else 0.0
    text = f"{new} runs in {result.seconds:.1f} s ({rate:.1f} runs/s)"
    earlier = f"; {result.runs_earlier} more were done by an earlier run (kept)" if result.runs_earlier else ""
    return f"{text}{earlier}; results in {result.out_dir}"


def _report(result: ExperimentResult, args: argparse.Namespace, out: Path) -> int:
    limit = result.experiment.max_failure_share
    failed = f"{result.failures} of {result.runs_done} runs failed ({result.failure_share:.1%})"
    first = f"\nfirst error: {result.first_error}" if result.first_error else ""
    if result.status == "complete":
        if result.failures:
            print(f"abm: warning: {failed}; see the 'error' column of {out / 'runs'}{first}", file=sys.stderr)
        return EXIT_OK
    if result.status == "failed":
        print(f"abm: {failed}, above --max-failure-share {limit:g}{first}", file=sys.stderr)
        return EXIT_FAILED
    again = _resume_command(args, out)
    if result.status == "stopped":
        why = f"{failed}, above --max-failure-share {limit:g}{first}"
        if result.stop_reason and "max_failure_share" not in result.stop_reason:
            why = result.stop_reason
        retry = "" if "--retry-failed" in again or not result.failures else " (add --retry-failed to redo failed runs)"
        print(
            f"abm: stopped: {why}\nfinished chunks are kept; fix the cause, then resume with:\n  {again}{retry}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(
        f"abm: interrupted after {result.runs_done} runs; finished chunks are kept. Resume with:\n  {again}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def _resume_command(args: argparse.Namespace, out: Path) -> str:
    argv = list(sys.argv[1:]) if sys.argv[1:2] == [args.command] else [args.command, "..."]
    if args.out is None:
        argv += ["--out", str(out)]
    if not args.resume and not getattr(args, "extend", False):  # the same --extend command resumes too
        argv.append("--resume")
    return shlex.join(["abm", *argv])


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `abm` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if getattr(args, "scheduler", None) and getattr(args, "backend", None) != "dask":
        parser.error("--scheduler needs --backend dask")
    if getattr(args, "resume", False) and getattr(args, "out", None) is None:
        parser.error("--resume needs --out DIR (the folder of the run to continue)")
    if getattr(args, "extend", False) and getattr(args, "out", None) is None:
        parser.error("--extend needs --out DIR (the folder to add runs or points to)")
    warn_jobs(args.command, getattr(args, "jobs", None))
    previous = signal.signal(signal.SIGTERM, _terminate)
    outside = getattr(args, "allow_outside_paths", False)
    if outside:  # the loader (pydantic, yaml) is imported only when asked, to keep --help fast
        from abm.config.loader import allow_outside_paths

        allow_outside_paths(True)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("abm: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except user_errors() as exc:  # the error classes are imported only when there is an error to sort
        print(f"abm {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a path that cannot be read or written, reported by any command
        where = f": {exc.filename}" if exc.filename else ""
        print(f"abm {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except _unreadable() as exc:  # a damaged file (Parquet, CSV, text) read by any command
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(
            f"abm {args.command}: error: cannot read a file ({first}); if it belongs to a results folder, resuming "
            "the sweep that wrote it (--resume) recomputes damaged parts",
            file=sys.stderr,
        )
        return EXIT_USAGE
    finally:
        signal.signal(signal.SIGTERM, previous)
        if outside:
            allow_outside_paths(False)


if __name__ == "__main__":
    sys.exit(main())
