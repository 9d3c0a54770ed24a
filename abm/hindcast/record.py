"""Observed records: load and check a record file, cut it at a forecast date, replay it as model events.

A record file (`configs/history/*.yaml`) is the observed history of a period as a list of
`ObservedEvent`s (the schema of a scenario's `history`), days counted from the record's
`start_date`, plus what a hindcast needs to use it:

* `covers_until`: the last day the record is complete for (the questions' events; a forecast
  window that runs past it resolves only if its event happened before);
* `covers`: per question, a different last day (what is known beyond the timeline, e.g. that no
  war followed for months), or null for a question the record does not cover at all;
* `scenario`: the config it conditions (relative to the record file);
* `sample`: `in-sample` when the model's defaults were chosen with this period in view,
  `held-out` for a period of the same crisis kept out of that choice, `out-of-sample` for a
  crisis the model was not built on (MODEL.md §10). Scores are never pooled across samples;
* `parties`: (author, struck), the two states the questions are about;
* `forecast`: default forecast dates (`first`, `last`, `every: weekly | daily`);
* `linked`: other record files whose events are merged in, re-dated to this record's day 0.
  An earlier one gives the persistence baseline its look-back (negative days, never
  imposed); a later one lets forecast windows that run past this record's own span resolve.

The shipped records are every `*.yaml` in `configs/history/` (`shipped_records`), each on the
scenario it names; `matching_records` picks those that belong to a given config.

Cutting at day `c` keeps the events of days 0..c: the scenario then imposes them on their day
(`history`) and agents choose freely from day c + 1 (`free_from_day`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, ValidationError, model_validator

from abm.config import ConfigError, Scenario, validate
from abm.config.loader import check_named_path, format_validation_error, read_yaml, refuse_unknown_keys
from abm.config.schema import Id, ObservedEvent, Strict
from abm.hindcast.questions import BY_QUESTION, MAX_WINDOW
from abm.model.actions import ACTION_NAMES
from abm.model.model import CrisisModel
from abm.model.records import EVENT_COLUMNS
from abm.model.simulate import release

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDS_DIR = REPO_ROOT / "configs" / "history"
MIN_DAYS_AHEAD = MAX_WINDOW + 1  # a cut at day c needs days up to c + the longest window (90) plus one
SPACING = {"weekly": 7, "daily": 1}
Sample = Literal["in-sample", "held-out", "out-of-sample"]
SAMPLES: tuple[str, ...] = ("in-sample", "held-out", "out-of-sample")  # the order of tables and figures


class ForecastSpec(Strict):
    """Default forecast dates of a record."""

    first: dt.date = Field(description="first forecast date")
    last: dt.date = Field(description="last forecast date (included when on the spacing)")
    every: Literal["weekly", "daily"] = Field("weekly", description="spacing of the default dates")


class RecordFile(Strict):
    """A record file as written (see the module docstring)."""

    name: Id
    description: str = Field("", max_length=4000)
    start_date: dt.date = Field(description="calendar date of day 0")
    covers_until: dt.date = Field(description="last date this file's events are complete for")
    scenario: str | None = Field(None, description="config it conditions, relative to the record file")
    sample: Sample = Field(
        description="in-sample (defaults chosen with this period in view), held-out (a period of the same "
        "crisis kept out of that choice) or out-of-sample (a crisis the model was not built on)"
    )
    forecast: ForecastSpec
    linked: list[str] = Field(default_factory=list, description="record files merged in, re-dated to day 0 here")
    parties: tuple[Id, Id] = Field(
        description="the two states the questions are about: the one whose act (or proxy's) opened the crisis, "
        "the one it struck"
    )
    covers: dict[str, dt.date | None] = Field(
        default_factory=dict,
        description="per question: the last date the record is complete for that question, when it differs "
        "from covers_until (a later date for what is known beyond the timeline, e.g. that no war followed); "
        "null: the record does not cover the question (its windows are never resolved)",
    )
    events: list[ObservedEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> RecordFile:
        span = (self.covers_until - self.start_date).days
        if span < 0:
            raise ValueError(f"covers_until: {self.covers_until} is before start_date {self.start_date}")
        for name, until in self.covers.items():
            if name not in BY_QUESTION:
                raise ValueError(f"covers.{name}: not a question; known: {', '.join(BY_QUESTION)}")
            if until is not None and until < self.start_date:
                raise ValueError(f"covers.{name}: {until} is before start_date {self.start_date}")
        for i, ev in enumerate(self.events):
            if ev.action not in ACTION_NAMES:
                raise ValueError(f"events.{i}.action: unknown action {ev.action!r}; see abm/model/actions.py")
            if ev.day > span:
                raise ValueError(f"events.{i}.day: {ev.day} is after covers_until ({self.covers_until} = day {span})")
        if self.parties[0] == self.parties[1]:
            raise ValueError(f"parties: the author and the struck state are both {self.parties[0]!r}")
        f = self.forecast
        if not self.start_date <= f.first <= f.last:
            raise ValueError(f"forecast: need start_date <= first <= last, got {self.start_date}, {f.first}, {f.last}")
        return self


@dataclass(frozen=True, slots=True)
class RecordEvent:
    """An observed event on a day of the merged record (negative: before day 0, never imposed)."""

    day: int
    event: ObservedEvent
    source: str  # name of the record file it comes from

    def observed(self) -> ObservedEvent:
        """The event as a scenario's history entry, dated to this record's day 0."""
        if self.day < 0:
            raise ValueError(f"event of day {self.day} lies before day 0 and cannot be imposed")
        return self.event.model_copy(update={"day": self.day})


@dataclass(frozen=True)
class Record:
    """A loaded record: its own events and those of linked records, merged and re-dated."""

    name: str
    path: Path
    description: str
    start_date: dt.date
    own_until: dt.date  # last date of this file's own span (its forecast dates lie in start_date..own_until)
    known_from: dt.date  # first date of the merged span
    covers_until: dt.date  # last date of the merged span
    scenario_path: Path | None
    sample: Sample
    forecast: ForecastSpec
    parties: tuple[str, str]  # (author, struck): whom the questions are about
    events: tuple[RecordEvent, ...]
    sources: tuple[tuple[str, str], ...]  # (file, sha256) of this file and the linked ones
    covers: Mapping[str, dt.date | None] = field(default_factory=dict)  # this file's per-question coverage

    def day_of(self, date: dt.date) -> int:
        return (date - self.start_date).days

    def date_of(self, day: int) -> dt.date:
        return self.start_date + dt.timedelta(days=int(day))

    @property
    def first_day(self) -> int:
        """First day (possibly negative) the merged record is complete for."""
        return self.day_of(self.known_from)

    @property
    def last_day(self) -> int:
        """Last day the merged record is complete for."""
        return self.day_of(self.covers_until)

    def last_day_for(self, question: str) -> int | None:
        """Last day the record is complete for `question` (its `covers` entry, else `last_day`); None: not covered."""
        if question not in self.covers:
            return self.last_day
        until = self.covers[question]
        return None if until is None else self.day_of(until)

    def cut(self, day: int) -> list[ObservedEvent]:
        """The events of days 0..`day`, as history entries: what a forecast made on `day` knows."""
        return [e.observed() for e in self.events if 0 <= e.day <= day]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_record_file(path: str | Path) -> RecordFile:
    """Parse and validate one record file; errors are `ConfigError`s naming the key."""
    p = Path(path)
    raw = read_yaml(p)
    refuse_unknown_keys(raw, RecordFile.model_fields, p, "a record file")  # values of a non-record are never shown
    try:
        return RecordFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(p))) from None


def load_record(path: str | Path) -> Record:
    """Load a record and merge its linked records (one level: links of links are not followed).

    Linked spans must touch or overlap this record's span so that the merged record is
    complete from its first to its last date.
    """
    p = Path(path).resolve()
    own = read_record_file(p)
    events = [RecordEvent(ev.day, ev, own.name) for ev in own.events]
    sources = [(str(p), _sha256(p))]
    spans = [(own.start_date, own.covers_until)]
    for link in own.linked:
        lp = check_named_path(p, "linked", link, p.parent / link)
        other = read_record_file(lp)
        shift = (other.start_date - own.start_date).days
        events += [RecordEvent(ev.day + shift, ev, other.name) for ev in other.events]
        spans.append((other.start_date, other.covers_until))
        sources.append((str(lp), _sha256(lp)))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start > end + dt.timedelta(days=1):
            raise ConfigError(f"{p}: linked records leave a gap from {end} to {start}; the merged record must be whole")
    first, last = spans[0][0], max(end for _, end in spans)
    events.sort(key=lambda e: e.day)
    return Record(
        name=own.name,
        path=p,
        description=own.description,
        start_date=own.start_date,
        own_until=own.covers_until,
        known_from=first,
        covers_until=last,
        scenario_path=check_named_path(p, "scenario", own.scenario, p.parent / own.scenario) if own.scenario else None,
        sample=own.sample,
        forecast=own.forecast,
        parties=own.parties,
        events=tuple(events),
        sources=tuple(sources),
        covers=dict(own.covers),
    )


def shipped_records(directory: str | Path = RECORDS_DIR) -> list[Path]:
    """Every record file of `directory` (`*.yaml`), sorted by file name: the default records."""
    return sorted(p for p in Path(directory).glob("*.yaml") if p.is_file())


def matching_records(records: Sequence[Record], config: str | Path, start_date: dt.date) -> tuple[list[Record], str]:
    """The records that belong to the scenario file `config`, and the rule that picked them.

    First those whose `scenario` resolves to the same file as `config`; if none, those whose
    day 0 is `start_date` (the config's). Either list may be empty.
    """
    target = Path(config).resolve()
    named = [r for r in records if r.scenario_path is not None and r.scenario_path == target]
    if named:
        return named, f"scenario is {Path(config)}"
    return [r for r in records if r.start_date == start_date], f"day 0 is {start_date}"


def forecast_dates(record: Record, spec: str | None = None) -> list[dt.date]:
    """Forecast dates: `weekly` / `daily` from the record's first to last forecast date, or a list.

    A list is comma-separated ISO dates; only those in the record's own span (its day 0 to its
    own `covers_until`) are kept: a date before day 0 cannot be conditioned, and a date in a
    linked record's span belongs to that record (and to its sample label).
    """
    spec = (spec or record.forecast.every).strip()
    if spec in SPACING:
        step = dt.timedelta(days=SPACING[spec])
        out, date = [], record.forecast.first
        while date <= record.forecast.last:
            out.append(date)
            date += step
        return out
    try:
        dates = sorted({dt.date.fromisoformat(part.strip()) for part in spec.split(",") if part.strip()})
    except ValueError:
        raise ConfigError(f"--dates {spec!r}: expected weekly, daily or ISO dates like 2020-01-10,2020-02-07") from None
    if not dates:
        raise ConfigError(f"--dates {spec!r}: no date given")
    return [d for d in dates if record.start_date <= d <= record.own_until]


def horizon_for(scenario: Scenario, cut_days: Sequence[int]) -> int:
    """One horizon for every date of a hindcast: the scenario's, or longer if a cut needs it."""
    return max(scenario.horizon_days, max(cut_days, default=0) + MIN_DAYS_AHEAD)


