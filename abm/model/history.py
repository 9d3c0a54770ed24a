"""What happened in a run: the event record that outcomes, metrics and tables are built from."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Event:
    """One action taken (or imposed, or an accident) on one day.

    `side` is the state or militia the actor acts for (a commander acts for its side);
    `target_side` is the state or militia whose people, forces or territory were hit.
    """

    day: int
    actor: str
    side: str
    action: str
    rung: int | None
    target: str | None = None
    target_side: str | None = None
    site: str | None = None
    deaths: int = 0
    state_deaths: int = 0  # among states' forces (the side hit, or the killed commanders' states)
    militia_deaths: int = 0
    civilian_deaths: int = 0
    warned: bool = False
    attributed_to: str | None = None
    kinetic: bool = False
    imposed: bool = False

    @property
    def battle_deaths(self) -> int:
        """Deaths among combatants (COW war rule counts battle deaths, not civilians)."""
        return self.deaths - self.civilian_deaths

    def as_row(self) -> dict[str, object]:
        """The event as a table row (`dataclasses.asdict` would deep-copy: 10x slower for flat fields)."""
        return {name: getattr(self, name) for name in EVENT_FIELDS}


EVENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Event))
