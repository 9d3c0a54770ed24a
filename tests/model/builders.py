"""Concise builders for hand-made run histories (lists of `Event`).

Rung and `kinetic` come from the action table, so a hand-built event looks like one the
simulator would record; pass them explicitly only to build an odd event on purpose.
"""

from __future__ import annotations

from typing import Any

from abm.model.actions import BY_NAME
from abm.model.history import Event

# Who acts for each side by default (a commander acts for its side).
DEFAULT_ACTOR = {"us": "centcom", "iran": "irgc_aerospace", "kataib_hezbollah": "kataib_hezbollah"}


def ev(day: int, side: str, action: str, target_side: str | None = None, **kw: Any) -> Event:
    """One event; `rung` and `kinetic` default to the action table's row for `action`."""
    row = BY_NAME[action]
    kw.setdefault("rung", row.rung)
    kw.setdefault("kinetic", row.kinetic)
    kw.setdefault("actor", DEFAULT_ACTOR.get(side, side))
    return Event(day=day, side=side, action=action, target_side=target_side, **kw)


def us_strikes_iran(day: int, action: str = "strike_territory", **kw: Any) -> Event:
    """A direct US strike on Iranian forces or territory (rung 8 by default)."""
    kw.setdefault("site", "iran_missile_bases")
    return ev(day, "us", action, "iran", **kw)


def iran_strikes_us(day: int, action: str = "unwarned_missile_strike", **kw: Any) -> Event:
    """A direct Iranian missile strike on US forces (rung 7 unwarned by default)."""
    kw.setdefault("site", "al_asad")
    kw.setdefault("warned", action == "warned_missile_strike")
    return ev(day, "iran", action, "us", **kw)


def killing(day: int, **kw: Any) -> Event:
    """A US targeted killing of an Iranian commander (rung 7)."""
    kw.setdefault("target", "quds_force")
    return ev(day, "us", "targeted_killing", "iran", **kw)


def militia_attack(day: int, militia: str = "kataib_hezbollah", **kw: Any) -> Event:
    """A militia rocket attack on a US base (rung 5), pinned on Iran by default."""
    kw.setdefault("site", "camp_taji")
    kw.setdefault("attributed_to", "iran")
    return ev(day, militia, "militia_rocket_attack", "us", **kw)


def us_strikes_militia(day: int, militia: str = "kataib_hezbollah", **kw: Any) -> Event:
    """A US strike on militia depots (rung 6)."""
    kw.setdefault("site", "kh_depots")
    return ev(day, "us", "strike_militia_sites", militia, **kw)


def sanctions(day: int) -> Event:
    """New US sanctions (rung 2)."""
    return ev(day, "us", "new_sanctions", "iran")


def alert(day: int, side: str = "us") -> Event:
    """A state raises its alert level (rung 3)."""
    return ev(day, side, "raise_alert")


def accident(day: int, side: str = "iran", civilian_deaths: int = 176) -> Event:
    """An accident under high alert (rung None), e.g. the airliner shoot-down of 8 Jan 2020."""
    return ev(day, side, "accident_shootdown", deaths=civilian_deaths, civilian_deaths=civilian_deaths)


def deal(day: int) -> Event:
    """A signed US-Iran agreement (rung 0)."""
    return ev(day, "us", "sign_deal", "iran", target="iran")


def war(day: int) -> Event:
    """Sustained direct war (rung 9)."""
    return ev(day, "us", "sustained_war", "iran", target="iran")


def jan_2020() -> list[Event]:
    """The Jan-Mar 2020 record (MODEL.md §9) as a history: not a spiral.

    Day 0 = 3 Jan: the US kills the Quds Force commander and the KH leader. Day 2: Iraq's
    expulsion vote and Iran's last nuclear step. Day 5: Iran's warned missile strike on
    Al Asad (0 deaths) and the airliner shoot-down; the US stands down with sanctions.
    Militia rocket attacks go on; the lethal one at Camp Taji (day 68) draws US strikes on
    KH depots the next day, the non-lethal one (day 71) does not.
    """
    return [
        killing(0, site="baghdad_airport", deaths=10, state_deaths=5, militia_deaths=5, imposed=True),
        ev(2, "iraq", "expulsion_vote", "us"),
        ev(2, "iran", "nuclear_step"),
        alert(3, "us"),
        alert(3, "iran"),
        iran_strikes_us(5, action="warned_missile_strike"),
        accident(5, "iran"),
        sanctions(7),
        militia_attack(11, site="al_asad"),
        militia_attack(23, militia="pmf_other", site="us_embassy_baghdad", attributed_to=None),
        militia_attack(68, deaths=3, state_deaths=3),
        us_strikes_militia(69, deaths=5, militia_deaths=5),
        militia_attack(71),
    ]
