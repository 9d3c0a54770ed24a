"""A run told as a dated story: one plain-language line per day with acts, then the outcome.

Why: the event table of `abm replay --events` is exact but slow to read; a story lets a reader
check a run against what they know of the crisis ("day 5 (8 Jan 2020): the IRGC Aerospace
fires a warned missile strike at Al Asad air base; no deaths."). The words are data, not
branches: a phrase per row of the action ladder (`PHRASES`, a test checks it covers every row
of `abm.model.actions.ACTIONS`), names from the scenario's labels or made from ids by a small
table of words (`ACRONYMS`, `WORD_FORMS`), the outcome's wording per label. Works for any
scenario: nothing here names an actor.

Pure functions of the event table and the scenario: no model, no files, no terminal.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from abm.config import Scenario
from abm.model.actions import BY_NAME
from abm.model.outcomes import DEAL, DEESCALATION, QUIET_MAX_RUNG, SPIRAL, UNRESOLVED


@dataclass(frozen=True, slots=True)
class Phrase:
    """What an act says after its actor: `head` always (a missing field reads as `FALLBACK`),
    each part of `tail` only when every field it names is known (a strike with no site)."""

    head: str
    tail: tuple[str, ...] = ()
    deescalatory: bool = False


def _p(head: str, *tail: str) -> Phrase:
    return Phrase(head, tail)


def _d(head: str, *tail: str) -> Phrase:
    """A de-escalatory act's phrase."""
    return Phrase(head, tail, deescalatory=True)


# One phrase per row of abm.model.actions.ACTIONS (tests/commands/test_replay_story.py checks the
# two tables agree). Fields: {target} (whom the act is aimed at), {target_side} (whose people were hit),
# {leader} (a killing's target: a commander by name, else "a leader of" the target), {site} (a site's label).
# Verbs are third person singular; `_verb` makes the plural for plural names ("the Houthis fire").
PHRASES: Mapping[str, Phrase] = {
    # rung 0: de-escalatory, worded as such
    "negotiate": _d("holds talks with {target}"),
    "stand_down": _d("stands down", " toward {target}"),
    "declare_concluded": _d("declares its answer to {target} concluded"),
    "back_channel_message": _d("sends a private message to {target}"),
    "restrain_proxies": _d("reins in its proxies"),
    "signal_talks": _d("signals readiness for talks with {target}"),
    "ease_sanctions": _d("eases sanctions on {target}"),
    "withdraw_posts": _d("withdraws from its exposed posts"),
    "sign_deal": _d("signs a deal with {target}"),
    # rungs 1-3: words, economic and political pressure, posture
    "public_threat": _p("publicly threatens {target}"),
    "expulsion_vote": _p("votes to expel the forces of {target}"),
    "expel_forces": _p("expels the forces of {target}"),
    "new_sanctions": _p("imposes new sanctions on {target}"),
    "nuclear_step": _p("takes a further nuclear step"),
    "raise_alert": _p("raises its alert level"),
    "reinforce_bases": _p("reinforces its bases"),
    "posture_consolidation": _p("consolidates its forces, closing its exposed posts"),
    # rungs 4-9: force
    "embassy_siege": _p("besieges {site}"),
    "cyber_attack": _p("launches a cyber attack on {target}"),
    "naval_harassment": _p("harasses shipping", " in {site}"),
    "militia_rocket_attack": _p("fires rockets", " at {site}"),
    "warned_missile_strike": _p("fires a warned missile strike", " at {site}"),
    "strike_forces_abroad": _p("strikes the forces of {target_side}", " at {site}"),
    "strike_militia_sites": _p("strikes {target_side}", " at {site}"),
    "unwarned_missile_strike": _p("fires an unwarned missile strike", " at {site}"),
    "targeted_killing": _p("carries out a targeted killing of {leader}", " at {site}"),
    "strike_territory": _p("strikes {target_side} on its own soil", " at {site}"),
    "attack_city": _p("attacks {site}"),
    "sustained_war": _p("goes to war with {target}"),
    # made by the accident mechanism
    "accident_shootdown": _p("shoots down an aircraft by accident"),
}
FALLBACK = "an unnamed target"  # a field a phrase's head needs but the event lacks
UNKNOWN_ACT = _p("takes action '{action}'", " against {target}", " at {site}")  # an act no row names

