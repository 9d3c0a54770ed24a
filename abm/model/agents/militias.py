"""Militias and proxies (MODEL.md §3): partly the patron's instrument, partly their own actors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from abm.config.schema import MilitiaConfig
from abm.model.actions import BY_NAME
from abm.model.agents.base import CrisisAgent, Order
from abm.model.rules import militia_hazard
from abm.model.streams import Draw

if TYPE_CHECKING:
    from abm.model.model import CrisisModel

ROCKETS = BY_NAME["militia_rocket_attack"]


class MilitiaAgent(CrisisAgent):
    """Attacks on the patron's order, or on its own when autonomy and revenge beat control."""

    kind = "militia"

    def __init__(self, model: CrisisModel, actor_id: str, cfg: MilitiaConfig) -> None:
        super().__init__(model, actor_id)
        self.patron = cfg.patron
        self.enemy = cfg.enemy
        self.autonomy = cfg.autonomy
        self.loyalty = cfg.loyalty
        self.revenge = cfg.revenge
        self.capability = cfg.capability
        self.deniability = cfg.deniability
        self._revenge_keep = 1.0 - model.world.revenge_decay
        # The hazard never exceeds rate x capability (urge <= 1, control only lowers it).
        self._attack_days = self.chance_days(Draw.ATTACK, model.world.militia_attack_rate * self.capability)

    def step(self) -> None:
        m = self.model
        self.revenge *= self._revenge_keep
        if not m.free:
            return
        if self.orders:
            self.execute_due()
        if m.day in self._attack_days and m.mechanisms.principal_agent:
            self.act_on_own()

    def control(self) -> float:
        """How far the patron's restraint order binds this militia (0 none .. 1 full).

        It runs through the proxy liaison commander (the Quds Force) and through the
        militia's own leader: killing either loosens the leash (MODEL.md §3, §6.6).
        """
        m = self.model
        patron = m.states.get(self.patron) if self.patron else None
        if patron is None:
            return 0.0
        liaison = m.commander_for(self.patron, "proxy")
        leash = liaison.grip() if liaison else 0.3
        leader = m.commander_for(self.actor_id, "militia")
        own = leader.grip() if leader else 1.0
        return patron.proxy_restraint * leash * own * self.loyalty

    def act_on_own(self) -> None:
        """Attack without orders with a hazard rising in autonomy and revenge (mechanism 6)."""
        if self.orders:
            return
        m = self.model
        u = self.draw(Draw.ATTACK)
        args = (m.world.militia_attack_rate, self.capability, self.autonomy, self.revenge)
        if u >= militia_hazard(*args, 0.0) or u >= militia_hazard(*args, self.control()):
            return  # the bound without control settles most days without computing control
        sites = m.sites_with(self.actor_id, self.enemy, ROCKETS)
        if not sites:
            return
        site = sites[int(self.draw(Draw.TARGET) * len(sites))]
        self.enqueue(Order(ROCKETS, self.actor_id, self.enemy, m.hit_side(site, self.enemy), m.day, site=site))
        self.execute_due()

    def suffer(self, deaths: int, leader_killed: bool, patron_leader_killed: bool) -> None:
        """Losses feed revenge; losing its own leader also loosens discipline (mechanism 6)."""
        if not self.model.mechanisms.principal_agent:
            return
        self.revenge = min(1.0, self.revenge + 0.12 * (deaths > 0) + 0.05 * min(deaths, 20) ** 0.5)
        if leader_killed:
            self.revenge = min(1.0, self.revenge + 0.4)
            self.autonomy = min(1.0, self.autonomy + 0.15)
        if patron_leader_killed:
            self.revenge = min(1.0, self.revenge + 0.2)
