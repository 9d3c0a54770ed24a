"""The hindcast questions as a data table, and how they resolve on event rows.

A question is a yes/no event ("Iran strikes US forces directly") asked for a window of the
next 7 or 30 days after a forecast date. Its predicate reads the event rows that runs and the
replayed record both produce (`abm.model.records.EVENT_COLUMNS`), so the model's probability
and the record's answer come from one definition:

* the model's probability: the share of runs in which the event happens in days c+1..c+W;
* the record's answer: 1 if it happened in those days, 0 if not, unresolved (None) when the
  window runs past the last day the record covers and the event did not happen before it.

Definitions follow the model's vocabulary (MODEL.md §5, §7): a "strike" is a kinetic act of
rung 6 or more; strikes on militia depots count as strikes on militias (the model records the
militia hit as `target_side`); war is the spiral outcome rule, dated to the day the rule is met
(a state's rung-9 act, or the day state-track battle deaths pass the threshold).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from abm.config import Scenario
from abm.model.history import Event
from abm.model.outcomes import WAR_RUNG, spiral_day

WINDOWS: tuple[int, ...] = (7, 30)  # days after the forecast date
STRIKE_RUNG = 6  # a direct strike: kinetic, rung 6+ (outcomes.DIRECT_MIN_RUNG)
ATTACK_RUNG = 5  # a violent act: kinetic, rung 5+ (Action.violent)


@dataclass(frozen=True, slots=True)
class Context:
    """What the predicates need to know about the scenario: which actors are militias, the war rule."""

    militias: frozenset[str]
    war_death_threshold: int = 1000
    states: frozenset[str] = frozenset()
    author: str = ""  # the state whose act triggered the crisis (2020: the US)
    struck: str = ""  # the state it struck (2020: Iran)

    @classmethod
    def of(cls, scenario: Scenario, parties: tuple[str, str]) -> Context:
        """Context of a record's questions; `parties` = (the state whose strike opened the crisis, the one struck)."""
        author, struck = parties
        return cls(
            frozenset(scenario.militias), scenario.world.war_death_threshold, frozenset(scenario.states), author, struck
        )


Mask = Callable[[pd.DataFrame, Context], pd.Series]


@dataclass(frozen=True, slots=True)
class Question:
    """A yes/no question: an event-level `mask`, or a run-level rule for war (`mask` None)."""

    name: str
    text: str
    mask: Mask | None


