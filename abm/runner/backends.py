"""Execution backends: run a function over tasks and yield results as they finish.

* `serial`: in this process, in order (debugging, tests, monkeypatching).
* `loky` (default): joblib process pool, results streamed with `generator_unordered`.
* `dask`: dask.distributed, a `LocalCluster` of single-threaded processes or an existing
  scheduler (`--scheduler ADDRESS`); optional dependency, imported lazily.

Every backend bounds the work in flight (a few tasks per worker), so memory stays flat
however many chunks there are. Results arrive in any order; the runner never depends on it.

A worker process that dies (segfault, `os._exit`, the kernel's OOM killer) does not end the
stream: the tasks that were in flight with it come back as one `Lost(tasks, reason)` item and
the pool is replaced, so the runner can retry them (see `abm.runner.engine.dispatch`). Which
of them killed the worker cannot be told when several were in flight; the runner finds out by
running them again one at a time (`in_flight=1`). loky reports `TerminatedWorkerError` with the
workers' exit codes; dask reports `KilledWorker` (the local cluster is configured with
`distributed.scheduler.allowed-failures: 0`, so the runner, not the scheduler, decides on
retries; an external `--scheduler` keeps its own setting, 3 by default). `serial` runs in this
process: a run that kills its process kills the sweep (resume it with `--resume`).

Every death is reported to the runner, which prints a line and records it in the manifest
(`lost_workers`): a `Lost` names the dead worker where the backend knows it (dask's
`KilledWorker.last_worker`; loky does not say which worker died), and a task that dask's
scheduler ran again by itself comes with a `Retried` notice naming the worker, learnt from the
scheduler's "remove-worker" events (`Client.subscribe_topic("all", ...)`).

The opposite never happens: loky workers leave as soon as the process that started them is gone,
whenever it dies, even while they are still starting (`_exit_with_parent`; loky's resource
trackers follow them), and so do a local dask cluster's (distributed watches its parent itself).
docs/RELIABILITY.md ("Nothing outlives a killed sweep") has the tests.

A terminal's Ctrl-C reaches every process of the group, but only the parent acts on it: loky
workers start with SIGINT blocked (`_sigint_blocked`), a local dask cluster's with it ignored
(`_workers_ignore_sigint`), and the interrupted stream stops them, so no worker prints a
traceback of its own, even while it is still starting.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

from abm.defaults import BACKENDS
from abm.runner.errors import RunnerError

IN_FLIGHT_PER_WORKER = 2


# Workers run one model at a time: no thread pools inside them to oversubscribe the cores.
WORKER_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}
LOKY_IDLE_SECONDS = 300  # an idle worker pool is kept this long for the next call
PARENT_POLL_SECONDS = 0.2  # how often a worker checks that its parent lives (`_exit_with_parent`)
ORPHAN_EXIT_CODE = 0  # the parent is gone: nobody reads it


class BackendError(RunnerError):
    """A backend cannot be used (missing package, unreachable scheduler); meant for the user."""


@dataclass(frozen=True)
class Lost:
    """Tasks whose worker process died before they returned, and why (e.g. its exit code); the
    runner decides what to do with them. `worker` is the dead worker's address where the
    backend knows it (dask: `tcp://host:port`; loky does not say which of its workers died)."""

    tasks: list[Any]
    reason: str
    worker: str | None = None


@dataclass(frozen=True)
class Retried:
    """A task whose worker process died while it was running (or queued on it) and that the
    backend itself ran again: dask's scheduler does so up to its `allowed-failures` (an external
    `--scheduler`; the local cluster allows none). Nothing for the runner to do but report it;
    it comes just before the task's own result (or its `Lost`)."""

    task: Any
    reason: str
    worker: str | None = None


class Backend(Protocol):
    name: str
    jobs: int

    def imap_unordered(
        self, fn: Callable[[Any], Any], tasks: Iterable[Any], in_flight: int | None = None
    ) -> Iterator[Any]:
        """Yield `fn(task)` for every task as it finishes, or `Lost` items for tasks lost with a worker
        (and `Retried` notices for tasks the backend itself ran again after their worker died)."""
        ...

    def close(self) -> None: ...


