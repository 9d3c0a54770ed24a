"""Execution backends: run a function over tasks and yield results as they finish.

* `serial`: in this process, in order (debugging, tests, monkeypatching).
* `loky` (default): joblib process pool, results streamed with `generator_unordered`.
* `dask`: dask.distributed, a `LocalCluster` of single-threaded processes or an existing
  scheduler (`--scheduler ADDRESS`); optional dependency, imported lazily.

Every backend bounds the work in flight (a few tasks per worker), so memory stays flat
however many chunks there are. Results arrive in any order; the runner never depends on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, Protocol

from abm.runner.errors import RunnerError

BACKENDS = ("loky", "serial", "dask")
IN_FLIGHT_PER_WORKER = 2


class BackendError(RunnerError):
    """A backend cannot be used (missing package, unreachable scheduler); meant for the user."""


class Backend(Protocol):
    name: str
    jobs: int

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]: ...

    def close(self) -> None: ...


def available_cores() -> int:
    """Cores this process may use (affinity-aware where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class SerialBackend:
    name, jobs = "serial", 1

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        for task in tasks:
            yield fn(task)

    def close(self) -> None:
        pass


class LokyBackend:
    """joblib/loky; the worker pool is reused across calls (and rounds of sequential stopping)."""

    name = "loky"

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        from joblib import Parallel, delayed

        parallel = Parallel(
            n_jobs=self.jobs,
            backend="loky",
            return_as="generator_unordered",
            pre_dispatch=f"{IN_FLIGHT_PER_WORKER} * n_jobs",
            batch_size=1,
        )
        results = parallel(delayed(fn)(t) for t in tasks)
        try:
            yield from results
        finally:
            results.close()  # on interruption: cancel what is still queued

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
                quiet = dask.config.set({"distributed.worker.profile.enabled": False})
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

    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        from dask.distributed import as_completed

        pending = iter(tasks)
        first = [self._client.submit(fn, t, pure=False) for t in islice(pending, IN_FLIGHT_PER_WORKER * self.jobs)]
        queue = as_completed(first)
        try:
            for future in queue:
                result = future.result()
                future.release()
                nxt = next(pending, None)
                if nxt is not None:
                    queue.add(self._client.submit(fn, nxt, pure=False))
                yield result
        finally:
            queue.clear()  # on interruption: drop what is still queued

    def close(self) -> None:
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
