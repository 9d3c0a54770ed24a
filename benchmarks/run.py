"""Benchmark harness of issue 7: run sub-benchmarks by name, print tables, write RESULTS.md.

    python -m benchmarks                      # everything (~40 min on the 2-core machine)
    python -m benchmarks throughput profile   # some, by name
    python -m benchmarks --quick              # smoke pass with small sizes (~2 min)
    python -m benchmarks --list

Results of each benchmark are kept in `benchmarks/results.json` (`results-quick.json` with
--quick), so running one benchmark again updates only its section of `RESULTS.md`
(`RESULTS-quick.md`). Every section records when it was measured, the load average before and
after, and how long it took.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

if not __package__:  # run as `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import BENCH_DIR, Section, fmt_load, loadavg, machine_info

BENCHMARKS = {
    "throughput": "benchmarks.throughput",
    "profile": "benchmarks.profile_split",
    "parallel": "benchmarks.parallel",
    "memory": "benchmarks.memory",
    "scaling": "benchmarks.scaling",
    "alternatives": "benchmarks.alternatives",
}


# Headline numbers kept from earlier sessions of a benchmark (timings on a shared machine vary).
KEY_METRICS = {
    "throughput": (
        "model_noevents_runs_per_cpu_s",
        "e2e_noevents_runs_per_cpu_s",
        "e2e_noevents_runs_per_s",
        "overhead_cpu_noevents",
        "overhead_cpu_events",
    ),
    "profile": ("mesa_share_cprofile", "mesa_share_sampling", "mesa_share_direct"),
    "parallel": ("efficiency_warm", "efficiency_cold", "efficiency_small_chunks", "dask_vs_loky_warm"),
    "memory": ("noevents_total_run_ratio", "events_total_run_ratio"),
    "scaling": ("horizon_r2_linear", "horizon_elasticity_per_run", "agents_elasticity_per_day"),
    "alternatives": ("abm_runs_per_s", "batch_run_runs_per_s", "ema_runs_per_s"),
}
HISTORY = 8


def summary_of(entry: dict[str, Any], name: str) -> dict[str, Any]:
    """The part of a stored section that is kept when the benchmark runs again."""
    return {
        "started": entry.get("started"),
        "mode": entry.get("mode"),
        "git_commit": entry.get("git_commit"),
        "load": f"{entry.get('load_before')} -> {entry.get('load_after')}",
        **{k: entry.get("metrics", {}).get(k) for k in KEY_METRICS.get(name, ())},
    }


# -- rendering ------------------------------------------------------------------------------------
def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def text_table(columns: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in columns], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(columns: list[str], rows: list[list[Any]]) -> str:
    def esc(x: Any) -> str:
        return str(x).replace("|", "\\|")

    out = ["| " + " | ".join(esc(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# -- targets --------------------------------------------------------------------------------------
def _m(store: dict[str, Any], bench: str, key: str) -> Any:
    return store.get("benchmarks", {}).get(bench, {}).get("metrics", {}).get(key)


def _range_note(store: dict[str, Any], bench: str, keys: tuple[str, ...]) -> str:
    """`; all sessions: KEY lo-hi, ...` over this and the earlier sessions of a benchmark."""
    entry = store.get("benchmarks", {}).get(bench, {})
    sessions = [entry.get("metrics", {}), *entry.get("history", [])]
    parts = []
    for k in keys:
        values = [s[k] for s in sessions if s.get(k) is not None]
        if len(values) > 1:
            parts.append(f"{k} {min(values):.2f}-{max(values):.2f}")
    return f" [{len(sessions)} sessions: {', '.join(parts)}]" if parts else ""


def targets(store: dict[str, Any]) -> list[list[str]]:
    """Issue 7's targets against the latest measurements: [target, measured, verdict]."""
    rows: list[list[str]] = []

    def verdict(ok: bool, how: str) -> str:
        return ("met" if ok else "MISSED") + (f" ({how})" if how else "")

    rate, rate_cpu = (
        _m(store, "throughput", "e2e_noevents_runs_per_s"),
        _m(store, "throughput", "e2e_noevents_runs_per_cpu_s"),
    )
    if rate is not None:
        best = max(rate, rate_cpu)  # per CPU-second: what the core does when other jobs leave it alone
        rows.append(
            [
                ">= 200 runs/s/core end to end (baseline, 180 days, events off)",
                f"{rate_cpu:.0f} runs per CPU-second; {rate:.0f} runs/s wall (best)",
                verdict(best >= 200, f"needs {200 / best:.1f}x" if best < 200 else f"{best / 200:.2f}x the target"),
            ]
        )
    shares = {k: _m(store, "profile", f"mesa_share_{k}") for k in ("cprofile", "sampling", "direct")}
    if shares["cprofile"] is not None:
        worst = max(v for v in shares.values() if v is not None)
        shown = ", ".join(f"{k} {v:.1%}" for k, v in shares.items() if v is not None)
        rows.append(
            [
                "Mesa's share <= 20% of model time",
                shown,
                verdict(worst <= 0.20, f"worst estimate {(worst - 0.20) * 100:+.1f} pp vs 20%"),
            ]
        )
    over, over_ev = _m(store, "throughput", "overhead_cpu_noevents"), _m(store, "throughput", "overhead_cpu_events")
    if over is not None:
        wall, wall_ev = _m(store, "throughput", "overhead_noevents"), _m(store, "throughput", "overhead_events")
        rows.append(
            [
                "runner + storage overhead <= 10% of pure model time",
                f"CPU time: events off {over:+.1%}, events on {over_ev:+.1%} (wall {wall:+.1%}, {wall_ev:+.1%})",
                verdict(over <= 0.10, "events off" + ("; events on over 10%" if over_ev > 0.10 else "; events on too")),
            ]
        )
    eff, eff_cold = _m(store, "parallel", "efficiency_warm"), _m(store, "parallel", "efficiency_cold")
    fine, size = _m(store, "parallel", "efficiency_small_chunks"), _m(store, "parallel", "small_chunk_size")
    if eff is not None:
        n = _m(store, "parallel", "runs")
        rows.append(
            [
                f">= 0.9 parallel efficiency, 2 workers, {n} runs",
                f"{eff:.2f} (warm pool), {eff_cold:.2f} (incl. pool start)"
                + (f", {fine:.2f} with --chunk-size {size}" if fine is not None else "")
                + _range_note(store, "parallel", ("efficiency_warm", "efficiency_small_chunks")),
                verdict(
                    eff >= 0.9,
                    f"warm pool {eff - 0.9:+.2f}; counting the pool start {eff_cold - 0.9:+.2f}"
                    + (f"; --chunk-size {size} {fine - 0.9:+.2f}" if fine is not None else ""),
                ),
            ]
        )
    for tag, label in (("noevents", "events off"), ("events", "events on")):
        ratio = _m(store, "memory", f"{tag}_total_run_ratio")
        if ratio is not None:
            sizes = _m(store, "memory", "sizes")[str(tag == "events")]
            rows.append(
                [
                    f"flat memory, {label}: peak RSS at {sizes[1]:,} runs within 10% of {sizes[0]:,}",
                    f"x{ratio:.3f} (tree), parent x{_m(store, 'memory', f'{tag}_root_run_ratio'):.3f}",
                    verdict(ratio <= 1.10, f"{(ratio - 1) * 100:+.1f}%"),
                ]
            )
    el, r2 = _m(store, "scaling", "horizon_elasticity_per_run"), _m(store, "scaling", "horizon_r2_linear")
    if el is not None:
        rows.append(
            [
                "time per run linear in horizon (45..360 days)",
                f"R² {r2:.3f} of a linear fit; log-log slope {el:.2f}",
                verdict(r2 >= 0.98 and el <= 1.05, ""),
            ]
        )
        ag = _m(store, "scaling", "agents_elasticity_per_day")
        rng = _m(store, "scaling", "agents_range")
        rows.append(
            [
                f"at most linear in agents ({rng[0]} -> {rng[1]})",
                f"log-log slope of cost per simulated day {ag:.2f}, per run "
                f"{_m(store, 'scaling', 'agents_elasticity_per_run'):.2f}",
                verdict(ag <= 1.05, ""),
            ]
        )
    return rows