def available_cores() -> int:
    """Cores this process may use (affinity-aware where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class SerialBackend:
    """In this process, in order. Nothing can be lost: a run that kills the process ends the sweep."""

    name, jobs = "serial", 1

    def imap_unordered(
        self, fn: Callable[[Any], Any], tasks: Iterable[Any], in_flight: int | None = None
    ) -> Iterator[Any]:
        for task in tasks:
            yield fn(task)

    def close(self) -> None:
        pass


def _exit_codes(exc: BaseException) -> str:
    """`exit code SIGKILL(-9)` from loky's TerminatedWorkerError message, if it names them."""
    found = re.search(r"exit codes of the workers are \{([^}]*)\}", str(exc))
    return f"exit code {found.group(1)}" if found else type(exc).__name__


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: leave as soon as the process that started the pool is gone (SIGKILL,
    OOM) instead of idling on for `LOKY_IDLE_SECONDS`. An orphaned worker writes nothing, but it
    holds memory and the parent's stdout/stderr (a `| tee` or `subprocess.run(capture_output=True)`
    of the sweep would wait for it), and so do loky's resource trackers, which end only once
    every worker has.

    `parent` is the pid of the process that starts the workers, read there before any of them
    exists (`LokyBackend._executor`). It must not be read here with `os.getppid()`: a parent
    killed while this worker was still starting is already gone at this point (the worker then
    belongs to init or a subreaper), and a watch of that pid never ends. Being re-parented, to
    whatever process, is the parent's death. loky calls the initializer before the worker takes
    its first task, so a parent that died at any earlier moment (even before this process was
    started) is seen here at once; what runs before it (loky's bootstrap, importing this module)
    cannot wait on a dead parent: its pipe is closed, the read fails and the process ends.
    """
    if os.getppid() != parent:
        os._exit(ORPHAN_EXIT_CODE)
    # Ctrl-C is the parent's to handle (it stops the workers); SIGINT is already blocked here since
    # the fork (`_sigint_blocked`), and stays ignored should anything unblock it.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(ORPHAN_EXIT_CODE)

    threading.Thread(target=watch, name="abm-parent-watch", daemon=True).start()


# loky's resource tracker (a process of its own, started with this environment) warns at shutdown
# about semaphores an interrupted pool left behind: its cleanup, not the user's concern, and after
# Ctrl-C it would follow the clean "interrupted" message with four lines of warnings.
TRACKER_QUIET = "ignore:resource_tracker:UserWarning"


def _quiet_tracker() -> None:
    """Add the tracker's filter to PYTHONWARNINGS (kept with any the user set) before loky starts it."""
    current = os.environ.get("PYTHONWARNINGS", "")
    if TRACKER_QUIET not in current.split(","):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [current, TRACKER_QUIET]))


