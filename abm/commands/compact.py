"""`abm compact DIR`: merge a results folder's part files into one per point and table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from abm.commands._common import EXIT_OK, add_command

NAME = "compact"
DESCRIPTION = """\
Merge the part files of a results folder (abm run, sweep, compare or sensitivity): the parts
of consecutive chunks of each design point become one part per point and table (runs/,
events/), checksummed (sha256) like every part. The rows, their order and every reader stay
the same: abm report, abm replay, --resume and --extend work on a compacted folder as before.

Crash-safe: each merged part is written to a temporary file, fsynced and renamed, and the
manifest, rewritten atomically, switches from the old parts to the new ones only once all are
written. A compaction killed at any moment leaves a folder that reads the old parts or the new
ones, never a mix; running abm compact again removes what it left. The folder must be closed
(complete, failed, stopped or interrupted): resume one still being written first. Exit 0 done
(or nothing to merge), 2 the folder cannot be compacted (nothing changed)."""
EPILOG = """\
examples:
  abm compact results/baseline_jan2020-20240101T000000Z"""
FAULT_KEY = "compact_kill"  # test-only (ABM_FAULT_INJECT): SIGKILL this process at that stage


def register(subparsers: Any) -> None:
    """Add `compact` to the CLI's subparsers."""
    p = add_command(
        subparsers, NAME, "merge a results folder's part files (one per point and table)", DESCRIPTION, EPILOG, main
    )
    p.add_argument("dir", metavar="DIR", help="results folder (abm run, sweep, compare or sensitivity)")


def _kill_at() -> Any:
    """The test-only hook of `ABM_FAULT_INJECT={"compact_kill": STAGE}` (see abm.runner.faults), or None."""
    import os
    import signal

    from abm.runner.faults import read_faults

    stage = read_faults().get(FAULT_KEY)
    if not stage:
        return None

    def hook(at: str) -> None:
        if at == stage:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def main(args: argparse.Namespace) -> int:
    """Compact the folder; returns the exit code."""
    from abm.runner.compact import compact_folder

    done = compact_folder(args.dir, command=f"abm compact {args.dir}", hook=_kill_at())
    left = f"; removed {done.leftovers} part files an earlier compaction left" if done.leftovers else ""
    if not done.changed:
        print(
            f"abm compact: {done.path}: nothing to merge ({done.files_before} part files, {done.rows} runs){left}",
            file=sys.stderr,
        )
        return EXIT_OK
    print(
        f"abm compact: {done.path}: {done.files_before} part files -> {done.files_after} "
        f"({done.chunks_before} chunks -> {done.chunks_after}), {done.rows} runs, checksummed{left}",
        file=sys.stderr,
    )
    return EXIT_OK
