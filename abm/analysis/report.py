"""`DIR/report/`: tables (built in `tables.py`), figures (`figures.py`) and report.md tying them together.

Works on any results folder: a single run (`abm run`), a sweep, a comparison or a sensitivity
analysis. What is drawn depends on what the folder holds: lever comparison -> forest plot,
sensitivity.csv -> Sobol/Morris bars, events/ -> escalation-ladder trajectories (otherwise the
report says how to get them), discovery.md -> linked.

Tables group runs by point (sweeps) or by `by` keys (marginal over the other parameters);
outcome shares carry 95% Wilson intervals like `summary.csv`, metric means a t-interval.

The runs and events are read through `abm.runner.reader`: a folder whose part files do not
match its manifest (stray, missing or damaged parts) is refused, and an unfinished folder is
reported with a note saying how much of it is finished.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from abm.analysis import figures
from abm.analysis.compare import COMPARISON_FILE, CURVES_COMPARISON_FILE, METRICS_FILE, SPEC_FILE, format_p
from abm.analysis.curves import HOT_DAYS, curve_label, curves
from abm.analysis.discovery import MARKDOWN_FILE as DISCOVERY_MD
from abm.analysis.errors import AnalysisError
from abm.analysis.figures import FIGURE_FORMATS
from abm.analysis.sensitivity import SENSITIVITY_FILE
from abm.analysis.sensitivity import SPEC_FILE as SENSITIVITY_SPEC
from abm.analysis.summary import parameter_columns
from abm.analysis.tables import (
    check_formats,
    markdown_table,
    metric_table,
    outcome_table,
    short,
    wide_metrics,
    wide_outcomes,
    write_tables,
    write_text,
)
from abm.defaults import DEFAULT_TABLE_FORMATS as DEFAULT_FORMATS
from abm.defaults import TABLE_FORMATS as FORMATS
from abm.model.outcomes import OUTCOMES, QUIET_WINDOW_DAYS
from abm.runner.reader import open_folder
from abm.runner.storage import EVENTS_DIR, RUNS_DIR

REPORT_DIR, FIGURES_DIR = "report", "figures"
MAX_PANELS = 6  # ladder / time-to-outcome groups drawn separately; beyond this, pooled
MAX_LEVELS = 12  # numeric parameters with more distinct values are binned
BINS = 5
SENSITIVITY_OUTPUTS = ("p_spiral", "p_deescalation")


@dataclass
class Folder:
    """Everything a report may use from a results folder."""

    path: Path
    runs: pd.DataFrame
    events: pd.DataFrame | None
    manifest: dict[str, Any]
    params: list[str]
    horizon: int
    compare: dict[str, Any] | None = None
    comparison: pd.DataFrame | None = None
    comparison_metrics: pd.DataFrame | None = None
    comparison_curves: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    sensitivity_spec: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_sweep(self) -> bool:
        return "point" in self.runs

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or self.path.name)


def _json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, keep_default_na=True) if path.is_file() else None


def load_folder(path: str | Path) -> Folder:
    """Read runs (and events, manifest, comparison, sensitivity when present) of a results folder.

    Runs and events come through `abm.runner.reader.open_folder`: only parts the manifest lists,
    each checked (sha256, row count) as it is read; anything else is a `FolderError` (exit 2)."""
    path = Path(path)
    if not (path / RUNS_DIR).is_dir():
        raise AnalysisError(
            f"{path}: no runs/ dataset; give a folder written by abm run, sweep, compare or sensitivity"
        )
    stored = open_folder(path)
    if not stored.has(RUNS_DIR):
        raise AnalysisError(f"{path}: the runs table is empty (no finished chunk recorded in its manifest)")
    runs = stored.read(RUNS_DIR)
    if runs.empty:
        raise AnalysisError(f"{path}: the runs table is empty")
    events = None
    if stored.has(EVENTS_DIR):
        wanted = ["point", "run", "day", "rung"] if "point" in runs else ["run", "day", "rung"]
        events = stored.read(EVENTS_DIR, wanted)
    manifest = stored.manifest
    config = manifest.get("config") if isinstance(manifest.get("config"), dict) else {}
    recorded = config.get("horizon_days")
    recorded = recorded if isinstance(recorded, int) and not isinstance(recorded, bool) else 0
    horizon = int(max(recorded, runs["days"].max(skipna=True) or 0))
    return Folder(
        path,
        runs,
        events,
        manifest,
        parameter_columns(list(runs.columns)),
        horizon,
        compare=_json(path / SPEC_FILE),
        comparison=_csv(path / COMPARISON_FILE),
        comparison_metrics=_csv(path / METRICS_FILE),
        comparison_curves=_csv(path / CURVES_COMPARISON_FILE),
        sensitivity=_csv(path / SENSITIVITY_FILE),
        sensitivity_spec=_json(path / SENSITIVITY_SPEC),
        notes=list(stored.notes),
    )


# ---------------------------------------------------------------- groups and labels


def arm_labels(folder: Folder) -> dict[int, str]:
    """Readable name of each point: compare arms by what differs from the base, sweep points by values."""
    if folder.compare:
        base = {lv["label"]: lv["values"][0] for lv in folder.compare["levers"]}
        out = {}
        for arm in folder.compare["arms"]:
            changed = [f"{k}={v}" for k, v in arm["values"].items() if base.get(k) != v]
            out[int(arm["point"])] = (
                ", ".join(changed) if changed else "base: " + ", ".join(f"{k}={v}" for k, v in arm["values"].items())
            )
        return out
    if not folder.is_sweep:
        return {}
    first = folder.runs.drop_duplicates("point").set_index("point")[folder.params]
    return {
        int(p): f"point {p}: " + ", ".join(f"{k.split('.')[-1]}={short(v)}" for k, v in row.items())
        for p, row in first.iterrows()
    }


def run_groups(folder: Folder, by: Sequence[str]) -> tuple[dict[str, pd.DataFrame], str]:
    """Groups of runs for ladder and time-to-outcome figures (pooled when there are too many)."""
    runs = folder.runs[folder.runs["error"].isna()] if "error" in folder.runs else folder.runs
    if by:
        groups = {
            ", ".join(
                f"{k}={short(v)}" for k, v in zip(by, key if isinstance(key, tuple) else (key,), strict=True)
            ): frame
            for key, frame in runs.groupby(list(by), sort=True)
        }
    elif folder.is_sweep:
        names = arm_labels(folder)
        groups = {names.get(int(p), f"point {p}"): frame for p, frame in runs.groupby("point", sort=True)}
    else:
        groups = {"all runs": runs}
    if len(groups) > MAX_PANELS:
        return {f"all {len(groups)} groups pooled": runs}, f"{len(groups)} groups are too many to draw apart: pooled"
    return groups, ""


def _binned(series: pd.Series) -> tuple[pd.Series, list[str], str]:
    """Values as labels, their order, and a note; numeric parameters with many values -> quantile bins."""
    if series.dtype.kind in "fiu" and series.nunique() > MAX_LEVELS:
        bins = pd.qcut(series, BINS, duplicates="drop")
        names = [f"q{i + 1}: {iv.left:.3g}–{iv.right:.3g}" for i, iv in enumerate(bins.cat.categories)]
        return bins.cat.rename_categories(names).astype(str), names, "quantile bins"
    order = [short(v) for v in sorted(series.dropna().unique(), key=lambda v: (str(type(v)), v))]
    return series.map(short), list(dict.fromkeys(order)), ""


def lever_views(folder: Folder, by: Sequence[str]) -> list[tuple[str, pd.DataFrame, list[str], str]]:
    """(key, runs with a `value` column, value order, note) per lever / parameter to plot outcome shares against."""
    runs = folder.runs
    views = []
    if folder.compare and not by:
        full = folder.compare.get("design") == "full"
        levers = folder.compare["levers"]
        arm_values = {int(a["point"]): a["values"] for a in folder.compare["arms"]}
        for lv in levers:
            label, base = lv["label"], {o["label"]: o["values"][0] for o in levers if o["label"] != lv["label"]}
            points = [p for p, vals in arm_values.items() if full or all(vals[k] == v for k, v in base.items())]
            subset = runs[runs["point"].isin(points)]
            value = subset["point"].map(lambda p, label=label: arm_values[int(p)][label])
            note = "pooled over the other levers (full design)" if full else "other levers at their base value"
            views.append((label, subset.assign(value=value), list(lv["values"]), note if len(levers) > 1 else ""))
        return views
    for key in by or folder.params:
        value, order, binned = _binned(runs[key])
        notes = (["marginal over the other parameters"] if len(folder.params) > 1 else []) + (
            [binned] if binned else []
        )
        views.append((key, runs.assign(value=value), order, "; ".join(notes)))
    return views


# ---------------------------------------------------------------- the report


@dataclass
class Report:
    path: Path
    figures: list[Path] = field(default_factory=list)
    tables: dict[str, list[Path]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    figure_formats: tuple[str, ...] = FIGURE_FORMATS


def sensitivity_outputs(indices: pd.DataFrame) -> list[str]:
    """Outputs to show: P(spiral) and P(de-escalation), or the first two present (constant ones are absent)."""
    present = list(dict.fromkeys(indices["outcome_metric"]))
    preferred = [o for o in SENSITIVITY_OUTPUTS if o in present]
    return preferred or present[:2]


def _stem(key: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in key).strip("_")


def _clean(report_dir: Path) -> None:
    """Remove what an earlier report wrote, so report/ never mixes figures of two runs of the command."""
    stale = [
        *report_dir.glob(f"{FIGURES_DIR}/*.png"),
        *report_dir.glob(f"{FIGURES_DIR}/*.svg"),
        *report_dir.glob("*.csv"),
        *report_dir.glob("*.md"),
        *report_dir.glob("*.tex"),
        *report_dir.glob("report.xlsx"),
    ]
    for path in stale:
        path.unlink(missing_ok=True)


def build_report(
    out_dir: str | Path,
    formats: Sequence[str] = DEFAULT_FORMATS,
    by: Sequence[str] = (),
    figure_formats: Sequence[str] = FIGURE_FORMATS,
) -> Report:
    """Write DIR/report/: tables in the chosen formats, figures (PNG and SVG by default) and report.md."""
    formats = check_formats(formats)
    bad = [f for f in figure_formats if f not in FIGURE_FORMATS]
    if bad or not figure_formats:
        raise AnalysisError(f"--figure-format: got {bad[0] if bad else 'nothing'!r}; allowed: png, svg")
    folder = load_folder(out_dir)
    by = list(by)
    unknown = [k for k in by if k not in folder.params]
    if unknown:
        allowed = ", ".join(folder.params) or "none (this folder has no varied parameters)"
        raise AnalysisError(f"--by {unknown[0]!r}: not a parameter of this folder; allowed: {allowed}")
    report_dir = folder.path / REPORT_DIR
    fig_dir = report_dir / FIGURES_DIR
    _clean(report_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    rep = Report(report_dir / "report.md", figure_formats=tuple(figure_formats), notes=list(folder.notes))
    if by:
        folder.runs = folder.runs.copy()
        for key in by:
            values, _, binned = _binned(folder.runs[key])
            if binned:  # a continuous --by key: group tables and figures by quantile bins, not 1000 values
                folder.runs[key] = values
                rep.notes.append(f"`{key}` has more than {MAX_LEVELS} values: grouped into {BINS} quantile bins.")
    group_keys = by or (["point", *folder.params] if folder.is_sweep else [])

    outcomes_long = outcome_table(folder.runs, group_keys)
    metrics_long = metric_table(folder.runs, group_keys)
    tables: dict[str, tuple[pd.DataFrame, pd.DataFrame, str]] = {
        "outcomes": (
            outcomes_long,
            wide_outcomes(outcomes_long, group_keys),
            "Outcome probabilities, p [95% Wilson interval]",
        ),
        "metrics": (metrics_long, wide_metrics(metrics_long, group_keys), "Run metrics, mean [95% t-interval]"),
    }
    if folder.comparison is not None:
        tables["comparison"] = (
            folder.comparison,
            _comparison_view(folder.comparison),
            "Lever comparison: diff = p_B - p_A [95% CI], adjusted p",
        )
    if folder.comparison_curves is not None and not folder.comparison_curves.empty:
        tables["comparison_curves"] = (
            folder.comparison_curves,
            _comparison_view(folder.comparison_curves),
            "Lever effects on the time curves at days 30, 90, 180 and the horizon: diff = p_B - p_A [95% CI], "
            "adjusted p",
        )
    if folder.sensitivity is not None and not folder.sensitivity.empty:
        tables["sensitivity"] = (folder.sensitivity, folder.sensitivity, "Sensitivity indices")
    rep.tables = write_tables(tables, report_dir, formats)

    _draw_all(folder, by, fig_dir, rep)
    write_text(rep.path, _markdown(folder, by, tables, rep))
    return rep


def _comparison_view(table: pd.DataFrame) -> pd.DataFrame:
    rows = table[~((table["p_a"] == 0) & (table["p_b"] == 0))]
    if "curve" in rows:  # comparison_curves.csv: "spiral by day 30", "quiet at day 90"
        pairs = zip(rows["curve"], rows["day"], strict=True)
        what = {"curve": [curve_label(c, d) for c, d in pairs]}
    else:
        what = {"outcome": list(rows["outcome"])}
    return pd.DataFrame(
        {
            "lever": rows["lever"],
            "A": rows["value_a"].astype(str),
            "B": rows["value_b"].astype(str),
            **what,
            "n": rows["n"],
            "p_A": rows["p_a"],
            "p_B": rows["p_b"],
            "diff [95% CI]": [
                f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                for d, lo, hi in zip(rows["diff"], rows["ci_low"], rows["ci_high"], strict=True)
            ],
            "p_adjusted": rows["p_adjusted"].map(format_p),
            "test": rows["test"],
        }
    )


def _draw_all(folder: Folder, by: Sequence[str], fig_dir: Path, rep: Report) -> None:
    name = folder.name
    views = lever_views(folder, by) if (folder.params or by) else []
    if not views:
        table = outcome_table(folder.runs)
        fig = figures.outcome_bars(
            table[table["outcome"].isin(OUTCOMES)], f"{name}: outcome probabilities ({len(folder.runs)} runs)"
        )
        rep.figures += figures.save(fig, fig_dir / "outcomes", rep.figure_formats)
    for key, subset, order, note in views:
        table = outcome_table(subset, ["value"])
        table = table[table["outcome"].isin(OUTCOMES)]
        xlabel = f"{key}" + (f" — {note}" if note else "")
        fig = figures.outcome_probabilities(table, "value", f"P(outcome) by {key}", xlabel, order)
        rep.figures += figures.save(fig, fig_dir / f"outcomes_by_{_stem(key)}", rep.figure_formats)
    groups, note = run_groups(folder, by)
    if note:
        rep.notes.append(f"Ladder and time-to-outcome figures: {note}.")
    fig = figures.time_to_outcome(groups, folder.horizon, f"{name}: time to outcome")
    rep.figures += figures.save(fig, fig_dir / "time_to_outcome", rep.figure_formats)
    tables = {f"{label} (n={len(runs)})": curves(runs, folder.horizon) for label, runs in groups.items()}
    if not any(t["p_quiet"].notna().any() for t in tables.values()):
        rep.notes.append(f"No `{HOT_DAYS}` column in runs/ (an older model), so the curves figure has no quiet panel.")
    fig = figures.time_curves(tables, f"{name}: cumulative curves with 95% bands")
    rep.figures += figures.save(fig, fig_dir / "curves", rep.figure_formats)
    if folder.events is None:
        rep.notes.append("No events/ in this folder, so no escalation-ladder figure: rerun with --events to get it.")
    else:
        panels = {}
        for label, runs in groups.items():
            keys = ["point", "run"] if "point" in runs else ["run"]
            ev = folder.events.merge(runs[keys].drop_duplicates(), on=keys)
            panels[f"{label} (n={len(runs)})"] = figures.ladder_shares(ev, runs, folder.horizon)
        fig = figures.ladder(panels, f"{name}: escalation ladder, share of runs at each rung by day")
        rep.figures += figures.save(fig, fig_dir / "ladder", rep.figure_formats)
    if folder.comparison is not None and not folder.comparison.empty:
        alpha = float((folder.compare or {}).get("alpha", 0.05))
        paired = (folder.compare or {}).get("paired", True)
        title = f"{name}: lever effects ({'paired, common random numbers' if paired else 'independent arms'})"
        rep.figures += figures.save(
            figures.forest(folder.comparison, title, alpha), fig_dir / "comparison_forest", rep.figure_formats
        )
    if folder.sensitivity is not None and not folder.sensitivity.empty:
        method = (folder.sensitivity_spec or {}).get("method") or ("sobol" if "ST" in folder.sensitivity else "morris")
        outputs = sensitivity_outputs(folder.sensitivity)
        fig = figures.sensitivity_bars(
            folder.sensitivity, method, outputs, f"{name}: {method} sensitivity of {', '.join(outputs)}"
        )
        rep.figures += figures.save(fig, fig_dir / "sensitivity", rep.figure_formats)


FIGURE_CAPTIONS = {
    "outcomes": "Outcome probabilities with 95% Wilson intervals.",
    "outcomes_by": "Outcome probabilities by value, 95% Wilson intervals.",
    "time_to_outcome": "Cumulative share of runs that reached each outcome by day (unresolved runs reach the "
    "horizon and are not drawn; de-escalation is dated by the last day above rung 3).",
    "curves": "Time curves with 95% Wilson bands: share of runs whose spiral began by day t, that signed a deal "
    "by day t, and whose state track is quiet at day t (no state-track act above rung 3 on days "
    f"t-{QUIET_WINDOW_DAYS - 1}..t; a spiral is never quiet, a deal is quiet {QUIET_WINDOW_DAYS} days after its "
    "last hot day). Failed runs left out.",
    "ladder": f"Share of runs at each rung of the escalation ladder by day (highest rung in the last "
    f"{figures.LADDER_WINDOW_DAYS} days; spirals count as rung 9 from their start, deals as 0).",
    "comparison_forest": "Difference in outcome probability, B − A, with 95% intervals; filled markers: "
    "adjusted p below alpha.",
    "sensitivity": "Sensitivity indices with 95% bootstrap intervals.",
}


def _caption(stem: str) -> str:
    for key in sorted(FIGURE_CAPTIONS, key=len, reverse=True):
        if stem.startswith(key):
            return FIGURE_CAPTIONS[key]
    return ""


def _describe(folder: Folder) -> list[str]:
    m = folder.manifest
    runs, n_points = len(folder.runs), folder.runs["point"].nunique() if folder.is_sweep else 1
    kind = (
        "lever comparison"
        if folder.compare
        else "sensitivity analysis"
        if folder.sensitivity_spec
        else "sweep"
        if folder.is_sweep
        else "Monte Carlo run"
    )
    crn = m.get("common_random_numbers")
    failed = int(folder.runs["error"].notna().sum()) if "error" in folder.runs else 0
    lines = [
        f"- folder: `{folder.path}` ({kind})",
        f"- runs: {runs} ({n_points} point{'s' if n_points != 1 else ''}), failed: {failed}",
        f"- master seed: {m.get('master_seed', '?')}; common random numbers: "
        f"{'yes' if crn else 'no' if crn is not None else '?'}; horizon: {folder.horizon} days",
    ]
    if m.get("git_commit"):
        lines.append(f"- code: abm {m.get('abm_version', '?')}, commit `{m['git_commit']}`")
    if folder.compare:
        c = folder.compare
        how = (
            "paired on common random numbers (McNemar, Newcombe paired interval)"
            if c["paired"]
            else "independent arms (score test, Newcombe interval)"
        )
        lines.append(f"- comparison: {c['design']} design, {how}, {c['correction']} adjustment, alpha {c['alpha']}")
    if folder.sensitivity_spec:
        s = folder.sensitivity_spec
        lines.append(
            f"- sensitivity: {s['method']}, N = {s['samples']}, {s['points']} points x "
            f"{s['runs_per_point']} runs (common random numbers)"
        )
    return lines


def _markdown(
    folder: Folder, by: Sequence[str], tables: dict[str, tuple[pd.DataFrame, pd.DataFrame, str]], rep: Report
) -> str:
    lines = [f"# Report: {folder.name}", "", *_describe(folder), ""]
    if by:
        lines += [f"Grouped by {', '.join(f'`{k}`' for k in by)} (marginal over other parameters).", ""]

    def links(name: str) -> str:
        files = [p.name for p in rep.tables.get(name, [])]
        return ("Files: " + ", ".join(f"[{f}]({f})" for f in files)) if files else ""

    sections = [
        ("outcomes", "Outcome probabilities"),
        ("metrics", "Run metrics"),
        ("comparison", "Lever comparison"),
        ("comparison_curves", "Lever effects on the time curves"),
        ("sensitivity", "Sensitivity"),
    ]
    for name, title in sections:
        if name not in tables:
            continue
        _, wide, caption = tables[name]
        shown = wide
        if name == "sensitivity":
            shown = wide[wide["outcome_metric"].isin(sensitivity_outputs(wide))]
        lines += [f"## {title}", "", caption + ".", "", markdown_table(shown), "", links(name), ""]
    if (folder.path / DISCOVERY_MD).is_file():
        lines += [
            "## Scenario discovery",
            "",
            f"See [discovery.md](../{DISCOVERY_MD}) (PRIM boxes, CART leaves and their figures).",
            "",
        ]
    lines += ["## Figures", ""]
    shown = "png" if "png" in rep.figure_formats else "svg"
    for image in (p for p in rep.figures if p.suffix == f".{shown}"):
        svg = f" ([SVG]({FIGURES_DIR}/{image.stem}.svg))" if shown == "png" and "svg" in rep.figure_formats else ""
        lines += [f"![{image.stem}]({FIGURES_DIR}/{image.name})", "", f"*{_caption(image.stem)}*{svg}", ""]
    if rep.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in rep.notes], ""]
    return "\n".join(lines)


__all__ = ["DEFAULT_FORMATS", "FORMATS", "Folder", "Report", "build_report", "load_folder"]
