"""1. Runs per second on one core: the model alone, and `abm run` end to end (serial, 1 job).

Model only is a loop over `simulate(scenario, seed, record_events)` for the seeds `abm run`
uses. End to end is `abm.cli.main(["run", ...])` in this process with `--backend serial
--jobs 1`: config loading, the runner's pilot runs (chunk sizing), Arrow tables, Parquet part
files, manifest, summary. The same seeds, so both do identical model work and the difference
is the runner's and storage's overhead. Variants are interleaved and repeated; the best of
the repeats is the estimate least disturbed by other jobs on the machine.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import BASELINE, MASTER_SEED, ROOT, Section, Timing, baseline, seeds, timed


def model_only(n: int, events: bool) -> Timing:
    from abm.model.simulate import simulate

    scenario = baseline()
    todo = seeds(n)

    def work() -> Counter[str]:
        return Counter(str(simulate(scenario, s, events).record["outcome"]) for s in todo)

    return timed(work)


def end_to_end(n: int, events: bool, out: Path) -> Timing:
    from abm.cli import main

    argv = ["run", str(BASELINE), "--runs", str(n), "--seed", str(MASTER_SEED), "--backend", "serial"]
    argv += ["--jobs", "1", "--out", str(out), "-q", *(["--events"] if events else [])]
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        t = timed(lambda: main(argv))
    if t.value != 0:
        raise RuntimeError(f"abm run failed ({t.value}): {sink.getvalue()[-2000:]}")
    import pandas as pd

    runs = pd.read_parquet(out / "runs", columns=["outcome"])
    t.value = Counter(runs["outcome"].astype(str))
    return t


def cli_subprocess(n: int) -> float:
    """Wall seconds of `abm run` as a user types it (interpreter start and imports included)."""
    with tempfile.TemporaryDirectory(prefix="abm-bench-") as tmp:
        cmd = [str(ROOT / ".venv" / "bin" / "abm"), "run", str(BASELINE), "--runs", str(n), "--backend", "serial"]
        cmd += ["--jobs", "1", "--out", str(Path(tmp) / "out"), "-q"]
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)
        return time.perf_counter() - t0


def startup_seconds() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import abm.cli, abm.model.simulate"], cwd=ROOT, check=True)
    return time.perf_counter() - t0


def run(quick: bool) -> Section:
    n = 100 if quick else 600
    repeats = 2 if quick else 4
    model_only(20, False)  # warm-up: imports, caches
    results: dict[tuple[str, bool], list[Timing]] = {}
    with tempfile.TemporaryDirectory(prefix="abm-bench-") as tmp:
        end_to_end(5, True, Path(tmp) / "warm-up")  # the CLI's imports are not per-run work
        for r in range(repeats):
            for events in (False, True):
                results.setdefault(("model", events), []).append(model_only(n, events))
                out = Path(tmp) / f"e2e-{r}-{int(events)}"
                results.setdefault(("e2e", events), []).append(end_to_end(n, events, out))
    counts = {key: ts[0].value for key, ts in results.items()}
    same = counts[("model", False)] == counts[("e2e", False)] == counts[("e2e", True)]

    rows: list[list[Any]] = []
    metrics: dict[str, Any] = {"runs": n, "repeats": repeats}
    for (kind, events), ts in results.items():
        walls = sorted(t.wall for t in ts)
        cpu = min(t.cpu for t in ts)
        label = ("model only (simulate loop)" if kind == "model" else "end to end (abm run, serial, 1 job)") + (
            ", events on" if events else ", events off"
        )
        rate, rate_med, rate_cpu = n / walls[0], n / walls[len(walls) // 2], n / cpu
        rows.append([label, n, f"{walls[0]:.2f}", f"{rate:.1f}", f"{rate_med:.1f}", f"{rate_cpu:.1f}"])
        key = f"{kind}_{'events' if events else 'noevents'}"
        metrics[f"{key}_runs_per_s"] = round(rate, 1)
        metrics[f"{key}_runs_per_cpu_s"] = round(rate_cpu, 1)
        metrics[f"{key}_best_wall_s"] = round(walls[0], 3)
        metrics[f"{key}_best_cpu_s"] = round(cpu, 3)
    for events in (False, True):
        suffix = "events" if events else "noevents"
        m, e = metrics[f"model_{suffix}_best_wall_s"], metrics[f"e2e_{suffix}_best_wall_s"]
        mc, ec = metrics[f"model_{suffix}_best_cpu_s"], metrics[f"e2e_{suffix}_best_cpu_s"]
        metrics[f"overhead_{suffix}"] = round((e - m) / m, 4)
        metrics[f"overhead_cpu_{suffix}"] = round((ec - mc) / mc, 4)
    startup = startup_seconds()
    sub_n = 100 if quick else 500
    sub = cli_subprocess(sub_n)
    metrics["startup_s"] = round(startup, 2)
    metrics["cli_subprocess_runs"] = sub_n
    metrics["cli_subprocess_s"] = round(sub, 2)
    notes = [
        f"Same {n} seeds (runs 0..{n - 1} of master seed {MASTER_SEED}) in every variant; outcome counts "
        f"{'identical' if same else 'DIFFER'} between the simulate loop and the Parquet tables: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts[("model", False)].items())),
        "Runner + storage overhead = (end-to-end time - model-only time) / model-only time, best of the "
        f"repeats, in CPU time: events off {metrics['overhead_cpu_noevents']:+.1%}, events on "
        f"{metrics['overhead_cpu_events']:+.1%} (in wall time {metrics['overhead_noevents']:+.1%} and "
        f"{metrics['overhead_events']:+.1%}; wall time is at the mercy of other jobs). End to end "
        "includes the runner's untimed warm-up and five timed pilot runs that size chunks (not counted as runs).",
        f"Python start-up plus imports (`import abm.cli, abm.model.simulate`): {startup:.2f} s; `abm run` of "
        f"{sub_n} runs as a subprocess, everything included: {sub:.2f} s ({sub_n / sub:.1f} runs/s).",
        "runs/s (CPU) = runs per CPU-second of this process (best of the repeats): what one undisturbed core "
        "would do. When it is well above runs/s (best), other jobs were taking the core.",
    ]
    return Section(
        name="throughput",
        title="1. Runs per second on one core",
        columns=["variant", "runs", "best wall s", "runs/s (best)", "runs/s (median)", "runs/s (CPU)"],
        rows=rows,
        metrics=metrics,
        notes=notes,
    )
