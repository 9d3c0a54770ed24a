"""4. Flat memory: peak RSS of `abm run` at 10k and 100k runs (events off), 10k and 50k (events on).

Each size runs in a fresh child process (`python -m benchmarks.memory --child ...`) that does
what `abm run --jobs 2` does: `run_experiment` with the loky backend into a new folder, then
`write_summary`. The harness samples RSS of the child and of every descendant (loky workers)
with psutil every 0.2 s, separately for the run phase and the summary phase (which reads the
runs table back, so it legitimately grows with the number of runs). As a cross-check that no
short peak fell between samples, the child reports the kernel's high-water mark (`VmHWM` in
/proc/PID/status) of itself and of each worker at the end of the run phase. (`ru_maxrss` from
`wait4`/`getrusage` is no use here: Linux carries the forking process's peak across `exec`, so
every child would report the harness's own size.)

Memory is flat if peak RSS at the larger size is within 10% of that at the smaller one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import BASELINE, BENCH_DIR, MASTER_SEED, ROOT, Section, TreeSampler, fmt_load, loadavg, mib

FULL_SIZES = {False: (10_000, 100_000), True: (10_000, 50_000)}
QUICK_SIZES = {False: (400, 1_500), True: (250, 800)}
TOLERANCE = 0.10


def _disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(n: int, events: bool, jobs: int = 2) -> dict[str, Any]:
    """Run one child and return its peaks (bytes), wall time and the child's own report."""
    with tempfile.TemporaryDirectory(prefix="abm-bench-mem-") as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "benchmarks.memory", "--child", "--runs", str(n), "--jobs", str(jobs)]
        cmd += ["--out", str(out), *(["--events"] if events else [])]
        load = loadavg()
        with open(Path(tmp) / "stderr.txt", "w+") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
            sampler = TreeSampler(proc.pid, interval=0.2).start()
            report: dict[str, Any] = {}
            summary_at = None
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("PHASE summary"):
                    sampler.phase = "summary"
                    summary_at = time.perf_counter() - t0
                elif line.startswith("RESULT "):
                    report = json.loads(line[len("RESULT ") :])
            sampler.stop()
            proc.wait()
            wall = time.perf_counter() - t0
            if proc.returncode != 0 or not report:
                err.seek(0)
                raise RuntimeError(f"memory child failed ({proc.returncode}): {err.read()[-2000:]}")
        disk = report.pop("disk_bytes", 0)
    step = max(1, len(sampler.series) // 300)
    return {
        "runs": n,
        "events": events,
        "wall_s": round(wall, 1),
        "run_phase_s": round(summary_at or wall, 1),
        "load": fmt_load(load),
        "root_run": sampler.peak("root", "run"),
        "child_run": sampler.peak("child", "run"),
        "total_run": sampler.peak("total", "run"),
        "root_summary": sampler.peak("root", "summary"),
        "total_all": sampler.peak("total"),
        "disk_bytes": disk,
        "samples": sampler.samples,
        "series": [(round(t, 1), r, c) for t, r, c, _ in sampler.series[::step]],
        **report,
    }


def _hwm(pid: int) -> int:
    """Peak RSS the kernel recorded for a live process (bytes), 0 if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def child(args: argparse.Namespace) -> int:
    """What `abm run --jobs J [--events]` does, with phase markers for the sampler."""
    from abm.analysis.summary import write_summary
    from abm.config import load_config
    from abm.runner import run_experiment, single_experiment

    experiment = single_experiment(load_config(BASELINE), args.runs, MASTER_SEED, events=args.events)
    print("PHASE run", flush=True)
    result = run_experiment(experiment, args.out, jobs=args.jobs, backend="loky", progress=False)
    import psutil

    workers = [_hwm(p.pid) for p in psutil.Process().children(recursive=True)]
    hwm_run = _hwm(os.getpid())
    print("PHASE summary", flush=True)
    write_summary(args.out)
    report = {
        "hwm_parent_run": hwm_run,
        "hwm_worker_run": max(workers, default=0),
        "hwm_parent_end": _hwm(os.getpid()),
        "status": result.status,
        "runs_done": result.runs_done,
        "chunks": result.chunks_done,
        "runner_seconds": round(result.seconds, 1),
        "disk_bytes": _disk(Path(args.out)),
    }
    print("RESULT " + json.dumps(report), flush=True)
    return 0 if result.status == "complete" else 1


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, events in zip(axes, (False, True), strict=True):
        for r in (x for x in results if x["events"] == events):
            t = [s[0] / 60 for s in r["series"]]
            ax.plot(t, [mib(s[1]) for s in r["series"]], label=f"{r['runs']:,} runs: parent")
            ax.plot(t, [mib(s[2]) for s in r["series"]], linestyle="--", label=f"{r['runs']:,} runs: largest worker")
        ax.set_title(f"abm run --jobs 2, events {'on' if events else 'off'}")
        ax.set_xlabel("elapsed time (min)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("resident set size (MiB)")
    fig.suptitle(
        "RSS over a run, sampled every 0.2 s (psutil): flat means no per-run leak\n"
        "(the step at the very end is the parent's write_summary reading the runs table back)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def replot(metrics: dict[str, Any], path: Path) -> None:
    """Redraw the figure from stored metrics (`python -m benchmarks --render`)."""
    results = []
    for key, series in metrics.get("series", {}).items():
        runs, events = key.split("-")
        results.append({"runs": int(runs), "events": events == "1", "series": series})
    if results:
        plot(results, path)


def run(quick: bool) -> Section:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    results = [measure(n, events) for events in (False, True) for n in sizes[events]]
    figure = BENCH_DIR / ("memory_rss_quick.png" if quick else "memory_rss.png")
    plot(results, figure)
    rows = [
        [
            f"{r['runs']:,}",
            "on" if r["events"] else "off",
            mib(r["root_run"]),
            mib(r["child_run"]),
            mib(r["total_run"]),
            f"{mib(r['hwm_parent_run'])} / {mib(r['hwm_worker_run'])}",
            mib(r["root_summary"]),
            f"{r['disk_bytes'] / 2**20:.1f}",
            f"{r['wall_s']:.0f}",
            r["load"],
        ]
        for r in results
    ]
    metrics: dict[str, Any] = {"sizes": {str(k): v for k, v in sizes.items()}}
    notes = []
    for events in (False, True):
        small, large = (r for r in results if r["events"] == events)
        tag = "events" if events else "noevents"
        for key in ("total_run", "root_run", "child_run", "hwm_parent_run", "hwm_worker_run"):
            metrics[f"{tag}_{key}_ratio"] = round(large[key] / small[key], 3)
        metrics[f"{tag}_total_run_mib"] = [mib(small["total_run"]), mib(large["total_run"])]
        metrics[f"{tag}_seconds"] = [small["wall_s"], large["wall_s"]]
        notes.append(
            f"Events {'on' if events else 'off'}: {small['runs']:,} -> {large['runs']:,} runs, peak RSS of the tree "
            f"(run phase) x{metrics[f'{tag}_total_run_ratio']:.3f}, parent x{metrics[f'{tag}_root_run_ratio']:.3f}, "
            f"largest worker x{metrics[f'{tag}_child_run_ratio']:.3f} (kernel high-water marks: parent "
            f"x{metrics[f'{tag}_hwm_parent_run_ratio']:.3f}, worker x{metrics[f'{tag}_hwm_worker_run_ratio']:.3f}); "
            f"took {small['wall_s']:.0f} s and "
            f"{large['wall_s']:.0f} s ({large['runs'] / large['run_phase_s']:.0f} runs/s, {large['chunks']} chunks)."
        )
    metrics["series"] = {f"{r['runs']}-{int(r['events'])}": r["series"] for r in results}
    minutes = sum(r["wall_s"] for r in results) / 60
    notes.append(
        "Tree = the `abm run` process, its loky workers and loky's resource tracker (summed); 'summary' is the "
        "parent's peak while `write_summary` reads the runs table back. VmHWM = the kernel's peak RSS of the "
        f"parent and of the largest worker at the end of the run phase. Total time of this benchmark {minutes:.1f} min."
    )
    return Section(
        name="memory",
        title="4. Peak RSS (flat memory)",
        columns=[
            "runs",
            "events",
            "parent MiB",
            "largest worker MiB",
            "tree MiB",
            "VmHWM parent / worker MiB",
            "parent in summary MiB",
            "disk MiB",
            "wall s",
            "load (1/5/15 min)",
        ],
        rows=rows,
        metrics=metrics,
        notes=notes,
        figures=[figure.name],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="child process of the memory benchmark")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--events", action="store_true")
    sys.exit(child(parser.parse_args()))
