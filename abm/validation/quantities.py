"""What a validation case measures: a registry of quantity kinds (table -> estimate).

Each kind is a pydantic spec (the YAML under `quantity:`, `extra="forbid"`) and a function
from the tables of the case's runs to an `Estimate` with its 95% interval. The tables are
the runner's per-run records (`abm.model.records.RUN_COLUMNS`) and, for event kinds, the
event rows (`EVENT_COLUMNS`), pooled over the case's scenarios (see `abm.validation.run`
for the extra columns `part`, `scenario`, `seq`, `violent`, `side_kind`, `target_kind`).

Kinds (`kind:` in YAML):

* `share`: share of runs where `where` holds, among runs where `given` holds (Wilson);
* `mean`: mean of the expression `of` (missing values dropped), among `given` (t);
* `quantile`: quantile `q` of `of` among `given` (order-statistic interval);
* `event_share`: among events matching `events`, the share that also match `where`, or that
  are `followed_by` a matching event of the same run within `within_days` (clustered by run);
* `event_delay`: quantile (default median) of the days from such events to their first response;
* `event_count`: mean number per run of events matching `events`, among runs where `given` holds;
* `difference`: a `share` or `mean` in this case's scenarios minus the same (or `minus`) in
  the `versus` scenarios; paired run by run when both arms run the same seeds.

A new kind is a spec class with a `kind: Literal[...]` field and a function registered with
`@register(SpecClass)`; add the spec to `Quantity` below so case files can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from abm.validation import stats
from abm.validation.expressions import EVENT_FIELDS, ExpressionError, check, evaluate
from abm.validation.stats import Estimate


def _expr(table: Literal["runs", "events"], want: Literal["condition", "number"]) -> Any:
    def validate(text: str) -> str:
        try:
            return check(text, table, want)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(validate)


RunCondition = Annotated[str, _expr("runs", "condition")]
RunNumber = Annotated[str, _expr("runs", "number")]
EventCondition = Annotated[str, _expr("events", "condition")]


class Strict(BaseModel):
    """Unknown keys, NaN and infinity are refused; values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Spec(Strict):
    """Base of quantity kinds."""

    @property
    def needs_events(self) -> bool:
        return False

    def describe(self) -> str:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


def _given(text: str | None) -> str:
    return f" | {text}" if text else ""


class ShareSpec(Spec):
    """Share of runs where `where` holds (among runs where `given` holds)."""

    kind: Literal["share"]
    where: RunCondition = Field(description="condition on a run's record, e.g. outcome == 'spiral'")
    given: RunCondition | None = Field(None, description="only runs where this holds count (a conditional share)")

    def describe(self) -> str:
        return f"P({self.where}{_given(self.given)})"


class MeanSpec(Spec):
    """Mean over runs of a number computed from the record (missing values dropped)."""

    kind: Literal["mean"]
    of: RunNumber = Field(description="column or arithmetic of columns, e.g. n_militia_attacks")
    given: RunCondition | None = None

    def describe(self) -> str:
        return f"mean({self.of}{_given(self.given)})"


class QuantileSpec(Spec):
    """A quantile (default the median) over runs, missing values dropped."""

    kind: Literal["quantile"]
    of: RunNumber
    q: float = Field(0.5, gt=0.0, lt=1.0, description="quantile, 0.5 = median")
    given: RunCondition | None = None

    def describe(self) -> str:
        name = "median" if self.q == 0.5 else f"q{self.q:g}"
        return f"{name}({self.of}{_given(self.given)})"


class FollowedBy(Strict):
    """A response: an event of the same run, after the trigger, within `within_days` days."""

    where: EventCondition = Field(description="condition the response event meets")
    within_days: int = Field(ge=0, le=3650, description="days after the trigger's day (same day counts if later)")
    match: dict[str, str] = Field(
        default_factory=dict,
        description="response column -> trigger column that must be equal, e.g. {target_side: side}",
    )

    @model_validator(mode="after")
    def _known_columns(self) -> FollowedBy:
        for response_col, trigger_col in self.match.items():
            for col in (response_col, trigger_col):
                if col not in EVENT_FIELDS:
                    raise ValueError(f"match: unknown event column {col!r}; known: {', '.join(sorted(EVENT_FIELDS))}")
        return self


