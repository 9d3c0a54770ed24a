"""Hindcast orchestration: forecast every date of a record, resolve, score, draw, write.

For a record and its scenario, each forecast date c (days from the record's day 0):

1. the scenario gets the record's events of days 0..c as `history` and `free_from_day = c + 1`
   (nothing else changes; one horizon, long enough for every date, serves all dates);
2. N runs go through the runner in memory with events; run i has seed `run_seed(seed, 0, i)`
   on every date (common random numbers), so differences between dates come from the record,
   not from new random numbers;
3. each question's probability for each of its windows W is the share of runs with its event
   on days c+1..c+W; the record resolves the same question (`abm.hindcast.questions`);
4. climatology and persistence give their probabilities (`abm.hindcast.baselines`).

Scores (`abm.hindcast.scoring`) come per question and window, pooled per window and overall,
for each record and for each sample (in-sample, held-out, out-of-sample: the records of one
sample pooled, `record` = "all"). Samples are never pooled with each other.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from abm.config import ConfigError, Scenario, config_hash, validate
from abm.hindcast import baselines
from abm.hindcast.figures import reliability_diagram, save, timeline
from abm.hindcast.questions import (
    ALL_WINDOWS,
    QUESTIONS,
    Context,
    forecast_probability,
    happened_recently,
    occurrences,
    question_table,
    resolve,
)
from abm.hindcast.record import (
    SAMPLES,
    Record,
    check_alignment,
    check_parties,
    conditioned,
    forecast_dates,
    horizon_for,
    observed_events,
)
from abm.hindcast.scoring import EPS, LEVEL, N_BOOT, score_block, stable_key
from abm.runner import DEFAULT_SEED, run_in_memory, single_experiment
from abm.runner.manifest import environment, utc_now
from abm.runner.seeds import SEED_RULE

FORECAST_COLUMNS = [
    "sample",
    "record",
    "date",
    "day",
    "question",
    "window",
    "p",
    "outcome",
    "runs",
    "window_end",
    "p_climatology",
    "p_persistence",
]
BASELINE_NAMES = ("climatology", "persistence")
ALL = "all"


@dataclass(frozen=True)
class Settings:
    """How a hindcast runs and scores; nothing here changes the model's parameters."""

    runs: int = 200
    seed: int = DEFAULT_SEED
    dates: str | None = None  # weekly | daily | comma-separated ISO dates; None: each record's own
    jobs: int | None = 1
    backend: str = "serial"
    scheduler: str | None = None  # a dask scheduler's address, with backend "dask"
    n_boot: int = N_BOOT
    level: float = LEVEL
    eps: float = EPS
    rates: Mapping[str, float] = field(default_factory=lambda: dict(baselines.BASE_RATES))
    progress: bool = False


@dataclass
class RecordForecasts:
    """Forecasts of one record on its scenario, with what identifies them."""

    record: Record
    scenario: Scenario
    config_hash: str
    parameters_hash: str
    horizon: int
    forecasts: pd.DataFrame
    observed: pd.DataFrame
    per_date: list[dict[str, Any]]

    @property
    def failures(self) -> int:
        return sum(d["failures"] for d in self.per_date)


@dataclass
class HindcastResult:
    forecasts: pd.DataFrame
    scores: pd.DataFrame
    records: list[RecordForecasts]
    files: list[Path]
    manifest: dict[str, Any]


def parameters_hash(scenario: Scenario) -> str:
    """Hash of the scenario without what a hindcast sets (history, free_from_day, horizon_days).

    Every conditioned scenario of a hindcast has this same hash: proof that only the imposed
    record differs between forecast dates.
    """
    raw = scenario.model_dump(mode="json")
    raw.update(history=[], free_from_day=1, horizon_days=180)
    return config_hash(validate(raw, source=f"{scenario.name} parameters"))


def _log(settings: Settings, text: str) -> None:
    if settings.progress:
        print(text, file=sys.stderr, flush=True)