def check_alignment(record: Record, scenario: Scenario) -> None:
    """The record's day 0 must be the scenario's day 0, or every imposed day would be off."""
    if record.start_date != scenario.start_date:
        raise ConfigError(
            f"record {record.name} starts on {record.start_date} but scenario {scenario.name} on "
            f"{scenario.start_date}; give a config with the same start_date (or the record's own: omit CONFIG)"
        )


def check_parties(record: Record, scenario: Scenario) -> None:
    """The record's two parties must be states of the scenario, or no question about them could happen."""
    unknown = [p for p in record.parties if p not in scenario.states]
    if unknown:
        raise ConfigError(
            f"record {record.name}: parties {list(record.parties)}: {', '.join(unknown)} is not a state of "
            f"scenario {scenario.name} (states: {', '.join(sorted(scenario.states))})"
        )


def conditioned(scenario: Scenario, record: Record, cut_day: int, horizon: int) -> Scenario:
    """The scenario with the record imposed up to `cut_day` and free choice from the day after.

    Only `history`, `free_from_day` and `horizon_days` change: every parameter stays as given.
    """
    raw: dict[str, Any] = scenario.model_dump(mode="json")
    raw["history"] = [ev.model_dump(mode="json") for ev in record.cut(cut_day)]
    raw["free_from_day"] = cut_day + 1
    raw["horizon_days"] = horizon
    return validate(raw, source=f"{scenario.name} with record {record.name} up to day {cut_day}")