def _rung(ev: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(ev["rung"], errors="coerce").fillna(0)


def _kinetic(ev: pd.DataFrame) -> pd.Series:
    return ev["kinetic"].fillna(False).astype(bool)


def _strikes(ev: pd.DataFrame, striker: str, target: str) -> pd.Series:
    """A state's forces (not its proxies) strike the other's forces or territory, rung 6+, not militia depots."""
    return (
        (ev["side"] == striker)
        & _kinetic(ev)
        & (_rung(ev) >= STRIKE_RUNG)
        & (ev["target_side"] == target)
        & (ev["action"] != "strike_militia_sites")
    )


def struck_strikes_author(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """The struck state answers directly (2020: Iran's missile strikes on US forces)."""
    return _strikes(ev, ctx.struck, ctx.author)


def author_strikes_struck(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """The trigger's author strikes the struck state again (2020: the US on Iranian territory or forces)."""
    return _strikes(ev, ctx.author, ctx.struck)


def militia_kills_author_people(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """A militia attack (kinetic, rung 5+) kills some of the author's people (2020: Americans)."""
    deaths = pd.to_numeric(ev["state_deaths"], errors="coerce").fillna(0)
    hit = ev["target_side"] == ctx.author
    return ev["side"].isin(ctx.militias) & _kinetic(ev) & (_rung(ev) >= ATTACK_RUNG) & hit & (deaths > 0)


def _killed_militia(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """Events that killed a militia commander besides their target (only observed rows carry `killed_sides`)."""
    if "killed_sides" not in ev:
        return pd.Series(False, index=ev.index)
    sides = ev["killed_sides"].fillna("").astype(str).str.split(",")
    return sides.map(lambda names: any(n in ctx.militias for n in names))


def author_strikes_militia(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """The US strikes a militia: its depots or bases, or kills a militia commander (kinetic, rung 5+).

    The 3 Jan 2020 strike aimed at the Quds Force commander also killed the KH leader: it counts
    here (through `killed_sides`) as well as under `us_strikes_iran`.
    """
    on_militia = (
        (ev["action"] == "strike_militia_sites") | ev["target_side"].isin(ctx.militias) | _killed_militia(ev, ctx)
    )
    return (ev["side"] == ctx.author) & _kinetic(ev) & (_rung(ev) >= ATTACK_RUNG) & on_militia


def deal_signed(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """A US-Iran agreement is signed."""
    return ev["action"] == "sign_deal"


# The question set of the January-March 2020 hindcast. The predicates are about the roles of
# the scenario's trigger (its author and the state it struck), not about country ids; the names
# and texts are those of the 2020 record, where the author is the US and the struck state Iran.
QUESTIONS: tuple[Question, ...] = (
    Question("iran_strikes_us", "Iran strikes US forces directly (missile strike, rung 6+)", struck_strikes_author),
    Question(
        "us_strikes_iran",
        "The US strikes Iranian territory or forces (rung 6+, not militia depots)",
        author_strikes_struck,
    ),
    Question("militia_kills_us", "A militia attack kills Americans", militia_kills_author_people),
    Question(
        "us_strikes_militia", "The US strikes militias (depots, bases or a militia commander)", author_strikes_militia
    ),
    Question("deal", "A US-Iran deal is signed", deal_signed),
    Question(
        "war",
        "War: the spiral rule is met (a state's rung-9 act, or 1,000 battle deaths between states)",
        None,
    ),
)
BY_QUESTION = {q.name: q for q in QUESTIONS}


@dataclass(frozen=True, slots=True)
class QuestionRow:
    """One row of the question table: a question asked for one window."""

    name: str
    window: int
    text: str


QUESTION_TABLE: tuple[QuestionRow, ...] = tuple(
    QuestionRow(q.name, w, f"{q.text}, within {w} days after the forecast date") for q in QUESTIONS for w in WINDOWS
)


def _event_of(row: dict) -> Event:
    rung = row["rung"]
    return Event(
        day=int(row["day"]),
        actor=str(row["actor"]),
        side=str(row["side"]),
        action=str(row["action"]),
        rung=None if rung is None or pd.isna(rung) else int(rung),
        target_side=None if pd.isna(row["target_side"]) else str(row["target_side"]),
        deaths=int(row["deaths"]),
        civilian_deaths=int(row["civilian_deaths"]),
        kinetic=bool(row["kinetic"]),
    )


def war_days(events: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """(run, day) of the day each run met the spiral rule (at most one per run)."""
    if events.empty:
        return pd.DataFrame({"run": pd.Series(dtype="int64"), "day": pd.Series(dtype="int64")})
    rung = _rung(events)
    battle = pd.to_numeric(events["deaths"], errors="coerce").fillna(0) - pd.to_numeric(
        events["civilian_deaths"], errors="coerce"
    ).fillna(0)
    per_run = pd.DataFrame({"run": events["run"], "war": rung >= WAR_RUNG, "battle": battle})
    agg = per_run.groupby("run").agg(war=("war", "any"), battle=("battle", "sum"))
    candidates = agg.index[agg["war"] | (agg["battle"] >= ctx.war_death_threshold)]  # a superset: checked below
    rows = []
    for run in candidates:
        part = events[events["run"] == run].sort_values("day", kind="stable")
        found = spiral_day([_event_of(r) for r in part.to_dict("records")], ctx.states, ctx.war_death_threshold)
        if found is not None:
            rows.append((run, found))
    return pd.DataFrame(rows, columns=["run", "day"]).astype("int64")


def occurrences(question: Question, events: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """(run, day) of every occurrence of the question's event; `events` needs a `run` column."""
    if question.mask is None:
        return war_days(events, ctx)
    if events.empty:
        return pd.DataFrame({"run": pd.Series(dtype="int64"), "day": pd.Series(dtype="int64")})
    hit = events.loc[question.mask(events, ctx).to_numpy(dtype=bool), ["run", "day"]]
    return hit.astype("int64").reset_index(drop=True)


def runs_with(occ: pd.DataFrame, first_day: int, last_day: int) -> np.ndarray:
    """Runs with an occurrence on a day in first_day..last_day (inclusive), sorted."""
    days = occ["day"].to_numpy()
    return np.unique(occ["run"].to_numpy()[(days >= first_day) & (days <= last_day)])


def forecast_probability(occ: pd.DataFrame, runs: Sequence[int], cut_day: int, window: int) -> float:
    """Share of `runs` (the runs that finished without error) with the event in days cut+1..cut+window."""
    if len(runs) == 0:
        return float("nan")
    hit = np.intersect1d(runs_with(occ, cut_day + 1, cut_day + window), np.asarray(runs))
    return len(hit) / len(runs)


def resolve(occ: pd.DataFrame, cut_day: int, window: int, last_known_day: int) -> int | None:
    """The record's answer for days cut+1..cut+window: 1, 0, or None when the window outruns the record."""
    end = cut_day + window
    if len(runs_with(occ, cut_day + 1, min(end, last_known_day))):
        return 1
    return None if end > last_known_day else 0


def happened_recently(occ: pd.DataFrame, cut_day: int, lookback: int) -> bool:
    """Whether the event happened in days cut-lookback+1..cut (the forecast date included)."""
    return bool(len(runs_with(occ, cut_day - lookback + 1, cut_day)))