def forecast_record(record: Record, scenario: Scenario, settings: Settings) -> RecordForecasts:
    """Forecast every date of `record` on `scenario` and resolve the questions against the record."""
    check_alignment(record, scenario)
    check_parties(record, scenario)
    frozen = config_hash(scenario)
    params = parameters_hash(scenario)
    dates = forecast_dates(record, settings.dates)
    cuts = [record.day_of(d) for d in dates]
    horizon = horizon_for(scenario, cuts)
    ctx = Context.of(scenario, record.parties)
    observed = observed_events(record, scenario)
    seen = {q.name: occurrences(q, observed, ctx) for q in QUESTIONS}
    rows: list[dict[str, Any]] = []
    per_date: list[dict[str, Any]] = []
    for date, cut in zip(dates, cuts, strict=True):
        started = time.perf_counter()
        sc = conditioned(scenario, record, cut, horizon)
        if parameters_hash(sc) != params:  # cannot happen by construction; a guard for later edits
            raise RuntimeError(f"{record.name} {date}: conditioning changed a parameter")
        exp = single_experiment(
            sc,
            settings.runs,
            settings.seed,
            events=True,
            max_failure_share=1.0,
            name=f"{record.name}-{date.isoformat()}",
        )
        res = run_in_memory(exp, jobs=settings.jobs, backend=settings.backend, scheduler=settings.scheduler)
        ok = res.runs.loc[res.runs["error"].isna(), "run"].to_numpy()
        events = res.events if res.events is not None else observed.iloc[0:0]
        for q in QUESTIONS:
            known_until = record.last_day_for(q.name)  # None: the record does not cover this question
            occ = occurrences(q, events, ctx)
            recent = happened_recently(seen[q.name], cut, baselines.PERSISTENCE_LOOKBACK_DAYS)
            for w in q.windows:
                rows.append(
                    {
                        "sample": record.sample,
                        "record": record.name,
                        "date": date.isoformat(),
                        "day": cut,
                        "question": q.name,
                        "window": w,
                        "p": forecast_probability(occ, ok, cut, w),
                        "outcome": None if known_until is None else resolve(seen[q.name], cut, w, known_until),
                        "runs": len(ok),
                        "window_end": record.date_of(cut + w).isoformat(),
                        "p_climatology": baselines.climatology(q.name, w, settings.rates),
                        "p_persistence": baselines.persistence(recent),
                    }
                )
        per_date.append(
            {
                "date": date.isoformat(),
                "day": cut,
                "free_from_day": cut + 1,
                "history_events": len(sc.history),
                "config_hash": config_hash(sc),
                "runs_ok": len(ok),
                "failures": int(res.failures),
                **({"lost_workers": res.lost_workers} if res.lost_workers else {}),  # as a runner manifest's
            }
        )
        _log(
            settings,
            f"abm hindcast {record.name}: {date} (day {cut}) {len(ok)} runs in {time.perf_counter() - started:.1f} s",
        )
    if config_hash(scenario) != frozen:  # scenarios are frozen pydantic objects; checked all the same
        raise RuntimeError("the scenario changed during the hindcast")
    frame = pd.DataFrame(rows, columns=FORECAST_COLUMNS)
    frame["outcome"] = frame["outcome"].astype("Int64")
    return RecordForecasts(record, scenario, frozen, params, horizon, frame, observed, per_date)


def _block(part: pd.DataFrame, settings: Settings, key: Sequence[object]) -> dict[str, float]:
    data = part.dropna(subset=["outcome", "p"])
    return score_block(
        data["p"].to_numpy(float),
        data["outcome"].to_numpy(float),
        (data["record"].astype(str) + "|" + data["date"].astype(str)).to_numpy(),  # a cluster: one record's date
        {name: data[f"p_{name}"].to_numpy(float) for name in BASELINE_NAMES},
        n_boot=settings.n_boot,
        seed=[settings.seed, stable_key("hindcast-bootstrap", *key)],
        level=settings.level,
        eps=settings.eps,
    )


def _windows(part: pd.DataFrame) -> list[int]:
    return sorted({int(w) for w in part["window"]})


def _score_rows(part: pd.DataFrame, settings: Settings, sample: str, record: str, key: str) -> list[dict[str, Any]]:
    """Rows of one block of forecasts: per (question, window), per window over all questions, overall.

    `key` names the block in the bootstrap seed: the record's name, or the names of the records
    a sample pools (so a sample of one record gets the record's own intervals).
    """
    rows: list[dict[str, Any]] = []
    head = {"sample": sample, "record": record}
    for q in QUESTIONS:
        for w in q.windows:
            sel = part[(part["question"] == q.name) & (part["window"] == w)]
            if not sel.empty:
                rows.append({**head, "question": q.name, "window": str(w), **_block(sel, settings, (key, q.name, w))})
    for w in _windows(part):
        sel = part[part["window"] == w]
        rows.append({**head, "question": ALL, "window": str(w), **_block(sel, settings, (key, ALL, w))})
    rows.append({**head, "question": ALL, "window": ALL, **_block(part, settings, (key, ALL, ALL))})
    return rows


def sample_order(samples: Sequence[str]) -> list[str]:
    """Samples in table order: in-sample, held-out, out-of-sample, then any other label."""
    present = list(dict.fromkeys(samples))
    return [s for s in SAMPLES if s in present] + sorted(set(present) - set(SAMPLES))