def observed_events(record: Record, scenario: Scenario) -> pd.DataFrame:
    """The whole merged record as event rows (EVENT_COLUMNS), exactly as the model records them.

    The record is replayed through the model's own imposition path (no agent ever chooses), so
    `side`, `target_side`, the split of deaths, rung and `kinetic` mean what they mean in a
    simulated run and one question predicate serves both. Days before 0 are shifted for the
    replay and shifted back.

    One column is added: `killed_sides`, the sides of the commanders an event killed (joined by
    ","). A simulated killing has one victim, its target; an observed one can have several (3 Jan
    2020: the Quds Force commander and the KH leader), and questions about who was struck read it.
    """
    shift = max(0, -min((e.day for e in record.events), default=0))
    last = max((e.day for e in record.events), default=0) + shift
    horizon = last + MIN_DAYS_AHEAD
    raw: dict[str, Any] = scenario.model_dump(mode="json")
    raw["history"] = [{**e.event.model_dump(mode="json"), "day": e.day + shift} for e in record.events]
    raw["horizon_days"] = horizon
    raw["free_from_day"] = horizon + 1
    replay = validate(raw, source=f"record {record.name} on scenario {scenario.name}")
    model = CrisisModel(replay, seed=0)
    try:
        while model.day < last:
            model.step()  # steps on after an absorbing state too: the record is what happened
        rows = [ev.as_row() for ev in model.events if ev.imposed]
    finally:
        release(model)
    if [r["action"] for r in rows] != [e.event.action for e in record.events]:
        raise RuntimeError(f"record {record.name}: the replay did not impose the record's events in order")
    for row, e in zip(rows, record.events, strict=True):
        row["killed_sides"] = ",".join(replay.commanders[k].side for k in e.event.killed)
    frame = pd.DataFrame(rows, columns=[*EVENT_COLUMNS, "killed_sides"])
    frame["day"] = frame["day"] - shift
    frame.insert(0, "run", 0)
    return frame