def commands(store: dict[str, Any]) -> str:
    """The distinct commands that produced the stored sections, in benchmark order."""
    seen: dict[str, list[str]] = {}
    for name in BENCHMARKS:
        entry = store.get("benchmarks", {}).get(name)
        if entry:
            seen.setdefault(entry.get("command", "python -m benchmarks"), []).append(name)
    if len(seen) == 1:
        return f"`{next(iter(seen))}`"
    return "; ".join(f"`{c}` ({', '.join(names)})" for c, names in seen.items())


def readme_snippet(store: dict[str, Any]) -> str:
    machine = store.get("machine", {})
    lines = ["### Performance", ""]
    lines.append(
        f"Measured with {commands(store)} on {machine.get('cpu', '?')} ({machine.get('cores', '?')}), Python "
        f"{machine.get('python', '?')}, Mesa {machine.get('versions', {}).get('mesa', '?')}, commit "
        f"{machine.get('git_commit', '?')}, {machine.get('date', '?')}; a shared machine, so these are best-of "
        "timings (see `benchmarks/RESULTS.md` for loads, medians and profiles). Baseline scenario, 180 days:"
    )
    lines.append("")
    bullets = []
    m = lambda b, k: _m(store, b, k)  # noqa: E731
    if m("throughput", "model_noevents_runs_per_s") is not None:
        bullets.append(
            f"one core: {m('throughput', 'model_noevents_runs_per_cpu_s'):.0f} runs per CPU-second for the model "
            f"alone, {m('throughput', 'e2e_noevents_runs_per_cpu_s'):.0f} for `abm run --backend serial --jobs 1` "
            f"with Parquet output ({m('throughput', 'e2e_events_runs_per_cpu_s'):.0f} with `--events`); best wall "
            f"rates {m('throughput', 'model_noevents_runs_per_s'):.0f} and "
            f"{m('throughput', 'e2e_noevents_runs_per_s'):.0f} runs/s. The runner and Parquet storage add "
            f"{m('throughput', 'overhead_cpu_noevents'):.0%} to the model's CPU time "
            f"({m('throughput', 'overhead_cpu_events'):.0%} with events)"
        )
    if m("parallel", "runs_per_s_2_workers") is not None:
        fine = m("parallel", "efficiency_small_chunks")
        bullets.append(
            f"two workers (loky): {m('parallel', 'runs_per_s_2_workers'):.0f} runs/s, parallel efficiency "
            f"{m('parallel', 'efficiency_warm'):.2f} on {m('parallel', 'runs')} runs with the default chunking "
            f"({m('parallel', 'efficiency_cold'):.2f} counting the pool start"
            + (f", {fine:.2f} with `--chunk-size {m('parallel', 'small_chunk_size')}`" if fine is not None else "")
            + f"); a dask LocalCluster took {m('parallel', 'dask_vs_loky_warm'):.1f}x loky's time"
            + _range_note(store, "parallel", ("efficiency_warm", "efficiency_small_chunks", "dask_vs_loky_warm"))
        )
    if m("profile", "mesa_share_sampling") is not None:
        bullets.append(
            f"Mesa's own share of model time: {m('profile', 'mesa_share_sampling'):.0%} (sampling profile), "
            f"{m('profile', 'mesa_share_direct'):.0%} measured directly; the agents' decision rules take most "
            "of the rest"
        )
    if m("memory", "noevents_total_run_ratio") is not None:
        sizes = m("memory", "sizes")
        bullets.append(
            f"memory stays flat: peak RSS of `abm run --jobs 2` at {sizes['False'][1]:,} runs is "
            f"{m('memory', 'noevents_total_run_ratio'):.2f}x that at {sizes['False'][0]:,} "
            f"({m('memory', 'events_total_run_ratio'):.2f}x with `--events`, {sizes['True'][0]:,} -> "
            f"{sizes['True'][1]:,} runs: events stream to Parquet)"
        )
    if m("scaling", "horizon_r2_linear") is not None:
        bullets.append(
            f"cost grows linearly with the horizon (R² {m('scaling', 'horizon_r2_linear'):.3f}) and about "
            f"linearly with agents (log-log slope {m('scaling', 'agents_elasticity_per_day'):.2f} per simulated "
            "day); see `benchmarks/scaling_*.png`"
        )
    if m("alternatives", "abm_speedup_vs_batch_run") is not None:
        ema = m("alternatives", "ema_runs_per_s")
        bullets.append(
            f"the same {m('alternatives', 'runs')} runs on 2 processes: `abm run --jobs 2` "
            f"{m('alternatives', 'abm_runs_per_s'):.0f} runs/s (with Parquet output), `mesa.batch_run` "
            f"{m('alternatives', 'batch_run_runs_per_s'):.0f}"
            + (f", EMA Workbench's MultiprocessingEvaluator {ema:.0f}" if ema else "")
            + f". batch_run's outcome labels differ from abm's on {1 - m('alternatives', 'batch_run_agreement'):.1%} "
            "of the runs: it returns the record before the last step, so runs that end in a war are reported "
            "as of the day before"
        )
    lines += [f"* {b}" for b in bullets]
    return "\n".join(lines)


