"""What `abm run` and `abm sweep` share: run an experiment into its folder, then print its tables.

Both drive the runner directly (the other commands go through an analysis), so both get the
runner's whole option set, the folder check before the announcement, and the summary and
curves written next to the runs (kept as they are when the folder was already complete).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abm.commands._common import EXIT_FAILED, Ran, check_total, default_out, exit_status

if TYPE_CHECKING:
    from abm.runner import Experiment, ExperimentResult


def run_into_folder(args: argparse.Namespace, experiment: Experiment, what: str) -> int:
    """Check the folder, announce, run (or resume, or extend), print summary and curves; the exit code."""
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
        print(f"abm {args.command}: {timing_line(result)}", file=sys.stderr)
    ran = Ran(
        result.status,
        result.runs_done,
        result.failures,
        result.first_error,
        result.experiment.max_failure_share,
        result.stop_reason,
    )
    return exit_status(args, ran, out)


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