class EventShareSpec(Spec):
    """Among events matching `events`: share matching `where`, or followed by a response."""

    kind: Literal["event_share"]
    events: EventCondition = Field(description="which events are counted (the denominator)")
    where: EventCondition | None = Field(None, description="condition on the same event (numerator)")
    followed_by: FollowedBy | None = Field(None, description="numerator: events followed by a response")
    censor: bool = Field(
        True,
        description="with followed_by: drop unanswered triggers whose window runs past the end of the run",
    )
    given: RunCondition | None = Field(None, description="only events of runs where this holds count")

    @model_validator(mode="after")
    def _one_numerator(self) -> EventShareSpec:
        if (self.where is None) == (self.followed_by is None):
            raise ValueError("event_share needs exactly one of 'where' or 'followed_by'")
        return self

    @property
    def needs_events(self) -> bool:
        return True

    def describe(self) -> str:
        if self.followed_by is not None:
            f = self.followed_by
            match = "".join(f", {r}=trigger.{t}" for r, t in f.match.items())
            response = f"followed within {f.within_days} d by [{f.where}{match}]"
            return f"share of [{self.events}] {response}{_given(self.given)}"
        return f"share of [{self.events}] with [{self.where}]{_given(self.given)}"


class EventDelaySpec(Spec):
    """Quantile (default median) of the days from a trigger event to its first response.

    Triggers without a response within the window are left out (the delay is conditional on
    a response); `censor` drops unanswered triggers whose window runs past the end of the run.
    """

    kind: Literal["event_delay"]
    events: EventCondition = Field(description="the trigger events")
    followed_by: FollowedBy = Field(description="what counts as the response")
    q: float = Field(0.5, gt=0.0, lt=1.0, description="quantile, 0.5 = median")
    censor: bool = True
    given: RunCondition | None = Field(None, description="only events of runs where this holds count")

    @property
    def needs_events(self) -> bool:
        return True

    def describe(self) -> str:
        f = self.followed_by
        match = "".join(f", {r}=trigger.{t}" for r, t in f.match.items())
        name = "median" if self.q == 0.5 else f"q{self.q:g}"
        response = f"first [{f.where}{match}] within {f.within_days} d"
        return f"{name} days from [{self.events}] to {response}{_given(self.given)}"


class EventCountSpec(Spec):
    """Mean number per run of events matching `events` (runs without any count as 0)."""

    kind: Literal["event_count"]
    events: EventCondition
    given: RunCondition | None = Field(None, description="only runs where this holds count")

    @property
    def needs_events(self) -> bool:
        return True

    def describe(self) -> str:
        return f"events per run [{self.events}]{_given(self.given)}"


class Versus(Strict):
    """The second arm of a difference: the case's scenarios and `set`, changed as given here."""

    scenario: str | list[str] | None = Field(
        None, description="config(s) of the second arm (default: the case's own); the case's `set` applies too"
    )
    set: dict[str, Any] = Field(default_factory=dict, description="dotted-key overrides added for the second arm")


Measure = Annotated[ShareSpec | MeanSpec, Field(discriminator="kind")]


class DifferenceSpec(Spec):
    """`of` in this case's runs minus `minus` (default: `of`) in the `versus` runs."""

    kind: Literal["difference"]
    of: Measure
    minus: Measure | None = Field(None, description="the measure in the second arm (default: the same as 'of')")
    versus: Versus | None = Field(None, description="the second arm (default: the same runs, e.g. other 'given')")

    @model_validator(mode="after")
    def _meaningful(self) -> DifferenceSpec:
        second = self.minus or self.of
        if second.kind != self.of.kind:
            raise ValueError(f"minus: a {self.of.kind} minus a {second.kind} is not a difference; use one kind")
        if self.versus is None and self.minus is None:
            raise ValueError("difference needs 'versus' (another arm) or 'minus' (another measure), or both")
        return self

    def describe(self) -> str:
        second = (self.minus or self.of).describe()
        where = " [versus arm]" if self.versus is not None else ""
        return f"{self.of.describe()} - {second}{where}"


Quantity = Annotated[
    ShareSpec | MeanSpec | QuantileSpec | EventShareSpec | EventDelaySpec | EventCountSpec | DifferenceSpec,
    Field(discriminator="kind"),
]


@dataclass(frozen=True)
class Tables:
    """The data of one arm: runs (successful ones) and, if recorded, their events.

    `horizons` maps the `part` index (position in the arm's scenario list) to its horizon.
    """

    runs: pd.DataFrame
    events: pd.DataFrame | None = None
    horizons: dict[int, int] | None = None


Compute = Callable[[Any, Tables, Tables | None], Estimate]
REGISTRY: dict[str, tuple[type[Spec], Compute]] = {}