# Names made from ids ("irgc_aerospace" -> "IRGC Aerospace", "kh_leader" -> "the KH leader"): words
# spelled as acronyms, words with a fixed form, and which names take "the". Generic words only: no
# scenario's actors by name.
# Spelled in capitals and matched case-insensitively: a spelling table, not a code path keyed by
# an actor id (tests/scenarios/test_any_crisis.py keeps country ids out of code).
ACRONYMS = frozenset(
    {"US", "USA", "UK", "UAE", "UN", "EU", "USSR", "IRGC", "IDF", "IAF", "KH", "PMF", "CENTCOM", "NATO", "PLA", "ISI"}
)
WORD_FORMS: Mapping[str, str] = {
    "leader": "leader", "chief": "chief", "commander": "commander", "liaison": "liaison",
    "of": "of", "and": "and", "the": "the", "e": "-e-", "al": "al-", "el": "el-", "ul": "-ul-", "other": "(other)",
}  # fmt: skip
DEFINITE_FIRST = frozenset({"US", "USA", "UK", "UAE", "UN", "EU", "USSR", "IDF", "PMF", "PLA"})  # "the US"
DEFINITE_LAST = frozenset({"Force", "Forces", "Army", "Navy", "Guard", "leader", "chief", "commander", "liaison"})
SINGULAR_IN_S = frozenset({"HAMAS", "US", "PARIS"})  # names ending in "s" that are not plurals (capitals, as ACRONYMS)
PLURAL_ES = ("sses", "ches", "shes", "xes", "oes")  # "harasses" -> "harass"; other verbs drop the "s"

OUTCOME_NAMES: Mapping[str, str] = {
    SPIRAL: "spiral (war)",
    DEESCALATION: "de-escalation",
    DEAL: "deal",
    UNRESOLVED: "unresolved",
}
OUTCOME_TEXT: Mapping[str, str] = {
    SPIRAL: "war (spiral) from day {day} ({date})",
    DEESCALATION: f"de-escalation: no state act above rung {QUIET_MAX_RUNG} after day {{day}} ({{date}})",
    DEAL: "a deal, signed on day {day} ({date})",
    UNRESOLVED: "unresolved at the horizon, day {day} ({date})",
}


@dataclass(frozen=True, slots=True)
class Name:
    """How an actor reads in a sentence; `plural` decides the verb ("the Houthis fire")."""

    text: str
    plural: bool = False


def readable(ident: str) -> Name:
    """A name made from an id: acronyms upper-case, other words title-case, "the" where English wants it."""
    words = [w for w in ident.lower().split("_") if w]
    forms = [WORD_FORMS.get(w, w.upper() if w.upper() in ACRONYMS else w.capitalize()) for w in words] or [ident]
    text = re.sub(r"\s*-\s*", "-", " ".join(forms))
    last = words[-1] if words else ident
    plural = last.endswith("s") and not last.endswith("ss") and last.upper() not in ACRONYMS | SINGULAR_IN_S
    definite = plural or forms[0] in DEFINITE_FIRST or forms[-1] in DEFINITE_LAST
    return Name(f"the {text}" if definite else text, plural)


def name_of(ident: str, scenario: Scenario) -> Name:
    """An actor's or a site's name: its `label` in the scenario when it has one, else `readable(ident)`."""
    for block in (scenario.sites, scenario.states, scenario.militias, scenario.commanders):
        label = getattr(block.get(ident), "label", "")
        if label:
            return Name(label)
    return readable(ident)


def date_of(start: dt.date, day: int) -> str:
    """`day` of the run as a calendar date, e.g. "8 Jan 2020" (day 0 is the scenario's `start_date`)."""
    date = start + dt.timedelta(days=int(day))
    return f"{date.day} {date:%b %Y}"


