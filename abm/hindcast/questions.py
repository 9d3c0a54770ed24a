"""The hindcast questions as a data table, and how they resolve on event rows.

A question is a yes/no event ("the struck state answers by striking the author directly")
asked for windows of days after a forecast date; each question carries its own windows (the
question table is data: `answer` at 7 and 30 days, `war` at 30 and 90, ...). Its predicate
reads the event rows that runs and the replayed record both produce
(`abm.model.records.EVENT_COLUMNS`), so the model's probability and the record's answer come
from one definition:

* the model's probability: the share of runs in which the event happens in days c+1..c+W;
* the record's answer: 1 if it happened in those days, 0 if not, unresolved (None) when the
  window runs past the last day the record covers and the event did not happen before it.

The questions are about the roles of a record's two `parties`: the *author* (the state whose
act opened the crisis, directly or through its proxy) and the *struck* state. They are named
after the roles, and their texts are rendered with the record's party ids ("iran strikes
israel directly ..."). On the Jan-Mar 2020 record (author us, struck iran) they are the
questions first scored there under 2020 names (`Question.was`).

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

STRIKE_RUNG = 6  # a direct strike: kinetic, rung 6+ (outcomes.DIRECT_MIN_RUNG)
ATTACK_RUNG = 5  # a violent act: kinetic, rung 5+ (Action.violent)


@dataclass(frozen=True, slots=True)
class Context:
    """What the predicates need to know about the scenario: which actors are militias, the war rule."""

    militias: frozenset[str]
    war_death_threshold: int = 1000
    states: frozenset[str] = frozenset()
    author: str = ""  # the state whose act opened the crisis (2020: the US)
    struck: str = ""  # the state it struck (2020: Iran)
    militia_sites: frozenset[str] = frozenset()  # sites a militia owns (its depots, camps, bases)

    @classmethod
    def of(cls, scenario: Scenario, parties: tuple[str, str]) -> Context:
        """Context of a record's questions; `parties` = (the state whose act opened the crisis, the one struck)."""
        author, struck = parties
        owned = frozenset(sid for sid, site in scenario.sites.items() if site.owner in scenario.militias)
        return cls(
            frozenset(scenario.militias),
            scenario.world.war_death_threshold,
            frozenset(scenario.states),
            author,
            struck,
            owned,
        )


Mask = Callable[[pd.DataFrame, Context], pd.Series]


@dataclass(frozen=True, slots=True)
class Question:
    """A yes/no question: an event-level `mask`, or a run-level rule for war (`mask` None).

    `text` is a template with `{author}` and `{struck}` (the record's parties); `windows` are
    the days after the forecast date it is asked for; `was` is its name in the first
    (Jan-Mar 2020, US-Iran) hindcast.
    """

    name: str
    text: str
    mask: Mask | None
    windows: tuple[int, ...]
    was: str = ""

    def render(self, parties: tuple[str, str] | None = None) -> str:
        """The text with the record's party ids, or with the roles' names when `parties` is None."""
        author, struck = parties if parties is not None else ("the author", "the struck state")
        return self.text.format(author=author, struck=struck)


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
    """The author strikes the struck state again (2020: the US on Iranian territory or forces)."""
    return _strikes(ev, ctx.author, ctx.struck)


