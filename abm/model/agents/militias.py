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
        b = model.behaviour.militias  # read once: `suffer` and `control` run on every hit and attack
        self._on_loss, self._per_death = b.revenge_on_loss, b.revenge_per_death
        self._death_cap, self._death_exponent = b.revenge_death_cap, b.revenge_death_exponent
        self._on_leader = (b.revenge_on_leader_killed, b.autonomy_on_leader_killed)
        self._on_patron_leader = b.revenge_on_patron_leader_killed
        self._leash_without_liaison = b.leash_without_liaison
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

        The order reaches the fighters through the proxy liaison commander (the Quds Force) and,
        where the militia has one, through its own leader: either channel can carry it, so the
        reach is 1 - prod(1 - grip), and killing either loosens the leash (MODEL.md §3, §6.6). A
        patron with no liaison at all holds it with `behaviour.militias.leash_without_liaison`.
        """
        m = self.model
        patron = m.states.get(self.patron) if self.patron else None
        if patron is None:
            return 0.0
        liaison = m.commander_for(self.patron, "proxy")
        slack = 1.0 - (liaison.grip() if liaison else self._leash_without_liaison)
        leader = m.commander_for(self.actor_id, "militia")
        if leader is not None:
            slack *= 1.0 - leader.grip()
        return patron.proxy_restraint * (1.0 - slack) * self.loyalty

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
        """Losses feed revenge; losing its own leader also loosens discipline (mechanism 6).

        The amounts are `behaviour.militias.*` (docs/ODD.md §7.8); revenge and autonomy stay <= 1.
        """
        if not self.model.mechanisms.principal_agent:
            return
        loss = self._on_loss * (deaths > 0)
        toll = self._per_death * min(deaths, self._death_cap) ** self._death_exponent
        self.revenge = min(1.0, self.revenge + loss + toll)  # in this order: bit-identical to the old sum
        if leader_killed:
            revenge, autonomy = self._on_leader
            self.revenge = min(1.0, self.revenge + revenge)
            self.autonomy = min(1.0, self.autonomy + autonomy)
        if patron_leader_killed:
            self.revenge = min(1.0, self.revenge + self._on_patron_leader)