def register(spec: type[Spec]) -> Callable[[Compute], Compute]:
    """Register the function computing quantities of kind `spec.kind`."""
    kind = spec.model_fields["kind"].annotation.__args__[0]  # Literal["name"] -> "name"

    def add(fn: Compute) -> Compute:
        REGISTRY[kind] = (spec, fn)
        return fn

    return add


def compute(spec: Spec, first: Tables, second: Tables | None = None) -> Estimate:
    """Compute a quantity on its arm's tables (`second`: the versus arm of a difference)."""
    return REGISTRY[spec.kind][1](spec, first, second)  # type: ignore[attr-defined]


def _subset(runs: pd.DataFrame, given: str | None) -> pd.DataFrame:
    return runs[evaluate(runs, given, "condition")] if given else runs


@register(ShareSpec)
def _share(spec: ShareSpec, t: Tables, _: Tables | None) -> Estimate:
    runs = _subset(t.runs, spec.given)
    return stats.share(evaluate(runs, spec.where, "condition").to_numpy())


@register(MeanSpec)
def _mean(spec: MeanSpec, t: Tables, _: Tables | None) -> Estimate:
    runs = _subset(t.runs, spec.given)
    return stats.mean(evaluate(runs, spec.of, "number").to_numpy())


@register(QuantileSpec)
def _quantile(spec: QuantileSpec, t: Tables, _: Tables | None) -> Estimate:
    runs = _subset(t.runs, spec.given)
    return stats.quantile(evaluate(runs, spec.of, "number").to_numpy(), spec.q)


RUN_KEY = ["part", "run"]


def _require_events(t: Tables) -> pd.DataFrame:
    if t.events is None:
        raise ValueError("this quantity needs the events table, but the runs were made without events")
    return t.events


def run_end(t: Tables) -> pd.Series:
    """Last simulated day of each run, indexed by (part, run).

    A run stops at a spiral or a deal (the day it is recognised: its last event's day) and
    otherwise at the horizon.
    """
    runs = t.runs.set_index(RUN_KEY)
    horizon = pd.Series([(t.horizons or {}).get(p, 10**9) for p, _ in runs.index], index=runs.index, dtype=float)
    events = _require_events(t)
    last = events.groupby(RUN_KEY)["day"].max().reindex(runs.index).fillna(0).astype(float)
    stopped = runs["outcome"].isin(["spiral", "deal"])
    return horizon.where(~stopped, last)


def _delays(triggers: pd.DataFrame, events: pd.DataFrame, follow: FollowedBy) -> pd.Series:
    """Per trigger (by index): days to the first response in the same run within the window, else NaN.

    A response comes after the trigger in the run's event order (`seq`), on the same day or
    up to `within_days` later, and agrees with it on the `match` columns.
    """
    responses = events[evaluate(events, follow.where, "condition")]
    left = triggers[[*RUN_KEY, "seq", "day", *follow.match.values()]].copy()
    left["_trigger"] = triggers.index
    right = responses[[*RUN_KEY, "seq", "day", *follow.match.keys()]].rename(
        columns={"seq": "_rseq", "day": "_rday", **{k: f"_r_{k}" for k in follow.match}}
    )
    left_on = [*RUN_KEY, *follow.match.values()]
    right_on = [*RUN_KEY, *(f"_r_{k}" for k in follow.match)]
    pairs = left.merge(right, left_on=left_on, right_on=right_on, how="inner")
    ok = (pairs["_rseq"] > pairs["seq"]) & (pairs["_rday"] <= pairs["day"] + follow.within_days)
    first = (pairs.loc[ok, "_rday"] - pairs.loc[ok, "day"]).groupby(pairs.loc[ok, "_trigger"]).min()
    return first.reindex(triggers.index).astype(float)


def _triggers(t: Tables, events_expr: str, given: str | None) -> pd.DataFrame:
    """Trigger events: those matching `events_expr`, in runs where `given` holds."""
    events = _require_events(t)
    if given:
        runs = _subset(t.runs, given)
        keep = pd.MultiIndex.from_frame(events[RUN_KEY]).isin(pd.MultiIndex.from_frame(runs[RUN_KEY]))
        events = events[keep]
    return events[evaluate(events, events_expr, "condition")]