def militia_kills_party_people(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """A militia attack (kinetic, rung 5+) kills state forces of either party (2020: Americans).

    Deaths are `state_deaths` of the side hit: civilians killed at the site are not counted
    (they need not be the hit side's own people). In 2020 the militias only hit the US, so this
    is the first hindcast's `militia_kills_us`.
    """
    deaths = pd.to_numeric(ev["state_deaths"], errors="coerce").fillna(0)
    hit = ev["target_side"].isin([ctx.author, ctx.struck])
    return ev["side"].isin(ctx.militias) & _kinetic(ev) & (_rung(ev) >= ATTACK_RUNG) & hit & (deaths > 0)


def _killed_militia(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """Events that killed a militia commander besides their target (only observed rows carry `killed_sides`)."""
    if "killed_sides" not in ev:
        return pd.Series(False, index=ev.index)
    sides = ev["killed_sides"].fillna("").astype(str).str.split(",")
    return sides.map(lambda names: any(n in ctx.militias for n in names))


def party_strikes_militia(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """Either party strikes a militia: its depots or bases, or kills a militia commander (kinetic, rung 5+).

    A strike counts when it is a strike on militia sites, is aimed at a militia, hits a site a
    militia owns (26 Feb 2019: India's strike on Pakistan at the Jaish-e-Mohammed camp counts
    here and under `answer`), or kills a militia commander: the 3 Jan 2020 strike aimed at the
    Quds Force commander also killed the KH leader, so it counts here (through `killed_sides`)
    as well as under `counter`. In 2020 only the US struck militias, so this is the first
    hindcast's `us_strikes_militia`.
    """
    at_militia_site = ev["site"].isin(ctx.militia_sites) if "site" in ev else pd.Series(False, index=ev.index)
    on_militia = (
        (ev["action"] == "strike_militia_sites")
        | ev["target_side"].isin(ctx.militias)
        | at_militia_site
        | _killed_militia(ev, ctx)
    )
    parties = ev["side"].isin([ctx.author, ctx.struck])
    return parties & _kinetic(ev) & (_rung(ev) >= ATTACK_RUNG) & on_militia


def deal_signed(ev: pd.DataFrame, ctx: Context) -> pd.Series:
    """An agreement is signed (the model's `sign_deal`: the scenario's demander and bargainer)."""
    return ev["action"] == "sign_deal"


# The question table. Predicates are about the roles of the record's parties (author, struck),
# never about country ids; texts are rendered with the record's party ids.
QUESTIONS: tuple[Question, ...] = (
    Question(
        "answer",
        "{struck} strikes {author} directly (its own forces, kinetic, rung 6+): the violent answer",
        struck_strikes_author,
        (7, 30),
        was="iran_strikes_us",
    ),
    Question(
        "counter",
        "{author} strikes {struck} again (its own forces, rung 6+, not militia depots): the answer to the answer",
        author_strikes_struck,
        (7, 30),
        was="us_strikes_iran",
    ),
    Question(
        "proxy_kills",
        "A militia attack kills forces of {author} or {struck}",
        militia_kills_party_people,
        (7, 30),
        was="militia_kills_us",
    ),
    Question(
        "strikes_proxy",
        "{author} or {struck} strikes a militia (depots, bases or a militia commander)",
        party_strikes_militia,
        (7, 30),
        was="us_strikes_militia",
    ),
    Question("deal", "A deal is signed ({author}-{struck} crisis)", deal_signed, (7, 30), was="deal"),
    Question(
        "war",
        "War: the spiral rule is met (a state's rung-9 act, or 1,000 battle deaths between states)",
        None,
        (30, 90),
        was="war",
    ),
)
BY_QUESTION = {q.name: q for q in QUESTIONS}
RENAMED = {q.was: q.name for q in QUESTIONS}  # name in the first (2020) hindcast -> name now


@dataclass(frozen=True, slots=True)
class QuestionRow:
    """One row of the question table: a question asked for one window (`text`: a template, see `Question`)."""

    name: str
    window: int
    text: str

    def render(self, parties: tuple[str, str] | None = None) -> str:
        return f"{BY_QUESTION[self.name].render(parties)}, within {self.window} days after the forecast date"


QUESTION_TABLE: tuple[QuestionRow, ...] = tuple(QuestionRow(q.name, w, q.text) for q in QUESTIONS for w in q.windows)
ALL_WINDOWS: tuple[int, ...] = tuple(sorted({r.window for r in QUESTION_TABLE}))  # derived from the table
MAX_WINDOW = ALL_WINDOWS[-1]


def question_table(parties: tuple[str, str] | None = None) -> list[dict[str, object]]:
    """The question table as records (name, 2020 name, window, text), texts rendered for `parties`."""
    return [
        {"name": r.name, "was": BY_QUESTION[r.name].was, "window": r.window, "text": r.render(parties)}
        for r in QUESTION_TABLE
    ]


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
