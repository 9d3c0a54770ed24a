"""Commanders (MODEL.md §3): they execute their side's operations and can be killed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from abm.config.schema import CommanderConfig
from abm.model.agents.base import CrisisAgent

if TYPE_CHECKING:
    from abm.model.model import CrisisModel

SUCCESSOR_EXPERIENCE = 0.6  # a successor knows less ...
SUCCESSOR_CONTROL = 0.7  # ... and is less controllable
PRECEDENT_SECURITY = 0.2  # a decapitation makes every commander harder to reach


class CommanderAgent(CrisisAgent):
    """Executes operations of its roles; while the post is vacant, operations wait."""

    kind = "commander"

    def __init__(self, model: CrisisModel, actor_id: str, cfg: CommanderConfig) -> None:
        super().__init__(model, actor_id)
        self.side = cfg.side
        self.roles = tuple(cfg.executes)
        self.experience = cfg.experience
        self.controllability = cfg.controllability
        self.security = cfg.security
        self.alive = cfg.alive
        self.vacant_until = -1 if cfg.alive else 0

    def step(self) -> None:
        m = self.model
        if not self.alive and m.day >= self.vacant_until:
            self.succeed()
        if self.orders and self.alive and m.free:
            self.execute_due()

    def grip(self) -> float:
        """How well this commander holds its forces to orders (0 while the post is vacant)."""
        return self.experience * self.controllability if self.alive else 0.0

    def killed(self, precedent: bool = True) -> None:
        """Dead: the post stays vacant a while; a decapitation (once per act) makes every commander warier."""
        m = self.model
        self.alive = False
        self.vacant_until = m.day + m.world.successor_delay_days
        if precedent:
            for other in m.commanders.values():
                other.security = min(0.95, other.security + PRECEDENT_SECURITY)
        m.layout_changed()

    def succeed(self) -> None:
        """A successor takes over: less experienced, less controllable (MODEL.md §3)."""
        self.alive = True
        self.model.layout_changed()
        self.experience *= SUCCESSOR_EXPERIENCE
        self.controllability *= SUCCESSOR_CONTROL