def score_forecasts(forecasts: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """scores.csv: per record and per sample (its records pooled, `record` = "all"), each with rows per
    (question, window), per window over all questions, and overall. Samples are never pooled."""
    rows: list[dict[str, Any]] = []
    for sample in sample_order(forecasts["sample"].tolist()):
        part = forecasts[forecasts["sample"] == sample]
        names = list(dict.fromkeys(part["record"]))
        for record in names:
            rows += _score_rows(part[part["record"] == record], settings, sample, record, record)
        rows += _score_rows(part, settings, sample, ALL, "+".join(sorted(names)))
    table = pd.DataFrame(rows)
    first = [
        "question",
        "window",
        "n",
        "n_events",
        "mean_p",
        "event_rate",
        "brier",
        "brier_ci_low",
        "brier_ci_high",
        "log_score",
        "log_ci_low",
        "log_ci_high",
    ]
    for name in BASELINE_NAMES:
        first += [
            f"brier_{name}",
            f"skill_{name}",
            f"skill_{name}_ci_low",
            f"skill_{name}_ci_high",
            f"log_{name}",
            f"log_skill_{name}",
        ]
    first += ["sample", "record"]
    for col in first:
        if col not in table:
            table[col] = float("nan")
    table["n"] = table["n"].astype(int)
    table["n_events"] = table["n_events"].astype(int)
    return table[first]


def observed_dates(rf: RecordForecasts) -> dict[str, list[str]]:
    """Question -> dates on which the record shows its event (for figures and the manifest)."""
    ctx = Context.of(rf.scenario, rf.record.parties)
    out = {}
    for q in QUESTIONS:
        occ = occurrences(q, rf.observed, ctx)
        out[q.name] = sorted({rf.record.date_of(int(d)).isoformat() for d in occ["day"]})
    return out


SCORE_VIEW = [
    "question",
    "window",
    "n",
    "n_events",
    "brier",
    "brier_ci_low",
    "brier_ci_high",
    "log_score",
    "skill_climatology",
    "skill_persistence",
]
_NUMBERS = ("brier", "brier_ci_low", "brier_ci_high", "log_score", "skill_climatology", "skill_persistence")


def _view(rows: pd.DataFrame, cols: Sequence[str]) -> str:
    view = rows[list(cols)].copy()
    for c in _NUMBERS:
        if c in view:
            view[c] = view[c].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    return view.to_string(index=False)


def format_scores(scores: pd.DataFrame) -> str:
    """The scores as text for the terminal: a table per record, one per sample pooling its records
    (when it has more than one), and a summary of the overall rows per record and per sample."""
    blocks = []
    for sample in sample_order(scores["sample"].tolist()):
        part = scores[scores["sample"] == sample]
        names = [r for r in dict.fromkeys(part["record"]) if r != ALL]
        for record in names:
            blocks.append(f"{sample}: {record}\n{_view(part[part['record'] == record], SCORE_VIEW)}")
        if len(names) > 1:
            pooled = part[part["record"] == ALL]
            blocks.append(
                f"{sample}: all {len(names)} records pooled ({', '.join(names)})\n{_view(pooled, SCORE_VIEW)}"
            )
    overall = scores[(scores["question"] == ALL) & (scores["window"] == ALL)]
    summary = _view(overall, ["sample", "record", *SCORE_VIEW[2:]])
    blocks.append(f"overall per record and per sample (record 'all': the sample's records pooled)\n{summary}")
    return "\n\n".join(blocks)


def run_hindcast(
    pairs: Sequence[tuple[Record, Scenario]],
    settings: Settings,
    out_dir: Path | None = None,
    command: str | None = None,
) -> HindcastResult:
    """Forecast, resolve and score every (record, scenario) pair; write the outputs if `out_dir` is given."""
    started = utc_now()
    kept = []
    for record, scenario in pairs:
        if forecast_dates(record, settings.dates):
            kept.append((record, scenario))
        else:
            _log(
                settings,
                f"abm hindcast {record.name}: no forecast date in its span "
                f"({record.start_date} to {record.own_until}); skipped",
            )
    if not kept:
        raise ConfigError(f"--dates {settings.dates!r}: no forecast date falls in the span of any record")
    results = [forecast_record(record, scenario, settings) for record, scenario in kept]
    forecasts = pd.concat([r.forecasts for r in results], ignore_index=True)
    scores = score_forecasts(forecasts, settings)
    manifest = _manifest(results, settings, command, started)
    files: list[Path] = []
    if out_dir is not None:
        files = write_outputs(out_dir, forecasts, scores, results, manifest)
    return HindcastResult(forecasts, scores, results, files, manifest)


def write_outputs(
    out_dir: Path,
    forecasts: pd.DataFrame,
    scores: pd.DataFrame,
    results: Sequence[RecordForecasts],
    manifest: dict[str, Any],
) -> list[Path]:
    """forecasts.csv, scores.csv, figures/*.png|svg and manifest.json under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / "forecasts.csv", out_dir / "scores.csv"]
    forecasts.to_csv(files[0], index=False, float_format="%.6g")
    scores.to_csv(files[1], index=False, float_format="%.6g")
    figures = out_dir / "figures"
    runs = sorted({int(r) for r in forecasts["runs"]}) if len(forecasts) else []
    label = f"{runs[0]} runs per date" if len(runs) == 1 else "runs per date vary"
    fig = reliability_diagram(forecasts, title=f"Hindcast reliability per sample: all questions and windows ({label})")
    files += save(fig, figures / "reliability")
    for rf in results:
        rec = rf.record
        dates = {q: [pd.Timestamp(d).date() for d in ds] for q, ds in observed_dates(rf).items()}
        title = (
            f"Hindcast {rec.name} ({rec.sample}; {rec.parties[0]} author, {rec.parties[1]} struck): model "
            f"probabilities on {rf.scenario.name}, record imposed up to each date ({label})"
        )
        fig = timeline(rf.forecasts, dates, title, covers_until=rec.covers_until, parties=rec.parties)
        files += save(fig, figures / f"timeline_{rec.name}")
    manifest = {**manifest, "outputs": [str(p.relative_to(out_dir)) for p in files] + ["manifest.json"]}
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    files.append(path)
    return files


def _manifest(
    results: Sequence[RecordForecasts], settings: Settings, command: str | None, started: str
) -> dict[str, Any]:
    records = []
    for rf in results:
        rec = rf.record
        records.append(
            {
                "name": rec.name,
                "sample": rec.sample,
                "description": rec.description,
                "sources": [{"file": f, "sha256": h} for f, h in rec.sources],
                "start_date": rec.start_date.isoformat(),
                "known_from": rec.known_from.isoformat(),
                "covers_until": rec.covers_until.isoformat(),
                "covers": {q: (d.isoformat() if d else None) for q, d in rec.covers.items()},
                "parties": {"author": rec.parties[0], "struck": rec.parties[1]},
                "questions": question_table(rec.parties),
                "scenario": rf.scenario.name,
                "scenario_path": str(rec.scenario_path) if rec.scenario_path else None,
                "config_hash": rf.config_hash,
                "parameters_hash": rf.parameters_hash,
                "horizon_days": rf.horizon,
                "failures": rf.failures,
                "observed_event_dates": observed_dates(rf),
                "dates": rf.per_date,
            }
        )
    return {
        "command": command,
        "kind": "hindcast",
        "started": started,
        "finished": utc_now(),
        "runs_per_date": settings.runs,
        "seed": settings.seed,
        "seed_rule": f"{SEED_RULE}; point key 0 on every date (common random numbers across dates)",
        "jobs": settings.jobs,
        "backend": settings.backend,
        "scheduler": settings.scheduler,
        "frozen_parameters": "the scenario's config_hash is taken before any run and checked after; every "
        "date's scenario differs only in history, free_from_day and horizon_days "
        "(same parameters_hash)",
        "records": records,
        "samples": {
            sample: [rf.record.name for rf in results if rf.record.sample == sample]
            for sample in sample_order([rf.record.sample for rf in results])
        },
        "questions": question_table(),
        "question_windows": {q.name: list(q.windows) for q in QUESTIONS},
        "baselines": {
            "climatology": {
                "formula": "p = 1 - (1 - q) ** (window / T), q = share of crises with the event, "
                f"T = {settings.rates[baselines.DURATION_KEY]:g} days (ICB v14 median crisis duration)",
                "rates": dict(settings.rates),
                "table": baselines.describe(settings.rates, ALL_WINDOWS),
            },
            "persistence": {
                "p_if_recent": baselines.PERSISTENCE_HIGH,
                "p_otherwise": baselines.PERSISTENCE_LOW,
                "lookback_days": baselines.PERSISTENCE_LOOKBACK_DAYS,
                "rule": "recent = the event happened on the forecast date or the 6 days before (every window)",
            },
        },
        "scoring": {
            "brier": "mean (p - o)^2",
            "log_score": f"mean -ln(p if o else 1 - p) in nats, lower is better, p clipped to "
            f"[{settings.eps:g}, {1 - settings.eps:g}]",
            "skill": "1 - score_model / score_baseline",
            "bootstrap": f"{settings.n_boot} resamples of forecast dates (all questions of a date together), "
            f"percentile {settings.level:.0%} intervals, seed [seed, crc32(record|question|window)] (a sample's "
            "pooled rows: its record names joined by '+' in place of record)",
            "unresolved": "windows that run past the record's last covered date, with no event before it, "
            "have outcome NA and are not scored",
            "pooling": "scores per record, and per sample with its records pooled (record 'all'); in-sample, "
            "held-out and out-of-sample are never pooled with each other",
        },
        "environment": environment(),
    }