def _censored(t: Tables, triggers: pd.DataFrame, delays: pd.Series, within_days: int) -> pd.Series:
    """Triggers that got no response while their window ran past the end of the run.

    Their outcome is unknown (the run stopped, or the horizon came, before the window closed),
    so they are left out; a trigger answered before the run ended counts whatever the end.
    """
    if triggers.empty:
        return pd.Series(False, index=triggers.index)
    end = run_end(t).reindex(pd.MultiIndex.from_frame(triggers[RUN_KEY])).to_numpy()
    late = triggers["day"].to_numpy() + within_days > end
    return pd.Series(late, index=triggers.index) & delays.isna()


@register(EventShareSpec)
def _event_share(spec: EventShareSpec, t: Tables, _: Tables | None) -> Estimate:
    triggers = _triggers(t, spec.events, spec.given)
    follow = spec.followed_by
    if follow is not None:
        delays = _delays(triggers, _require_events(t), follow)
        if spec.censor:
            keep = ~_censored(t, triggers, delays, follow.within_days)
            triggers, delays = triggers[keep], delays[keep]
        success = delays.notna()
    else:
        success = evaluate(triggers, spec.where or "True", "condition")
    by_run = pd.DataFrame({"part": triggers["part"], "run": triggers["run"], "y": success.astype(int)})
    grouped = by_run.groupby(RUN_KEY)["y"].agg(["sum", "count"])
    return stats.clustered_share(grouped["sum"].to_numpy(), grouped["count"].to_numpy())


@register(EventDelaySpec)
def _event_delay(spec: EventDelaySpec, t: Tables, _: Tables | None) -> Estimate:
    follow = spec.followed_by
    triggers = _triggers(t, spec.events, spec.given)
    delays = _delays(triggers, _require_events(t), follow)
    if spec.censor:
        delays = delays[~_censored(t, triggers, delays, follow.within_days)]
    values = delays.to_numpy()
    est = stats.quantile(values, spec.q)
    answered = int(np.isfinite(values).sum())
    note = f"{answered} of {len(values)} triggers answered within {follow.within_days} d"
    return stats.Estimate(est.value, est.low, est.high, est.n, est.method, "; ".join(x for x in (est.note, note) if x))


@register(EventCountSpec)
def _event_count(spec: EventCountSpec, t: Tables, _: Tables | None) -> Estimate:
    events = _require_events(t)
    runs = _subset(t.runs, spec.given)
    chosen = events[evaluate(events, spec.events, "condition")]
    counts = chosen.groupby(RUN_KEY).size()
    per_run = counts.reindex(pd.MultiIndex.from_frame(runs[RUN_KEY]), fill_value=0).to_numpy(dtype=float)
    return stats.mean(per_run)


def _values(measure: ShareSpec | MeanSpec, runs: pd.DataFrame) -> pd.Series:
    """Per-run values of a measure over all runs (NaN outside `given`), indexed by (part, run)."""
    if measure.kind == "share":
        values = evaluate(runs, measure.where, "condition").astype(float)
    else:
        values = evaluate(runs, measure.of, "number")
    if measure.given:
        values = values.where(evaluate(runs, measure.given, "condition"))
    return pd.Series(values.to_numpy(), index=pd.MultiIndex.from_frame(runs[RUN_KEY]))


@register(DifferenceSpec)
def _difference(spec: DifferenceSpec, t: Tables, versus: Tables | None) -> Estimate:
    second_measure = spec.minus or spec.of
    other = versus if (spec.versus is not None and versus is not None) else t
    x = _values(spec.of, t.runs)
    y = _values(second_measure, other.runs)
    paired = other is not t and not spec.of.given and not second_measure.given
    if paired:
        both = pd.concat([x.rename("x"), y.rename("y")], axis=1, join="inner").dropna()
        if spec.of.kind == "share":
            return stats.newcombe_paired(both["x"].to_numpy(), both["y"].to_numpy())
        return stats.paired_mean_difference(both["x"].to_numpy(), both["y"].to_numpy())
    x, y = x.dropna().to_numpy(), y.dropna().to_numpy()
    if spec.of.kind == "share":
        return stats.newcombe_unpaired(int(x.sum()), int(x.size), int(y.sum()), int(y.size))
    return stats.welch(x, y)


def kinds() -> list[str]:
    return sorted(REGISTRY)


__all__ = [
    "REGISTRY",
    "DifferenceSpec",
    "Estimate",
    "EventCountSpec",
    "EventDelaySpec",
    "EventShareSpec",
    "MeanSpec",
    "QuantileSpec",
    "Quantity",
    "ShareSpec",
    "Tables",
    "Versus",
    "compute",
    "kinds",
    "register",
]