class LokyBackend:
    """loky's reusable process pool (what joblib uses), driven through futures so that a dead
    worker costs only the tasks in flight: the pool is rebuilt and the stream goes on. The pool
    is reused across calls (and rounds of sequential stopping)."""

    name = "loky"

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def _executor(self) -> Any:
        from joblib.externals.loky import get_reusable_executor

        _quiet_tracker()
        with _sigint_blocked():  # a resize starts workers here
            return get_reusable_executor(
                max_workers=self.jobs,
                timeout=LOKY_IDLE_SECONDS,
                env=WORKER_ENV,
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),  # this process starts the workers: they leave when it is gone
            )

    @staticmethod
    def _submit(executor: Any, fn: Callable[[Any], Any], task: Any, running: dict[Future[Any], Any]) -> None:
        """Submit `task` and record it in `running`, with SIGINT blocked (loky starts its workers and its
        manager thread in the first submit). A Ctrl-C meanwhile is raised when the mask is restored, once
        the future is recorded, so the interrupted stream still stops the workers that run it."""
        with _sigint_blocked():
            running[executor.submit(fn, task)] = task

    def imap_unordered(
        self, fn: Callable[[Any], Any], tasks: Iterable[Any], in_flight: int | None = None
    ) -> Iterator[Any]:
        from joblib.externals.loky.process_executor import BrokenProcessPool

        limit = in_flight or IN_FLIGHT_PER_WORKER * self.jobs
        pending = iter(tasks)
        running: dict[Future[Any], Any] = {}
        interrupted = False
        executor = self._executor()
        try:
            while True:
                for task in islice(pending, max(0, limit - len(running))):
                    try:
                        self._submit(executor, fn, task, running)
                    except BrokenProcessPool:  # a worker died while idle: start a fresh pool
                        executor = self._executor()
                        self._submit(executor, fn, task, running)
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                lost: list[Any] = []
                reason = ""
                for future in done:
                    task = running.pop(future)
                    exc = future.exception()
                    if exc is None:
                        yield future.result()
                    elif isinstance(exc, BrokenProcessPool):
                        lost.append(task)
                        reason = reason or _exit_codes(exc)
                    else:
                        raise exc
                if not lost:
                    continue
                # The pool is broken: everything else in flight fails with it (or has just finished).
                wait(running)
                for future, task in list(running.items()):
                    del running[future]
                    exc = future.exception()
                    if exc is None:
                        yield future.result()
                    elif isinstance(exc, BrokenProcessPool):
                        lost.append(task)
                    else:
                        raise exc
                yield Lost(lost, f"worker died ({reason})")
                executor = self._executor()  # a fresh pool
        except KeyboardInterrupt:
            # Also when it struck inside loky's submit, before the future was recorded: the workers,
            # which ignore Ctrl-C, would run that task on, and loky's exit handler would wait for it.
            interrupted = True
            raise
        finally:
            if running or interrupted:  # interrupted, or the caller stopped early: drop the queue, stop the workers
                for future in running:
                    future.cancel()
                with contextlib.suppress(Exception):
                    executor.shutdown(wait=False, kill_workers=True)

    def close(self) -> None:
        pass


class DaskBackend:
    """dask.distributed with bounded submission and `as_completed`."""

    name = "dask"

    def __init__(self, jobs: int, scheduler: str | None = None) -> None:
        try:
            import dask
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise BackendError(
                "backend 'dask' needs dask.distributed: pip install 'abm[dask]' (or use --backend loky)"
            ) from None
        self._cluster = None
        self._tmp = None
        try:
            if scheduler:
                self._client = Client(scheduler, timeout="20s")
                self.jobs = max(1, sum(self._client.nthreads().values()))
            else:
                self._tmp = tempfile.TemporaryDirectory(prefix="abm-dask-")
                # The worker's statistical profiler samples stacks every 10 ms: measurable on pure-Python runs.
                # allowed-failures 0: a task whose worker dies fails at once (KilledWorker) and the
                # runner retries it, alone, so that a chunk is never blamed for another's crash.
                quiet = dask.config.set(
                    {"distributed.worker.profile.enabled": False, "distributed.scheduler.allowed-failures": 0}
                )
                with quiet, _workers_ignore_sigint():
                    self._cluster = LocalCluster(
                        n_workers=jobs,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                        local_directory=self._tmp.name,
                    )
                self._client = Client(self._cluster)
                self.jobs = jobs
        except (OSError, ValueError, TimeoutError) as exc:
            self.close()
            raise BackendError(f"cannot reach dask scheduler {scheduler!r}: {exc}") from None
        # Workers that die: the scheduler's "remove-worker" events name the worker and the tasks it
        # was running (or had queued), whether the scheduler then runs them again (an external
        # scheduler's allowed-failures) or gives up on them (KilledWorker). Appended in the client's
        # thread, read in `imap_unordered`.
        self._deaths: collections.deque[tuple[str, frozenset[Any]]] = collections.deque()
        self._client.subscribe_topic("all", self._on_event)

    def _on_event(self, event: tuple[float, Any]) -> None:
        _, msg = event
        if isinstance(msg, dict) and msg.get("action") == "remove-worker" and not msg.get("expected"):
            self._deaths.append((str(msg.get("worker")), frozenset(msg.get("processing-tasks") or ())))

    def imap_unordered(
        self, fn: Callable[[Any], Any], tasks: Iterable[Any], in_flight: int | None = None
    ) -> Iterator[Any]:
        from dask.distributed import as_completed
        from distributed import KilledWorker

        limit = in_flight or IN_FLIGHT_PER_WORKER * self.jobs
        pending = iter(tasks)
        submitted: dict[str, Any] = {}

        def submit(task: Any) -> Any:
            future = self._client.submit(fn, task, pure=False)
            submitted[future.key] = task
            return future

        # Workers that died with a task of ours, per task key: reported once the task's fate is
        # known (its result: every death was retried by the scheduler; KilledWorker: the last one
        # is the runner's to retry, `Lost`), so that no death is reported twice.
        deaths: dict[Any, list[str]] = {}

        def collect() -> None:
            while self._deaths:
                worker, keys = self._deaths.popleft()
                for key in keys & submitted.keys():
                    deaths.setdefault(key, []).append(worker)

        queue = as_completed([submit(t) for t in islice(pending, limit)])
        try:
            for future in queue:
                collect()  # the scheduler sends a death's event before the task's failure
                task = submitted.pop(future.key)
                died = deaths.pop(future.key, [])
                failed = future.status == "error"
                exc = future.exception() if failed else None
                result = None if failed else future.result()
                future.release()
                for nxt in islice(pending, 1):
                    queue.add(submit(nxt))
                last = _last_worker(exc) if isinstance(exc, KilledWorker) else None
                if last in died:
                    died.remove(last)
                for worker in died:
                    yield Retried(task, "worker died (dask removed it from the cluster)", worker)
                if exc is None:
                    yield result
                elif isinstance(exc, KilledWorker):
                    yield Lost([task], "worker died (dask KilledWorker; dask does not report the exit code)", last)
                else:
                    raise exc
        finally:
            queue.clear()  # on interruption: drop what is still queued

    def close(self) -> None:
        if hasattr(self, "_deaths"):  # subscribed: else the scheduler logs an error sending our own goodbye to us
            with contextlib.suppress(Exception):
                self._client.unsubscribe_topic("all")
        for thing in (getattr(self, "_client", None), self._cluster):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()
        if self._tmp is not None:
            self._tmp.cleanup()


