"""Test-only fault injection: every fault the tests plant, read from `ABM_FAULT_INJECT`, in one room.

Never set `ABM_FAULT_INJECT` for real work. It is JSON, read once in the parent (`read_faults`)
and sent with each task (worker pools outlive environment changes). Production code names no
fault: it reads the plan here and calls the hooks below (`inject` in the worker, `writer_hooks`
in the parent's writer, `for_pilot` for the timing pilot). Keys, all optional (`FAULT_KEYS`):

* in the worker, per run (`inject`): `fail_runs: [3, 17]`, `fail_points: [1]`, `fail_every: 10`
  raise `RuntimeError` before the simulator is called; `sleep: 0.05` slows every run (to
  interrupt a sweep mid-way); `hang_runs: [5]` (with `hang: seconds`, default 3600) makes a run
  hang; `exit_runs: [5]` ends the worker process with `os._exit(3)` and `kill_runs: [5]` with
  SIGKILL (a simulated OOM kill), only while the chunk's attempt is <= `die_attempts` (default:
  every attempt). Runs are matched by index, in every point unless `die_points` lists some. The
  pilot that times runs ignores the killing and hanging keys (`PROCESS_FAULTS`).
* in the parent's writer (`writer_hooks`): `write_sleep: s` sleeps between writing a part's
  temporary file and renaming it; `write_kill: n` SIGKILLs the main process at that moment for
  the n-th part written in this session (1-based); `write_error: n` fails the n-th part write
  with "No space left on device" half-way through its temporary file.
* in `abm compact` (`abm.commands.compact`): `compact_kill: STAGE` SIGKILLs the process at that
  stage of the compaction.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FAULT_ENV = "ABM_FAULT_INJECT"
PROCESS_FAULTS = ("exit_runs", "kill_runs", "hang_runs")  # fault keys that must not hit the main process's pilot
FAULT_KEYS = (
    *("fail_runs", "fail_points", "fail_every", "sleep", *PROCESS_FAULTS, "hang", "die_attempts", "die_points"),
    *("write_sleep", "write_kill", "write_error", "compact_kill"),
)


def read_faults() -> dict[str, Any]:
    """The test-only fault plan from `ABM_FAULT_INJECT` (empty when unset)."""
    text = os.environ.get(FAULT_ENV)
    if not text:
        return {}
    plan = json.loads(text)
    if not isinstance(plan, dict):
        raise ValueError(f"{FAULT_ENV} must be a JSON object, got {text!r}")
    return plan


def for_pilot(faults: Mapping[str, Any]) -> dict[str, Any]:
    """The plan for the timing pilot, run in the main process: no fault that would kill or hang it."""
    return {k: v for k, v in faults.items() if k not in PROCESS_FAULTS}


def _matches(faults: Mapping[str, Any], key: str, point: int, run: int) -> bool:
    if run not in faults.get(key, ()):
        return False
    points = faults.get("die_points")
    return points is None or point in points


def inject(faults: Mapping[str, Any], point: int, run: int, attempt: int = 1) -> None:
    """The worker's hook, before each run is simulated: sleep, die, hang or raise as planned."""
    if faults.get("sleep"):
        time.sleep(float(faults["sleep"]))
    if attempt <= int(faults.get("die_attempts", 1 << 30)):
        if _matches(faults, "exit_runs", point, run):
            os._exit(3)
        if _matches(faults, "kill_runs", point, run):
            os.kill(os.getpid(), signal.SIGKILL)
    if _matches(faults, "hang_runs", point, run):
        end = time.monotonic() + float(faults.get("hang", 3600))
        while time.monotonic() < end:  # short sleeps: a watchdog's exception lands between them
            time.sleep(0.01)
    every = faults.get("fail_every")
    if (
        run in faults.get("fail_runs", ())
        or point in faults.get("fail_points", ())
        or (every and run % int(every) == 0)
    ):
        raise RuntimeError(f"injected fault ({FAULT_ENV}) at point {point}, run {run}")


def writer_hooks(faults: Mapping[str, Any], n: int) -> dict[str, Any]:
    """The writer's hooks for the n-th part of this session, as keywords of `storage.write_part_file`
    (`before_rename`, `write`); none without a plan."""
    hooks: dict[str, Any] = {}
    if not faults:
        return hooks
    if faults.get("write_sleep") or faults.get("write_kill") == n:

        def before_rename(tmp: Path) -> None:
            time.sleep(float(faults.get("write_sleep") or 0))
            if faults.get("write_kill") == n:
                os.kill(os.getpid(), signal.SIGKILL)

        hooks["before_rename"] = before_rename
    if faults.get("write_error") == n:

        def write(fh: Any, data: bytes) -> None:
            fh.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), fh.name)

        hooks["write"] = write
    return hooks


__all__ = ["FAULT_ENV", "FAULT_KEYS", "PROCESS_FAULTS", "for_pilot", "inject", "read_faults", "writer_hooks"]
