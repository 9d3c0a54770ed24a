"""One writer per results folder: `DIR/.lock`, held for as long as a sweep writes there.

The lock is an exclusive `fcntl.flock` on `DIR/.lock`, which holds the writer's pid, host, start
time and command. The kernel drops a flock when its process dies, however it dies (SIGKILL,
OOM, power cut), so a lock file left by a crashed sweep is not held by anyone: the next sweep
takes it over and says whose it was. A second sweep while the first runs is refused with
the first one's pid, host and start time. Where the file system has no flock (some network
file systems), the recorded pid decides: a lock whose process is still alive on this host, or
that was taken on another host, is refused (delete the file if you are sure nothing runs).

The lock file name starts with a dot, so Parquet readers and folder checks ignore it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from abm.runner.errors import RunnerError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the recorded pid decides
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"
TRIES = 5


class FolderLocked(RunnerError):
    """Another live process is writing to the folder."""


def _warn(message: str) -> None:
    print(f"abm: warning: {message}", file=sys.stderr)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (a zombie counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "no owner recorded"
    return f"pid {holder.get('pid')} on host {holder.get('host')!r}, started {holder.get('started')}" + (
        f": {holder['command']}" if holder.get("command") else ""
    )


def _read(fd: int) -> dict[str, Any] | None:
    try:
        data = os.pread(fd, 65536, 0)
        holder = json.loads(data.decode("utf-8")) if data.strip() else None
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


class FolderLock:
    """The held lock of one folder; `release()` (or leaving the `with` block) gives it back."""

    def __init__(self, path: Path, fd: int, holder: dict[str, Any]) -> None:
        self.path, self._fd, self.holder = path, fd, holder

    def release(self) -> None:
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                self.path.unlink()  # still ours: remove it while holding the flock
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(directory: Path, command: str | None = None, warn: Callable[[str], None] = _warn) -> FolderLock:
    """Take `directory/.lock` (the folder must exist) or raise `FolderLocked` / `RunnerError`."""
    path = directory / LOCK_FILE
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command or " ".join(sys.argv),
    }
    for _ in range(TRIES):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunnerError(f"{directory}: cannot create the lock file {LOCK_FILE}: {exc.strerror}") from None
        flocked = fcntl is not None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise FolderLocked(
                f"{directory}: another abm process is writing to this folder ({describe(holder)}); "
                "wait for it to finish or choose another --out"
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                os.close(fd)
                raise RunnerError(f"{directory}: cannot lock {LOCK_FILE}: {exc.strerror}") from None
            flocked = False  # no flock here: fall back on the recorded pid
        try:
            same_file = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same_file = False
        if not same_file:  # the previous holder removed the file as we opened it: start again
            os.close(fd)
            continue
        holder = _read(fd)
        if holder and holder.get("pid") != me["pid"]:
            here = holder.get("host") == me["host"]
            alive = here and isinstance(holder.get("pid"), int) and pid_alive(holder["pid"])
            if not flocked and (alive or not here):
                os.close(fd)
                raise FolderLocked(
                    f"{directory}: locked by {describe(holder)}; this file system cannot tell whether that process "
                    f"still writes here. If you are sure it does not, delete {path} and try again"
                )
            state = "still running but not holding the lock" if alive else "no longer running"
            warn(f"{directory}: taking over a lock left by {describe(holder)} ({state}); its finished chunks are kept")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(me) + "\n").encode("utf-8"), 0)
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            raise RunnerError(f"{directory}: cannot write the lock file {LOCK_FILE}: {exc.strerror}") from None
        return FolderLock(path, fd, me)
    raise FolderLocked(f"{directory}: the lock file {LOCK_FILE} keeps changing; is another sweep starting there?")