@contextlib.contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """Start worker processes with SIGINT ignored: on Ctrl-C the parent stops them cleanly
    (otherwise every worker prints its own KeyboardInterrupt traceback)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread while loky starts worker processes (and its manager thread).

    A terminal's Ctrl-C goes to every process of the foreground group, workers included. A worker
    takes 1-3 s to import loky, joblib and the model before its initializer can ignore SIGINT,
    and one hit in that time printed its KeyboardInterrupt traceback (two workers: 61 lines)
    before the parent's clean message. The signal mask is inherited through fork and exec, so a
    worker started in here has SIGINT blocked from its first instruction; Python then never
    delivers it there, and the parent, which handles Ctrl-C, stops the workers. (loky starts its
    resource tracker the same way.) A thread started in here inherits the mask too: loky's
    manager thread, which restarts workers, so those restarted are covered as well. The parent
    loses nothing: a SIGINT that arrives meanwhile goes to another thread or waits until the
    mask is restored, and Python raises KeyboardInterrupt in the main thread as usual."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not on POSIX
        yield
        return
    from multiprocessing import resource_tracker

    from joblib.externals.loky.backend import resource_tracker as loky_tracker

    # The first worker's start also starts both resource trackers, and multiprocessing's then
    # unblocks SIGINT in this thread (it assumes it was not blocked): start them first (no-ops then).
    loky_tracker.ensure_running()
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _last_worker(exc: BaseException) -> str | None:
    """The address of the last worker that died running a task, from dask's KilledWorker."""
    try:
        return str(exc.last_worker.address)  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - an older distributed
        return None


def open_backend(name: str, jobs: int | None = None, scheduler: str | None = None) -> Backend:
    """Build a backend by name; `jobs` defaults to every available core."""
    if name not in BACKENDS:
        raise BackendError(f"backend: got {name!r}; allowed: {', '.join(BACKENDS)}")
    if jobs is not None and jobs < 1:
        raise BackendError(f"jobs: got {jobs}; allowed: a whole number >= 1")
    if scheduler and name != "dask":
        raise BackendError("--scheduler only applies to --backend dask")
    n = jobs or available_cores()
    if name == "serial":
        return SerialBackend()
    if name == "loky":
        return LokyBackend(n)
    return DaskBackend(n, scheduler)