def write_markdown(store: dict[str, Any], path: Path, quick: bool) -> None:
    machine = store.get("machine", {})
    out = [
        "# Benchmark results (issue 7)" + (" — quick mode, small sizes" if quick else ""),
        "",
        f"Written by {commands(store)} (benchmarks/run.py). Each section says when it was measured; re-run one with "
        "`python -m benchmarks NAME`. Timings are wall-clock on a machine shared with other jobs: read them "
        "with the load average next to them (2 cores: a load above 2 means contention).",
        "",
        "## Machine",
        "",
        md_table(
            ["", ""],
            [
                ["date (last write)", machine.get("date")],
                ["CPU", machine.get("cpu")],
                ["cores", machine.get("cores")],
                ["memory", f"{machine.get('memory_gib')} GiB"],
                ["OS", machine.get("os")],
                ["Python", machine.get("python")],
                *[[k, v] for k, v in machine.get("versions", {}).items()],
                ["BLAS threads", machine.get("blas")],
                [
                    "git commit",
                    f"{machine.get('git_commit')} (+{machine.get('git_dirty_abm_files', 0)} uncommitted files "
                    "under abm/)",
                ],
                ["load average at start (1/5/15 min)", machine.get("load_average")],
            ],
        ),
        "",
        "## Targets",
        "",
        md_table(["target", "measured", "verdict"], targets(store)),
        "",
    ]
    for name in BENCHMARKS:
        entry = store.get("benchmarks", {}).get(name)
        if not entry:
            continue
        out += [
            f"## {entry['title']}",
            "",
            f"_Measured {entry['started']} with `{entry.get('command', '?')}` ({entry['mode']} mode, commit "
            f"{entry.get('git_commit', '?')}), took "
            f"{entry['seconds'] / 60:.1f} min; load average before {entry['load_before']}, after "
            f"{entry['load_after']}._",
            "",
            md_table(entry["columns"], entry["rows"]),
            "",
        ]
        for extra in entry.get("extra_tables", []):
            out += [f"**{extra['title']}**", "", md_table(extra["columns"], extra["rows"]), ""]
        out += [f"* {n}" for n in entry.get("notes", [])]
        out.append("")
        if entry.get("history"):
            keys = KEY_METRICS.get(name, ())
            sessions = [summary_of(entry, name), *entry["history"]]
            out += [
                "**This and earlier sessions** (headline numbers; the machine's load decides much of the spread)",
                "",
                md_table(
                    ["measured", "load (1-min avg before -> after)", "commit", *keys],
                    [[h["started"], h["load"], h["git_commit"], *(_fmt(h.get(k)) for k in keys)] for h in sessions],
                ),
                "",
            ]
        out += [f"![{f}]({f})" for f in entry.get("figures", [])]
        if entry.get("figures"):
            out.append("")
    out += ["## For README.md", "", "```markdown", readme_snippet(store), "```", ""]
    path.write_text("\n".join(out))