def _known(value: Any) -> Any:
    """None for a missing cell (None, NaN, ""), else the value."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _verb(phrase: str, plural: bool) -> str:
    """The phrase with its first verb made plural for a plural subject ("fires rockets" -> "fire rockets")."""
    if not plural:
        return phrase
    verb, _, rest = phrase.partition(" ")
    verb = verb[:-2] if verb.endswith(PLURAL_ES) else verb[:-1] if verb.endswith("s") else verb
    return f"{verb} {rest}".rstrip()


def _fill(template: str, fields: Mapping[str, str | None]) -> str | None:
    """`template` with its fields filled; None when a field it names is unknown."""
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    if any(fields.get(f) is None for f in names):
        return None
    return template.format(**fields)


def _deaths(row: Mapping[str, Any]) -> str:
    deaths = int(_known(row.get("deaths")) or 0)
    if not deaths:
        return "no deaths"
    civilians = int(_known(row.get("civilian_deaths")) or 0)
    return f"{deaths} killed" + (f" ({civilians} civilian{'s' if civilians != 1 else ''})" if civilians else "")


def _tags(row: Mapping[str, Any], scenario: Scenario) -> list[str]:
    """Bracketed notes: who was blamed for a deniable or violent hostile act, and "observed" for imposed acts."""
    tags = []
    action = BY_NAME.get(str(row.get("action")))
    if action is not None and (action.deniable or action.kinetic) and action.rung != 0:  # not a private message
        blamed = _known(row.get("attributed_to"))
        if blamed is None:
            tags.append("unattributed")
        elif blamed != row.get("side"):
            tags.append(f"blamed on {name_of(blamed, scenario).text}")
    if _known(row.get("imposed")):
        tags.append("observed")
    return tags


def act_sentence(row: Mapping[str, Any], scenario: Scenario) -> str:
    """One act as a sentence: who did what to whom and where, warned or not, deaths, tags."""
    action = str(row.get("action"))
    phrase = PHRASES.get(action, UNKNOWN_ACT)
    subject = name_of(str(row.get("actor")), scenario)
    fields: dict[str, str | None] = {"action": action}
    for key in ("target", "target_side", "site"):
        value = _known(row.get(key))
        fields[key] = None if value is None else name_of(str(value), scenario).text
    target = _known(row.get("target"))
    commander = target is None or str(target) in scenario.commanders
    fields["leader"] = fields["target"] if commander else f"a leader of {fields['target']}"
    head = _fill(phrase.head, fields) or phrase.head.format(**{k: v or FALLBACK for k, v in fields.items()})
    text = f"{subject.text} {_verb(head, subject.plural)}" + "".join(
        part for part in (_fill(t, fields) for t in phrase.tail) if part
    )
    if _known(row.get("warned")) and "warned" not in phrase.head:
        text += " after a warning"
    tags = _tags(row, scenario)
    if tags:
        text += f" ({'; '.join(tags)})"
    kinetic = bool(_known(row.get("kinetic")))
    if kinetic or int(_known(row.get("deaths")) or 0):
        text += f"; {_deaths(row)}"
    return f"{text[:1].upper()}{text[1:]}."


def day_line(day: int, rows: list[Mapping[str, Any]], scenario: Scenario) -> str:
    """`day N (date): sentence. sentence.` for the acts of one day, in the order they happened."""
    return f"day {day} ({date_of(scenario.start_date, day)}): " + " ".join(act_sentence(r, scenario) for r in rows)


def outcome_line(record: Mapping[str, Any], scenario: Scenario) -> str:
    """The run's outcome label and day (from its record), with its highest rung and battle deaths."""
    label, day = record.get("outcome"), _known(record.get("days"))
    if label is None or day is None:
        return f"outcome: {label or 'none recorded'}"
    template = OUTCOME_TEXT.get(str(label), f"{label} on day {{day}} ({{date}})")
    text = template.format(day=int(day), date=date_of(scenario.start_date, int(day)))
    extra = [
        f"{what} {int(value)}"
        for what, key in (("highest rung", "max_rung"), ("battle deaths", "battle_deaths"))
        if (value := _known(record.get(key))) is not None
    ]
    return f"outcome: {text}" + (f"; {', '.join(extra)}" if extra else "") + "."


def story_lines(events: pd.DataFrame, scenario: Scenario, record: Mapping[str, Any]) -> list[str]:
    """The run as lines: one per day with acts (days in order, acts in their recorded order), then the outcome."""
    lines = []
    if len(events):  # groupby keeps each day's rows in their recorded order
        for day, group in events.groupby("day", sort=True):
            lines.append(day_line(int(day), group.to_dict("records"), scenario))
    return [*lines, outcome_line(record, scenario)]
