"""Shared pieces: machine facts, the baseline workload, timing, and a process-tree sampler.

Timings on a shared 2-core machine are noisy, so every measurement records the load average
before and after, repeated measurements keep the best (the least disturbed) as well as the
median, and CPU time is recorded next to wall time: runs per CPU-second estimate what one
undisturbed core would do, runs per wall-second what the user saw.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
BASELINE = ROOT / "configs" / "baseline_jan2020.yaml"
MASTER_SEED = 20200103  # abm's DEFAULT_SEED: the seeds `abm run` uses
HORIZON = 180


@dataclass
class Section:
    """What one benchmark reports: a table, headline metrics (for the targets), notes, figures."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    extra_tables: list[dict[str, Any]] = field(default_factory=list)  # {"title", "columns", "rows"}


# -- the workload -------------------------------------------------------------------------------
@cache
def baseline(overrides: tuple[tuple[str, Any], ...] = ()) -> Any:
    """The baseline scenario (180 days) with optional dotted overrides, validated like `abm run`."""
    from abm.config import load_config

    return load_config(BASELINE, dict(overrides))


def seeds(n: int, master: int = MASTER_SEED) -> list[int]:
    """Seeds of runs 0..n-1 of `abm run --seed master` (so every benchmark does the same runs)."""
    from abm.runner import run_seeds

    return run_seeds(master, 0, range(n))


# -- timing ---------------------------------------------------------------------------------------
@dataclass
class Timing:
    wall: float
    cpu: float
    value: Any = None


def timed(fn: Callable[[], Any]) -> Timing:
    """Wall and CPU time (this process, all its threads) of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    value = fn()
    return Timing(time.perf_counter() - t0, time.process_time() - c0, value)


def best_and_median(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


def fmt_load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


# -- machine facts --------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _blas_note() -> str:
    env = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}
    shown = ", ".join(f"{k}={v}" for k, v in env.items()) or "no *_NUM_THREADS variable set"
    try:
        from threadpoolctl import threadpool_info

        pools = ", ".join(f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info()) or "none"
    except ImportError:
        pools = "threadpoolctl not installed"
    return (
        f"{shown}; thread pools loaded: {pools}. The model draws random blocks with numpy and calls no "
        "BLAS routine, so BLAS threads do not matter here (joblib/loky caps them in its workers anyway)."
    )


def machine_info() -> dict[str, Any]:
    import numpy  # noqa: F401 - loaded so threadpoolctl can see its BLAS

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count() or 1
    dirty = _git("status", "--porcelain", "--", "abm")
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": f"{os.cpu_count()} logical, {affinity} usable",
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {
            d: _version(d)
            for d in ("mesa", "numpy", "scipy", "pyarrow", "joblib", "dask", "distributed", "psutil", "ema_workbench")
        },
        "blas": _blas_note(),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty_abm_files": len(dirty.splitlines()) if dirty not in ("", "unknown") else 0,
        "load_average": fmt_load(loadavg()),
    }


# -- memory and CPU of a process tree ---------------------------------------------------------------
class TreeSampler:
    """Samples RSS (and CPU times) of a process and its descendants in a background thread.

    Peaks are kept per phase (`phase` can be switched while sampling), for the root process,
    for the largest single descendant, and for the sum over the tree. CPU times are the last
    seen per pid, so workers that exit before the end still count.
    """

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        import psutil

        self._psutil = psutil
        self.root = psutil.Process(pid or os.getpid())
        self.interval = interval
        self.phase = "run"
        self.peaks: dict[str, dict[str, int]] = {}
        self.cpu: dict[int, float] = {}
        self.cpu0: dict[int, float] = {}
        self.series: list[tuple[float, int, int, int]] = []  # (seconds, root, largest child, total), ~1/s
        self.series_every = 1.0
        self.samples = 0
        self._t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        ps = self._psutil
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except ps.Error:
            return
        root_rss = total = worker = 0
        for p in procs:
            try:
                with p.oneshot():
                    rss = p.memory_info().rss
                    t = p.cpu_times()
            except ps.Error:
                continue
            self.cpu[p.pid] = t.user + t.system
            self.cpu0.setdefault(p.pid, self.cpu[p.pid] if self.samples == 0 else 0.0)
            total += rss
            if p.pid == self.root.pid:
                root_rss = rss
            else:
                worker = max(worker, rss)
        peak = self.peaks.setdefault(self.phase, {"root": 0, "child": 0, "total": 0})
        peak["root"] = max(peak["root"], root_rss)
        peak["child"] = max(peak["child"], worker)
        peak["total"] = max(peak["total"], total)
        now = time.perf_counter() - self._t0
        if not self.series or now - self.series[-1][0] >= self.series_every:
            self.series.append((now, root_rss, worker, total))
        self.samples += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def start(self) -> TreeSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def child_cpu(self) -> float:
        """CPU seconds the descendants used while sampled (processes alive at the start count from then)."""
        return sum(v - self.cpu0.get(pid, 0.0) for pid, v in self.cpu.items() if pid != self.root.pid)

    def peak(self, key: str = "total", phase: str | None = None) -> int:
        phases = [phase] if phase else list(self.peaks)
        return max((self.peaks[p][key] for p in phases if p in self.peaks), default=0)


@contextmanager
def sampling(pid: int | None = None, interval: float = 0.05) -> Iterator[TreeSampler]:
    sampler = TreeSampler(pid, interval).start()
    try:
        yield sampler
    finally:
        sampler.stop()


def mib(n: float) -> float:
    return round(n / 2**20, 1)