# -- main -----------------------------------------------------------------------------------------
def _describe(name: str) -> str:
    doc = importlib.import_module(BENCHMARKS[name]).__doc__ or ""
    return doc.strip().splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default all): {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, ~2 minutes in all; writes RESULTS-quick.md")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--render", action="store_true", help="rewrite RESULTS.md from the stored results.json without running"
    )
    args = parser.parse_args(argv)
    if args.list:
        for name in BENCHMARKS:
            print(f"{name:13s} {_describe(name)}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    suffix = "-quick" if args.quick else ""
    json_path, md_path = BENCH_DIR / f"results{suffix}.json", BENCH_DIR / f"RESULTS{suffix}.md"
    store: dict[str, Any] = json.loads(json_path.read_text()) if json_path.exists() else {}
    store.setdefault("benchmarks", {})
    if args.render:
        memory = store["benchmarks"].get("memory")
        if memory:
            from benchmarks.memory import replot

            replot(memory["metrics"], BENCH_DIR / memory["figures"][0])
        write_markdown(store, md_path, args.quick)
        print(f"wrote {md_path}")
        return 0
    info = machine_info()
    store["machine"] = info
    store["command"] = (
        "python -m benchmarks" + (" --quick" if args.quick else "") + (f" {' '.join(args.names)}" if args.names else "")
    )
    print(f"machine: {info['cpu']}, {info['cores']}, Python {info['python']}, mesa {info['versions']['mesa']}")
    print(f"commit {info['git_commit']}, load average {info['load_average']}\n")
    began = time.perf_counter()
    for name in names:
        load_before, started = loadavg(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        t0 = time.perf_counter()
        print(f"== {name}: {_describe(name)}", flush=True)
        section: Section = importlib.import_module(BENCHMARKS[name]).run(args.quick)
        seconds = time.perf_counter() - t0
        entry = asdict(section)
        entry.update(
            mode="quick" if args.quick else "full",
            started=started,
            seconds=round(seconds, 1),
            load_before=fmt_load(load_before),
            load_after=fmt_load(loadavg()),
            git_commit=info["git_commit"],
            command=store["command"],
        )
        previous = store["benchmarks"].get(name)
        if previous:
            entry["history"] = [summary_of(previous, name), *previous.get("history", [])][:HISTORY]
        store["benchmarks"][name] = entry
        json_path.write_text(json.dumps(store, indent=1, default=str) + "\n")
        print(text_table(section.columns, section.rows))
        for extra in section.extra_tables:
            print(f"\n{extra['title']}\n{text_table(extra['columns'], extra['rows'])}")
        for note in section.notes:
            print(f"  * {note}")
        for fig in section.figures:
            print(f"  figure: {BENCH_DIR / fig}")
        print(f"  ({seconds:.0f} s, load {entry['load_before']} -> {entry['load_after']})\n", flush=True)
    write_markdown(store, md_path, args.quick)
    print(text_table(["target", "measured", "verdict"], targets(store)))
    print(f"\n{len(names)} benchmark(s) in {(time.perf_counter() - began) / 60:.1f} min; wrote {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
